package auth

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"time"

	"github.com/gin-gonic/gin"
)

// The OAuth state is bound to the session that asked for it: only its
// hash is stored, with the session; it is used up by the first callback
// that brings it, and lives stateTTL (enough to sign in on Instagram,
// short enough that a leaked one is soon worthless).
const stateTTL = 10 * time.Minute

// Why a state was not accepted. Each leaves the state used up, if it
// matched one, and nothing else changed.
var (
	// ErrStateMissing: the callback brought no state.
	ErrStateMissing = errors.New("auth: no OAuth state")
	// ErrStateUnknown: no pending state matches, or it was used already.
	ErrStateUnknown = errors.New("auth: unknown or used OAuth state")
	// ErrStateExpired: it matched, but too late.
	ErrStateExpired = errors.New("auth: OAuth state expired")
)

// NewState binds a fresh 256-bit state to the request's session, replacing
// any pending one, and returns it for the authorize URL; ErrNoSession
// without a session.
func (a *Auth) NewState(c *gin.Context) (string, error) {
	s := sessionOf(c)
	if s == nil {
		return "", ErrNoSession
	}
	state := randomToken()
	if err := a.store.SetAdminSessionState(c.Request.Context(), s.IDHash, hashID(state), a.now().Add(stateTTL)); err != nil {
		return "", fmt.Errorf("auth: bind the OAuth state: %w", err)
	}
	return state, nil
}

// TakeState uses up the callback's state: it must match the pending state
// of the request's session (compared in constant time, on hashes), be
// unexpired, and not have been used. nil means the callback is the answer
// to this session's own request; check it before looking at the code.
func (a *Auth) TakeState(c *gin.Context, state string) error {
	s := sessionOf(c)
	if s == nil {
		return ErrNoSession
	}
	if state == "" {
		return ErrStateMissing
	}
	got := hashID(state)
	if s.StateHash == "" || subtle.ConstantTimeCompare([]byte(got), []byte(s.StateHash)) != 1 {
		return ErrStateUnknown
	}
	// Match: use it up now, whatever happens next (single use).
	cleared, err := a.store.ClearAdminSessionState(c.Request.Context(), s.IDHash, got)
	if err != nil {
		return fmt.Errorf("auth: use up the OAuth state: %w", err)
	}
	if !cleared { // a concurrent callback used it first
		return ErrStateUnknown
	}
	if !a.now().Before(s.StateExpiresAt) {
		return ErrStateExpired
	}
	return nil
}

// TakeStateElsewhere uses up a state brought by a browser without the
// session that asked for it. On a phone, the Instagram app may take over
// the authorize link and hand the redirect to another browser; the state
// alone then proves the admin started the flow: it is random, bound to a
// signed-in session that has not ended, unexpired, and used up here.
func (a *Auth) TakeStateElsewhere(ctx context.Context, state string) error {
	if state == "" {
		return ErrStateMissing
	}
	s, ok, err := a.store.TakeAdminSessionState(ctx, hashID(state))
	if err != nil {
		return fmt.Errorf("auth: use up the OAuth state: %w", err)
	}
	if !ok || !a.current(s) {
		return ErrStateUnknown
	}
	if !a.now().Before(s.StateExpiresAt) {
		return ErrStateExpired
	}
	return nil
}
