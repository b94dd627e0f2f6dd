package connection

import (
	"errors"
	"strings"
	"testing"
	"time"

	"vitrine/store"
)

// Exchange writes nothing; Save connects what it returned.
func TestExchangeThenSave(t *testing.T) {
	e := newEnv(t)
	tok, err := e.conn.Exchange(e.ctx, e.code())
	if err != nil {
		t.Fatal(err)
	}
	if tok.AccessToken == "" || tok.UserID != e.f.Account().UserID || tok.Username != e.f.Account().Username {
		t.Fatalf("Exchange = %v (access token %v)", tok, tok.AccessToken != "")
	}
	if s := e.status(); s.Connected {
		t.Fatal("Exchange connected")
	}
	if evs, _ := e.st.Events(e.ctx, 0); len(evs) != 0 {
		t.Errorf("Exchange wrote events: %+v", evs)
	}
	saved, err := e.conn.Save(e.ctx, tok)
	if err != nil || saved.AccessToken != "" || saved.UserID != tok.UserID {
		t.Fatalf("Save = %v, %v", saved, err)
	}
	if stored, err := e.st.Token(e.ctx); err != nil || stored.AccessToken != tok.AccessToken {
		t.Errorf("stored token: %v", err)
	}
	if evs, _ := e.st.Events(e.ctx, 1); len(evs) != 1 || evs[0].Kind != "connected" {
		t.Errorf("events: %+v", evs)
	}
}

// A parked token leaves the connection alone until it is confirmed; then
// it is the token, and nothing waits any more.
func TestParkThenConfirm(t *testing.T) {
	e := newEnv(t)
	if _, err := e.conn.Connect(e.ctx, e.code()); err != nil {
		t.Fatal(err)
	}
	before, _ := e.st.Token(e.ctx)
	tok, err := e.conn.Exchange(e.ctx, e.code())
	if err != nil {
		t.Fatal(err)
	}
	p, err := e.conn.Park(e.ctx, tok)
	if err != nil {
		t.Fatal(err)
	}
	if p.Account.AccessToken != "" || p.Account.Username != tok.Username || !p.Until.Equal(e.clock.Now().Add(ParkedFor)) {
		t.Errorf("Park = %+v", p)
	}
	if now, _ := e.st.Token(e.ctx); now.AccessToken != before.AccessToken {
		t.Fatal("parking changed the connected token")
	}
	got, ok, err := e.conn.Parked(e.ctx)
	if err != nil || !ok || got.Account.Username != tok.Username || got.Account.AccessToken != "" {
		t.Fatalf("Parked = %+v, %v, %v", got, ok, err)
	}
	if evs, _ := e.st.Events(e.ctx, 1); len(evs) != 1 || evs[0].Kind != "parked" || !strings.Contains(evs[0].Message, "@"+tok.Username) {
		t.Errorf("events: %+v", evs)
	}

	e.clock.Advance(10 * time.Minute)
	confirmed, err := e.conn.ConfirmParked(e.ctx)
	if err != nil || confirmed.AccessToken != "" || confirmed.UserID != tok.UserID {
		t.Fatalf("ConfirmParked = %v, %v", confirmed, err)
	}
	stored, err := e.st.Token(e.ctx)
	if err != nil || stored.AccessToken != tok.AccessToken || !stored.ConnectedAt.Equal(e.clock.Now()) || stored.Status != store.StatusValid {
		t.Errorf("stored after confirming: %v, %v", stored, err)
	}
	if evs, _ := e.st.Events(e.ctx, 1); len(evs) != 1 || evs[0].Kind != "connected" || !strings.Contains(evs[0].Message, "confirmed") {
		t.Errorf("events: %+v", evs)
	}
	if _, ok, _ := e.conn.Parked(e.ctx); ok {
		t.Error("still parked after confirming")
	}
	if _, err := e.conn.ConfirmParked(e.ctx); !errors.Is(err, ErrNothingParked) {
		t.Errorf("confirming twice: %v", err)
	}
}

// Discarded or lapsed, a parked token is gone and nothing else changed.
func TestParkedDiscardedOrLapsed(t *testing.T) {
	e := newEnv(t)
	park := func() store.Token {
		t.Helper()
		tok, err := e.conn.Exchange(e.ctx, e.code())
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.conn.Park(e.ctx, tok); err != nil {
			t.Fatal(err)
		}
		return tok
	}
	tok := park()
	who, err := e.conn.DiscardParked(e.ctx)
	if err != nil || who != tok.Username {
		t.Fatalf("DiscardParked = %q, %v", who, err)
	}
	if _, err := e.st.ParkedToken(e.ctx); !errors.Is(err, store.ErrNoParkedToken) {
		t.Errorf("parked token after discarding: %v", err)
	}
	if _, err := e.conn.DiscardParked(e.ctx); !errors.Is(err, ErrNothingParked) {
		t.Errorf("discarding twice: %v", err)
	}
	if s := e.status(); s.Connected {
		t.Error("discarding connected")
	}

	park()
	e.clock.Advance(ParkedFor)
	if _, ok, err := e.conn.Parked(e.ctx); ok || err != nil {
		t.Errorf("Parked after it lapsed = %v, %v", ok, err)
	}
	if _, err := e.st.ParkedToken(e.ctx); !errors.Is(err, store.ErrNoParkedToken) {
		t.Errorf("a lapsed parked token was kept: %v", err)
	}
	if evs, _ := e.st.Events(e.ctx, 1); len(evs) != 1 || !strings.Contains(evs[0].Message, "lapsed") {
		t.Errorf("events: %+v", evs)
	}
	park()
	e.clock.Advance(ParkedFor)
	if _, err := e.conn.ConfirmParked(e.ctx); !errors.Is(err, ErrNothingParked) {
		t.Errorf("confirming a lapsed one: %v", err)
	}
	if s := e.status(); s.Connected {
		t.Error("a lapsed parked token was connected")
	}

	// Sealed with another secret key: unreadable, so it counts as none.
	park()
	e.conn.st = e.open(testKey(t))
	if _, ok, err := e.conn.Parked(e.ctx); ok || err != nil {
		t.Errorf("Parked with another key = %v, %v", ok, err)
	}
	if _, err := e.conn.st.ParkedToken(e.ctx); !errors.Is(err, store.ErrNoParkedToken) {
		t.Errorf("an undecryptable parked token was kept: %v", err)
	}
}

// The name of an account connected before is kept for Meta's deletion of
// its data after a disconnect, and goes with that deletion; while the
// account is connected by an authorization newer than the request, it
// stays.
func TestForgetAccountOfOneDisconnectedBefore(t *testing.T) {
	e := newEnv(t)
	tok, err := e.conn.Connect(e.ctx, e.code())
	if err != nil {
		t.Fatal(err)
	}
	before := e.clock.Now().Add(-time.Hour) // Meta signed before this connection
	if f, err := e.conn.ForgetAccount(e.ctx, tok.UserID, before); err != nil || f.Any() {
		t.Fatalf("a notice older than the connection: %+v, %v", f, err)
	}
	if _, err := e.conn.Disconnect(e.ctx); err != nil {
		t.Fatal(err)
	}
	if f, err := e.conn.ForgetAccount(e.ctx, "17841400000000999", e.clock.Now()); err != nil || f.Any() {
		t.Errorf("another account's deletion: %+v, %v", f, err)
	}
	f, err := e.conn.ForgetAccount(e.ctx, tok.UserID, e.clock.Now())
	if err != nil || !f.Named || f.Connected || f.Parked || f.Username != tok.Username {
		t.Fatalf("the deletion of the account disconnected before = %+v, %v", f, err)
	}
	if f, err := e.conn.ForgetAccount(e.ctx, tok.UserID, e.clock.Now()); err != nil || f.Any() {
		t.Errorf("asked again: %+v, %v; want nothing left", f, err)
	}
}

// An account connected before names were kept (an upgrade) has its name
// kept when it is disconnected.
func TestDisconnectKeepsTheNameOfOneConnectedBeforeNamesWereKept(t *testing.T) {
	e := newEnv(t)
	a := e.f.Account()
	if err := e.st.SaveToken(e.ctx, store.Token{AccessToken: "IGAA-old", UserID: a.UserID, Username: a.Username,
		ExpiresAt: e.clock.Now().Add(time.Hour), ConnectedAt: e.clock.Now().Add(-time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.conn.Disconnect(e.ctx); err != nil {
		t.Fatal(err)
	}
	if f, err := e.conn.ForgetAccount(e.ctx, a.UserID, e.clock.Now()); err != nil || !f.Named || f.Username != a.Username {
		t.Errorf("ForgetAccount after the disconnect = %+v, %v", f, err)
	}
}
