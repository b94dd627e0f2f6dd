package widget

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"log/slog"
	"maps"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/gin-gonic/gin"
	"golang.org/x/time/rate"

	"vitrine/config"
	"vitrine/instagram/fake"
	"vitrine/store"
)

// Size budgets: the loader code alone; widget.js for a 12-post gallery
// (loader and markup): 6 KB with the defaults, 9 KB with every option on;
// and widget.css (the gallery's CSS, the settings, and the space each
// embed reserves), which the snippet links and the shadow root takes from
// the cache, shared by every embed and language. Each is measured on three
// feeds: the tests' everyday posts, the demo's own (its fake Instagram's,
// with a caption of 800 characters and alt texts), and posts whose
// captions are Instagram's longest, 2,200 characters.
// The loader's own budget grew from 3 KB when it took on the galleries
// added after load, Vitrine.render, the iframe's height, the theming
// options and the options table's values (3,074 B gz then).
const (
	loaderBudget     = 3<<10 + 256
	embedBudget      = 6 << 10
	embedBudgetFully = 9 << 10
	styleBudget      = 3 << 10
)

func gzipLen(t testing.TB, b []byte) int {
	t.Helper()
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	_, _ = zw.Write(b)
	_ = zw.Close()
	return buf.Len()
}

// budgetFeeds are the feeds the budgets are measured on: n posts of each.
var budgetFeeds = []struct {
	name  string
	posts func(n int) []store.Post
}{
	{"everyday posts", makePosts},
	{"the demo's posts", demoPosts},
	{"2,200-character captions", longCaptionPosts},
}

// demoPosts are the first n posts of the demo's fake Instagram, as the feed
// caches them (the one whose picture Instagram withholds left out, as the
// mirror leaves it).
func demoPosts(n int) []store.Post {
	f := fake.New(fake.Options{Clock: fake.NewClock(testNow)})
	var out []store.Post
	for _, p := range f.Posts() {
		if p.NoMediaURL {
			continue
		}
		sp := store.Post{ID: p.ID, MediaType: p.MediaType, Caption: p.Caption, AltText: p.AltText, Permalink: p.Permalink(), Timestamp: p.Timestamp,
			MediaURL: "https://scontent.cdninstagram.com/v/" + p.ID + ".jpg"}
		for _, c := range p.Children {
			sp.Children = append(sp.Children, store.Child{ID: c.ID, MediaType: c.MediaType, AltText: c.AltText, MediaURL: "https://scontent.cdninstagram.com/v/" + c.ID + ".jpg"})
		}
		if out = append(out, sp); len(out) == n {
			break
		}
	}
	return out
}

// longCaptionPosts are makePosts(n) with captions of 2,200 characters, each
// its own words (text that repeats would compress to nothing).
func longCaptionPosts(n int) []store.Post {
	words := strings.Fields(`light clay studio morning glaze kiln fire hands wheel bowl mug
		plate vase river market saturday friends thank you new colour blue speckled
		slow coffee table shelf dry wet throw trim handle lid weekend open visit Lisbon
		small batch order ship box paper ribbon note card season spring autumn summer`)
	rng := rand.New(rand.NewPCG(24, 2200))
	posts := makePosts(n)
	for i := range posts {
		var b strings.Builder
		for b.Len() < 2200 {
			if b.Len() > 0 {
				b.WriteByte(' ')
			}
			b.WriteString(words[rng.IntN(len(words))])
			if rng.IntN(9) == 0 {
				b.WriteString(". #" + words[rng.IntN(len(words))])
			}
		}
		posts[i].Caption = b.String()[:2200]
	}
	return posts
}

// budgetEnv is a widget over feed's n posts with their images, in JPEG
// and WebP, and videos mirrored (every video playable: the most the
// embed can carry).
func budgetEnv(t *testing.T, posts []store.Post, opts ...envOption) *env {
	t.Helper()
	e := newEnv(t, append([]envOption{func(e *env) {
		e.connect()
		e.replace(posts...)
		e.mirror(posts...)
	}}, opts...)...)
	var videos []string
	for _, p := range posts {
		if p.MediaType == "VIDEO" {
			videos = append(videos, p.ID)
		}
		for _, c := range p.Children {
			if c.MediaType == "VIDEO" {
				videos = append(videos, c.ID)
			}
		}
	}
	e.mirrorVideos(videos...)
	var ids []string
	for _, p := range posts {
		ids = append(ids, p.ID)
		for _, c := range p.Children {
			ids = append(ids, c.ID)
		}
	}
	e.mirrorWebP(nil, ids...)
	e.rebuild()
	return e
}

// TestSizeBudgets prints the sizes (go test -v -run SizeBudgets) and fails
// when a budget is exceeded.
func TestSizeBudgets(t *testing.T) {
	for _, feed := range budgetFeeds {
		t.Run(feed.name, func(t *testing.T) {
			e := budgetEnv(t, feed.posts(12))
			loader := gzipLen(t, []byte(e.w.js))
			r := e.get("/widget.js", "Accept-Encoding", "gzip")
			embed := len(r.body)
			style := len(e.get(StylePath, "Accept-Encoding", "gzip").body)
			markup := gzipLen(t, []byte(jsMarkup(t, r.text(t))))
			msg := fmt.Sprintf("widget.js loader %d B gz (budget %d), whole widget.js for 12 posts %d B gz (budget %d; %d B raw; its markup alone %d B gz); widget.css %d B gz (budget %d); a first visit's both %d B gz",
				loader, loaderBudget, embed, embedBudget, len(r.text(t)), markup, style, styleBudget, embed+style)
			t.Log(msg)
			if loader > loaderBudget {
				t.Errorf("loader over budget: %s", msg)
			}
			if embed > embedBudget {
				t.Errorf("widget.js over budget: %s", msg)
			}
			if style > styleBudget {
				t.Errorf("widget.css over budget: %s", msg)
			}
			if strings.Count(jsMarkup(t, r.text(t)), `<li class="vitrine-item" `) != 12 {
				t.Error("the measured embed does not hold 12 posts")
			}
		})
	}
}

// Every option on (captions cut to 150 characters, a layout, a language
// other than the default's words, filters, a theme and colours, videos)
// stays within 9 KB.
func TestSizeBudgetEveryOptionOn(t *testing.T) {
	for _, feed := range budgetFeeds {
		t.Run(feed.name, func(t *testing.T) {
			e := budgetEnv(t, feed.posts(30), withConfig(func(c *config.Config) {
				w := &c.Widget
				w.Captions, w.CaptionLength, w.Layout, w.Aspect, w.Language, w.Columns, w.ColumnsMobile = true, 150, "highlight", "original", "pt", 4, 1
				w.Theme, w.AccentColor, w.TextColor, w.BackgroundColor, w.Radius, w.Gap = "auto", "#b4532a", "#231f1c", "#faf7f2", 8, 6
				w.ExcludeWords = []string{"nothing-matches"}
			}))
			r := e.get("/widget.js?language=de", "Accept-Encoding", "gzip")
			t.Logf("widget.js with every option on, 12 of 30 posts: %d B gz (budget %d); with widget.css %d B gz", len(r.body), embedBudgetFully, len(r.body)+len(e.get(StylePath, "Accept-Encoding", "gzip").body))
			if len(r.body) > embedBudgetFully {
				t.Errorf("widget.js with every option on is %d B gz, over %d", len(r.body), embedBudgetFully)
			}
			if !strings.Contains(r.text(t), `vitrine-more`) || !strings.Contains(r.text(t), `lang=\"de\"`) || !strings.Contains(r.text(t), `vitrine-cap`) {
				t.Error("the measured embed lacks Load more, captions or the language asked for")
			}
		})
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
		w.wordGalleryBuilds = rate.NewLimiter(rate.Inf, 0) // the cost, not the budget
		s := w.cur.Load()
		words := slices.Collect(maps.Keys(captionTokens(strings.Join(captionsOf(s.in.posts), " "))))
		q := url.Values{}
		for i := range b.N {
			q.Set("include_words", words[i%len(words)]+","+words[(i/len(words))%len(words)])
			s.wordGalleries = &wordGalleries{} // every one new
			_ = w.filtered(s, parseWordFilter(q), "en", captionsChoice{s.in.look.Captions, s.in.look.CaptionLength}, kindScript, false)
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
