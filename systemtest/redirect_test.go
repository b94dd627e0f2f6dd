package systemtest

import (
	"net/http"
	"strings"
	"testing"
)

// No redirect is built from what a client sends: gin's trailing-slash
// redirect honours X-Forwarded-Prefix, which turned "GET /widget.json/"
// into "Location: //widget.json", a protocol-relative link to another host.
func TestNoRedirectToAnotherHost(t *testing.T) {
	t.Parallel()
	ta := newTestApp(t, testAppOptions{posts: 1})
	for _, prefix := range []string{"..", "/..", "//evil.example", "../../evil.example", "/"} {
		for _, path := range []string{"/widget.json/", "/widget/", "/admin/", "/healthz/"} {
			resp, _ := ta.get(path, "X-Forwarded-Prefix", prefix)
			loc := resp.Header.Get("Location")
			if strings.HasPrefix(loc, "//") || strings.HasPrefix(loc, "/\\") || strings.Contains(loc, "evil") {
				t.Errorf("GET %s with X-Forwarded-Prefix %q: %d Location %q", path, prefix, resp.StatusCode, loc)
			}
		}
	}
	// The convenience stays: a trailing slash still leads to the page.
	if resp, _ := ta.get("/admin/", "X-Forwarded-Prefix", ".."); resp.StatusCode != http.StatusMovedPermanently || resp.Header.Get("Location") != "/admin" {
		t.Errorf("GET /admin/ = %d Location %q, want 301 /admin", resp.StatusCode, resp.Header.Get("Location"))
	}
}
