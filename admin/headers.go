package admin

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"

	"github.com/gin-gonic/gin"
)

const nonceKey = "vitrine.nonce"

// securityHeaders sets the headers every admin response carries. The CSP
// allows scripts and styles only from /admin/static or with this
// response's nonce; pages load nothing from other origins (the profile
// picture is our own copy, see avatar.go) and frame only our own (the
// Appearance page's preview).
func (a *Admin) securityHeaders(c *gin.Context) {
	nonce := base64.RawURLEncoding.EncodeToString(randomBytes(18)) // URL alphabet: nothing for html/template to escape
	c.Set(nonceKey, nonce)
	h := c.Writer.Header()
	h.Set("Content-Security-Policy", cspFor(nonce))
	h.Set("X-Frame-Options", "DENY")
	h.Set("X-Content-Type-Options", "nosniff")
	// The callback URL carries the code: never let it leak as a Referer.
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cache-Control", "no-store")
	h.Set("Cross-Origin-Resource-Policy", "same-origin")
	c.Next()
}

func cspFor(nonce string) string {
	return "default-src 'none'; script-src 'self' 'nonce-" + nonce + "'; style-src 'self' 'nonce-" + nonce + "'; " +
		"img-src 'self' data:; connect-src 'self'; frame-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	_, _ = rand.Read(b) // never fails (Go 1.24+: it aborts the process instead)
	return b
}

// render executes a page template into a buffer first, so a template error
// becomes a clean 500 instead of half a page.
func (a *Admin) render(c *gin.Context, status int, name string, data any) {
	var buf bytes.Buffer
	if err := a.tmpl.ExecuteTemplate(&buf, name, data); err != nil {
		a.log.Error("admin: render", "template", name, "err", err)
		c.Data(500, "text/plain; charset=utf-8", []byte("Internal error while rendering the page.\n"))
		return
	}
	c.Data(status, "text/html; charset=utf-8", buf.Bytes())
}
