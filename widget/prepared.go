package widget

import (
	"net/http"
	"net/textproto"
	"slices"
	"strconv"
	"strings"
	"time"
)

// field is one header field of a prepared response: a canonical name and
// values shared, read-only, by every response that sends them.
type field struct {
	name  string
	value []string
}

// prepared is a response head made once and sent many times: net/http
// copies its fields into the header map, the fast path writes wire. Both
// come from the same list, so the two cannot drift apart.
type prepared struct {
	status int
	fields []field // sorted by name, as net/http writes them
	// wire is the head as net/http writes it: the status line and the
	// fields, each line ending in CRLF, without Date and without the
	// empty line that ends the head.
	wire []byte
}

func newPrepared(status int, fields ...field) *prepared {
	p := &prepared{status: status, fields: slices.Clone(fields)}
	slices.SortFunc(p.fields, func(a, b field) int { return strings.Compare(a.name, b.name) })
	b := append([]byte("HTTP/1.1 "), strconv.Itoa(status)...)
	b = append(append(append(b, ' '), http.StatusText(status)...), "\r\n"...)
	for _, f := range p.fields {
		for _, v := range f.value {
			v = textproto.TrimString(headerNewlineToSpace.Replace(v)) // as http.Header.Write does
			b = append(append(append(append(b, f.name...), ": "...), v...), "\r\n"...)
		}
	}
	p.wire = b
	return p
}

var headerNewlineToSpace = strings.NewReplacer("\n", " ", "\r", " ")

// galleryCacheControl is the gallery's Cache-Control (page, fragment,
// widget.js, widget.json), the same for browsers and shared caches. A
// change (a sync, a hidden post, saved settings) must reach every visitor
// within widget.cache_max_age (60 s by default), a copy served stale
// included, so the age is split:
//   - max-age, its first half (rounded up), the copy is fresh;
//   - stale-while-revalidate, the rest, a cache answers at once with the
//     copy while it asks; revalidating is a 304 from prepared bytes;
//   - stale-if-error lets a CDN or proxy keep serving the gallery for a
//     day while Vitrine is down or failing.
//
// No s-maxage: HTTP caching (RFC 9111, 4.2.4) forbids a shared cache to
// serve a response stale when s-maxage applies to it, and CDNs that follow
// it (Cloudflare says so) then ignore stale-if-error, the very directive
// that carries the gallery through an outage. A longer life at the CDN
// would also keep a hidden post there longer.
func galleryCacheControl(maxAge time.Duration) []string {
	total := int64(maxAge / time.Second)
	fresh := (total + 1) / 2
	return []string{"public, max-age=" + strconv.FormatInt(fresh, 10) +
		", stale-while-revalidate=" + strconv.FormatInt(total-fresh, 10) + ", stale-if-error=86400"}
}

// Header values shared by every response; read-only.
var (
	hdrCacheMedia = []string{"public, max-age=31536000, immutable"}
	hdrVary       = []string{"Accept-Encoding"}
	hdrVaryOrigin = []string{"Accept-Encoding, Origin"}
	hdrGzip       = []string{"gzip"}
	hdrCORP       = []string{"cross-origin"}
	hdrNosniff    = []string{"nosniff"}
	hdrAnyOrigin  = []string{"*"}
	hdrJPEG       = []string{"image/jpeg"}
	hdrWebP       = []string{"image/webp"}
	hdrMP4        = []string{"video/mp4"}
	hdrReferrer   = []string{"strict-origin-when-cross-origin"}
	hdrBytes      = []string{"bytes"}

	// The avatar keeps its URL when the owner changes the picture (the
	// mirror fetches it again daily): a day, then revalidated by ETag; as
	// long again while Vitrine is down, as the gallery that shows it.
	hdrCacheAvatar = []string{"public, max-age=86400, stale-if-error=86400"}
)

// galleryFields are the fields a gallery route sends with every asset,
// 200 or 304: caching, CORS for widget.js and widget.json, and the
// page's Content-Security-Policy when csp is set.
func (w *Widget) galleryFields(kind routeKind, csp string) []field {
	fs := []field{
		{"Cache-Control", w.cacheGallery},
		{"Cross-Origin-Resource-Policy", hdrCORP},
		{"X-Content-Type-Options", hdrNosniff},
	}
	switch {
	case kind == kindPage:
		fs = append(fs, field{"Vary", hdrVary})
		if csp != "" {
			fs = append(fs, field{"Content-Security-Policy", []string{csp}}, field{"Referrer-Policy", hdrReferrer})
		}
	case w.anyOrigin():
		fs = append(fs, field{"Vary", hdrVary}, field{"Access-Control-Allow-Origin", hdrAnyOrigin})
	default:
		// Access-Control-Allow-Origin echoes the request's Origin when the
		// allow-list names it (answer's allowOrigin), so it is not here.
		fs = append(fs, field{"Vary", hdrVaryOrigin})
	}
	return fs
}

// prepare makes a's heads from its route's fields: for each encoding a 200
// and a 304, which carries no representation fields.
func (a *asset) prepare(contentType string, routeFields []field) {
	ct := []string{contentType}
	for gz := range 2 {
		etag, body := a.etag, a.body
		if gz == 1 {
			etag, body = a.etagGz, a.gz
		}
		fs := append(slices.Clone(routeFields), field{"Etag", []string{etag}})
		a.responses[gz][1] = newPrepared(http.StatusNotModified, fs...)
		fs = append(fs, field{"Content-Type", ct}, field{"Content-Length", []string{strconv.Itoa(len(body))}})
		if gz == 1 {
			fs = append(fs, field{"Content-Encoding", hdrGzip})
		}
		a.responses[gz][0] = newPrepared(http.StatusOK, fs...)
	}
}

// mediaFields are the fields of every answer for an image or a video;
// http.ServeContent adds its own (lengths, ranges, Last-Modified) to these.
func mediaFields(key mediaKey, etag []string) []field {
	cache, ctype := hdrCacheMedia, hdrJPEG
	if key.id == AvatarID {
		cache = hdrCacheAvatar
	}
	if key.width == videoWidth {
		ctype = hdrMP4
	} else if key.webp {
		ctype = hdrWebP
	}
	return []field{
		{"Cache-Control", cache},
		{"Content-Type", ctype},
		{"Cross-Origin-Resource-Policy", hdrCORP},
		{"X-Content-Type-Options", hdrNosniff},
		{"Etag", etag},
	}
}

// wholeFile is the 200 http.ServeContent sends for a plain GET or HEAD of
// a file of size bytes modified at modTime, under the image's fields.
func wholeFile(fields []field, size int64, modTime time.Time) *prepared {
	fs := append(slices.Clone(fields),
		field{"Accept-Ranges", hdrBytes},
		field{"Content-Length", []string{strconv.FormatInt(size, 10)}})
	if !modTime.IsZero() && !modTime.Equal(time.Unix(0, 0)) { // http.ServeContent's test
		fs = append(fs, field{"Last-Modified", []string{modTime.UTC().Format(http.TimeFormat)}})
	}
	return newPrepared(http.StatusOK, fs...)
}

// busyAsset is the answer to a request the server will not build now (a
// new caption filter over its budget): 503, come back in a second, kept
// by no cache. It carries no ETag, so nothing revalidates it.
func busyAsset() *asset {
	body := []byte("Busy: try again in a second.\n")
	res := newPrepared(http.StatusServiceUnavailable,
		field{"Cache-Control", []string{"no-store"}},
		field{"Content-Length", []string{strconv.Itoa(len(body))}},
		field{"Content-Type", []string{"text/plain; charset=utf-8"}},
		field{"Retry-After", []string{"1"}},
		field{"X-Content-Type-Options", hdrNosniff},
	)
	a := &asset{body: body, gz: body}
	for gz := range 2 {
		a.responses[gz] = [2]*prepared{res, res}
	}
	return a
}
