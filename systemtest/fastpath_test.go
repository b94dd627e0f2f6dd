package systemtest

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"vitrine/fastpath"
	"vitrine/testkit/testfake"
	"vitrine/testkit/testvitrine"
)

// fastPair serves one app twice: plainly through net/http, and behind the
// fast path, as server.Vitrine.Start does.
type fastPair struct {
	v           *testvitrine.Vitrine
	plain, fast string       // host:port
	fl          net.Listener // the fast path in front of fastSrv
	fastSrv     *http.Server
}

func newFastPair(t *testing.T, tune func(*http.Server)) *fastPair {
	t.Helper()
	v := testvitrine.New(t, testvitrine.Served(), testvitrine.Posts(5), testvitrine.RealTime())
	testfake.SmallPictures(v.Fake)
	v.ConnectAndSync(firstSyncPatience)
	// connect's sync may have found the background one running: wait
	// for the gallery.
	for deadline := time.Now().Add(60 * time.Second); ; {
		if _, body := v.Get("/widget.json"); bytes.Count(body, []byte(`"permalink"`)) == 5 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the gallery did not fill")
		}
		time.Sleep(20 * time.Millisecond)
	}
	p := &fastPair{v: v}
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	for _, fast := range []bool{false, true} {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		srv := &http.Server{Handler: v.Server.Handler, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: time.Minute, WriteTimeout: time.Minute}
		if tune != nil {
			tune(srv)
		}
		var l net.Listener = ln
		if fast {
			l = fastpath.Listen(ln, srv, v.Gallery, quiet)
			p.fl, p.fastSrv, p.fast = l, srv, ln.Addr().String()
		} else {
			p.plain = ln.Addr().String()
		}
		go srv.Serve(l)
		t.Cleanup(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			srv.Shutdown(ctx)
		})
	}
	return p
}

// roundTrip sends raw on a new connection and reads one response.
func roundTrip(t *testing.T, addr, raw string) (*http.Response, []byte) {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(c, raw); err != nil {
		t.Fatal(err)
	}
	method, _, _ := strings.Cut(raw, " ")
	res, err := http.ReadResponse(bufio.NewReader(c), &http.Request{Method: method})
	if err != nil {
		t.Fatalf("%q: %v", raw, err)
	}
	body, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatalf("%q: body: %v", raw, err)
	}
	return res, body
}

func (p *fastPair) mediaPath(t *testing.T) string {
	t.Helper()
	_, body := roundTrip(t, p.plain, "GET /widget.json HTTP/1.1\r\nHost: x\r\n\r\n")
	var doc struct {
		Posts []struct {
			Images []struct{ URL string } `json:"images"`
		} `json:"posts"`
	}
	if err := json.Unmarshal(body, &doc); err != nil || len(doc.Posts) == 0 || len(doc.Posts[0].Images) == 0 {
		t.Fatalf("widget.json: %v\n%.300s", err, body)
	}
	return doc.Posts[0].Images[0].URL[len(p.v.URL):]
}

// TestFastPathAnswersAsNetHTTP sends the same bytes to both servers: the
// responses are identical but for Date, whichever path answered, and the
// fast path answers the requests it is for.
func TestFastPathAnswersAsNetHTTP(t *testing.T) {
	t.Parallel()
	p := newFastPair(t, nil)
	media := p.mediaPath(t)
	etag := func(target, ae string) string {
		res, _ := roundTrip(t, p.plain, "GET "+target+" HTTP/1.1\r\nHost: x\r\nAccept-Encoding: "+ae+"\r\n\r\n")
		return res.Header.Get("Etag")
	}
	jsTag, pageGzTag := etag("/widget.js", ""), etag("/widget", "gzip")
	fast := []string{
		"GET /widget HTTP/1.1\r\nHost: x\r\n\r\n",
		"GET /widget HTTP/1.1\r\nHost: gallery.example:443\r\nAccept-Encoding: gzip, deflate, br\r\n\r\n",
		"GET /widget?fragment=1 HTTP/1.1\r\nHost: x\r\nAccept-Encoding: gzip\r\n\r\n",
		"GET /widget?fragment=1&v=2 HTTP/1.1\r\nhost: x\r\naccept-encoding:gzip\r\n\r\n",
		"HEAD /widget.js HTTP/1.1\r\nHost: x\r\nAccept-Encoding: gzip\r\n\r\n",
		"GET /widget.js?v=1.2.3 HTTP/1.1\r\nHost: x\r\nUser-Agent: Mozilla/5.0 (X11; Linux x86_64)\r\nAccept: */*\r\nCookie: a=b; c=d\r\n\r\n",
		"GET /widget.js HTTP/1.1\r\nHost: x\r\nIf-None-Match: " + jsTag + "\r\n\r\n",
		"GET /widget HTTP/1.1\r\nHost: x\r\nAccept-Encoding: gzip\r\nIf-None-Match: W/" + pageGzTag + "\r\n\r\n",
		"GET /widget.json HTTP/1.1\r\nHost: x\r\nAccept-Encoding: gzip;q=0\r\nOrigin: https://shop.example\r\n\r\n",
		"GET /widget.json HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
		"GET /widget.json HTTP/1.1\r\nHost: x\r\nConnection: keep-alive\r\nRange: bytes=0-3\r\n\r\n",
		"GET " + media + " HTTP/1.1\r\nHost: x\r\n\r\n",
		"HEAD " + media + " HTTP/1.1\r\nHost: x\r\nAccept-Encoding: gzip\r\n\r\n",
	}
	handed := []string{
		"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: x\r\n\r\n",
		"GET /readyz HTTP/1.1\r\nHost: x\r\n\r\n",
		"GET /widget/ HTTP/1.1\r\nHost: x\r\n\r\n",
		"GET /widget%2Ejs HTTP/1.1\r\nHost: x\r\n\r\n",
		"GET http://x/widget.js HTTP/1.1\r\nHost: x\r\n\r\n",
		"GET /widget.js HTTP/1.0\r\n\r\n",
		"GET /widget.js HTTP/1.0\r\nHost: x\r\nConnection: keep-alive\r\n\r\n",
		"GET /widget.js HTTP/1.1\r\n\r\n",
		"GET /widget.js HTTP/1.1\r\nHost: x\r\nHost: y\r\n\r\n",
		"GET /widget.js HTTP/1.1\r\nHost: a b\r\n\r\n",
		"GET /widget.js HTTP/1.1\r\nHost: x\r\nAccept-Encoding: gzip\r\nAccept-Encoding: br\r\n\r\n",
		"GET /widget.js HTTP/1.1\r\nHost: x\r\nBad Name: 1\r\n\r\n",
		"GET /widget.js HTTP/1.1\r\nHost: x\r\nX: a\r\n folded\r\n\r\n",
		"GET /widget.js HTTP/1.1\r\nHost: x\r\nConnection: upgrade\r\nUpgrade: websocket\r\n\r\n",
		"GET /widget.js HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n",
		"GET /widget.js HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\n\r\n",
		"GET /widget.js HTTP/1.1\r\nHost: x\r\nCookie: " + strings.Repeat("a", 5000) + "\r\n\r\n",
		"POST /widget.js HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}",
		"OPTIONS /widget.json HTTP/1.1\r\nHost: x\r\nOrigin: https://shop.example\r\n\r\n",
		"GET " + media + " HTTP/1.1\r\nHost: x\r\nRange: bytes=0-9\r\n\r\n",
		"GET " + media + " HTTP/1.1\r\nHost: x\r\nIf-Modified-Since: Mon, 23 Nov 2099 10:00:00 GMT\r\n\r\n",
		"GET /media/123/640.jpg HTTP/1.1\r\nHost: x\r\n\r\n",
		"GET /media/../widget.js HTTP/1.1\r\nHost: x\r\n\r\n",
		"GET /widget.js HTTP/1.1\nHost: x\n\n",
		"GET /widget.js HTTP/1.1\r\nHost: x\n\r\n",
	}
	check := func(raw string, wantFast bool) {
		t.Helper()
		before := fastpath.HandedOver(p.fl)
		want, wantBody := roundTrip(t, p.plain, raw)
		got, gotBody := roundTrip(t, p.fast, raw)
		if fast := fastpath.HandedOver(p.fl) == before; fast != wantFast {
			t.Errorf("%q: answered by the fast path %v, want %v", raw, fast, wantFast)
		}
		if got.StatusCode != want.StatusCode || !bytes.Equal(gotBody, wantBody) {
			t.Errorf("%q: %d, %d bytes; net/http %d, %d bytes", raw, got.StatusCode, len(gotBody), want.StatusCode, len(wantBody))
		}
		got.Header.Del("Date")
		want.Header.Del("Date")
		if g, w := headerText(got.Header), headerText(want.Header); g != w {
			t.Errorf("%q: header\n%s\nnet/http\n%s", raw, g, w)
		}
		if wantFast && got.StatusCode != http.StatusOK && got.StatusCode != http.StatusNotModified {
			t.Errorf("%q: status %d", raw, got.StatusCode)
		}
	}
	for _, raw := range fast {
		check(raw, true)
	}
	for _, raw := range handed {
		check(raw, false)
	}
}

func headerText(h http.Header) string {
	var b bytes.Buffer
	_ = h.Write(&b)
	return b.String()
}

// TestFastPathKeepsConnectionsInOrder pipelines fast and slow requests on
// one connection: the answers come in order, and the connection lives on
// with net/http after the first request the fast path leaves to it.
func TestFastPathKeepsConnectionsInOrder(t *testing.T) {
	t.Parallel()
	p := newFastPair(t, nil)
	c, err := net.Dial("tcp", p.fast)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	br := bufio.NewReader(c)
	read := func(method string) (int, string) {
		t.Helper()
		res, err := http.ReadResponse(br, &http.Request{Method: method})
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(b)
	}
	for range 3 { // keep-alive on the fast path
		io.WriteString(c, "GET /widget.json HTTP/1.1\r\nHost: x\r\n\r\n")
		if code, body := read(http.MethodGet); code != http.StatusOK || !strings.HasPrefix(body, `{"version":1`) {
			t.Fatalf("widget.json: %d %.50s", code, body)
		}
	}
	io.WriteString(c, "GET /widget.js HTTP/1.1\r\nHost: x\r\n\r\nHEAD /widget HTTP/1.1\r\nHost: x\r\n\r\n"+
		"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\nGET /widget.json HTTP/1.1\r\nHost: x\r\n\r\n")
	for _, want := range []struct {
		method, prefix string
	}{{"GET", "(function"}, {"HEAD", ""}, {"GET", "ok"}, {"GET", `{"version":1`}} {
		code, body := read(want.method)
		if code != http.StatusOK || !strings.HasPrefix(body, want.prefix) {
			t.Fatalf("pipelined %s: %d %.50s", want.method, code, body)
		}
	}
	if n := fastpath.HandedOver(p.fl); n != 1 {
		t.Errorf("%d connections handed over, want 1", n)
	}
}

func TestFastPathShutdownClosesIdleConnections(t *testing.T) {
	p := newFastPair(t, nil)
	c, err := net.Dial("tcp", p.fast)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	io.WriteString(c, "GET /widget.js HTTP/1.1\r\nHost: x\r\n\r\n")
	br := bufio.NewReader(c)
	res, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, res.Body)

	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := p.fastSrv.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := br.ReadByte(); !errors.Is(err, io.EOF) {
		t.Errorf("idle connection after Shutdown: %v, want EOF", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("Shutdown took %v", d)
	}
	if _, err := net.DialTimeout("tcp", p.fast, time.Second); err == nil {
		t.Error("still accepting after Shutdown")
	}
}

func TestFastPathTimeouts(t *testing.T) {
	p := newFastPair(t, func(s *http.Server) { s.IdleTimeout, s.ReadHeaderTimeout = 300*time.Millisecond, 300*time.Millisecond })
	for _, tc := range []struct{ name, send string }{
		{"idle after a response", "GET /widget.js HTTP/1.1\r\nHost: x\r\n\r\n"},
		{"half a request", "GET /widget.js HTTP/1.1\r\nHo"},
		{"nothing", ""},
	} {
		c, err := net.Dial("tcp", p.fast)
		if err != nil {
			t.Fatal(err)
		}
		_ = c.SetDeadline(time.Now().Add(10 * time.Second))
		io.WriteString(c, tc.send)
		start := time.Now()
		_, err = io.Copy(io.Discard, c) // until the server closes
		if d := time.Since(start); err != nil || d > 5*time.Second {
			t.Errorf("%s: closed after %v (%v)", tc.name, d, err)
		}
		c.Close()
	}
	if n := fastpath.HandedOver(p.fl); n != 0 {
		t.Errorf("%d connections handed over", n)
	}
}
