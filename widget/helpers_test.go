package widget

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/rand"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	"golang.org/x/time/rate"

	"vitrine/config"
	"vitrine/store"
	"vitrine/testkit/teststore"
)

func init() { gin.SetMode(gin.TestMode) }

// widths are the sizes the mirror job writes.
var widths = []int{240, 320, 640, 1080}

var testNow = time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)

// source is the real store plus the mirrored files a test wrote, the way
// main adapts the store's image records.
type source struct {
	*store.Store
	mu     sync.Mutex
	images []MirroredFile
}

func (s *source) MirroredFiles(context.Context) ([]MirroredFile, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]MirroredFile(nil), s.images...), nil
}

func (s *source) setImages(ims []MirroredFile) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.images = ims
}

// env is a widget on a real SQLite file behind a loopback gin server.
type env struct {
	t    *testing.T
	st   *store.Store
	src  *source
	cfg  *config.Config
	w    *Widget
	srv  *httptest.Server
	base string
	dir  string
	jpeg map[int]string // width → a JPEG file of that width (4:5)
	// syncJob is Options.SyncJob.
	syncJob string
}

type envOption func(*env)

func withConfig(f func(*config.Config)) envOption { return func(e *env) { f(e.cfg) } }

// withWriteTimeout gives the test server the write timeout d, as the
// real server has one.
func withWriteTimeout(d time.Duration) envOption {
	return func(e *env) { e.srv.Config.WriteTimeout = d }
}

// withSyncJob names the job whose failing runs make the gallery stale.
func withSyncJob(name string) envOption { return func(e *env) { e.syncJob = name } }

// withSeed saves a token, n posts and their mirrored images before the
// widget starts.
func withSeed(n int) envOption {
	return func(e *env) {
		e.connect()
		posts := makePosts(n)
		e.replace(posts...)
		e.mirror(posts...)
	}
}

func newEnv(t *testing.T, opts ...envOption) *env {
	t.Helper()
	dir := t.TempDir()
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	st := teststore.Open(t, teststore.SQLiteAt(t, filepath.Join(dir, "v.db")), key, store.WithClock(func() time.Time { return testNow }))
	cfg := config.Default()
	cfg.DataDir = dir
	srv := httptest.NewUnstartedServer(nil)
	e := &env{t: t, st: st, src: &source{Store: st}, cfg: &cfg, srv: srv, dir: dir,
		base: "http://" + srv.Listener.Addr().String()}
	cfg.Server.PublicURL = e.base
	e.jpeg = map[int]string{}
	for _, w := range widths {
		e.jpeg[w] = writeJPEG(t, filepath.Join(dir, "media", fmt.Sprintf("sample-%d.jpg", w)), w, w*5/4)
	}
	for _, o := range opts {
		o(e)
	}
	var err error
	e.w, err = New(Options{Settings: e.cfg.Widget, PublicURL: e.cfg.Server.PublicURL, Source: e.src, Now: func() time.Time { return testNow }, SyncJob: e.syncJob})
	if err != nil {
		t.Fatal(err)
	}
	// Tests ask for many filters in a row; TestWordGalleryBuildBudget
	// puts the budget back.
	e.w.wordGalleryBuilds = rate.NewLimiter(rate.Inf, 0)
	r := gin.New()
	e.w.Register(r)
	srv.Config.Handler = r
	srv.Start()
	t.Cleanup(srv.Close)
	return e
}

func (e *env) connect() {
	e.t.Helper()
	err := e.st.SaveToken(context.Background(), store.Token{
		AccessToken: "IGQ-secret", UserID: "17841400000000001", Username: "studio.lumen",
		Name: "Studio Lumen", ExpiresAt: testNow.Add(50 * 24 * time.Hour),
	})
	if err != nil {
		e.t.Fatal(err)
	}
}

func (e *env) replace(posts ...store.Post) {
	e.t.Helper()
	if _, err := e.st.ReplacePosts(context.Background(), posts); err != nil {
		e.t.Fatal(err)
	}
}

// mirror records files for the posts and their children, pointing at the
// sample JPEGs, as the mirror job would after downloading them.
func (e *env) mirror(posts ...store.Post) {
	var ims []MirroredFile
	add := func(id string, i int) {
		for _, w := range widths {
			ims = append(ims, MirroredFile{MediaID: id, Width: w, Height: w * 5 / 4,
				Color: fmt.Sprintf("#%02x%02x%02x", 40+i*13%200, 90+i*29%150, 120+i*7%120), Path: e.jpeg[w]})
		}
	}
	for i, p := range posts {
		add(p.ID, i)
		for _, c := range p.Children {
			add(c.ID, i+1)
		}
	}
	e.src.setImages(append(e.src.imagesCopy(), ims...))
}

func (s *source) imagesCopy() []MirroredFile {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]MirroredFile(nil), s.images...)
}

// mirrorTinted is mirror with a differently tinted picture for each post,
// for screenshots.
func (e *env) mirrorTinted(posts ...store.Post) {
	var ims []MirroredFile
	for i, p := range posts {
		ids := []string{p.ID}
		for _, c := range p.Children {
			ids = append(ids, c.ID)
		}
		for j, id := range ids {
			for _, w := range widths {
				path := writeJPEGTint(e.t, filepath.Join(e.dir, "media", id, fmt.Sprintf("%d.jpg", w)), w, w*5/4, i+j)
				ims = append(ims, MirroredFile{MediaID: id, Width: w, Height: w * 5 / 4, Color: "#888888", Path: path})
			}
		}
	}
	e.src.setImages(ims)
}

// makePosts returns n posts, newest first: images, videos and carousels of
// three, with everyday captions.
func makePosts(n int) []store.Post {
	captions := []string{
		"Morning light over the studio ☀️ New prints drop Friday. #photography #studio #morning",
		"Behind the scenes of our autumn shoot with @mara.lens 🍂",
		"Three new colourways, all hand-dyed in small batches. Swipe to see each one → #handmade #slowfashion",
		"",
		"Packing orders all afternoon 📦 thank you for the love!",
		"Our new space is finally open. Come say hi this weekend, Saturday 10–4. #openstudio",
	}
	posts := make([]store.Post, n)
	for i := range posts {
		id := fmt.Sprintf("1789%013d", 5000+i)
		p := store.Post{
			ID:        id,
			MediaType: "IMAGE",
			Caption:   captions[i%len(captions)],
			Permalink: "https://www.instagram.com/p/C" + id[8:] + "/",
			MediaURL:  "https://scontent.cdninstagram.com/v/" + id + ".jpg?sig=abc",
			Timestamp: testNow.Add(-time.Duration(i) * 26 * time.Hour),
		}
		switch i % 4 {
		case 1:
			p.MediaType = "VIDEO"
			p.ThumbnailURL = "https://scontent.cdninstagram.com/v/t" + id + ".jpg"
			p.MediaURL = "https://video.cdninstagram.com/v/" + id + ".mp4"
		case 2:
			p.MediaType = "CAROUSEL_ALBUM"
			for c := range 3 {
				p.Children = append(p.Children, store.Child{
					ID: fmt.Sprintf("1790%013d", 100*i+c), MediaType: "IMAGE",
					MediaURL: fmt.Sprintf("https://scontent.cdninstagram.com/v/c%d-%d.jpg", i, c),
				})
			}
		}
		if i == 0 {
			p.AltText = "A sunlit desk with prints drying on a line"
		}
		posts[i] = p
	}
	return posts
}

// writeJPEG writes a w×h JPEG with a soft gradient, so it looks like a photo
// in screenshots.
func writeJPEG(t testing.TB, path string, w, h int) string {
	return writeJPEGTint(t, path, w, h, 0)
}

// palettes tint the sample pictures so a gallery of them looks varied.
var palettes = [][2]color.RGBA{
	{{200, 120, 160, 255}, {80, 200, 220, 255}},
	{{250, 190, 120, 255}, {190, 70, 90, 255}},
	{{40, 60, 90, 255}, {120, 200, 190, 255}},
	{{240, 230, 200, 255}, {150, 110, 80, 255}},
	{{90, 150, 90, 255}, {230, 220, 140, 255}},
	{{30, 30, 50, 255}, {200, 90, 160, 255}},
}

func writeJPEGTint(t testing.TB, path string, w, h, tint int) string {
	t.Helper()
	data, err := sampleJPEG(w, h, tint)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// sampleJPEGs are the sample pictures already encoded, by size and tint:
// every env writes the same few, and encoding them was most of the
// package's CPU time.
var sampleJPEGs struct {
	sync.Mutex
	m map[[3]int][]byte
}

// sampleJPEG is a w×h gradient in palette tint, as a JPEG.
func sampleJPEG(w, h, tint int) ([]byte, error) {
	sampleJPEGs.Lock()
	defer sampleJPEGs.Unlock()
	key := [3]int{w, h, tint % len(palettes)}
	if b, ok := sampleJPEGs.m[key]; ok {
		return b, nil
	}
	pal := palettes[key[2]]
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	lerp := func(a, b uint8, num, den int) uint8 { return uint8(int(a) + (int(b)-int(a))*num/den) }
	for y := range h {
		for x := range w {
			k := x + y
			i := img.PixOffset(x, y)
			img.Pix[i], img.Pix[i+1], img.Pix[i+2], img.Pix[i+3] =
				lerp(pal[0].R, pal[1].R, k, w+h), lerp(pal[0].G, pal[1].G, k, w+h), lerp(pal[0].B, pal[1].B, k, w+h), 255
		}
	}
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: 70}); err != nil {
		return nil, err
	}
	if sampleJPEGs.m == nil {
		sampleJPEGs.m = map[[3]int][]byte{}
	}
	sampleJPEGs.m[key] = buf.Bytes()
	return buf.Bytes(), nil
}

// response is a fetched response with its body decoded as sent.
type response struct {
	*http.Response
	body []byte // as received (gzip when Content-Encoding says so)
}

// text is the body, gunzipped when needed.
func (r response) text(t *testing.T) string {
	t.Helper()
	if r.Header.Get("Content-Encoding") != "gzip" {
		return string(r.body)
	}
	zr, err := gzip.NewReader(bytes.NewReader(r.body))
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// client never adds or decodes gzip by itself, so tests see what was sent.
var client = &http.Client{Transport: &http.Transport{DisableCompression: true}, Timeout: 10 * time.Second}

func (e *env) do(method, path string, hdr ...string) response {
	e.t.Helper()
	req, err := http.NewRequest(method, e.base+path, nil)
	if err != nil {
		e.t.Fatal(err)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	res, err := client.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	return response{res, b}
}

func (e *env) get(path string, hdr ...string) response {
	e.t.Helper()
	return e.do(http.MethodGet, path, hdr...)
}

func (e *env) rebuild() {
	e.t.Helper()
	if err := e.w.Rebuild(context.Background()); err != nil {
		e.t.Fatal(err)
	}
}

func mustContain(t *testing.T, what, s string, subs ...string) {
	t.Helper()
	for _, sub := range subs {
		if !strings.Contains(s, sub) {
			t.Errorf("%s does not contain %q", what, sub)
		}
	}
}

func mustNotContain(t *testing.T, what, s string, subs ...string) {
	t.Helper()
	for _, sub := range subs {
		if strings.Contains(s, sub) {
			t.Errorf("%s contains %q", what, sub)
		}
	}
}
