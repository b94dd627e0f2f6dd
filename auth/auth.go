// Package auth is who may use the admin pages: the password sign-in and
// its throttle, server-side sessions (with the OAuth state and the
// one-shot flash they carry), CSRF protection for every admin POST, and
// the refused requests, counted and logged at a bounded rate. The admin
// mounts it in front of its pages and draws its sign-in form; auth renders
// nothing itself and hands its errors to the admin's error page.
//
// Its log lines keep the "admin:" prefix they have always had: they are
// about the admin's sign-ins, and operators' filters look for them.
package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"golang.org/x/crypto/bcrypt"

	"vitrine/config"
	"vitrine/store"
)

// Store is the part of *store.Store auth uses: the sessions, the login
// throttle's shared counters, and the audit log for sign-ins.
type Store interface {
	CreateAdminSession(ctx context.Context, s store.AdminSession) error
	AdminSession(ctx context.Context, idHash string) (store.AdminSession, bool, error)
	DeleteAdminSession(ctx context.Context, idHash string) error
	DeleteExpiredAdminSessions(ctx context.Context, now time.Time) (int64, error)
	SetAdminSessionState(ctx context.Context, idHash, stateHash string, expires time.Time) error
	ClearAdminSessionState(ctx context.Context, idHash, stateHash string) (bool, error)
	TakeAdminSessionState(ctx context.Context, stateHash string) (store.AdminSession, bool, error)
	SetAdminSessionFlash(ctx context.Context, idHash, flash string) error
	TakeAdminSessionFlash(ctx context.Context, idHash string) (string, error)

	Counters
	AddEvent(ctx context.Context, kind, level, message string) error
}

// Options configure New.
type Options struct {
	// Settings are the admin section of the config: the password hash
	// and the session lifetime.
	Settings config.Admin
	// PublicURL is server.public_url: its scheme decides whether cookies
	// are Secure, its origin is the one forms may come from.
	PublicURL string
	Store     Store
	// Refused, if set, counts every refused request by reason (one of
	// RefusalReasons); the log shows only the first few each minute.
	Refused func(reason string)
	// LoginKey signs the login form's CSRF token. Replicas behind a load
	// balancer need the same one, or a form one served is refused by
	// another; server derives it from secret_key. Empty: a random key,
	// good for this process only.
	LoginKey []byte
	Logger   *slog.Logger
	Now      func() time.Time
}

// Auth guards the /admin pages.
type Auth struct {
	settings config.Admin
	// credential fingerprints settings.PasswordHash; every session
	// carries the one it was created under.
	credential string
	secure     bool   // cookies carry Secure: the public URL is https
	origin     string // scheme://host of server.public_url, for Origin checks
	store      Store
	log        *slog.Logger
	now        func() time.Time
	throttle   *throttle
	refused    *refusalLog
	// checkPassword is bcrypt's comparison; tests watch it.
	checkPassword func(hash, password []byte) error
	loginKey      []byte // signs the pre-session CSRF token of the login form
}

// New checks o.
func New(o Options) (*Auth, error) {
	if o.Store == nil {
		return nil, errors.New("auth: Store is required")
	}
	if o.Settings.PasswordHash == "" {
		return nil, errors.New("auth: admin.password_hash is empty (run `vitrine hash-password`)")
	}
	u, err := url.Parse(o.PublicURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("auth: server.public_url %q is not an absolute http(s) URL", o.PublicURL)
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	a := &Auth{
		settings:      o.Settings,
		credential:    credentialOf(o.Settings.PasswordHash),
		secure:        u.Scheme == "https",
		origin:        u.Scheme + "://" + u.Host,
		store:         o.Store,
		log:           o.Logger,
		now:           o.Now,
		throttle:      newThrottle(o.Store, o.Now),
		refused:       newRefusalLog(o.Logger, o.Now, o.Refused),
		checkPassword: bcrypt.CompareHashAndPassword,
		loginKey:      o.LoginKey,
	}
	if len(a.loginKey) == 0 {
		a.loginKey = randomBytes(32)
	}
	return a, nil
}

// credentialOf fingerprints a password hash for the sessions: the hash
// itself never goes into the sessions table, and a different hash (a new
// password) gives a different fingerprint.
func credentialOf(passwordHash string) string {
	sum := sha256.Sum256([]byte("vitrine admin session credential\x00" + passwordHash))
	return hex.EncodeToString(sum[:16])
}

// Error is a request auth refused or could not serve. Its middleware and
// routes hand it to the admin's one error page with c.Error.
type Error struct {
	Status  int
	Title   string
	Message string
	// Reason is set when the request was refused for its own sake (a
	// forged form): auth has counted and logged it already, at the
	// bounded rate, so the error page must not log it again.
	Reason string
	// Err is the cause, for the log only.
	Err error
}

func (e *Error) Error() string {
	s := e.Title
	if e.Message != "" {
		s += ": " + e.Message
	}
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

func (e *Error) Unwrap() error { return e.Err }

func internal(op string, err error) *Error {
	return &Error{Status: http.StatusInternalServerError, Title: "Something went wrong",
		Message: "Vitrine could not " + op + ". The details are in the server log; please try again.", Err: err}
}

// refuse counts and logs a refusal (at the bounded rate) and hands e to
// the error page.
func (a *Auth) refuse(c *gin.Context, reason string, e *Error) {
	e.Reason = reason
	a.Refused(reason, "admin: request refused", "method", c.Request.Method, "path", c.Request.URL.Path,
		"status", e.Status, "why", e.Title, "ip", c.ClientIP())
	c.Error(e)
	c.Abort()
}

// wantsJSON reports whether the caller reads JSON rather than pages: the
// status endpoint and fetch calls that ask for JSON (the admin's error
// page answers them alike).
func wantsJSON(c *gin.Context) bool {
	return strings.HasSuffix(c.Request.URL.Path, ".json") ||
		strings.Contains(c.GetHeader("Accept"), "application/json")
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	_, _ = rand.Read(b) // never fails (Go 1.24+: it aborts the process instead)
	return b
}

func randomToken() string { return base64.RawURLEncoding.EncodeToString(randomBytes(32)) }

func hashID(id string) string {
	sum := sha256.Sum256([]byte(id))
	return hex.EncodeToString(sum[:])
}

// event adds to the audit log; a failure is logged, not shown: the action
// it records has already happened.
func (a *Auth) event(c *gin.Context, kind, level, msg string) {
	if err := a.store.AddEvent(c.Request.Context(), kind, level, msg); err != nil {
		a.log.Error("admin: add event", "kind", kind, "err", err)
	}
}
