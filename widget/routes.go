package widget

import (
	"strconv"
	"strings"
)

// The public paths, each spelled here only: the routers, the fast path and
// the gallery's own URLs derive theirs from these.
const (
	PagePath    = "/widget"      // the HTML page; ?fragment=1 for the bare fragment
	ScriptPath  = "/widget.js"   // the one-line embed
	JSONPath    = "/widget.json" // the gallery as data
	StylePath   = "/widget.css"  // the space each JS embed reserves until it paints
	MediaPrefix = "/media/"      // mirrored images: MediaPrefix + id + "/" + width + ".jpg" (and ".webp"); videos: + id + "/video.mp4"
)

// routeKind is what a public path serves.
type routeKind uint8

const (
	kindPage routeKind = iota
	kindScript
	kindJSON
	kindMedia
	kindStyle
)

// route is one public path. The media route's path is a prefix, followed
// by {id}/{file}.
type route struct {
	path string
	kind routeKind
}

// routes is the public gallery. Register, Handler, Wire and IsPublicPath
// all derive from this table.
var routes = [...]route{
	{PagePath, kindPage},
	{ScriptPath, kindScript},
	{JSONPath, kindJSON},
	{StylePath, kindStyle},
	{MediaPrefix, kindMedia},
}

// IsPublicPath reports whether path (without its query) is one the widget
// serves: a gallery path, or anything under MediaPrefix, which Wire then
// judges. It takes bytes as well, so a front end holding the request line
// allocates nothing to ask.
func IsPublicPath[P string | []byte](path P) bool {
	_, _, ok := routeOf(path)
	return ok
}

// routeOf finds path's route; rest is what follows a media prefix.
func routeOf[P string | []byte](path P) (kind routeKind, rest P, ok bool) {
	for i := range routes { // by index: ranging over the array would copy it
		rt := &routes[i]
		if rt.kind == kindMedia {
			if len(path) >= len(rt.path) && string(path[:len(rt.path)]) == rt.path {
				return rt.kind, path[len(rt.path):], true
			}
		} else if string(path) == rt.path {
			return rt.kind, rest, true
		}
	}
	return 0, rest, false
}

// mediaSegments splits what follows the media prefix into {id}/{file},
// as the routers' patterns do.
func mediaSegments(rest string) (id, file string, ok bool) {
	id, file, ok = strings.Cut(rest, "/")
	return id, file, ok && strings.IndexByte(file, '/') < 0
}

// ginPattern is rt's path in gin's syntax.
func (rt route) ginPattern() string {
	if rt.kind == kindMedia {
		return rt.path + ":id/:file"
	}
	return rt.path
}

// muxPattern is rt's path as an http.ServeMux pattern; GET covers HEAD.
func (rt route) muxPattern() string {
	if rt.kind == kindMedia {
		return "GET " + rt.path + "{id}/{file}"
	}
	return "GET " + rt.path
}

// mediaURL is where an image of the gallery is served, under base.
func mediaURL(base, id string, width int) string {
	return base + MediaPrefix + id + "/" + strconv.Itoa(width) + ".jpg"
}

// webpURL is where the WebP of an image of the gallery is served.
func webpURL(base, id string, width int) string {
	return base + MediaPrefix + id + "/" + strconv.Itoa(width) + ".webp"
}

// videoFile is the name of a mirrored video under its id; its mediaKey has
// width videoWidth.
const (
	videoFile  = "video.mp4"
	videoWidth = 0
)

// videoURL is where a mirrored video is served, under base.
func videoURL(base, id string) string {
	return base + MediaPrefix + id + "/" + videoFile
}
