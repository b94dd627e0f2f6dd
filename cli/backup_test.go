package cli

import (
	"bytes"
	"context"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"vitrine/instagram/fake"
	"vitrine/store"
	"vitrine/testkit"
	"vitrine/testkit/testvitrine"
)

// gallery is what visitors would see of a data directory's database: the
// posts in order, the owner's decisions, the mirrored images, the account.
type gallery struct {
	posts, hidden, images []string
	account               string
}

func readGallery(t *testing.T, dataDir string) gallery {
	t.Helper()
	key, err := store.LoadOrCreateKey(dataDir, "")
	if err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(filepath.Join(dataDir, "vitrine.db"), key)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ctx := context.Background()
	var g gallery
	posts, err := st.Posts(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range posts {
		g.posts = append(g.posts, p.ID)
	}
	mod, err := st.Moderation(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range mod {
		if m.Hidden() {
			g.hidden = append(g.hidden, m.PostID)
		}
	}
	images, err := st.Images(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, im := range images {
		g.images = append(g.images, im.MediaID)
		for _, v := range im.Variants {
			if _, err := os.Stat(filepath.Join(dataDir, "media", v.Path)); err != nil {
				t.Errorf("%s: image %s: %v", dataDir, im.MediaID, err)
			}
		}
	}
	slices.Sort(g.images)
	tok, err := st.Token(ctx)
	if err != nil {
		t.Fatalf("%s: token: %v", dataDir, err)
	}
	g.account = tok.Username
	return g
}

// `vitrine backup` during a sync writes a copy that `vitrine restore`
// brings back into a fresh data directory with the key backed up beside
// it; there the token works (status, a sync against Instagram) and the
// gallery is the original's. Over an existing database, without the key
// or with another, restore refuses and writes nothing.
func TestBackupDuringASyncAndRestore(t *testing.T) {
	ctx := context.Background()

	// While armed, the first download of a picture waits: the sync has
	// replaced the posts and is mirroring when the backup runs.
	var armed atomic.Bool
	reached, release := make(chan struct{}), make(chan struct{})
	releaseOnce := sync.OnceFunc(func() { close(release) })
	v := testvitrine.New(t, testvitrine.Posts(6), testvitrine.SmallPictures(), testvitrine.RealTime(),
		testvitrine.WrapFake(func(next http.Handler) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if strings.HasPrefix(r.URL.Path, "/cdn/") && armed.CompareAndSwap(true, false) {
					close(reached)
					<-release
				}
				next.ServeHTTP(w, r)
			})
		}))
	t.Cleanup(releaseOnce) // before the fake's server closes, should the test end early
	f := v.Fake
	configureFromEnv(t, v)
	dataDir := v.Config.DataDir
	run := func(args ...string) (int, string) {
		var out, errOut bytes.Buffer
		code := Run(ctx, args, nil, &out, &errOut)
		return code, out.String() + errOut.String()
	}

	// Connect as the admin callback would: a long-lived token in the store.
	acct := v.StoreToken()
	if code, out := run("sync"); code != ExitOK {
		t.Fatalf("first sync: exit %d\n%s", code, out)
	}
	hidden := f.MediaIDs()[1]
	if _, err := v.Store.HidePost(ctx, hidden); err != nil {
		t.Fatal(err)
	}

	f.AddPost(fake.Post{MediaType: fake.MediaImage, Caption: "new since the first sync", Timestamp: time.Now(), Width: 64, Height: 64})
	armed.Store(true)
	synced := make(chan string, 1)
	go func() {
		code, out := run("sync")
		if code == ExitOK {
			out = ""
		}
		synced <- out
	}()
	select {
	case <-reached:
	case <-time.After(2 * time.Minute):
		t.Fatal("the sync never downloaded a picture")
	}
	backupFile := filepath.Join(t.TempDir(), "vitrine-backup.db")
	code, out := run("backup", backupFile)
	releaseOnce()
	if code != ExitOK || !strings.Contains(out, "7 posts of @"+acct.Username) || !strings.Contains(out, "secret.key") {
		t.Fatalf("backup during the sync: exit %d\n%s", code, out)
	}
	if failed := <-synced; failed != "" {
		t.Fatalf("the sync during the backup: %s", failed)
	}
	if code, out := run("backup", backupFile); code != ExitFailure || !strings.Contains(out, "already exists") {
		t.Errorf("backup over the last one: exit %d\n%s", code, out)
	}
	want := readGallery(t, dataDir)
	if len(want.posts) != 7 || len(want.hidden) != 1 {
		t.Fatalf("the original gallery: %+v", want)
	}

	// Restore over the original: refused.
	if code, out := run("restore", backupFile); code != ExitFailure || !strings.Contains(out, "already exists") {
		t.Errorf("restore over a database: exit %d\n%s", code, out)
	}

	fresh := filepath.Join(t.TempDir(), "data")
	t.Setenv("VITRINE_DATA_DIR", fresh)
	if code, out := run("restore", backupFile); code != ExitFailure || !strings.Contains(out, "copy the secret.key") {
		t.Errorf("restore without the key: exit %d\n%s", code, out)
	}
	os.MkdirAll(fresh, 0o700)
	os.WriteFile(filepath.Join(fresh, store.KeyFileName), []byte(strings.Repeat("A", 43)+"=\n"), 0o600)
	if code, out := run("restore", backupFile); code != ExitFailure || !strings.Contains(out, "cannot be decrypted") {
		t.Errorf("restore with another key: exit %d\n%s", code, out)
	}
	if names, _ := os.ReadDir(fresh); len(names) != 1 {
		t.Errorf("refused restores left %v", names)
	}
	keyFile, _ := os.ReadFile(filepath.Join(dataDir, store.KeyFileName))
	os.WriteFile(filepath.Join(fresh, store.KeyFileName), keyFile, 0o600)
	if code, out := run("restore", backupFile); code != ExitOK || !strings.Contains(out, "7 posts of @"+acct.Username) {
		t.Fatalf("restore: exit %d\n%s", code, out)
	}
	if code, out := run("status"); code != ExitOK || !strings.Contains(out, "@"+acct.Username) {
		t.Errorf("status of the restored data: exit %d\n%s", code, out)
	}
	// The token works: Instagram accepts it, and the sync mirrors what
	// the backup's moment had not and media/ (not backed up) lacks.
	if code, out := run("sync"); code != ExitOK {
		t.Fatalf("sync of the restored data: exit %d\n%s", code, out)
	}
	got := readGallery(t, fresh)
	if !slices.Equal(got.posts, want.posts) || !slices.Equal(got.hidden, want.hidden) ||
		!slices.Equal(got.images, want.images) || got.account != want.account {
		t.Errorf("restored gallery\n%+v\nwant\n%+v", got, want)
	}
}

// PostgreSQL has its own tools: backup and restore say which, exit 2.
func TestBackupAndRestoreOfPostgresPointToItsTools(t *testing.T) {
	testkit.CleanEnv(t)
	t.Setenv("VITRINE_DATA_DIR", t.TempDir())
	t.Setenv("VITRINE_DATABASE_URL", "postgres://vitrine:pw@db.example:5432/vitrine")
	for cmd, want := range map[string]string{"backup": "pg_dump", "restore": "pg_restore"} {
		var out, errOut bytes.Buffer
		code := Run(context.Background(), []string{cmd, filepath.Join(t.TempDir(), "f")}, nil, &out, &errOut)
		if code != ExitUsage || !strings.Contains(errOut.String(), want) || strings.Contains(errOut.String(), "pw@") {
			t.Errorf("%s: exit %d, stderr %q; want %d naming %s", cmd, code, errOut.String(), ExitUsage, want)
		}
	}
	for _, args := range [][]string{{"backup"}, {"restore"}, {"backup", "a", "b"}} {
		var out, errOut bytes.Buffer
		if code := Run(context.Background(), args, nil, &out, &errOut); code != ExitUsage {
			t.Errorf("%v: exit %d, want %d", args, code, ExitUsage)
		}
	}
}
