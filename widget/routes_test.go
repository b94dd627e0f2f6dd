package widget

import (
	"net/http"
	"strings"
	"testing"

	"github.com/gin-gonic/gin"
)

func TestIsPublicPath(t *testing.T) {
	long := MediaPrefix + strings.Repeat("9", 40) + "/1080.jpg" // longer than a stack buffer for a conversion
	for path, want := range map[string]bool{
		PagePath: true, ScriptPath: true, JSONPath: true, StylePath: true,
		MediaPrefix + "1/640.jpg": true, MediaPrefix: true, MediaPrefix + "../widget.js": true, long: true,
		"/": false, "/widget/": false, "/widget.cs": false, "/widget.css/": false, "/widgets": false, "/media": false,
		"/Widget": false, "/healthz": false, "/admin": false, "": false,
	} {
		if got := IsPublicPath(path); got != want {
			t.Errorf("IsPublicPath(%q) = %v, want %v", path, got, want)
		}
		if got := IsPublicPath([]byte(path)); got != want {
			t.Errorf("IsPublicPath([]byte(%q)) = %v, want %v", path, got, want)
		}
	}
	b := []byte(long)
	if n := testing.AllocsPerRun(100, func() { IsPublicPath(b) }); n != 0 {
		t.Errorf("IsPublicPath([]byte) allocates %v times", n)
	}
}

// TestRoutersServeTheTable: gin (Register) and http.ServeMux (Handler)
// serve every route of the table, for GET and HEAD, and nothing beside it
// (gin redirects "/widget/" to "/widget").
func TestRoutersServeTheTable(t *testing.T) {
	e := newEnv(t, withSeed(1))
	g := gin.New()
	e.w.Register(g)
	media := MediaPrefix + makePosts(1)[0].ID + "/320.jpg"
	for name, h := range map[string]http.Handler{"gin": g, "mux": e.w.Handler()} {
		for _, method := range []string{http.MethodGet, http.MethodHead} {
			for _, rt := range routes {
				target := rt.path
				if rt.kind == kindMedia {
					target = media
				}
				if code := serveCode(h, method, target); code != http.StatusOK {
					t.Errorf("%s: %s %s: %d", name, method, target, code)
				}
			}
		}
		for _, target := range []string{"/widget/", "/widget.htm", MediaPrefix + "1/640.jpg", MediaPrefix + "x"} {
			if code := serveCode(h, http.MethodGet, target); code != http.StatusNotFound && code != http.StatusMovedPermanently {
				t.Errorf("%s: GET %s: %d, want 404", name, target, code)
			}
		}
	}
}

func serveCode(h http.Handler, method, target string) int {
	rw := &discard{h: http.Header{}}
	r, _ := http.NewRequest(method, target, nil)
	h.ServeHTTP(rw, r)
	if rw.code == 0 {
		return http.StatusOK
	}
	return rw.code
}
