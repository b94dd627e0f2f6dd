package fastpath

import (
	"bufio"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"

	"vitrine/widget"
)

func TestFastPathOffWithDebugLogging(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	debug := slog.New(slog.NewTextHandler(io.Discard, &slog.HandlerOptions{Level: slog.LevelDebug}))
	if l := Listen(ln, &http.Server{}, nil, debug); l != ln {
		t.Error("fast path on although every request should be logged")
	}
}

// wireRecorder stands in for the widget in the parser's fuzz test.
type wireRecorder struct{ last widget.WireRequest }

func (w *wireRecorder) Wire(r *widget.WireRequest) ([]byte, []byte, bool) {
	w.last = *r
	return []byte("HTTP/1.1 200 OK\r\n"), nil, true
}

// FuzzFastPathParser: whatever the fast path takes, net/http parses alike:
// a bodiless HTTP/1.1 GET or HEAD with a Host, the same path and query and
// the same values of the fields the widget reads.
func FuzzFastPathParser(f *testing.F) {
	for _, s := range []string{
		"GET /widget.js HTTP/1.1\r\nHost: x\r\nAccept-Encoding: gzip\r\n\r\n",
		"HEAD /widget?fragment=1 HTTP/1.1\r\nhost: x:80\r\nIf-None-Match: \"a\"\r\nConnection: close\r\n\r\n",
		"GET /media/1/640.jpg HTTP/1.1\r\nHost: [::1]:8080\r\nOrigin: https://a.example\r\nRange: bytes=1-\r\n\r\n",
		"GET /widget.json HTTP/1.1\r\nHost: x\r\nX-Odd:\t spaced \t\r\n\r\n",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		end := strings.Index(s, "\r\n\r\n")
		if end < 0 {
			return
		}
		raw := s[:end+4]
		src := &wireRecorder{}
		fc := &fastConn{f: &fastListener{src: src}}
		if _, _, ok := fc.answer([]byte(raw)); !ok {
			return
		}
		r, err := http.ReadRequest(bufio.NewReader(strings.NewReader(raw)))
		if err != nil {
			t.Fatalf("fast path took %q; net/http: %v", raw, err)
		}
		got := src.last
		if (r.Method == http.MethodHead) != got.Head || (r.Method != http.MethodGet && r.Method != http.MethodHead) ||
			!r.ProtoAtLeast(1, 1) || r.ContentLength != 0 || r.Host == "" ||
			r.URL.Path != got.Path || r.URL.RawQuery != got.RawQuery ||
			r.Header.Get("Accept-Encoding") != got.AcceptEncoding || r.Header.Get("If-None-Match") != got.IfNoneMatch ||
			r.Header.Get("Origin") != got.Origin || r.Close != fc.close {
			t.Fatalf("fast path took %q as %+v (close %v); net/http: %s %s %q close %v", raw, got, fc.close, r.Method, r.URL, r.Header, r.Close)
		}
	})
}
