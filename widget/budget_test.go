package widget

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/gin-gonic/gin"

	"vitrine/config"
	"vitrine/store"
)

// Size budgets: the loader code alone, and the whole embed (loader,
// markup, CSS and the words of the other languages) for a 12-post
// gallery: 6 KB with the defaults, 9 KB with every option on.
const (
	loaderBudget     = 3 << 10
	embedBudget      = 6 << 10
	embedBudgetFully = 9 << 10
)

func gzipLen(t testing.TB, b []byte) int {
	t.Helper()
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	_, _ = zw.Write(b)
	_ = zw.Close()
	return buf.Len()
}

// TestSizeBudgets prints the sizes (go test -v -run SizeBudgets) and fails
// when a budget is exceeded.
func TestSizeBudgets(t *testing.T) {
	e := newEnv(t, withSeed(12))
	var videos []string // the worst case: every video playable
	for _, p := range makePosts(12) {
		if p.MediaType == "VIDEO" {
			videos = append(videos, p.ID)
		}
	}
	e.mirrorVideos(videos...)
	e.rebuild()
	loader := gzipLen(t, []byte(e.w.js))
	r := e.get("/widget.js", "Accept-Encoding", "gzip")
	embed := len(r.body)
	css := gzipLen(t, []byte(e.w.css))
	msg := fmt.Sprintf("widget.js loader %d B gz (budget %d), whole embed for 12 posts %d B gz (budget %d; %d B raw), CSS alone %d B gz",
		loader, loaderBudget, embed, embedBudget, len(r.text(t)), css)
	t.Log(msg)
	if loader > loaderBudget {
		t.Errorf("loader over budget: %s", msg)
	}
	if embed > embedBudget {
		t.Errorf("embed over budget: %s", msg)
	}
	if strings.Count(jsMarkup(t, r.text(t)), `<li class="vitrine-item" `) != 12 {
		t.Error("the measured embed does not hold 12 posts")
	}
}

// Every option on (captions, a layout, a language other than the
// default's words, filters, videos) stays within 9 KB.
func TestSizeBudgetEveryOptionOn(t *testing.T) {
	e := newEnv(t, withSeed(30), withConfig(func(c *config.Config) {
		w := &c.Widget
		w.Captions, w.Layout, w.Aspect, w.Language, w.Columns, w.ColumnsMobile = true, "highlight", "original", "pt", 4, 1
		w.ExcludeWords = []string{"nothing-matches"}
	}))
	var videos []string
	for _, p := range makePosts(30) {
		if p.MediaType == "VIDEO" {
			videos = append(videos, p.ID)
		}
	}
	e.mirrorVideos(videos...)
	e.rebuild()
	r := e.get("/widget.js?language=de", "Accept-Encoding", "gzip")
	t.Logf("widget.js with every option on, 12 of 30 posts: %d B gz (budget %d)", len(r.body), embedBudgetFully)
	if len(r.body) > embedBudgetFully {
		t.Errorf("widget.js with every option on is %d B gz, over %d", len(r.body), embedBudgetFully)
	}
	if !strings.Contains(r.text(t), `vitrine-more`) || !strings.Contains(r.text(t), `lang=\"de\"`) {
		t.Error("the measured embed lacks Load more or the language asked for")
	}
}

// discard is a ResponseWriter that keeps nothing, reused across iterations
// so the benchmarks count the handler's allocations, not the recorder's.
type discard struct {
	h    http.Header
	code int
}

func (d *discard) Header() http.Header         { return d.h }
func (d *discard) Write(p []byte) (int, error) { return len(p), nil }
func (d *discard) WriteHeader(code int)        { d.code = code }

func benchEnv(b *testing.B) (*Widget, http.Handler, http.Handler) {
	b.Helper()
	w := benchWidget(b, 12)
	g := gin.New()
	w.Register(g)
	return w, g, w.Handler()
}

// benchWidget builds a widget over a real store with n mirrored posts.
func benchWidget(b *testing.B, n int) *Widget {
	b.Helper()
	dir := b.TempDir()
	st, err := store.Open(dir+"/v.db", bytes.Repeat([]byte{7}, 32))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = st.Close() })
	ctx := context.Background()
	if err := st.SaveToken(ctx, store.Token{AccessToken: "x", Username: "studio.lumen", Name: "Studio Lumen"}); err != nil {
		b.Fatal(err)
	}
	posts := makePosts(n)
	if _, err := st.ReplacePosts(ctx, posts); err != nil {
		b.Fatal(err)
	}
	src := &source{Store: st}
	for _, p := range posts {
		for _, id := range append([]string{p.ID}, childIDs(p)...) {
			for _, wd := range widths {
				src.images = append(src.images, MirroredFile{MediaID: id, Width: wd, Height: wd * 5 / 4, Color: "#336699", Path: dir + "/x.jpg"})
			}
		}
	}
	cfg := config.Default()
	cfg.Server.PublicURL = "https://vitrine.example"
	cfg.Widget.Count, cfg.Widget.MaxPosts = n, n // the whole gallery: the worst case
	w, err := New(Options{Settings: cfg.Widget, PublicURL: cfg.Server.PublicURL, Source: src, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		b.Fatal(err)
	}
	return w
}

func childIDs(p store.Post) []string {
	var ids []string
	for _, c := range p.Children {
		ids = append(ids, c.ID)
	}
	return ids
}

func benchServe(b *testing.B, h http.Handler, path string, hdr ...string) {
	req := httptest.NewRequest(http.MethodGet, path, nil)
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	rw := &discard{h: http.Header{}}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		clear(rw.h)
		h.ServeHTTP(rw, req)
	}
	if rw.code != http.StatusOK && rw.code != http.StatusNotModified {
		b.Fatalf("status %d", rw.code)
	}
}

// BenchmarkHandlers measures the hot path: the handler itself (direct), the
// same behind Go's ServeMux and behind gin. net/http's own per-connection
// and per-request work is outside all three.
func BenchmarkHandlers(b *testing.B) {
	w, g, mux := benchEnv(b)
	direct := map[string]http.HandlerFunc{
		"/widget":      func(rw http.ResponseWriter, r *http.Request) { w.serveHTTP(rw, r, kindPage, "", "") },
		"/widget.js":   func(rw http.ResponseWriter, r *http.Request) { w.serveHTTP(rw, r, kindScript, "", "") },
		"/widget.json": func(rw http.ResponseWriter, r *http.Request) { w.serveHTTP(rw, r, kindJSON, "", "") },
	}
	etag := w.cur.Load().js.etagGz
	for _, path := range []string{"/widget", "/widget.js", "/widget.json"} {
		for name, h := range map[string]http.Handler{"direct": direct[path], "mux": mux, "gin": g} {
			b.Run(strings.TrimPrefix(path, "/")+"/gzip/"+name, func(b *testing.B) {
				benchServe(b, h, path, "Accept-Encoding", "gzip, deflate, br")
			})
		}
	}
	b.Run("widget.js/304/gin", func(b *testing.B) {
		benchServe(b, g, "/widget.js", "Accept-Encoding", "gzip", "If-None-Match", etag)
	})
	// An embed's caption words: the word gallery is built on the first request,
	// then served like the others (parse the query, find the word gallery).
	b.Run("widget.js?include_words/gzip/gin", func(b *testing.B) {
		benchServe(b, g, "/widget.js?include_words=handmade,openstudio", "Accept-Encoding", "gzip, deflate, br")
	})
	// A filter never asked before, of words the captions have: what a
	// new word gallery of widget.js costs the server. (Made-up words all share
	// one word gallery.)
	b.Run("widget.js?include_words/new-variant", func(b *testing.B) {
		s := w.cur.Load()
		words := slices.Collect(maps.Keys(captionTokens(strings.Join(captionsOf(s.in.posts), " "))))
		q := url.Values{}
		for i := range b.N {
			q.Set("include_words", words[i%len(words)]+","+words[(i/len(words))%len(words)])
			s.wordGalleries.byKey, s.wordGalleries.keys = nil, nil // every one new
			_ = w.filtered(s, parseWordFilter(q), "en", kindScript, false)
		}
	})
}

// BenchmarkSnapshotBuild100 builds a snapshot of 100 posts from what the
// store returned (templates, JSON, gzip, checksums), and the full Rebuild
// including the SQLite reads.
func BenchmarkSnapshotBuild100(b *testing.B) {
	w := benchWidget(b, 100)
	in, err := w.load(context.Background())
	if err != nil {
		b.Fatal(err)
	}
	b.Run("build", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := w.build(in, false); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("rebuild-with-store", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if err := w.Rebuild(context.Background()); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func captionsOf(posts []store.Post) []string {
	out := make([]string, len(posts))
	for i, p := range posts {
		out[i] = p.Caption
	}
	return out
}
