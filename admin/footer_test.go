package admin_test

import (
	"html/template"
	"strings"
	"testing"

	"vitrine/buildinfo"
)

// The signed-in pages end with the build `vitrine version` prints; the
// sign-in page tells a stranger nothing of it.
func TestFooterShowsTheBuild(t *testing.T) {
	v := newVitrine(t)
	b := buildinfo.Get()
	want := "Vitrine " + template.HTMLEscapeString(b.Version) + " · commit " + template.HTMLEscapeString(b.ShortCommit())
	if login := v.client.Get("/admin/login").Text; strings.Contains(login, `class="footer`) {
		t.Errorf("the sign-in page shows the build:\n%s", login)
	}
	v.client.SignIn(testPassword)
	for _, path := range []string{"/admin", "/admin/appearance"} {
		body := v.client.Get(path).Text
		i := strings.Index(body, `<footer class="footer muted">`)
		if i < 0 {
			t.Errorf("%s has no footer", path)
			continue
		}
		footer := body[i:]
		if !strings.Contains(footer, want) || !strings.Contains(footer, b.GoVersion) {
			t.Errorf("%s footer = %.200s, want %q and %s", path, footer, want, b.GoVersion)
		}
	}
}
