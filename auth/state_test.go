package auth

import (
	"net/http"
	"net/url"
	"testing"
	"time"
)

// The OAuth state is bound to the session that asked for it, used up by
// the first callback that brings it, and lives ten minutes.
func TestOAuthState(t *testing.T) {
	e := newEnv(t)
	e.login()
	newState := func() string {
		t.Helper()
		r := e.get("/admin/state")
		if r.StatusCode != http.StatusOK || len(r.body) < 43 {
			t.Fatalf("new state = %d %q, want 256 bits", r.StatusCode, r.body)
		}
		return r.body
	}
	take := func(state string) string {
		t.Helper()
		return e.get("/admin/take?state=" + url.QueryEscape(state)).body
	}
	check := func(name, got string, want error) {
		t.Helper()
		if w := outcome(want); got != w {
			t.Errorf("%s: %q, want %q", name, got, w)
		}
	}

	state := newState()
	check("missing", take(""), ErrStateMissing)
	check("forged", take("forged-"+state), ErrStateUnknown)
	check("another browser's session", e.getWith(e.newClient(), "/admin/take?state="+url.QueryEscape(state)).body, ErrNoSession)
	check("the right state", take(state), nil)
	check("replayed", take(state), ErrStateUnknown)

	// A new state replaces the pending one.
	old, state := newState(), newState()
	check("replaced", take(old), ErrStateUnknown)
	check("its replacement", take(state), nil)

	state = newState()
	e.clock.Advance(stateTTL)
	check("expired", take(state), ErrStateExpired)
	check("expired then replayed", take(state), ErrStateUnknown)
}

// In a browser without the session, the state alone finishes the flow,
// once, while it and its session live.
func TestOAuthStateElsewhere(t *testing.T) {
	e := newEnv(t)
	e.login()
	newState := func() string { t.Helper(); return e.get("/admin/state").body }
	phone := func(state string) string {
		t.Helper()
		return e.getWith(e.newClient(), "/admin/elsewhere?state="+url.QueryEscape(state)).body
	}
	check := func(name, got string, want error) {
		t.Helper()
		if w := outcome(want); got != w {
			t.Errorf("%s: %q, want %q", name, got, w)
		}
	}

	state := newState()
	check("missing", phone(""), ErrStateMissing)
	check("forged", phone("forged-"+state), ErrStateUnknown)
	check("the right state", phone(state), nil)
	check("replayed", phone(state), ErrStateUnknown)
	check("replayed in the admin's own browser", e.get("/admin/take?state="+url.QueryEscape(state)).body, ErrStateUnknown)

	state = newState()
	e.clock.Advance(stateTTL + time.Second)
	check("expired", phone(state), ErrStateExpired)

	// A state is worth nothing once its session has ended.
	state = newState()
	e.clock.Advance(e.settings.SessionTTL.Std())
	check("its session expired", phone(state), ErrStateUnknown)
}
