package auth

// Sessions are server-side, in the store, written by hand rather than with
// gin-contrib/sessions: its cookie store keeps the data in the cookie, so
// logout cannot revoke a copied cookie and rotation leaves the old one
// valid until it expires. Here the cookie holds only a 256-bit random id;
// the database holds its SHA-256, the CSRF token, the pending OAuth state
// and a one-shot flash. Deleting the row revokes the session everywhere.

import (
	"crypto/subtle"
	"errors"
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

// ErrNoSession: the request carries no signed-in session.
var ErrNoSession = errors.New("auth: not signed in")

func sessionOf(c *gin.Context) *store.AdminSession {
	if v, ok := c.Get(sessionKey); ok {
		return v.(*store.AdminSession)
	}
	return nil
}

// SignedIn reports whether the request carries a signed-in session
// (LoadSession found it).
func SignedIn(c *gin.Context) bool { return sessionOf(c) != nil }

// CSRFToken is the session's token for the csrf_token field of the
// admin's forms (and the X-CSRF-Token header of its scripts); "" without
// a session.
func CSRFToken(c *gin.Context) string {
	if s := sessionOf(c); s != nil {
		return s.CSRFToken
	}
	return ""
}

// LoadSession finds the signed-in session from the cookie, if any, and
// drops ended ones. It runs in front of every admin route.
func (a *Auth) LoadSession(c *gin.Context) {
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
	if ok && !a.current(s) {
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

// current reports whether s is unexpired and under today's password.
func (a *Auth) current(s store.AdminSession) bool {
	return a.now().Before(s.ExpiresAt) && subtle.ConstantTimeCompare([]byte(s.Credential), []byte(a.credential)) == 1
}

// RequireLogin sends visitors without a session to the login page (or
// answers 401 where a redirect makes no sense).
func (a *Auth) RequireLogin(c *gin.Context) {
	if sessionOf(c) != nil {
		c.Next()
		return
	}
	if c.Request.Method == http.MethodGet && !wantsJSON(c) {
		c.Redirect(http.StatusFound, loginPath)
		c.Abort()
		return
	}
	c.Error(&Error{Status: http.StatusUnauthorized, Title: "Please sign in",
		Message: "Your admin session has ended. Sign in again to continue."})
	c.Abort()
}

// startSession creates a fresh session (never reusing an id the browser
// brought: no fixation) and sets its cookie.
func (a *Auth) startSession(c *gin.Context) error {
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

func (a *Auth) clearSessionCookie(c *gin.Context) {
	http.SetCookie(c.Writer, &http.Cookie{
		Name: sessionCookie, Value: "", Path: "/admin", MaxAge: -1,
		HttpOnly: true, Secure: a.secure, SameSite: http.SameSiteLaxMode,
	})
}

// SetFlash keeps a one-shot message (opaque to auth) in the session for
// the next page; ErrNoSession without one.
func (a *Auth) SetFlash(c *gin.Context, flash string) error {
	s := sessionOf(c)
	if s == nil {
		return ErrNoSession
	}
	if err := a.store.SetAdminSessionFlash(c.Request.Context(), s.IDHash, flash); err != nil {
		return fmt.Errorf("auth: set flash: %w", err)
	}
	return nil
}

// TakeFlash returns the session's flash and clears it; "" when there is
// none, or no session.
func (a *Auth) TakeFlash(c *gin.Context) (string, error) {
	s := sessionOf(c)
	if s == nil {
		return "", nil
	}
	flash, err := a.store.TakeAdminSessionFlash(c.Request.Context(), s.IDHash)
	if err != nil {
		return "", fmt.Errorf("auth: take flash: %w", err)
	}
	return flash, nil
}
