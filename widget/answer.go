package widget

import (
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"vitrine/appearance"
)

// request is a GET or HEAD of a public path as far as an answer depends
// on it, from net/http (serveHTTP) or the fast path (Wire).
type request struct {
	kind               routeKind
	head               bool   // HEAD: the same head, no body
	rawQuery           string // /widget?fragment=1 serves the fragment
	mediaID, mediaFile string // a media path's {id}/{file}
	// The header fields answers depend on, "" when absent. The fast path
	// allows one line of each; net/http's lines are joined with ", ",
	// which means the same for these lists (fieldLines).
	acceptEncoding, ifNoneMatch, origin string
	// conditional: Range, If-Range, If-Match, If-Modified-Since or
	// If-Unmodified-Since. Only images heed them.
	conditional bool
}

// fieldLines is a header field of h as request holds it: its lines joined
// with ", ", which is how HTTP defines repeated list fields. Only a field
// sent twice costs an allocation.
func fieldLines(h http.Header, name string) string {
	v := h[name]
	if len(v) == 1 {
		return v[0]
	}
	return strings.Join(v, ", ") // "" when absent
}

// verdict is the kind of answer.
type verdict uint8

const (
	// verdictNotFound: no such image (err says why when the snapshot
	// lists it). The router answers 404.
	verdictNotFound verdict = iota
	// verdictPrepared: res is the whole head, body the body.
	verdictPrepared
	// verdictPreparedForOrigin: res, and when allowOrigin also
	// Access-Control-Allow-Origin echoing the request's Origin, which the
	// allow-list judged.
	verdictPreparedForOrigin
	// verdictServeContent: an image for http.ServeContent, which judges
	// ranges and conditions and sends files not held in memory.
	verdictServeContent
)

// reply is what answer decided.
type reply struct {
	verdict     verdict
	res         *prepared
	body        []byte // nil for HEAD and 304
	allowOrigin bool
	// The image, for verdictServeContent (from memory when media is set,
	// else from path) and for the log when err is set.
	key   mediaKey
	path  string
	media *mediaFile
	err   error
}

// answer decides how s answers r: which asset or image, gzip or not, 304
// or 200, HEAD or not, CORS. net/http and the fast path both answer
// through it. It picks among responses prepared with the snapshot or the
// cached image, so answering allocates nothing. It fills rep, which the
// caller zeroed, field by field: on the fast path, a returned reply of
// this size costs more than the rest of the answer (see BenchmarkWire).
func (w *Widget) answer(s *snapshot, r *request, rep *reply) {
	if r.kind == kindMedia {
		w.answerMedia(s, r, rep)
		return
	}
	a := w.asset(s, r.kind, r.rawQuery)
	gz, fresh := 0, 0
	if acceptsGzip(r.acceptEncoding) {
		gz = 1
	}
	if r.ifNoneMatch != "" && a.etag != "" && etagMatch(r.ifNoneMatch, a.etag, a.etagGz) {
		fresh = 1
	}
	rep.verdict, rep.res = verdictPrepared, a.responses[gz][fresh]
	if fresh == 0 && !r.head {
		rep.body = a.body
		if gz == 1 {
			rep.body = a.gz
		}
	}
	if r.kind != kindPage && r.origin != "" && !w.anyOrigin() {
		rep.verdict, rep.allowOrigin = verdictPreparedForOrigin, w.originAllowed(r.origin)
	}
}

// answerMedia answers for a mirrored image, from the memory cache when it
// is there. The path on disk comes from the snapshot, never from the URL:
// id and file only select an entry, so there is nothing to traverse.
func (w *Widget) answerMedia(s *snapshot, r *request, rep *reply) {
	key, ok := parseMediaName(r.mediaID, r.mediaFile)
	if !ok {
		return
	}
	path, ok := s.media[key]
	if !ok {
		return
	}
	mf, err := w.cachedMedia(key, path)
	switch {
	case err != nil:
		rep.key, rep.err = key, err
	case mf == nil || r.conditional || r.ifNoneMatch != "":
		rep.verdict, rep.key, rep.path, rep.media = verdictServeContent, key, path, mf
	default:
		rep.verdict, rep.res = verdictPrepared, mf.whole
		if !r.head {
			rep.body = mf.data
		}
	}
}

// asset picks the asset a gallery route serves: /widget serves the bare
// fragment when the query says fragment=1; the page, the fragment and
// widget.js speak another language when the query names one
// (language=pt), an unknown one being widget.language's; and every
// gallery route is filtered by the query's include_words and
// exclude_words, and carries captions or not, cut or not, as captions and
// caption_length say, from a word gallery built on first use
// (wordgalleries.go).
func (w *Widget) asset(s *snapshot, kind routeKind, rawQuery string) *asset {
	if kind == kindStyle {
		return s.style // the same for every embed: options are its attributes
	}
	if rawQuery == "" || rawQuery == "fragment=1" {
		return s.views.pick(kind, rawQuery != "", s.json)
	}
	q, _ := url.ParseQuery(rawQuery) // what URL.Query does: errors ignored
	lang, fragment := s.lang, q.Get("fragment") == "1"
	if _, ok := languages[q.Get(languageParam)]; ok {
		lang = q.Get(languageParam)
	}
	look := s.in.look
	captions := captionsChoice{look.Captions, look.CaptionLength}
	if c := q.Get(captionsParam); c == "true" || c == "false" {
		captions.shown = c == "true"
	}
	if n, err := strconv.Atoi(q.Get(captionLenParam)); err == nil && n >= 0 && n <= appearance.MaxCaptionLength {
		captions.length = n
	}
	if f := parseWordFilter(q); !f.empty() || captions != (captionsChoice{look.Captions, look.CaptionLength}) {
		if a := w.filtered(s, f, lang, captions, kind, fragment); a != nil {
			return a
		}
	}
	vs := w.viewsIn(s, lang)
	if vs == nil {
		vs = s.views
	}
	return vs.pick(kind, fragment, s.json)
}

// anyOrigin reports whether every origin may read widget.js and
// widget.json, so the CORS headers do not depend on the request.
func (w *Widget) anyOrigin() bool {
	allowed := w.settings.AllowedOrigins
	return len(allowed) == 0 || slices.Contains(allowed, "*")
}

// originAllowed reports whether the allow-list names the request's Origin,
// compared without case. Two Origin lines, joined, name no origin.
func (w *Widget) originAllowed(origin string) bool {
	for _, o := range w.settings.AllowedOrigins {
		if strings.EqualFold(strings.TrimRight(o, "/"), origin) {
			return true
		}
	}
	return false
}

// parseMediaName turns /media/{id}/{file} into a snapshot key, accepting
// only a valid id and "{width}.jpg" or "{width}.webp" with a plain
// decimal width, or "video.mp4".
func parseMediaName(id, file string) (mediaKey, bool) {
	if !validMediaID(id) {
		return mediaKey{}, false
	}
	if file == videoFile {
		return mediaKey{id, videoWidth, false}, true
	}
	ws, webp := strings.CutSuffix(file, ".webp")
	if !webp {
		var jpg bool
		if ws, jpg = strings.CutSuffix(file, ".jpg"); !jpg {
			return mediaKey{}, false
		}
	}
	if ws == "" || len(ws) > 5 || ws[0] == '0' {
		return mediaKey{}, false
	}
	width := 0
	for i := 0; i < len(ws); i++ {
		if ws[i] < '0' || ws[i] > '9' {
			return mediaKey{}, false
		}
		width = width*10 + int(ws[i]-'0')
	}
	return mediaKey{id, width, webp}, true
}

// AcceptsGzip reports whether an Accept-Encoding header value allows gzip,
// as the widget's own answers decide it, for other pages that compress.
func AcceptsGzip(acceptEncoding string) bool { return acceptsGzip(acceptEncoding) }

// acceptsGzip reports whether Accept-Encoding allows gzip (or "*") with a
// non-zero quality; the first gzip or "*" element decides. It scans
// without allocating.
func acceptsGzip(v string) bool {
	// Browsers send "gzip, deflate, br…": gzip first, without parameters.
	if len(v) >= 4 && v[:4] == "gzip" && (len(v) == 4 || v[4] == ',') {
		return true
	}
	for v != "" {
		var part string
		part, v, _ = strings.Cut(v, ",")
		name, params, _ := strings.Cut(part, ";")
		name = strings.TrimSpace(name)
		if strings.EqualFold(name, "gzip") || name == "*" {
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
func etagMatch(v, etag, etagGz string) bool {
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
