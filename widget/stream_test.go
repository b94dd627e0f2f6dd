package widget

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"golang.org/x/time/rate"

	"vitrine/testkit"
)

// Several ranges get the whole file with 200, never a multipart answer
// many times the request's cost; one range still gets 206; an empty
// suffix gets 416; a unit other than bytes is ignored.
func TestRangesAnswerAtMostOnePart(t *testing.T) {
	e := newEnv(t, withSeed(3))
	id := makePosts(3)[0].ID
	want, _ := os.ReadFile(e.jpeg[1080])
	size := fmt.Sprint(len(want))
	path := "/media/" + id + "/1080.jpg"
	video := makePosts(4)[1].ID
	videoData := e.mirrorVideos(video)
	e.rebuild()

	many := "bytes=" + strings.TrimSuffix(strings.Repeat("0-0,", 2000), ",")
	for _, c := range []struct {
		name, path, rng string
		status          int
		body            []byte
		contentRange    string
	}{
		{"thousands of ranges", path, many, 200, want, ""},
		{"two ranges", path, "bytes=0-9,20-29", 200, want, ""},
		{"two ranges of a video", MediaPrefix + video + "/video.mp4", "bytes=0-0,5-5", 200, videoData, ""},
		{"one range", path, "bytes=0-9", 206, want[:10], "bytes 0-9/" + size},
		{"one range with empty elements", path, "bytes=,0-9,", 206, want[:10], "bytes 0-9/" + size},
		{"empty suffix", path, "bytes=-0", 416, nil, "bytes */" + size},
		{"empty suffix of a video", MediaPrefix + video + "/video.mp4", "bytes=-0", 416, nil, fmt.Sprintf("bytes */%d", len(videoData))},
		{"another unit", path, "items=0-1", 200, want, ""},
	} {
		r := e.get(c.path, "Range", c.rng)
		if r.StatusCode != c.status || r.Header.Get("Content-Range") != c.contentRange {
			t.Errorf("%s: %d, Content-Range %q; want %d, %q", c.name, r.StatusCode, r.Header.Get("Content-Range"), c.status, c.contentRange)
			continue
		}
		if c.body != nil && !bytes.Equal(r.body, c.body) {
			t.Errorf("%s: %d bytes, want %d", c.name, len(r.body), len(c.body))
		}
		if ct := r.Header.Get("Content-Type"); strings.HasPrefix(ct, "multipart/") {
			t.Errorf("%s: %s", c.name, ct)
		}
		// A refusal is an error, not the file: no cache may keep it for
		// the file's year, nor take its validators for the file's.
		if c.status == 416 && (r.Header.Get("Cache-Control") != "no-store" || r.Header.Get("Etag") != "" || r.Header.Get("Last-Modified") != "") {
			t.Errorf("%s: 416 with Cache-Control %q, ETag %q, Last-Modified %q", c.name, r.Header.Get("Cache-Control"), r.Header.Get("Etag"), r.Header.Get("Last-Modified"))
		}
	}

	// Two Range fields are two lists: the whole file.
	req, _ := http.NewRequest(http.MethodGet, e.base+path, nil)
	req.Header["Range"] = []string{"bytes=0-0", "bytes=1-1"}
	res, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 || !bytes.Equal(body, want) {
		t.Errorf("two Range fields: %d, %d bytes", res.StatusCode, len(body))
	}
}

// While every stream slot is taken, a range or a video waits, then is told
// to come back (503, Retry-After), while a whole image is served at once:
// ordinary visitors come first.
func TestStreamsAreBounded(t *testing.T) {
	e := newEnv(t, withSeed(3))
	id := makePosts(3)[0].ID
	video := makePosts(4)[1].ID
	e.mirrorVideos(video)
	e.rebuild()
	e.w.streamSlotWait = 50 * time.Millisecond
	for range maxStreams {
		e.w.streams <- struct{}{}
	}
	for _, c := range []struct{ path, rng string }{
		{MediaPrefix + video + "/video.mp4", ""},
		{"/media/" + id + "/1080.jpg", "bytes=0-9"},
	} {
		r := e.get(c.path, "Range", c.rng)
		if r.StatusCode != http.StatusServiceUnavailable || r.Header.Get("Retry-After") != "1" || r.Header.Get("Cache-Control") != "no-store" {
			t.Errorf("%s (Range %q) with every slot taken: %d, Retry-After %q", c.path, c.rng, r.StatusCode, r.Header.Get("Retry-After"))
		}
	}
	if r := e.get("/media/" + id + "/1080.jpg"); r.StatusCode != http.StatusOK {
		t.Errorf("a whole image with every slot taken: %d", r.StatusCode)
	}
	<-e.w.streams // one slot frees
	if r := e.get(MediaPrefix + video + "/video.mp4"); r.StatusCode != http.StatusOK {
		t.Errorf("video with a free slot: %d", r.StatusCode)
	}
	// The handler gives its slot back just after the client has the body.
	testkit.Eventually(t, "the video's slot given back", func() bool { return len(e.w.streams) == maxStreams-1 })
}

// A video reaches a client that reads slowly but steadily, long past the
// server's write timeout; a client that stops reading is cut off.
func TestSlowClientGetsTheWholeVideo(t *testing.T) {
	testkit.SkipIfShort(t, "streams 24 MB to a client that reads slowly for a second or more")
	e := newEnv(t, withSeed(4), withWriteTimeout(300*time.Millisecond))
	e.w.streamChunkTimeout = 10 * time.Second // generous: this client keeps reading, even on a loaded machine
	video := makePosts(4)[1].ID
	// Larger than what the kernel's socket buffers hold on loopback, so the
	// server must wait for the client.
	data := bytes.Repeat([]byte("vitrine video, slowly "), 24<<20/22)
	path := filepath.Join(e.dir, "media", video, "video.mp4")
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	e.src.setImages(append(e.src.imagesCopy(), MirroredFile{MediaID: video, Video: true, Path: path}))
	e.rebuild()

	get := func() (*bufio.Reader, net.Conn) {
		t.Helper()
		conn, err := net.Dial("tcp", strings.TrimPrefix(e.base, "http://"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { conn.Close() })
		fmt.Fprintf(conn, "GET %s%s/video.mp4 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", MediaPrefix, video)
		return bufio.NewReaderSize(conn, 16<<10), conn
	}

	// Steady: 2 MiB every 50 ms, so the answer takes more than half a
	// second, twice the write timeout.
	br, conn := get()
	res, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	var got bytes.Buffer
	for {
		n, err := io.CopyN(&got, res.Body, 2<<20)
		if err != nil || n == 0 {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if res.StatusCode != 200 || !bytes.Equal(got.Bytes(), data) {
		t.Fatalf("slow steady client: %d, %d of %d bytes", res.StatusCode, got.Len(), len(data))
	}
	conn.Close()

	// Stopped: reads the head, then nothing for longer than a chunk's
	// timeout; the server gives up and closes.
	e.w.streamChunkTimeout = 300 * time.Millisecond
	br, _ = get()
	res, err = http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(3 * e.w.streamChunkTimeout)
	n, _ := io.Copy(io.Discard, res.Body)
	if n >= int64(len(data)) {
		t.Errorf("a client that stopped reading got all %d bytes; want it cut off", n)
	}
}

// A filtered gallery's Load more (data-q) names the words it filters on,
// never the request's: the first requester's text must not reach the
// visitors who share its cached answer.
func TestFilterQueryComesFromItsWords(t *testing.T) {
	e := newEnv(t, withSeed(12))
	evil := "/widget?include_words=studio,morning,visit-evil.example-for-free-stuff&exclude_words=%22%3E%3Cimg/src=x%3E"
	if r := e.get(evil); r.StatusCode != 200 {
		t.Fatalf("%s: %d", evil, r.StatusCode)
	}
	page := e.get("/widget.js?include_words=morning%20studio").text(t)
	mustContain(t, "the clean request's script", page, `data-q=\"?include_words=morning%2Cstudio\"`)
	for _, leak := range []string{"evil", "%3Cimg", "src=x", "exclude_words"} {
		mustNotContain(t, "the clean request's script", page, leak)
	}
}

// New word galleries are built within a budget: over it a request is
// told to come back (503, Retry-After, no-store), while the galleries
// already built, the plain gallery, and a filter visitors kept asking for
// in the last snapshot still answer.
func TestWordGalleryBuildBudget(t *testing.T) {
	e := newEnv(t, withSeed(12))
	kept := "/widget.js?include_words=handmade"
	for range 2 { // asked twice: protected
		if r := e.get(kept); r.StatusCode != 200 {
			t.Fatalf("%s: %d", kept, r.StatusCode)
		}
	}
	e.rebuild() // a sync: the next snapshot favours it

	e.w.wordGalleryBuilds = rate.NewLimiter(rate.Every(time.Hour), 3)
	words := []string{"morning", "light", "studio", "prints", "friday", "photography", "behind", "scenes", "autumn", "shoot", "colourways", "packing"}
	built, busy := 0, 0
	for i, a := range words {
		for _, b := range words[i+1:] {
			r := e.get("/widget.js?include_words=" + a + "," + b)
			switch r.StatusCode {
			case 200:
				built++
			case http.StatusServiceUnavailable:
				busy++
				if r.Header.Get("Retry-After") != "1" || r.Header.Get("Cache-Control") != "no-store" || r.Header.Get("Etag") != "" {
					t.Fatalf("busy answer's head: %v", r.Header)
				}
			default:
				t.Fatalf("a new filter: %d", r.StatusCode)
			}
		}
	}
	if built != 3 || busy == 0 {
		t.Errorf("%d new filters built, %d told to come back; want the budget's 3 built", built, busy)
	}
	for _, path := range []string{kept, "/widget.js", "/widget", "/widget.json", "/widget.js?include_words=morning,light"} {
		if r := e.get(path); r.StatusCode != 200 {
			t.Errorf("%s over budget: %d", path, r.StatusCode)
		}
	}
}

// An embed whose filter the server is too busy to build (503) asks again
// a little later, and its gallery comes in then.
func TestBrowserEmbedRetriesABusyFilter(t *testing.T) {
	testkit.SkipIfShort(t, "drives Chromium")
	ctx := browser(t)
	e := newEnv(t, withSeed(12))
	// One build every 1.5 s, the first already spent: the embed's first
	// asking is refused, a later one is served.
	e.w.wordGalleryBuilds = rate.NewLimiter(rate.Every(1500*time.Millisecond), 1)
	e.w.wordGalleryBuilds.Allow()
	host := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, hostPage, `<div data-vitrine data-include-words="handmade"></div><script src="`+e.base+`/widget.js" async></script>`)
	}))
	t.Cleanup(host.Close)
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(1200, 900), chromedp.Navigate(host.URL)); err != nil {
		t.Fatal(err)
	}
	wait(t, ctx, "the filtered gallery", `(() => { const h = document.querySelector('[data-vitrine]'); return h.shadowRoot && h.shadowRoot.querySelector('.vitrine-item'); })()`)
	asked := eval[int](t, ctx, `performance.getEntriesByType('resource').filter(r => r.name.includes('include_words=')).length`)
	if asked < 2 {
		t.Errorf("the filtered script was asked for %d times; want a refusal, then a retry", asked)
	}
}
