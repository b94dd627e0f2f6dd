package widget

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"vitrine/config"
)

// wireResponse parses what a fast path would send for Wire's answer.
func wireResponse(t *testing.T, method string, head, body []byte) response {
	t.Helper()
	raw := append(append(append([]byte(nil), head...), "Date: Mon, 23 Nov 2026 10:00:00 GMT\r\n\r\n"...), body...)
	res, err := http.ReadResponse(bufio.NewReader(bytes.NewReader(raw)), &http.Request{Method: method})
	if err != nil {
		t.Fatalf("wire response does not parse: %v\n%s", err, head)
	}
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return response{res, b}
}

// sameResponse compares status, header fields (but Date) and body.
func sameResponse(t *testing.T, what string, got, want response) {
	t.Helper()
	if got.StatusCode != want.StatusCode {
		t.Errorf("%s: status %d, handler %d", what, got.StatusCode, want.StatusCode)
	}
	g, w := got.Header.Clone(), want.Header.Clone()
	g.Del("Date")
	w.Del("Date")
	if len(g) != len(w) {
		t.Errorf("%s: header fields\n%v\nhandler\n%v", what, g, w)
	}
	for k, v := range w {
		if strings.Join(g[k], "\n") != strings.Join(v, "\n") {
			t.Errorf("%s: %s = %q, handler %q", what, k, g[k], v)
		}
	}
	if !bytes.Equal(got.body, want.body) {
		t.Errorf("%s: body of %d bytes, handler %d", what, len(got.body), len(want.body))
	}
}

// TestWireMatchesHandlers asks Wire and the handlers behind a real server
// the same questions: whenever Wire answers, its bytes are the handlers'.
func TestWireMatchesHandlers(t *testing.T) {
	for _, tc := range []struct {
		name    string
		origins []string
	}{{"any origin", nil}, {"allow-list", []string{"https://shop.example"}}} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, withSeed(5), withConfig(func(c *config.Config) { c.Widget.AllowedOrigins = tc.origins }))
			id := makePosts(1)[0].ID
			s := e.w.cur.Load()
			targets := []string{"/widget", "/widget?fragment=1", "/widget?x=1&fragment=1", "/widget?fragment=0",
				"/widget.js", "/widget.js?v=3", "/widget.json", "/media/" + id + "/640.jpg", "/media/" + id + "/320.jpg"}
			headers := [][]string{
				nil,
				{"Accept-Encoding", "gzip"},
				{"Accept-Encoding", "gzip;q=0, identity"},
				{"Accept-Encoding", "br, gzip;q=0.5"},
				{"If-None-Match", s.js.etag},
				{"If-None-Match", `W/` + s.page.etagGz, "Accept-Encoding", "gzip"},
				{"If-None-Match", `"nope", ` + s.json.etag},
				{"Origin", "https://shop.example"},
				{"Origin", "https://elsewhere.example", "Accept-Encoding", "gzip"},
				{"Range", "bytes=0-9"},
			}
			answered := 0
			for _, target := range targets {
				for _, hdr := range headers {
					for _, method := range []string{http.MethodGet, http.MethodHead} {
						path, query, _ := strings.Cut(target, "?")
						r := &WireRequest{Head: method == http.MethodHead, Path: path, RawQuery: query}
						for i := 0; i < len(hdr); i += 2 {
							switch hdr[i] {
							case "Accept-Encoding":
								r.AcceptEncoding = hdr[i+1]
							case "If-None-Match":
								r.IfNoneMatch = hdr[i+1]
							case "Origin":
								r.Origin = hdr[i+1]
							case "Range":
								r.Conditional = true
							}
						}
						head, body, ok := e.w.Wire(r)
						if !ok {
							continue
						}
						answered++
						what := method + " " + target + " " + strings.Join(hdr, ": ")
						sameResponse(t, what, wireResponse(t, method, head, body), e.do(method, target, hdr...))
					}
				}
			}
			// Every gallery question, and the images' without Range or
			// If-None-Match; the allow-list leaves widget.js and
			// widget.json with an Origin to the handlers.
			want := 7*len(headers)*2 + 2*(len(headers)-4)*2
			if tc.origins != nil {
				want -= 3 * 2 * 2
			}
			if answered != want {
				t.Errorf("Wire answered %d requests, want %d", answered, want)
			}
		})
	}
}

func TestWireDeclines(t *testing.T) {
	e := newEnv(t, withSeed(2))
	id := makePosts(1)[0].ID
	for _, r := range []WireRequest{
		{Path: "/"},
		{Path: "/widget/"},
		{Path: "/widget.htm"},
		{Path: "/media/" + id + "/641.jpg"},
		{Path: "/media/" + id + "/0640.jpg"},
		{Path: "/media/" + id + "/640.jpg/x"},
		{Path: "/media/avatar/640.jpg"},
		{Path: "/media/../640.jpg"},
		{Path: "/media/" + id + "/640.jpg", IfNoneMatch: `"x"`},
		{Path: "/media/" + id + "/640.jpg", Conditional: true},
	} {
		if _, _, ok := e.w.Wire(&r); ok {
			t.Errorf("Wire answered %+v", r)
		}
	}
}

func TestMediaCache(t *testing.T) {
	e := newEnv(t, withSeed(2))
	posts := makePosts(2)
	id := posts[0].ID
	path := "/media/" + id + "/640.jpg"
	r := &WireRequest{Path: path}
	_, body, ok := e.w.Wire(r)
	want, _ := os.ReadFile(e.jpeg[640])
	if !ok || !bytes.Equal(body, want) {
		t.Fatalf("Wire %s: ok %v, %d bytes", path, ok, len(body))
	}
	if n := e.w.mediaBytes.Load(); n != int64(len(want)) {
		t.Errorf("cache holds %d bytes, want %d", n, len(want))
	}

	// A file replaced behind Vitrine's back is read again once rechecked.
	newer := writeJPEG(t, e.jpeg[640]+".new", 640, 700)
	if err := os.Chtimes(newer, time.Time{}, time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(newer, e.jpeg[640]); err != nil {
		t.Fatal(err)
	}
	v, _ := e.w.mediaCache.Load(mediaKey{id, 640, false})
	v.(*mediaFile).checked.Store(0) // as if mediaRecheck had passed
	want, _ = os.ReadFile(e.jpeg[640])
	if _, body, ok = e.w.Wire(r); !ok || !bytes.Equal(body, want) {
		t.Fatalf("after the file changed: ok %v, %d bytes, want %d", ok, len(body), len(want))
	}
	if got := e.get(path); got.StatusCode != http.StatusOK || !bytes.Equal(got.body, want) {
		t.Fatalf("handler after the file changed: %d, %d bytes", got.StatusCode, len(got.body))
	}
	if n := e.w.mediaBytes.Load(); n != int64(len(want)) {
		t.Errorf("cache holds %d bytes after the swap, want %d", n, len(want))
	}

	// A snapshot without the post forgets its images.
	e.src.setImages(nil)
	e.rebuild()
	if _, ok := e.w.mediaCache.Load(mediaKey{id, 640, false}); ok || e.w.mediaBytes.Load() != 0 {
		t.Errorf("cache after the image left the snapshot: %d bytes", e.w.mediaBytes.Load())
	}
}

func TestMediaCacheBudget(t *testing.T) {
	e := newEnv(t, withSeed(1))
	id := makePosts(1)[0].ID
	w, err := New(Options{Settings: e.cfg.Widget, PublicURL: e.cfg.Server.PublicURL, Source: e.src, MediaCacheBytes: -1})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, ok := w.Wire(&WireRequest{Path: "/media/" + id + "/320.jpg"}); ok {
		t.Error("Wire answered from a cache of no bytes")
	}
	rec := httptest.NewRecorder()
	req, _ := http.NewRequestWithContext(context.Background(), http.MethodGet, "/media/"+id+"/320.jpg", nil)
	if !w.serveHTTP(rec, req, kindMedia, id, "320.jpg") || rec.Code != http.StatusOK || w.mediaBytes.Load() != 0 {
		t.Errorf("uncached image: status %d, cache %d bytes", rec.Code, w.mediaBytes.Load())
	}
}

// BenchmarkWire is the fast path's share of a request: the widget's answer
// without any HTTP parsing or I/O (compare BenchmarkHandlers).
func BenchmarkWire(b *testing.B) {
	w := benchWidget(b, 12)
	var media string
	for k, path := range w.cur.Load().media {
		media = "/media/" + k.id + "/" + itoa(k.width) + ".jpg"
		writeJPEG(b, path, 640, 800) // benchWidget names files it does not write
		break
	}
	for _, r := range []WireRequest{
		{Path: "/widget", AcceptEncoding: "gzip, deflate, br"},
		{Path: "/widget", RawQuery: "fragment=1", AcceptEncoding: "gzip, deflate, br"},
		{Path: "/widget.js", AcceptEncoding: "gzip, deflate, br"},
		{Path: "/widget.json", AcceptEncoding: "gzip, deflate, br"},
		{Path: "/widget.js", AcceptEncoding: "gzip", IfNoneMatch: w.cur.Load().js.etagGz},
		{Path: media},
	} {
		name := strings.TrimPrefix(r.Path, "/")
		if r.RawQuery != "" {
			name += "?" + r.RawQuery
		}
		if r.IfNoneMatch != "" {
			name += "/304"
		}
		if strings.HasPrefix(name, "media/") {
			name = "media"
		}
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, _, ok := w.Wire(&r); !ok {
					b.Fatal("declined")
				}
			}
		})
	}
}

// TestWireAllocatesNothing: the fast path's answers come prepared.
func TestWireAllocatesNothing(t *testing.T) {
	e := newEnv(t, withSeed(3))
	s := e.w.cur.Load()
	media := MediaPrefix + makePosts(1)[0].ID + "/640.jpg"
	for _, r := range []WireRequest{
		{Path: PagePath, AcceptEncoding: "gzip, deflate, br"},
		{Path: PagePath, RawQuery: "fragment=1", Head: true},
		{Path: ScriptPath, AcceptEncoding: "gzip", IfNoneMatch: s.js.etagGz},
		{Path: JSONPath, Origin: "https://shop.example"},
		{Path: media},
		{Path: media, Head: true},
	} {
		if _, _, ok := e.w.Wire(&r); !ok {
			t.Fatalf("Wire declined %+v", r)
		}
		if n := testing.AllocsPerRun(100, func() { e.w.Wire(&r) }); n != 0 {
			t.Errorf("Wire(%+v) allocates %v times", r, n)
		}
	}
}
