package widget

import (
	"errors"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"
)

// Header values shared by every response; read-only.
var (
	hdrCacheGallery = []string{"public, max-age=60, stale-while-revalidate=600, stale-if-error=86400"}
	hdrCacheMedia   = []string{"public, max-age=31536000, immutable"}
	hdrVary         = []string{"Accept-Encoding"}
	hdrVaryOrigin   = []string{"Accept-Encoding, Origin"}
	hdrGzip         = []string{"gzip"}
	hdrCORP         = []string{"cross-origin"}
	hdrNosniff      = []string{"nosniff"}
	hdrAnyOrigin    = []string{"*"}
	hdrJPEG         = []string{"image/jpeg"}
	hdrReferrer     = []string{"strict-origin-when-cross-origin"}
)

// ErrNotFound is what the handlers abort with for unknown media.
var ErrNotFound = errors.New("widget: not found")

type route int

const (
	routePage route = iota
	routeJS
	routeJSON
)

// Register mounts GET and HEAD /widget, /widget.js, /widget.json and
// /media/:id/:file on r.
func (w *Widget) Register(r gin.IRouter) {
	page := func(c *gin.Context) { w.serveGallery(c.Writer, c.Request, routePage) }
	js := func(c *gin.Context) { w.serveGallery(c.Writer, c.Request, routeJS) }
	data := func(c *gin.Context) { w.serveGallery(c.Writer, c.Request, routeJSON) }
	media := func(c *gin.Context) {
		if !w.serveMedia(c.Writer, c.Request, c.Param("id"), c.Param("file")) {
			_ = c.AbortWithError(http.StatusNotFound, ErrNotFound)
		}
	}
	for path, h := range map[string]gin.HandlerFunc{
		"/widget": page, "/widget.js": js, "/widget.json": data, "/media/:id/:file": media,
	} {
		r.GET(path, h)
		r.HEAD(path, h)
	}
}

// Handler is the same endpoints as a plain http.Handler (Go 1.22 patterns),
// for callers without gin and for measuring gin's share in the benchmarks.
func (w *Widget) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /widget", func(rw http.ResponseWriter, r *http.Request) { w.serveGallery(rw, r, routePage) })
	mux.HandleFunc("GET /widget.js", func(rw http.ResponseWriter, r *http.Request) { w.serveGallery(rw, r, routeJS) })
	mux.HandleFunc("GET /widget.json", func(rw http.ResponseWriter, r *http.Request) { w.serveGallery(rw, r, routeJSON) })
	mux.HandleFunc("GET /media/{id}/{file}", func(rw http.ResponseWriter, r *http.Request) {
		if !w.serveMedia(rw, r, r.PathValue("id"), r.PathValue("file")) {
			http.NotFound(rw, r)
		}
	})
	return mux
}

// serveGallery writes one asset of the current snapshot. It allocates
// nothing of its own: header values are prepared in the snapshot.
func (w *Widget) serveGallery(rw http.ResponseWriter, r *http.Request, rt route) {
	s := w.cur.Load()
	a := s.page
	switch rt {
	case routeJS:
		a = s.js
	case routeJSON:
		a = s.json
	default:
		if r.URL.RawQuery != "" && r.URL.Query().Get("fragment") == "1" {
			a = s.fragment
		}
	}
	h := rw.Header()
	h["Cache-Control"] = hdrCacheGallery
	h["Cross-Origin-Resource-Policy"] = hdrCORP
	h["X-Content-Type-Options"] = hdrNosniff
	h["Vary"] = hdrVary
	if rt != routePage {
		w.cors(h, r)
	} else if a.csp != nil {
		h["Content-Security-Policy"] = a.csp
		h["Referrer-Policy"] = hdrReferrer
	}
	gz := acceptsGzip(r.Header["Accept-Encoding"])
	if gz {
		h["Etag"] = a.hdrGz
	} else {
		h["Etag"] = a.hdr
	}
	if inm := r.Header["If-None-Match"]; len(inm) > 0 && etagMatch(inm, a.etag, a.etagGz) {
		rw.WriteHeader(http.StatusNotModified)
		return
	}
	h["Content-Type"] = a.contentType
	body := a.body
	if gz {
		h["Content-Encoding"] = hdrGzip
		h["Content-Length"] = a.length[1]
		body = a.gz
	} else {
		h["Content-Length"] = a.length[0]
	}
	rw.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		_, _ = rw.Write(body)
	}
}

// cors allows reading widget.js and widget.json from the configured
// origins: "*" by default, otherwise the request's Origin when listed.
func (w *Widget) cors(h http.Header, r *http.Request) {
	allowed := w.cfg.Widget.AllowedOrigins
	if len(allowed) == 0 || slices.Contains(allowed, "*") {
		h["Access-Control-Allow-Origin"] = hdrAnyOrigin
		return
	}
	h["Vary"] = hdrVaryOrigin
	origin := r.Header["Origin"]
	for _, o := range allowed {
		if len(origin) == 1 && strings.EqualFold(strings.TrimRight(o, "/"), origin[0]) {
			h["Access-Control-Allow-Origin"] = origin
			return
		}
	}
}

// serveMedia serves a mirrored file. The path on disk comes from the
// snapshot, never from the URL: id and file only select an entry, so there
// is nothing to traverse. It reports false for anything unknown.
func (w *Widget) serveMedia(rw http.ResponseWriter, r *http.Request, id, file string) bool {
	if !validMediaID(id) {
		return false
	}
	ws, ok := strings.CutSuffix(file, ".jpg")
	if !ok || ws == "" || len(ws) > 5 || ws[0] == '0' {
		return false
	}
	width := 0
	for i := 0; i < len(ws); i++ {
		if ws[i] < '0' || ws[i] > '9' {
			return false
		}
		width = width*10 + int(ws[i]-'0')
	}
	path, ok := w.cur.Load().media[mediaKey{id, width}]
	if !ok {
		return false
	}
	f, err := os.Open(path)
	if err != nil {
		w.log.Warn("widget: mirrored file missing", "media_id", id, "width", width, "err", err)
		return false
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil || !st.Mode().IsRegular() {
		return false
	}
	h := rw.Header()
	h["Cache-Control"] = hdrCacheMedia
	h["Content-Type"] = hdrJPEG
	h["Cross-Origin-Resource-Policy"] = hdrCORP
	h["X-Content-Type-Options"] = hdrNosniff
	h["Etag"] = []string{`"` + id + "-" + ws + "-" + strconv.FormatInt(st.Size(), 36) + "-" + strconv.FormatInt(st.ModTime().Unix(), 36) + `"`}
	http.ServeContent(rw, r, "", st.ModTime(), f)
	return true
}

// acceptsGzip reports whether Accept-Encoding allows gzip (or "*") with a
// non-zero quality. It scans without allocating.
func acceptsGzip(values []string) bool {
	for _, v := range values {
		for v != "" {
			var part string
			part, v, _ = strings.Cut(v, ",")
			name, params, _ := strings.Cut(part, ";")
			name = strings.TrimSpace(name)
			if !strings.EqualFold(name, "gzip") && name != "*" {
				continue
			}
			return !zeroQ(params)
		}
	}
	return false
}

// zeroQ reports whether params (after the coding's ";") say q=0.
func zeroQ(params string) bool {
	for params != "" {
		var p string
		p, params, _ = strings.Cut(params, ";")
		k, val, ok := strings.Cut(strings.TrimSpace(p), "=")
		if ok && strings.EqualFold(strings.TrimSpace(k), "q") {
			val = strings.TrimSpace(val)
			return strings.Trim(strings.TrimPrefix(val, "0"), ".0") == "" && strings.HasPrefix(val, "0")
		}
	}
	return false
}

// etagMatch implements If-None-Match's weak comparison against both
// representations of the asset: a client holding either is up to date.
func etagMatch(values []string, etag, etagGz string) bool {
	for _, v := range values {
		for v != "" {
			var t string
			t, v, _ = strings.Cut(v, ",")
			t = strings.TrimPrefix(strings.TrimSpace(t), "W/")
			if t == "*" || t == etag || t == etagGz {
				return true
			}
		}
	}
	return false
}
