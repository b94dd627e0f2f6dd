package widget

import (
	"bytes"
	"errors"
	"net/http"
	"os"
	"strconv"

	"github.com/gin-gonic/gin"
)

// ErrNotFound is what the handlers abort with for unknown media.
var ErrNotFound = errors.New("widget: not found")

// Register mounts GET and HEAD of every public route on r.
func (w *Widget) Register(r gin.IRouter) {
	for _, rt := range routes {
		kind := rt.kind
		h := func(c *gin.Context) {
			var id, file string
			if kind == kindMedia {
				id, file = c.Param("id"), c.Param("file")
			}
			if !w.serveHTTP(c.Writer, c.Request, kind, id, file) {
				_ = c.AbortWithError(http.StatusNotFound, ErrNotFound)
			}
		}
		r.GET(rt.ginPattern(), h)
		r.HEAD(rt.ginPattern(), h)
	}
}

// Handler is the same routes as a plain http.Handler, for callers without
// gin and for measuring gin's share in the benchmarks.
func (w *Widget) Handler() http.Handler {
	mux := http.NewServeMux()
	for _, rt := range routes {
		kind := rt.kind
		mux.HandleFunc(rt.muxPattern(), func(rw http.ResponseWriter, r *http.Request) {
			var id, file string
			if kind == kindMedia {
				id, file = r.PathValue("id"), r.PathValue("file")
			}
			if !w.serveHTTP(rw, r, kind, id, file) {
				http.NotFound(rw, r)
			}
		})
	}
	return mux
}

// serveHTTP answers r, a GET or HEAD of a route of kind (id and file are a
// media path's segments), with what answer decides: the prepared header
// values are copied into rw's header. It reports false when there is
// nothing to serve, for the router to answer 404 its own way.
func (w *Widget) serveHTTP(rw http.ResponseWriter, r *http.Request, kind routeKind, id, file string) bool {
	// Field by field: a composite literal is built aside and copied,
	// which shows in the benchmarks.
	var req request
	req.kind, req.head, req.rawQuery = kind, r.Method == http.MethodHead, r.URL.RawQuery
	req.acceptEncoding = fieldLines(r.Header, "Accept-Encoding")
	req.ifNoneMatch = fieldLines(r.Header, "If-None-Match")
	if !w.anyOrigin() { // only an allow-list reads it
		req.origin = fieldLines(r.Header, "Origin")
	}
	if kind == kindMedia {
		req.mediaID, req.mediaFile = id, file
		req.conditional = hasConditional(r.Header)
	}
	var rep reply
	w.answer(w.cur.Load(), &req, &rep)
	switch rep.verdict {
	case verdictNotFound:
		if rep.err != nil {
			w.log.Warn("widget: mirrored file missing", "media_id", id, "width", rep.key.width, "err", rep.err)
			return false
		}
		return kind == kindMedia && w.redirectToJPEG(rw, id, file)
	case verdictServeContent:
		return w.serveContent(rw, r, &rep)
	}
	setFields(rw.Header(), rep.res.fields)
	if rep.allowOrigin {
		rw.Header()["Access-Control-Allow-Origin"] = r.Header["Origin"]
	}
	rw.WriteHeader(rep.res.status)
	if rep.body != nil {
		_, _ = rw.Write(rep.body)
	}
	return true
}

// redirectToJPEG answers a WebP the gallery no longer serves (made again
// after its image was mirrored anew, or widget.webp switched off) with a
// redirect to the JPEG of the same width, when that is served. A page
// cached before the change still names the WebP in its <source>, and a
// browser does not fall back from a <source> it picked: a 404 would be a
// broken tile until the page expires, where the JPEG draws the same
// picture (browsers decode images by their bytes, not their type). The
// redirect is not stored, as the WebP may come back at the next sync.
func (w *Widget) redirectToJPEG(rw http.ResponseWriter, id, file string) bool {
	key, ok := parseMediaName(id, file)
	if !ok || !key.webp {
		return false
	}
	key.webp = false
	if _, ok := w.cur.Load().media[key]; !ok {
		return false
	}
	// Relative, so it resolves under whatever prefix a proxy serves
	// /media/ at (http.Redirect would make it absolute from our path).
	// Cross-origin like the files: a host page that requires it checks
	// every response of the redirect chain.
	h := rw.Header()
	h.Set("Location", strconv.Itoa(key.width)+".jpg")
	h.Set("Cache-Control", "no-store")
	h.Set("Cross-Origin-Resource-Policy", "cross-origin")
	rw.WriteHeader(http.StatusFound)
	return true
}

// hasConditional reports a header field that http.ServeContent heeds
// besides If-None-Match.
func hasConditional(h http.Header) bool {
	for _, k := range [...]string{"Range", "If-Range", "If-Match", "If-Modified-Since", "If-Unmodified-Since"} {
		if _, ok := h[k]; ok {
			return true
		}
	}
	return false
}

// serveContent sends an image through http.ServeContent: a range or a
// conditional request, or a file not held in memory, sent from disk. A
// range or a video takes one of the stream slots and is written at a pace
// the client sets (stream.go).
func (w *Widget) serveContent(rw http.ResponseWriter, r *http.Request, rep *reply) bool {
	ranges := judgeRange(r.Header)
	if ranges == rangeNone && r.Header["Range"] != nil {
		r = withoutRange(r) // several ranges: the whole file
	}
	if ranges == rangeUnsatisfiable && r.Header["If-Range"] != nil {
		r, ranges = withoutRange(r), rangeNone // the whole file, whichever way If-Range goes
	}
	if ranges != rangeNone || rep.key.width == videoWidth {
		release, err := w.acquireStream(r.Context())
		if err != nil {
			if errors.Is(err, errBusy) {
				answerBusy(rw)
			}
			return true // or the client has gone
		}
		defer release()
		rw = newPaced(rw, w.streamChunkTimeout)
	}
	if mf := rep.media; mf != nil {
		setFields(rw.Header(), mf.fields)
		if ranges == rangeUnsatisfiable {
			refuseRange(rw, int64(len(mf.data)))
			return true
		}
		http.ServeContent(rw, r, "", mf.modTime, bytes.NewReader(mf.data))
		return true
	}
	f, err := os.Open(rep.path)
	if err != nil {
		w.log.Warn("widget: mirrored file missing", "media_id", rep.key.id, "width", rep.key.width, "err", err)
		return false
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil || !st.Mode().IsRegular() {
		return false
	}
	setFields(rw.Header(), mediaFields(rep.key, mediaETag(rep.key, st)))
	if ranges == rangeUnsatisfiable {
		refuseRange(rw, st.Size())
		return true
	}
	http.ServeContent(rw, r, "", st.ModTime(), f)
	return true
}

// withoutRange is r without its Range and If-Range fields, for
// http.ServeContent to answer with the whole file.
func withoutRange(r *http.Request) *http.Request {
	r2 := *r
	r2.Header = r.Header.Clone()
	r2.Header.Del("Range")
	r2.Header.Del("If-Range")
	return &r2
}

func setFields(h http.Header, fields []field) {
	for _, f := range fields {
		h[f.name] = f.value
	}
}

// mediaETag changes whenever the file is replaced.
func mediaETag(key mediaKey, st os.FileInfo) []string {
	kind := "-"
	if key.webp {
		kind = "-w"
	}
	return []string{`"` + key.id + kind + strconv.Itoa(key.width) + "-" + strconv.FormatInt(st.Size(), 36) + "-" + strconv.FormatInt(st.ModTime().Unix(), 36) + `"`}
}
