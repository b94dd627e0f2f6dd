package systemtest

import (
	"net/http"
	"strings"
	"testing"

	"vitrine/testkit/testvitrine"
)

// No redirect is built from what a client sends: gin's trailing-slash
// redirect honours X-Forwarded-Prefix, which turned "GET /widget.json/"
// into "Location: //widget.json", a protocol-relative link to another host.
func TestNoRedirectToAnotherHost(t *testing.T) {
	t.Parallel()
	v := testvitrine.New(t, testvitrine.Served(), testvitrine.Posts(1), testvitrine.RealTime())
	for _, prefix := range []string{"..", "/..", "//evil.example", "../../evil.example", "/"} {
		for _, path := range []string{"/widget.json/", "/widget/", "/admin/", "/healthz/"} {
			resp, _ := v.Get(path, "X-Forwarded-Prefix", prefix)
			loc := resp.Header.Get("Location")
			if strings.HasPrefix(loc, "//") || strings.HasPrefix(loc, "/\\") || strings.Contains(loc, "evil") {
				t.Errorf("GET %s with X-Forwarded-Prefix %q: %d Location %q", path, prefix, resp.StatusCode, loc)
			}
		}
	}
	// The convenience stays: a trailing slash still leads to the page.
	if resp, _ := v.Get("/admin/", "X-Forwarded-Prefix", ".."); resp.StatusCode != http.StatusMovedPermanently || resp.Header.Get("Location") != "/admin" {
		t.Errorf("GET /admin/ = %d Location %q, want 301 /admin", resp.StatusCode, resp.Header.Get("Location"))
	}
}
