package connection

import (
	"context"
	"crypto/rand"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"vitrine/instagram"
	"vitrine/instagram/fake"
	"vitrine/store"
	"vitrine/testkit/teststore"
)

const redirectURI = "https://vitrine.example/admin/callback"

// env: the fake Instagram on loopback, the real client, a temp-file store
// and a Connection, on the fake's clock.
type env struct {
	t      *testing.T
	ctx    context.Context
	f      *fake.Fake
	clock  *fake.Clock
	st     *store.Store
	dbPath string
	conn   *Connection
}

func newEnv(t *testing.T) *env {
	t.Helper()
	e := &env{t: t, ctx: context.Background(), clock: fake.NewClock(time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC))}
	e.f = fake.New(fake.Options{Clock: e.clock, RedirectURIs: []string{redirectURI}})
	srv := httptest.NewServer(e.f)
	t.Cleanup(srv.Close)
	ep := e.f.Endpoints(srv.URL)
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	ig, err := instagram.New(instagram.Config{
		ClientID: e.f.ClientID(), ClientSecret: e.f.ClientSecret(), RedirectURI: redirectURI,
		AuthURL: ep.AuthURL, TokenURL: ep.TokenURL, GraphURL: ep.GraphURL, MediaHosts: []string{ep.MediaHost},
		Backoff: time.Millisecond, Timeout: 5 * time.Second, Now: e.clock.Now, Logger: quiet,
	})
	if err != nil {
		t.Fatal(err)
	}
	e.dbPath = teststore.SQLite(t)
	e.st = e.open(testKey(t))
	e.conn, err = New(Options{Store: e.st, Instagram: ig, Now: e.clock.Now, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func testKey(t *testing.T) []byte {
	key := make([]byte, store.KeySize)
	if _, err := rand.Read(key); err != nil {
		t.Fatal(err)
	}
	return key
}

func (e *env) open(key []byte) *store.Store {
	e.t.Helper()
	return teststore.Open(e.t, e.dbPath, key, store.WithClock(e.clock.Now))
}

func (e *env) code() string {
	e.t.Helper()
	code, err := e.f.Authorize(redirectURI, "instagram_business_basic")
	if err != nil {
		e.t.Fatal(err)
	}
	return code
}

func (e *env) status() Status {
	e.t.Helper()
	s, err := e.conn.Status(e.ctx)
	if err != nil {
		e.t.Fatal(err)
	}
	return s
}

func TestConnectStoresTheTokenAndAnnouncesIt(t *testing.T) {
	e := newEnv(t)
	if s := e.status(); s.Connected || s.State != store.StatusNone || !s.NeedsAttention() {
		t.Fatalf("before connecting: %+v (needs attention %v)", s, s.NeedsAttention())
	}
	tok, err := e.conn.Connect(e.ctx, e.code())
	if err != nil {
		t.Fatal(err)
	}
	if tok.AccessToken != "" {
		t.Error("Connect returned the access token")
	}
	s := e.status()
	if !s.Connected || s.State != store.StatusValid || s.NeedsAttention() || s.Account.Username != e.f.Account().Username {
		t.Errorf("after connecting: %+v", s)
	}
	if s.Account.AccessToken != "" {
		t.Error("Status carries the access token")
	}
	if stored, err := e.st.Token(e.ctx); err != nil || stored.AccessToken == "" || stored.ExpiresAt.Sub(e.clock.Now()) < 59*24*time.Hour {
		t.Errorf("stored token: %v, expires %v", err, stored.ExpiresAt)
	}
	if evs, _ := e.st.Events(e.ctx, 1); len(evs) != 1 || evs[0].Kind != "connected" {
		t.Errorf("events: %+v", evs)
	}
}

// A failed connection names its step and writes nothing: the token that
// was connected stays.
func TestConnectFailureKeepsTheOldToken(t *testing.T) {
	e := newEnv(t)
	if _, err := e.conn.Connect(e.ctx, e.code()); err != nil {
		t.Fatal(err)
	}
	before, _ := e.st.Token(e.ctx)
	_, err := e.conn.Connect(e.ctx, "not-a-code")
	var se *StepError
	if !errors.As(err, &se) || se.Step != StepExchange {
		t.Fatalf("Connect with a bad code: %v, want a StepError at %q", err, StepExchange)
	}
	e.f.FailNext(100, http.StatusServiceUnavailable)
	if _, err = e.conn.Connect(e.ctx, e.code()); !errors.As(err, &se) || !errors.Is(err, instagram.ErrUnavailable) {
		t.Fatalf("Connect while Instagram is down: %v", err)
	}
	e.f.ResetFaults()
	after, _ := e.st.Token(e.ctx)
	if after.AccessToken != before.AccessToken {
		t.Error("a failed connection changed the stored token")
	}
	if evs, _ := e.st.Events(e.ctx, 0); len(evs) != 1 {
		t.Errorf("a failed connection announced itself: %+v", evs)
	}
}

// The one "needs attention" rule: nothing connected, a token Instagram
// refused, a token past its expiry (before any job noticed), or one the
// key can't decrypt.
func TestStatusNeedsAttention(t *testing.T) {
	e := newEnv(t)
	if _, err := e.conn.Connect(e.ctx, e.code()); err != nil {
		t.Fatal(err)
	}
	if s := e.status(); s.NeedsAttention() {
		t.Fatalf("a fresh token needs attention: %+v", s)
	}

	e.clock.Advance(61 * 24 * time.Hour)
	if s := e.status(); !s.NeedsAttention() || s.State != store.StatusNeedsReauth || s.Reason != "expired" {
		t.Errorf("past its expiry: %+v", s)
	}
	e.clock.Advance(-61 * 24 * time.Hour)

	e.f.RevokeTokens()
	if err := e.conn.Validate(e.ctx); !errors.Is(err, ErrNeedsReauth) {
		t.Fatalf("validate after revoke: %v", err)
	}
	if s := e.status(); !s.NeedsAttention() || s.State != store.StatusNeedsReauth {
		t.Errorf("revoked: %+v", s)
	}

	e.conn.st = e.open(testKey(t)) // another secret key
	s := e.status()
	if !s.Connected || !s.NeedsAttention() || !strings.Contains(s.Reason, "decrypted") || s.Account.Username == "" {
		t.Errorf("undecryptable: %+v", s)
	}
}

// Disconnect deletes the token (what it served is the app's next step).
func TestDisconnect(t *testing.T) {
	e := newEnv(t)
	if _, err := e.conn.Connect(e.ctx, e.code()); err != nil {
		t.Fatal(err)
	}
	who, err := e.conn.Disconnect(e.ctx)
	if err != nil || who != e.f.Account().Username {
		t.Fatalf("Disconnect = %q, %v", who, err)
	}
	if s := e.status(); s.Connected {
		t.Errorf("after disconnecting: %+v", s)
	}
	if err := e.conn.Validate(e.ctx); !errors.Is(err, ErrNotConnected) {
		t.Errorf("validate after disconnecting: %v", err)
	}
	if who, err := e.conn.Disconnect(e.ctx); err != nil || who != "" {
		t.Errorf("Disconnect with nothing connected = %q, %v", who, err)
	}
}

// Disconnecting forgets every token Vitrine holds: one parked for the
// owner's confirmation too, which could otherwise still be confirmed
// after the owner asked for Instagram to be forgotten.
func TestDisconnectForgetsTheParkedToken(t *testing.T) {
	e := newEnv(t)
	if _, err := e.conn.Connect(e.ctx, e.code()); err != nil {
		t.Fatal(err)
	}
	other, err := e.conn.Exchange(e.ctx, e.code())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.conn.Park(e.ctx, other); err != nil {
		t.Fatal(err)
	}
	if _, err := e.conn.Disconnect(e.ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := e.st.ParkedToken(e.ctx); !errors.Is(err, store.ErrNoParkedToken) {
		t.Errorf("the parked token after disconnecting: %v", err)
	}
	if _, err := e.conn.ConfirmParked(e.ctx); !errors.Is(err, ErrNothingParked) {
		t.Errorf("confirming after disconnecting: %v", err)
	}
	if s := e.status(); s.Connected {
		t.Errorf("after disconnecting: %+v", s)
	}
}

// Without an Instagram client the connection still reports its status
// (`vitrine status`), and refuses the calls that need Instagram.
func TestStatusOnly(t *testing.T) {
	e := newEnv(t)
	readOnly, err := New(Options{Store: e.st})
	if err != nil {
		t.Fatal(err)
	}
	if s, err := readOnly.Status(e.ctx); err != nil || s.Connected {
		t.Fatalf("Status = %+v, %v", s, err)
	}
	if _, err := readOnly.Connect(e.ctx, "code"); !errors.Is(err, errNoInstagram) {
		t.Errorf("Connect without Instagram: %v", err)
	}
}

// Connecting runs under its own time limit, not the caller's: a request
// whose context ends (a write deadline, a browser gone) does not cut the
// exchanges short and leave no connection behind.
func TestConnectOutlivesTheRequestContext(t *testing.T) {
	e := newEnv(t)
	ctx, cancel := context.WithCancel(e.ctx)
	cancel()
	if _, err := e.conn.Connect(ctx, e.code()); err != nil {
		t.Fatalf("Connect with the request's context already done: %v", err)
	}
	if s := e.status(); !s.Connected || s.State != store.StatusValid {
		t.Errorf("after connecting: %+v", s)
	}
}
