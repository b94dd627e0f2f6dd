package widget

import (
	"bytes"
	"errors"
	"net/http"
	"net/url"
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

	// The avatar keeps its URL when the owner changes the picture (the
	// mirror fetches it again daily): a day, then revalidated by ETag.
	hdrCacheAvatar = []string{"public, max-age=86400"}
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

// serveGallery writes one asset of the current snapshot.
func (w *Widget) serveGallery(rw http.ResponseWriter, r *http.Request, rt route) {
	w.serveAsset(rw, r, w.cur.Load(), rt)
}

// serveAsset writes one asset of s. It allocates nothing of its own:
// header values are prepared in the snapshot. Wire records its responses
// from this function, so the two cannot drift apart.
func (w *Widget) serveAsset(rw http.ResponseWriter, r *http.Request, s *snapshot, rt route) {
	a := s.asset(rt, r.URL.RawQuery)
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

// asset picks the asset a route serves; /widget serves the bare fragment
// when the query says fragment=1.
func (s *snapshot) asset(rt route, rawQuery string) *asset {
	switch rt {
	case routeJS:
		return s.js
	case routeJSON:
		return s.json
	}
	if wantsFragment(rawQuery) {
		return s.fragment
	}
	return s.page
}

// wantsFragment reports whether a /widget query asks for the fragment, as
// url.Values.Get would read it; the common spellings skip the parsing.
func wantsFragment(rawQuery string) bool {
	switch rawQuery {
	case "":
		return false
	case "fragment=1":
		return true
	}
	q, _ := url.ParseQuery(rawQuery) // what URL.Query does: errors ignored
	return q.Get("fragment") == "1"
}

// anyOrigin reports whether every origin may read widget.js and
// widget.json, so the CORS headers do not depend on the request.
func (w *Widget) anyOrigin() bool {
	allowed := w.settings.AllowedOrigins
	return len(allowed) == 0 || slices.Contains(allowed, "*")
}

// cors allows reading widget.js and widget.json from the configured
// origins: "*" by default, otherwise the request's Origin when listed.
func (w *Widget) cors(h http.Header, r *http.Request) {
	if w.anyOrigin() {
		h["Access-Control-Allow-Origin"] = hdrAnyOrigin
		return
	}
	h["Vary"] = hdrVaryOrigin
	origin := r.Header["Origin"]
	for _, o := range w.settings.AllowedOrigins {
		if len(origin) == 1 && strings.EqualFold(strings.TrimRight(o, "/"), origin[0]) {
			h["Access-Control-Allow-Origin"] = origin
			return
		}
	}
}

// serveMedia serves a mirrored file, from the memory cache when it is
// there. The path on disk comes from the snapshot, never from the URL: id
// and file only select an entry, so there is nothing to traverse. It
// reports false for anything unknown.
func (w *Widget) serveMedia(rw http.ResponseWriter, r *http.Request, id, file string) bool {
	key, ok := parseMediaName(id, file)
	if !ok {
		return false
	}
	path, ok := w.cur.Load().media[key]
	if !ok {
		return false
	}
	mf, err := w.cachedMedia(key, path)
	if err != nil {
		w.log.Warn("widget: mirrored file missing", "media_id", id, "width", key.width, "err", err)
		return false
	}
	if mf != nil {
		setMediaHeaders(rw.Header(), key, mf.etag)
		http.ServeContent(rw, r, "", mf.modTime, bytes.NewReader(mf.data))
		return true
	}
	// Not cached (too large, or over the budget): from disk.
	f, err := os.Open(path)
	if err != nil {
		w.log.Warn("widget: mirrored file missing", "media_id", id, "width", key.width, "err", err)
		return false
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil || !st.Mode().IsRegular() {
		return false
	}
	setMediaHeaders(rw.Header(), key, mediaETag(key, st))
	http.ServeContent(rw, r, "", st.ModTime(), f)
	return true
}

// parseMediaName turns /media/{id}/{file} into a snapshot key, accepting
// only a valid id and "{width}.jpg" with a plain decimal width.
func parseMediaName(id, file string) (mediaKey, bool) {
	if !validMediaID(id) {
		return mediaKey{}, false
	}
	ws, ok := strings.CutSuffix(file, ".jpg")
	if !ok || ws == "" || len(ws) > 5 || ws[0] == '0' {
		return mediaKey{}, false
	}
	width := 0
	for i := 0; i < len(ws); i++ {
		if ws[i] < '0' || ws[i] > '9' {
			return mediaKey{}, false
		}
		width = width*10 + int(ws[i]-'0')
	}
	return mediaKey{id, width}, true
}

func setMediaHeaders(h http.Header, key mediaKey, etag []string) {
	h["Cache-Control"] = hdrCacheMedia
	if key.id == AvatarID {
		h["Cache-Control"] = hdrCacheAvatar
	}
	h["Content-Type"] = hdrJPEG
	h["Cross-Origin-Resource-Policy"] = hdrCORP
	h["X-Content-Type-Options"] = hdrNosniff
	h["Etag"] = etag
}

// mediaETag changes whenever the file is replaced.
func mediaETag(key mediaKey, st os.FileInfo) []string {
	return []string{`"` + key.id + "-" + strconv.Itoa(key.width) + "-" + strconv.FormatInt(st.Size(), 36) + "-" + strconv.FormatInt(st.ModTime().Unix(), 36) + `"`}
}

// acceptsGzip reports whether Accept-Encoding allows gzip (or "*") with a
// non-zero quality; the first gzip or "*" element decides. It scans
// without allocating.
func acceptsGzip(values []string) bool {
	for _, v := range values {
		if ok, decided := gzipInValue(v); decided {
			return ok
		}
	}
	return false
}

// gzipInValue is acceptsGzip for one header line; decided is false when
// the line names neither gzip nor "*".
func gzipInValue(v string) (ok, decided bool) {
	for v != "" {
		var part string
		part, v, _ = strings.Cut(v, ",")
		name, params, _ := strings.Cut(part, ";")
		name = strings.TrimSpace(name)
		if !strings.EqualFold(name, "gzip") && name != "*" {
			continue
		}
		return !zeroQ(params), true
	}
	return false, false
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
		if etagMatchValue(v, etag, etagGz) {
			return true
		}
	}
	return false
}

// etagMatchValue is etagMatch for one header line.
func etagMatchValue(v, etag, etagGz string) bool {
	for v != "" {
		var t string
		t, v, _ = strings.Cut(v, ",")
		t = strings.TrimPrefix(strings.TrimSpace(t), "W/")
		if t == "*" || t == etag || t == etagGz {
			return true
		}
	}
	return false
}
