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
	e.client.SignIn(testPassword)
	newState := func() string {
		t.Helper()
		r := e.client.Get("/admin/state")
		if r.StatusCode != http.StatusOK || len(r.Text) < 43 {
			t.Fatalf("new state = %d %q, want 256 bits", r.StatusCode, r.Text)
		}
		return r.Text
	}
	take := func(state string) string {
		t.Helper()
		return e.client.Get("/admin/take?state=" + url.QueryEscape(state)).Text
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
	check("another browser's session", e.newBrowser().Get("/admin/take?state="+url.QueryEscape(state)).Text, ErrNoSession)
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
	e.client.SignIn(testPassword)
	newState := func() string { t.Helper(); return e.client.Get("/admin/state").Text }
	phone := func(state string) string {
		t.Helper()
		return e.newBrowser().Get("/admin/elsewhere?state=" + url.QueryEscape(state)).Text
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
	check("replayed in the admin's own browser", e.client.Get("/admin/take?state="+url.QueryEscape(state)).Text, ErrStateUnknown)

	state = newState()
	e.clock.Advance(stateTTL + time.Second)
	check("expired", phone(state), ErrStateExpired)

	// A state is worth nothing once its session has ended.
	state = newState()
	e.clock.Advance(e.settings.SessionTTL.Std())
	check("its session expired", phone(state), ErrStateUnknown)
}
