package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"vitrine/config"
	"vitrine/instagram/fake"
	"vitrine/jobs"
	"vitrine/server"
	"vitrine/store"
	"vitrine/testkit"
)

// TestSyncCommandBesideAServerKeepsEveryMirroredFile runs `vitrine sync`
// next to a running Vitrine on the same data directory, as an operator
// would after a scheduled sync: every file the server mirrored (images and
// videos) is still on disk and still listed by the server's gallery, and
// the command's sync mirrors exactly what a scheduled one does.
func TestSyncCommandBesideAServerKeepsEveryMirroredFile(t *testing.T) {
	testkit.CleanEnv(t)
	const publicURL = "https://gallery.example.com"
	f := fake.New(fake.Options{RedirectURIs: []string{publicURL + "/admin/callback"}, Posts: 8})
	fsrv := httptest.NewServer(f)
	defer fsrv.Close()
	if !slices.ContainsFunc(f.Posts(), func(p fake.Post) bool { return p.MediaType == fake.MediaVideo }) {
		t.Fatal("the fake's posts have no video; this test needs one")
	}
	ep := f.Endpoints(fsrv.URL)
	configureFromEnv(t, f, ep, publicURL)
	cfg, err := config.Load("")
	if err != nil {
		t.Fatal(err)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	v, err := server.New(*cfg, slog.New(slog.NewTextHandler(io.Discard, nil)), server.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	acct := f.Account()
	if err := v.Store.SaveToken(ctx, store.Token{
		AccessToken: f.IssueLongLivedToken(), UserID: acct.UserID, Username: acct.Username,
		AccountType: "BUSINESS", ExpiresAt: time.Now().Add(60 * 24 * time.Hour), Status: store.StatusValid,
	}); err != nil {
		t.Fatal(err)
	}
	if err := v.Jobs.RunNow(ctx, jobs.JobSync); err != nil {
		t.Fatalf("scheduled sync: %v", err)
	}
	scheduled := mediaFiles(t, cfg.MediaDir())
	videos := galleryVideos(t, v.Handler)
	if len(videos) == 0 {
		t.Fatalf("the server's gallery lists no video after its sync; files: %v", scheduled)
	}

	var out bytes.Buffer
	if code := Run(ctx, []string{"sync"}, nil, &out, &out); code != ExitOK {
		t.Fatalf("vitrine sync: exit %d\n%s", code, out.String())
	}
	if got := mediaFiles(t, cfg.MediaDir()); !slices.Equal(got, scheduled) {
		t.Errorf("after vitrine sync the media directory holds\n%v\nafter the scheduled sync it held\n%v", got, scheduled)
	}
	// The server rebuilds from the store (as it does when it sees another
	// process's change) and still serves every video and image it did.
	if err := v.Gallery.Rebuild(ctx); err != nil {
		t.Fatal(err)
	}
	if got := galleryVideos(t, v.Handler); !slices.Equal(got, videos) {
		t.Errorf("after vitrine sync the gallery lists videos %v, before %v", got, videos)
	}
	for _, u := range videos {
		rec := httptest.NewRecorder()
		v.Handler.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, u, nil))
		if rec.Code != http.StatusOK {
			t.Errorf("GET %s after vitrine sync: %d", u, rec.Code)
		}
	}
}

// mediaFiles lists the files under dir, relative and sorted.
func mediaFiles(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(dir, path)
		out = append(out, rel)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(out)
	return out
}

// galleryVideos is the path of every video /widget.json lists.
func galleryVideos(t *testing.T, h http.Handler) []string {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/widget.json", nil))
	if rec.Code != http.StatusOK {
		t.Fatalf("/widget.json: %d", rec.Code)
	}
	type item struct {
		Video    string `json:"video"`
		Children []item `json:"children"`
	}
	var doc struct {
		Posts []item `json:"posts"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	var out []string
	var walk func([]item)
	walk = func(items []item) {
		for _, p := range items {
			if p.Video != "" {
				u, err := url.Parse(p.Video)
				if err != nil {
					t.Fatal(err)
				}
				out = append(out, u.Path)
			}
			walk(p.Children)
		}
	}
	walk(doc.Posts)
	slices.Sort(out)
	return out
}
