package auth

// CSRF is checked by hand in one middleware instead of gorilla/csrf: the
// token already lives in our server-side session row (so it dies with the
// session and needs no second cookie), and the login form, which has no
// session yet, needs a pre-session token that gorilla's single-cookie
// model would tie to a cookie we would then have to rotate anyway.

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"net/http"
	"net/url"

	"github.com/gin-gonic/gin"
)

const (
	csrfField   = "csrf_token"
	csrfHeader  = "X-CSRF-Token"
	loginCookie = "vitrine_login"
	maxFormSize = 64 << 10
)

// CheckCSRF guards every admin request that is not GET/HEAD/OPTIONS: the
// Origin (when the browser sends one) must be ours, and the csrf_token
// field (or X-CSRF-Token header) must equal the session's token, compared
// in constant time. The login form carries a pre-session token instead.
// It runs after LoadSession.
func (a *Auth) CheckCSRF(c *gin.Context) {
	switch c.Request.Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
		c.Next()
		return
	}
	if !a.sameOrigin(c) {
		a.refuse(c, refusedCrossOrigin, &Error{Status: http.StatusForbidden, Title: "Request refused",
			Message: "This form was sent from another site. Open the admin page directly and try again."})
		return
	}
	c.Request.Body = http.MaxBytesReader(c.Writer, c.Request.Body, maxFormSize)
	got := c.GetHeader(csrfHeader)
	if got == "" {
		got = c.PostForm(csrfField)
	}
	var want string
	if c.Request.URL.Path == loginPath {
		want = a.loginToken(c)
	} else if s := sessionOf(c); s != nil {
		want = s.CSRFToken
	}
	if got == "" || want == "" || subtle.ConstantTimeCompare([]byte(got), []byte(want)) != 1 {
		a.refuse(c, refusedCSRF, &Error{Status: http.StatusForbidden, Title: "This form has expired",
			Message: "The security token of this form is missing or out of date. Reload the page and try again."})
		return
	}
	c.Next()
}

// sameOrigin rejects requests a browser marks as coming from another
// origin. The admin's pages send Referrer-Policy: no-referrer, which makes
// browsers send "Origin: null" on their own form posts; then (and when
// Origin is absent) Fetch Metadata decides, and without either the token
// alone does.
func (a *Auth) sameOrigin(c *gin.Context) bool {
	if origin := c.GetHeader("Origin"); origin != "" && origin != "null" {
		if origin == a.origin {
			return true
		}
		// The browser also names its own origin when the admin is reached
		// by another name than server.public_url (e.g. 127.0.0.1 vs
		// localhost); an attacker's page cannot make Origin equal our Host.
		u, err := url.Parse(origin)
		return err == nil && u.Host != "" && u.Host == c.Request.Host
	}
	switch c.GetHeader("Sec-Fetch-Site") {
	case "", "same-origin", "none":
		return true
	}
	return false
}

// loginToken is the login form's CSRF token: an HMAC of a random cookie
// under a key every replica shares (Options.LoginKey), so it needs no
// database row before sign-in.
// "" when the browser has no such cookie.
func (a *Auth) loginToken(c *gin.Context) string {
	ck, err := c.Request.Cookie(loginCookie)
	if err != nil || ck.Value == "" {
		return ""
	}
	return a.signLogin(ck.Value)
}

func (a *Auth) signLogin(nonce string) string {
	m := hmac.New(sha256.New, a.loginKey)
	m.Write([]byte("login-form:" + nonce))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// ensureLoginToken sets the pre-session cookie if needed and returns the
// form token.
func (a *Auth) ensureLoginToken(c *gin.Context) string {
	if t := a.loginToken(c); t != "" {
		return t
	}
	nonce := randomToken()
	http.SetCookie(c.Writer, &http.Cookie{
		Name: loginCookie, Value: nonce, Path: loginPath,
		HttpOnly: true, Secure: a.secure, SameSite: http.SameSiteStrictMode,
	})
	return a.signLogin(nonce)
}
