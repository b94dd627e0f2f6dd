package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"slices"
	"testing"

	"vitrine/instagram/fake"
	"vitrine/jobs"
	"vitrine/testkit/testvitrine"
)

// TestSyncCommandBesideAServerKeepsEveryMirroredFile runs `vitrine sync`
// next to a running Vitrine on the same data directory, as an operator
// would after a scheduled sync: every file the server mirrored (images and
// videos) is still on disk and still listed by the server's gallery, and
// the command's sync mirrors exactly what a scheduled one does.
func TestSyncCommandBesideAServerKeepsEveryMirroredFile(t *testing.T) {
	v := testvitrine.New(t, testvitrine.Served(), testvitrine.Posts(8), testvitrine.SmallPictures(),
		testvitrine.RealTime(), testvitrine.Connected())
	if !slices.ContainsFunc(v.Fake.Posts(), func(p fake.Post) bool { return p.MediaType == fake.MediaVideo }) {
		t.Fatal("the fake's posts have no video; this test needs one")
	}
	configureFromEnv(t, v)
	cfg := v.Config
	ctx := context.Background()
	if err := v.Jobs.RunNow(ctx, jobs.JobSync); err != nil {
		t.Fatalf("scheduled sync: %v", err)
	}
	scheduled := mediaFiles(t, cfg.MediaDir())
	videos := galleryVideos(t, v.Server.Handler)
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
	if got := galleryVideos(t, v.Server.Handler); !slices.Equal(got, videos) {
		t.Errorf("after vitrine sync the gallery lists videos %v, before %v", got, videos)
	}
	for _, u := range videos {
		rec := httptest.NewRecorder()
		v.Server.Handler.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, u, nil))
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
