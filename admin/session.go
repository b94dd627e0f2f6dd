package admin

// Sessions are server-side, in SQLite, written by hand rather than with
// gin-contrib/sessions: its cookie store keeps the data in the cookie, so
// logout cannot revoke a copied cookie and rotation leaves the old one
// valid until it expires. Here the cookie holds only a 256-bit random id;
// the database holds its SHA-256, the CSRF token, the pending OAuth state
// and a one-shot flash. Deleting the row revokes the session everywhere.

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"vitrine/store"
)

const (
	sessionCookie = "vitrine_session"
	sessionKey    = "vitrine.session"
)

// page is what every admin template gets.
type page struct {
	Title    string
	Nonce    string
	CSRF     string
	SignedIn bool
}

func (a *Admin) page(c *gin.Context, title string) page {
	p := page{Title: title, Nonce: c.GetString(nonceKey)}
	if s := sessionOf(c); s != nil {
		p.CSRF, p.SignedIn = s.CSRFToken, true
	}
	return p
}

func sessionOf(c *gin.Context) *store.AdminSession {
	if v, ok := c.Get(sessionKey); ok {
		return v.(*store.AdminSession)
	}
	return nil
}

func hashID(id string) string {
	sum := sha256.Sum256([]byte(id))
	return hex.EncodeToString(sum[:])
}

func randomToken() string { return base64.RawURLEncoding.EncodeToString(randomBytes(32)) }

// loadSession finds the signed-in session from the cookie, if any, and
// drops expired ones.
func (a *Admin) loadSession(c *gin.Context) {
	ck, err := c.Request.Cookie(sessionCookie)
	if err != nil || ck.Value == "" || len(ck.Value) > 100 {
		c.Next()
		return
	}
	ctx := c.Request.Context()
	idHash := hashID(ck.Value)
	s, ok, err := a.store.AdminSession(ctx, idHash)
	if err != nil {
		c.Error(internal("read your session", err))
		c.Abort()
		return
	}
	// A session ends when it expires, and when the password it was signed
	// in with is no longer the admin's (the hash changed in the config).
	if ok && (!a.now().Before(s.ExpiresAt) || subtle.ConstantTimeCompare([]byte(s.Credential), []byte(a.credential)) != 1) {
		if err := a.store.DeleteAdminSession(ctx, idHash); err != nil {
			a.log.Warn("admin: delete ended session", "err", err)
		}
		ok = false
	}
	if !ok {
		a.clearSessionCookie(c)
		c.Next()
		return
	}
	c.Set(sessionKey, &s)
	c.Next()
}

// requireLogin sends visitors without a session to the login page (or
// answers 401 where a redirect makes no sense).
func (a *Admin) requireLogin(c *gin.Context) {
	if sessionOf(c) != nil {
		c.Next()
		return
	}
	if c.Request.Method == http.MethodGet && !wantsJSON(c) {
		c.Redirect(http.StatusFound, "/admin/login")
		c.Abort()
		return
	}
	c.Error(&httpError{Status: http.StatusUnauthorized, Title: "Please sign in",
		Message: "Your admin session has ended. Sign in again to continue."})
	c.Abort()
}

// startSession creates a fresh session (never reusing an id the browser
// brought: no fixation) and sets its cookie.
func (a *Admin) startSession(c *gin.Context) error {
	ctx := c.Request.Context()
	if old := sessionOf(c); old != nil {
		if err := a.store.DeleteAdminSession(ctx, old.IDHash); err != nil {
			return err
		}
	}
	if _, err := a.store.DeleteExpiredAdminSessions(ctx, a.now()); err != nil {
		a.log.Warn("admin: sweep expired sessions", "err", err)
	}
	ttl := a.settings.SessionTTL.Std()
	if ttl <= 0 {
		ttl = 12 * time.Hour
	}
	id := randomToken()
	now := a.now()
	s := store.AdminSession{IDHash: hashID(id), CSRFToken: randomToken(), CreatedAt: now, ExpiresAt: now.Add(ttl),
		Credential: a.credential}
	if err := a.store.CreateAdminSession(ctx, s); err != nil {
		return err
	}
	http.SetCookie(c.Writer, &http.Cookie{
		Name: sessionCookie, Value: id, Path: "/admin",
		MaxAge: int(ttl / time.Second), Expires: now.Add(ttl),
		HttpOnly: true, Secure: a.secure, SameSite: http.SameSiteLaxMode,
	})
	c.Set(sessionKey, &s)
	return nil
}

func (a *Admin) clearSessionCookie(c *gin.Context) {
	http.SetCookie(c.Writer, &http.Cookie{
		Name: sessionCookie, Value: "", Path: "/admin", MaxAge: -1,
		HttpOnly: true, Secure: a.secure, SameSite: http.SameSiteLaxMode,
	})
}

// flash is a one-shot message kept in the session for the next page.
type flash struct {
	Kind    string `json:"kind"` // "notice" (dashboard), "connected", "declined", "failed" (popup result)
	Tone    string `json:"tone"` // ok, info, warn, bad
	Title   string `json:"title"`
	Message string `json:"message,omitempty"`
	Step    string `json:"step,omitempty"`
	Status  int    `json:"status,omitempty"`
	// Section, when "posts", shows a dashboard notice in the Posts section,
	// where the form that caused it sent the browser back to.
	Section string `json:"section,omitempty"`
}

func (a *Admin) setFlash(c *gin.Context, f flash) error {
	s := sessionOf(c)
	if s == nil {
		return fmt.Errorf("admin: flash without a session")
	}
	b, _ := json.Marshal(f)
	return a.store.SetAdminSessionFlash(c.Request.Context(), s.IDHash, string(b))
}

func (a *Admin) takeFlash(c *gin.Context) (*flash, error) {
	s := sessionOf(c)
	if s == nil {
		return nil, nil
	}
	raw, err := a.store.TakeAdminSessionFlash(c.Request.Context(), s.IDHash)
	if err != nil || raw == "" {
		return nil, err
	}
	var f flash
	if err := json.Unmarshal([]byte(raw), &f); err != nil {
		return nil, nil // a flash from an older version: drop it
	}
	return &f, nil
}
