package widget

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gin-gonic/gin"

	"vitrine/config"
	"vitrine/store"
	"vitrine/testkit"
	"vitrine/testkit/teststore"
)

// countingSource counts what a widget asks of its Source: each rebuild
// reads the posts once, each poll the generation once.
type countingSource struct {
	Source
	posts, generations atomic.Int64
}

func (c *countingSource) Posts(ctx context.Context, limit int) ([]store.Post, error) {
	c.posts.Add(1)
	return c.Source.Posts(ctx, limit)
}

func (c *countingSource) Generation(ctx context.Context) (int64, error) {
	c.generations.Add(1)
	return c.Source.Generation(ctx)
}

// replica is one Vitrine process's gallery: its own handle on the shared
// database file, its own path to the shared media directory, its own
// loopback server.
type replica struct {
	st   *store.Store
	src  *countingSource
	w    *Widget
	base string
}

func newReplica(t *testing.T, dbPath string, key []byte, mediaDir string) *replica {
	t.Helper()
	st := teststore.Open(t, dbPath, key)
	r := &replica{st: st, src: &countingSource{Source: StoreSource(st, mediaDir)}}
	cfg := config.Default()
	// Relative image URLs, so each replica's are fetched from itself.
	var err error
	if r.w, err = New(Options{Settings: cfg.Widget, Source: r.src}); err != nil {
		t.Fatal(err)
	}
	engine := gin.New()
	r.w.Register(engine)
	srv := httptest.NewServer(engine)
	t.Cleanup(srv.Close)
	r.base = srv.URL
	return r
}

// follow runs r's Follow every interval until the test ends.
func (r *replica) follow(t *testing.T, interval time.Duration) {
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { r.w.Follow(ctx, interval) })
	t.Cleanup(func() { cancel(); wg.Wait() })
}

func (r *replica) get(t *testing.T, path string) (*http.Response, []byte) {
	t.Helper()
	res, err := client.Get(r.base + path)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return res, body
}

// galleryIDs is the ids of the posts r's widget.json lists, with the
// account's username and the first image URL.
func (r *replica) gallery(t *testing.T) (ids []string, username, firstImage, etag string) {
	t.Helper()
	res, body := r.get(t, JSONPath)
	var doc struct {
		Account *struct{ Username string } `json:"account"`
		Posts   []struct {
			ID     string `json:"id"`
			Images []struct {
				URL string `json:"url"`
			} `json:"images"`
		} `json:"posts"`
	}
	if err := json.Unmarshal(body, &doc); err != nil {
		t.Fatalf("widget.json: %v\n%s", err, body)
	}
	for _, p := range doc.Posts {
		ids = append(ids, p.ID)
		if firstImage == "" && len(p.Images) > 0 {
			firstImage = p.Images[0].URL
		}
	}
	if doc.Account != nil {
		username = doc.Account.Username
	}
	return ids, username, firstImage, res.Header.Get("Etag")
}

// TestReplicaServesWhatAnotherChanged is two processes' galleries on one
// SQLite file and one media directory, reached by two different paths (as
// two mounts of a shared volume): the sync, the mirror and the moderation
// all go through A, as they would on the replica holding the jobs and the
// one the owner's browser reached; B, which only follows, serves each
// change, the mirrored images included, and rebuilds for nothing else.
func TestReplicaServesWhatAnotherChanged(t *testing.T) {
	dir := t.TempDir()
	dbPath := teststore.SQLiteAt(t, filepath.Join(dir, "vitrine.db"))
	key := make([]byte, store.KeySize)
	_, _ = rand.Read(key)
	mediaA := filepath.Join(dir, "a", "media")
	if err := os.MkdirAll(mediaA, 0o755); err != nil {
		t.Fatal(err)
	}
	mediaB := filepath.Join(dir, "b", "mnt")
	if err := os.MkdirAll(filepath.Dir(mediaB), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(mediaA, mediaB); err != nil {
		t.Fatal(err)
	}
	a := newReplica(t, dbPath, key, mediaA)
	b := newReplica(t, dbPath, key, mediaB)
	const interval = 50 * time.Millisecond
	b.follow(t, interval)
	ctx := context.Background()

	// A syncs and mirrors, then rebuilds its own gallery as the app's Sync does.
	if err := a.st.SaveToken(ctx, store.Token{AccessToken: "IGQ-secret", UserID: "17841", Username: "studio.lumen"}); err != nil {
		t.Fatal(err)
	}
	posts := makePosts(2)
	posts[1].MediaType, posts[1].Children = "IMAGE", nil
	if _, err := a.st.ReplacePosts(ctx, posts); err != nil {
		t.Fatal(err)
	}
	for i, p := range posts {
		im := store.Image{MediaID: p.ID, PostID: p.ID, Width: 1080, Height: 1350, Color: "#336699"}
		for _, w := range widths {
			rel := fmt.Sprintf("%s/%d.jpg", p.ID, w)
			writeJPEGTint(t, filepath.Join(mediaA, filepath.FromSlash(rel)), w, w*5/4, i)
			im.Variants = append(im.Variants, store.ImageVariant{Width: w, Height: w * 5 / 4, Path: rel})
		}
		if err := a.st.SaveImage(ctx, im); err != nil {
			t.Fatal(err)
		}
	}
	// A record pointing outside the media directory is never served.
	if err := a.st.SaveImage(ctx, store.Image{MediaID: "1790000000000099", PostID: posts[0].ID, Width: 10, Height: 10,
		Variants: []store.ImageVariant{{Width: 10, Height: 10, Path: "../../vitrine.db"}}}); err != nil {
		t.Fatal(err)
	}
	if err := a.w.Rebuild(ctx); err != nil {
		t.Fatal(err)
	}
	if ids, _, _, _ := a.gallery(t); len(ids) != 2 {
		t.Fatalf("A serves %v after its own sync", ids)
	}

	testkit.Eventually(t, "B serves the posts A synced", func() bool { ids, _, _, _ := b.gallery(t); return len(ids) == 2 })
	idsA, _, imgA, etagA := a.gallery(t)
	idsB, userB, imgB, etagB := b.gallery(t)
	if fmt.Sprint(idsA) != fmt.Sprint(idsB) || userB != "studio.lumen" || imgA != imgB || etagA != etagB || etagB == "" {
		t.Errorf("B serves %v @%s %s ETag %s; A serves %v %s ETag %s", idsB, userB, imgB, etagB, idsA, imgA, etagA)
	}
	for _, w := range widths {
		path := fmt.Sprintf("%s%s/%d.jpg", MediaPrefix, posts[0].ID, w)
		want, err := os.ReadFile(filepath.Join(mediaA, posts[0].ID, fmt.Sprintf("%d.jpg", w)))
		if err != nil {
			t.Fatal(err)
		}
		if res, body := b.get(t, path); res.StatusCode != http.StatusOK || string(body) != string(want) {
			t.Errorf("B %s: %d, %d bytes; want the %d bytes A mirrored", path, res.StatusCode, len(body), len(want))
		}
	}
	if res, _ := b.get(t, MediaPrefix+"1790000000000099/10.jpg"); res.StatusCode != http.StatusNotFound {
		t.Errorf("a record pointing outside the media directory: %d, want 404", res.StatusCode)
	}

	// Nothing changes: B keeps polling and does not rebuild. (Counted in
	// polls, not in time: on a loaded machine, with -race, 500 ms saw none.)
	rebuilds, polls := b.src.posts.Load(), b.src.generations.Load()
	testkit.Eventually(t, "B polls three more times", func() bool { return b.src.generations.Load() >= polls+3 })
	if got := b.src.posts.Load(); got != rebuilds {
		t.Errorf("B rebuilt %d times in %d polls while nothing changed", got-rebuilds, b.src.generations.Load()-polls)
	}

	// The owner hides a post on A; B drops it.
	if _, err := a.st.HidePost(ctx, posts[0].ID); err != nil {
		t.Fatal(err)
	}
	if err := a.w.Rebuild(ctx); err != nil { // as the app's Moderate does
		t.Fatal(err)
	}
	testkit.Eventually(t, "B drops the post hidden on A", func() bool {
		ids, _, _, _ := b.gallery(t)
		return len(ids) == 1 && ids[0] == posts[1].ID
	})
	// One change, one rebuild on B however many polls saw it.
	rebuilds, polls = b.src.posts.Load(), b.src.generations.Load()
	testkit.Eventually(t, "B polls three more times", func() bool { return b.src.generations.Load() >= polls+3 })
	if got := b.src.posts.Load(); got != rebuilds {
		t.Errorf("B rebuilt %d more times after catching up", got-rebuilds)
	}

	// The owner saves an appearance on A (the Appearance page); B serves
	// it without a restart.
	if err := a.st.SaveGallerySettings(ctx, map[string]string{"layout": "carousel", "language": "de"}); err != nil {
		t.Fatal(err)
	}
	if err := a.w.Rebuild(ctx); err != nil { // as the app's SaveAppearance does
		t.Fatal(err)
	}
	testkit.Eventually(t, "B serves the appearance saved on A", func() bool {
		_, page := b.get(t, "/widget")
		return strings.Contains(string(page), `data-layout="carousel"`) && strings.Contains(string(page), `lang="de"`)
	})

	// A's own rebuild moved A's generation too: A, following as well,
	// does not rebuild its own changes a second time.
	before, polls := a.src.posts.Load(), a.src.generations.Load()
	a.follow(t, interval)
	testkit.Eventually(t, "A polls three times", func() bool { return a.src.generations.Load() >= polls+3 })
	if got := a.src.posts.Load(); got != before {
		t.Errorf("A rebuilt %d times for changes it had already built", got-before)
	}

	// Disconnecting on A empties B's gallery.
	if err := a.st.DeleteToken(ctx); err != nil {
		t.Fatal(err)
	}
	testkit.Eventually(t, "B empties after the disconnect on A", func() bool {
		ids, user, _, _ := b.gallery(t)
		return len(ids) == 0 && user == ""
	})
}
