package widget

import (
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
)

// WireRequest is a GET or HEAD of a public path as parsed by a front end
// that answers without net/http (main's fast path), one header line each.
type WireRequest struct {
	Head     bool   // HEAD: the same head, no body
	Path     string // as sent; the front end passes only paths without escapes
	RawQuery string
	// The header fields the answers depend on; "" when absent.
	AcceptEncoding, IfNoneMatch, Origin string
	// Conditional is set when the request has Range, If-Range, If-Match,
	// If-Modified-Since or If-Unmodified-Since.
	Conditional bool
}

// Wire answers r as the handlers would, as bytes for the connection: head
// is the status line and the header fields, each ending in CRLF, without
// Date and without the empty line that ends the head; body is nil for HEAD
// and 304. Both are shared and must not be modified.
//
// ok is false when the request needs the handlers: an unknown path or any
// error answer, a CORS allow-list with an Origin, a conditional or ranged
// image request, or an image that is not in the memory cache. The heads
// are recorded from serveAsset and serveMedia themselves (wireAsset,
// mediaWire), so the bytes are theirs.
func (w *Widget) Wire(r *WireRequest) (head, body []byte, ok bool) {
	s := w.cur.Load()
	var rt route
	switch r.Path {
	case "/widget":
		rt = routePage
	case "/widget.js":
		rt = routeJS
	case "/widget.json":
		rt = routeJSON
	default:
		return w.wireMedia(s, r)
	}
	if rt != routePage && r.Origin != "" && !w.anyOrigin() {
		return nil, nil, false
	}
	a := s.asset(rt, r.RawQuery)
	gz := 0
	if ok, _ := gzipInValue(r.AcceptEncoding); ok {
		gz = 1
	}
	if r.IfNoneMatch != "" && etagMatchValue(r.IfNoneMatch, a.etag, a.etagGz) {
		return a.wire[gz][1], nil, true
	}
	if !r.Head {
		body = a.body
		if gz == 1 {
			body = a.gz
		}
	}
	return a.wire[gz][0], body, true
}

func (w *Widget) wireMedia(s *snapshot, r *WireRequest) (head, body []byte, ok bool) {
	rest, ok := strings.CutPrefix(r.Path, "/media/")
	if !ok || r.Conditional || r.IfNoneMatch != "" {
		return nil, nil, false
	}
	id, file, ok := strings.Cut(rest, "/")
	if !ok || strings.IndexByte(file, '/') >= 0 {
		return nil, nil, false
	}
	key, ok := parseMediaName(id, file)
	if !ok {
		return nil, nil, false
	}
	path, ok := s.media[key]
	if !ok {
		return nil, nil, false
	}
	mf, err := w.cachedMedia(key, path)
	if err != nil || mf == nil {
		return nil, nil, false // the handler logs and answers
	}
	if !r.Head {
		body = mf.data
	}
	return mf.wire, body, true
}

// wireAsset records a's heads, as served from s on rt, into a.wire.
func (w *Widget) wireAsset(s *snapshot, a *asset, rt route, rawQuery string) {
	for gz := range 2 {
		for nm := range 2 {
			r := &http.Request{Method: http.MethodGet, URL: &url.URL{RawQuery: rawQuery}, Header: http.Header{}}
			if gz == 1 {
				r.Header["Accept-Encoding"] = []string{"gzip"}
			}
			if nm == 1 {
				r.Header["If-None-Match"] = []string{a.etag}
			}
			rec := newHeadRecorder()
			w.serveAsset(rec, r, s, rt)
			a.wire[gz][nm] = rec.wire()
		}
	}
}

// headRecorder is a ResponseWriter that keeps the status and the header.
type headRecorder struct {
	h    http.Header
	code int
}

func newHeadRecorder() *headRecorder { return &headRecorder{h: http.Header{}} }

func (r *headRecorder) Header() http.Header { return r.h }

func (r *headRecorder) WriteHeader(code int) {
	if r.code == 0 {
		r.code = code
	}
}

func (r *headRecorder) Write(p []byte) (int, error) {
	r.WriteHeader(http.StatusOK)
	return len(p), nil
}

// wire renders the head as net/http writes it: status line, then the
// fields sorted by name, without the fields a 304 must not carry.
func (r *headRecorder) wire() []byte {
	code := r.code
	if code == 0 {
		code = http.StatusOK
	}
	if code == http.StatusNotModified {
		for _, k := range []string{"Content-Type", "Content-Length", "Transfer-Encoding"} {
			delete(r.h, k)
		}
	}
	b := append([]byte("HTTP/1.1 "), strconv.Itoa(code)...)
	b = append(append(append(b, ' '), http.StatusText(code)...), "\r\n"...)
	for _, k := range slices.Sorted(maps.Keys(r.h)) {
		for _, v := range r.h[k] {
			v = strings.TrimSpace(strings.NewReplacer("\r", " ", "\n", " ").Replace(v)) // as Header.Write does
			b = append(append(append(append(b, k...), ": "...), v...), "\r\n"...)
		}
	}
	return b
}
