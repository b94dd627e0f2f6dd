package instagram

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"vitrine/instagram/fake"
)

func TestMediaPaging(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, withPosts(12), withConfig(func(c *Config) { c.PageSize = 5 }))
	tok := e.longLived()

	media, err := e.c.Media(ctx, tok, 0)
	if err != nil {
		t.Fatalf("Media: %v", e.seen(err))
	}
	checkMediaMatchesFake(t, e.f, media)
	if n := e.f.CallsTo("/me/media"); n != 3 {
		t.Errorf("%d page requests for 12 posts by 5, want 3", n)
	}
	// Children came inline, so no fallback calls.
	if n := e.f.CallsTo("/children"); n != 0 {
		t.Errorf("%d /children calls although children were inline", n)
	}
}

func TestMediaMax(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, withPosts(12), withConfig(func(c *Config) { c.PageSize = 5 }))
	tok := e.longLived()

	media, err := e.c.Media(ctx, tok, 7)
	if err != nil {
		t.Fatalf("Media: %v", e.seen(err))
	}
	ids := e.f.MediaIDs()
	if len(media) != 7 {
		t.Fatalf("got %d posts, want 7", len(media))
	}
	for i, m := range media {
		if m.ID != ids[i] {
			t.Errorf("post %d = %s, want %s", i, m.ID, ids[i])
		}
	}
	if n := e.f.CallsTo("/me/media"); n != 2 {
		t.Errorf("%d page requests for 7 posts by 5, want 2", n)
	}
}

func TestMediaEmptyAccount(t *testing.T) {
	e := newEnv(t, withPosts(-1))
	media, err := e.c.Media(context.Background(), e.longLived(), 0)
	if err != nil {
		t.Fatalf("Media: %v", e.seen(err))
	}
	if len(media) != 0 {
		t.Errorf("got %d posts from an empty account", len(media))
	}
}

// TestMediaChildrenFallback puts a filter in front of the fake that drops
// the inline children, as Instagram sometimes does: the client must ask
// /{id}/children for each carousel instead.
func TestMediaChildrenFallback(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, withPosts(12), withConfig(func(c *Config) { c.PageSize = 5 }))
	strip := httptest.NewServer(dropInlineChildren(e.f))
	t.Cleanup(strip.Close)
	cfg := e.cfg
	cfg.GraphURL = e.f.Endpoints(strip.URL).GraphURL
	c, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}

	media, err := c.Media(ctx, e.longLived(), 0)
	if err != nil {
		t.Fatalf("Media: %v", e.seen(err))
	}
	checkMediaMatchesFake(t, e.f, media)
	carousels := 0
	for _, p := range e.f.Posts() {
		if p.MediaType == fake.MediaCarousel {
			carousels++
		}
	}
	if n := e.f.CallsTo("/children"); n != int64(carousels) {
		t.Errorf("%d /children calls, want one per carousel (%d)", n, carousels)
	}
}

// dropInlineChildren passes requests to h and removes "children" from the
// items of /me/media answers.
func dropInlineChildren(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.HasSuffix(r.URL.Path, "/me/media") {
			h.ServeHTTP(w, r)
			return
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		body, _ := io.ReadAll(rec.Body)
		var page map[string]any
		if rec.Code == http.StatusOK && json.Unmarshal(body, &page) == nil {
			if items, ok := page["data"].([]any); ok {
				for _, it := range items {
					if m, ok := it.(map[string]any); ok {
						delete(m, "children")
					}
				}
			}
			body, _ = json.Marshal(page)
		}
		for k, v := range rec.Header() {
			w.Header()[k] = v
		}
		w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		w.WriteHeader(rec.Code)
		io.Copy(w, bytes.NewReader(body))
	})
}

func TestMeProfile(t *testing.T) {
	e := newEnv(t)
	p, err := e.c.Me(context.Background(), e.longLived())
	if err != nil {
		t.Fatalf("Me: %v", e.seen(err))
	}
	// user_id (the professional account id) is what Vitrine keys on, not
	// the app-scoped "id".
	if p.UserID != e.f.Account().UserID {
		t.Errorf("UserID = %q, want %q", p.UserID, e.f.Account().UserID)
	}
	if n := e.f.CallsTo("/me"); n != 1 {
		t.Errorf("%d /me calls, want 1", n)
	}
}
