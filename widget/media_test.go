package widget

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"
)

// rawGet sends the request line exactly as given, so no client normalises
// the path before the server sees it.
func (e *env) rawGet(target string) (int, http.Header) {
	e.t.Helper()
	conn, err := net.DialTimeout("tcp", strings.TrimPrefix(e.base, "http://"), 5*time.Second)
	if err != nil {
		e.t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.WriteString(conn, "GET "+target+" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"); err != nil {
		e.t.Fatal(err)
	}
	res, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		e.t.Fatalf("GET %q: %v", target, err)
	}
	_, _ = io.Copy(io.Discard, res.Body)
	res.Body.Close()
	return res.StatusCode, res.Header
}

func TestMediaServesMirroredFiles(t *testing.T) {
	e := newEnv(t, withSeed(3))
	id := makePosts(1)[0].ID
	want, _ := os.ReadFile(e.jpeg[1080])
	r := e.get("/media/" + id + "/1080.jpg")
	if r.StatusCode != http.StatusOK || string(r.body) != string(want) {
		t.Fatalf("status %d, %d bytes (want %d)", r.StatusCode, len(r.body), len(want))
	}
	for k, v := range map[string]string{
		"Cache-Control":                "public, max-age=31536000, immutable",
		"Content-Type":                 "image/jpeg",
		"Cross-Origin-Resource-Policy": "cross-origin",
		"X-Content-Type-Options":       "nosniff",
	} {
		if got := r.Header.Get(k); got != v {
			t.Errorf("%s = %q, want %q", k, got, v)
		}
	}
	if r := e.get("/media/"+id+"/1080.jpg", "If-None-Match", r.Header.Get("Etag")); r.StatusCode != http.StatusNotModified {
		t.Errorf("revalidation: %d", r.StatusCode)
	}
	if r := e.get("/media/"+id+"/1080.jpg", "Range", "bytes=0-9"); r.StatusCode != http.StatusPartialContent || len(r.body) != 10 {
		t.Errorf("range: %d, %d bytes", r.StatusCode, len(r.body))
	}
	if r := e.do(http.MethodHead, "/media/"+id+"/320.jpg"); r.StatusCode != http.StatusOK || len(r.body) != 0 {
		t.Errorf("HEAD: %d", r.StatusCode)
	}
	// A file that vanished from disk is a 404, never a 500, as soon as the
	// memory cache looks at the disk again (within mediaRecheck).
	if err := os.Remove(e.jpeg[320]); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * mediaRecheck)
	for {
		r := e.get("/media/" + id + "/320.jpg")
		if r.StatusCode == http.StatusNotFound {
			break
		}
		if r.StatusCode != http.StatusOK || time.Now().After(deadline) {
			t.Fatalf("missing file: %d", r.StatusCode)
		}
		time.Sleep(mediaRecheck / 10)
	}
}

func TestMediaPathValidation(t *testing.T) {
	e := newEnv(t, withSeed(2))
	id := makePosts(1)[0].ID
	if code, _ := e.rawGet("/media/" + id + "/640.jpg"); code != http.StatusOK {
		t.Fatalf("valid path: %d", code)
	}
	for _, target := range []string{
		"/media/../../etc/passwd",
		"/media/" + id + "/../../v.db",
		"/media/%2e%2e/640.jpg",
		"/media/%2e%2e/%2e%2e/v.db",
		"/media/" + id + "/..%2f..%2fv.db",
		"/media/" + id + "/%2e%2e%2f640.jpg",
		"/media/%2Fetc%2Fpasswd/640.jpg",
		"/media//etc/640.jpg",
		"/media/" + id + "/%2Ftmp%2F640.jpg",
		"/media/" + id + "%00/640.jpg",
		"/media/" + id + "/640.jpg%00.png",
		"/media/" + id + "/640%00.jpg",
		"/media/abc/640.jpg",
		"/media/-1/640.jpg",
		"/media/99999999/640.jpg",
		"/media/" + id + "/641.jpg",
		"/media/" + id + "/0640.jpg",
		"/media/" + id + "/+640.jpg",
		"/media/" + id + "/640.png",
		"/media/" + id + "/640.JPG",
		"/media/" + id + "/640",
		"/media/" + id + "/.jpg",
		"/media/" + id + "/99999999999999999999.jpg",
		"/media/" + id + "/640.jpg/x",
		"/media/avatar/640.jpg", // not mirrored
		"/media/" + strings.Repeat("9", 5000) + "/640.jpg",
	} {
		code, h := e.rawGet(target)
		if code != http.StatusNotFound {
			t.Errorf("GET %s: %d, want 404", target, code)
		}
		if h.Get("Content-Type") == "image/jpeg" {
			t.Errorf("GET %s served an image", target)
		}
	}
}

// TestWholeImageAsServeContent: a plain GET or HEAD of an image held in
// memory is answered from its prepared head rather than through
// http.ServeContent; the answer is what http.ServeContent sends, for a
// post's image, the avatar (another Cache-Control) and a file dated at
// the Unix epoch (no Last-Modified).
func TestWholeImageAsServeContent(t *testing.T) {
	e := newEnv(t, withSeed(1))
	id := makePosts(1)[0].ID
	if err := os.Chtimes(e.jpeg[1080], time.Time{}, time.Unix(0, 0)); err != nil {
		t.Fatal(err)
	}
	e.src.setImages(append(e.src.imagesCopy(), MirroredFile{MediaID: AvatarID, Width: 320, Height: 400, Path: e.jpeg[320]}))
	e.rebuild()
	reference := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		id, file, _ := mediaSegments(strings.TrimPrefix(r.URL.Path, MediaPrefix))
		key, _ := parseMediaName(id, file)
		f, err := os.Open(e.w.cur.Load().media[key])
		if err != nil {
			t.Error(err)
			return
		}
		defer f.Close()
		st, _ := f.Stat()
		setFields(rw.Header(), mediaFields(key, mediaETag(key, st)))
		http.ServeContent(rw, r, "", st.ModTime(), f)
	}))
	defer reference.Close()
	fetch := func(method, url string) response {
		req, _ := http.NewRequest(method, url, nil)
		res, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return response{res, b}
	}
	for _, target := range []string{MediaPrefix + id + "/640.jpg", MediaPrefix + AvatarID + "/320.jpg", MediaPrefix + id + "/1080.jpg"} {
		for _, method := range []string{http.MethodGet, http.MethodHead} {
			got := e.do(method, target)
			if _, cached := e.w.mediaCache.Load(mustMediaKey(t, target)); !cached {
				t.Fatalf("%s is not held in memory", target)
			}
			sameResponse(t, method+" "+target, got, fetch(method, reference.URL+target))
		}
	}
}

func mustMediaKey(t *testing.T, target string) mediaKey {
	t.Helper()
	id, file, _ := mediaSegments(strings.TrimPrefix(target, MediaPrefix))
	key, ok := parseMediaName(id, file)
	if !ok {
		t.Fatalf("%s is no media path", target)
	}
	return key
}

// The files of a post the owner hid stay on disk for a while, so that
// showing it again needs no download, but /media/ stops serving them at
// once, its carousel's pictures included: hiding is how an owner takes a
// picture down from their site.
func TestMediaOfAHiddenPostIsNotServed(t *testing.T) {
	e := newEnv(t, withSeed(4))
	posts := makePosts(4)
	carousel, other := posts[2], posts[0]
	if len(carousel.Children) == 0 {
		t.Fatal("makePosts(4)[2] is no longer a carousel")
	}
	paths := []string{"/media/" + carousel.ID + "/320.jpg", "/media/" + carousel.Children[1].ID + "/640.jpg"}
	status := func(path string) int { return e.get(path).StatusCode }
	for _, p := range append(paths, "/media/"+other.ID+"/320.jpg") {
		if s := status(p); s != http.StatusOK {
			t.Fatalf("%s before hiding: %d", p, s)
		}
	}

	ctx := context.Background()
	if _, err := e.st.HidePost(ctx, carousel.ID); err != nil {
		t.Fatal(err)
	}
	e.rebuild()
	for _, p := range paths {
		if s := status(p); s != http.StatusNotFound {
			t.Errorf("%s of the hidden post: %d, want 404", p, s)
		}
	}
	if s := status("/media/" + other.ID + "/320.jpg"); s != http.StatusOK {
		t.Errorf("another post's picture: %d", s)
	}

	if _, err := e.st.ShowPost(ctx, carousel.ID); err != nil {
		t.Fatal(err)
	}
	e.rebuild()
	for _, p := range paths {
		if s := status(p); s != http.StatusOK {
			t.Errorf("%s once shown again: %d", p, s)
		}
	}
}
