package admin

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"vitrine/connection"
	"vitrine/store"
)

// ConnectElsewhere is the app's: only the connected account is connected
// (and the jobs told); any other is parked. The app also alerts ops,
// which its own tests check.
func (o operations) ConnectElsewhere(ctx context.Context, code string) (store.Token, bool, error) {
	tok, err := o.e.conn.Exchange(ctx, code)
	if err != nil {
		return store.Token{}, false, err
	}
	cs, err := o.e.conn.Status(ctx)
	if err != nil {
		return store.Token{}, false, err
	}
	if cs.Connected && tok.UserID != "" && cs.Account.UserID == tok.UserID {
		if tok, err = o.e.conn.Save(ctx, tok); err == nil && o.e.jobs != nil {
			o.e.jobs.tokenConnected(ctx)
		}
		return tok, false, err
	}
	p, err := o.e.conn.Park(ctx, tok)
	return p.Account, err == nil, err
}

func (o operations) Parked(ctx context.Context) (string, time.Time, bool, error) {
	p, ok, err := o.e.conn.Parked(ctx)
	return p.Account.Username, p.Until, ok, err
}

func (o operations) ConfirmParked(ctx context.Context) (store.Token, error) {
	tok, err := o.e.conn.ConfirmParked(ctx)
	if err == nil && o.e.jobs != nil {
		o.e.jobs.tokenConnected(ctx)
	}
	return tok, err
}

func (o operations) DiscardParked(ctx context.Context) error {
	_, err := o.e.conn.DiscardParked(ctx)
	return err
}

// connectOther stores a token of an account other than the fake's, as if
// the owner had connected it earlier.
func (e *env) connectOther() store.Token {
	e.t.Helper()
	now := e.clock.Now()
	tok := store.Token{AccessToken: "IGAA" + randomToken(), UserID: "17841400000000042", Username: "old.account",
		AccountType: "BUSINESS", IssuedAt: now, ExpiresAt: now.Add(60 * 24 * time.Hour)}
	if err := e.st.SaveToken(context.Background(), tok); err != nil {
		e.t.Fatal(err)
	}
	return tok
}

// handOff approves on Instagram and opens the callback in another browser
// (a phone's, without the admin's cookie); it returns that browser's page
// and the callback's code and state.
func (e *env) handOff() (page response, code, state string) {
	e.t.Helper()
	back := e.decide(e.generate(), "approve")
	return e.getWith(e.newClient(), back.String()), back.Query().Get("code"), back.Query().Get("state")
}

func (e *env) parked() (store.ParkedToken, bool) {
	e.t.Helper()
	p, err := e.st.ParkedToken(context.Background())
	if errors.Is(err, store.ErrNoParkedToken) {
		return p, false
	}
	if err != nil {
		e.t.Fatal(err)
	}
	return p, true
}

// A callback without the admin's session for another account than the
// connected one leaves the connection alone: the state alone must not be
// enough to connect whatever account its code belongs to. The token is
// parked, the dashboard asks, and Connect makes it the connection.
func TestCallbackElsewhereForAnotherAccountKeepsTheConnection(t *testing.T) {
	e := newEnv(t)
	csrf := e.login()
	before := e.connectOther()

	r, code, state := e.handOff()
	if r.StatusCode != http.StatusOK {
		t.Fatalf("callback in another browser = %d:\n%.1500s", r.StatusCode, r.body)
	}
	after, ok := e.token()
	if !ok || after.UserID != before.UserID || after.AccessToken != before.AccessToken {
		t.Fatalf("the connection changed to %v", after)
	}
	if strings.Contains(r.body, "Instagram is connected") {
		t.Errorf("the other browser was told it connected:\n%.1500s", r.body)
	}
	if !strings.Contains(r.body, "Waiting for your confirmation") || !strings.Contains(r.body, "@vitrine.studio") ||
		!strings.Contains(r.body, "click Connect there") {
		t.Errorf("the other browser's page:\n%.1500s", r.body)
	}
	for _, private := range []string{before.Username, `href="/admin"`, "csrf_token"} {
		if strings.Contains(r.body, private) {
			t.Errorf("the other browser's page shows %q", private)
		}
	}
	p, ok := e.parked()
	if !ok || p.Token.UserID != e.fake.Account().UserID || p.Token.AccessToken == "" {
		t.Fatalf("nothing parked: %v", p.Token)
	}
	if n, _ := e.jobs.calls(); n != 0 {
		t.Errorf("OnConnected ran %d times for a parked token", n)
	}

	// The dashboard asks, live too (status.json), and names both accounts.
	dash := e.get("/admin")
	for _, want := range []string{"Connect @vitrine.studio?", `action="/admin/parked/confirm"`, `action="/admin/parked/discard"`,
		"it replaces @old.account", `data-parked="vitrine.studio"`, "in 1 hour"} {
		if !strings.Contains(dash.body, want) {
			t.Errorf("dashboard lacks %q:\n%.3000s", want, dash.body)
		}
	}
	assertAdminHeaders(t, dash)
	st := e.get("/admin/status.json")
	var sv struct {
		Parked  *parkedView  `json:"parked"`
		Account *accountView `json:"account"`
	}
	if err := json.Unmarshal([]byte(st.body), &sv); err != nil || sv.Parked == nil || sv.Parked.Username != "vitrine.studio" ||
		sv.Account == nil || sv.Account.Username != "old.account" {
		t.Errorf("status.json = %s (%v)", st.body, err)
	}
	evs, _ := e.st.Events(context.Background(), 1)
	if len(evs) != 1 || evs[0].Kind != "parked" || !strings.Contains(evs[0].Message, "@vitrine.studio") {
		t.Errorf("last event %+v", evs)
	}

	// Connect: that account is connected, the jobs are told, the
	// dashboard says so once, and nothing waits any more.
	c := e.post("/admin/parked/confirm", url.Values{"csrf_token": {csrf}})
	if c.StatusCode != http.StatusSeeOther || c.Header.Get("Location") != "/admin" {
		t.Fatalf("confirm = %d %q:\n%.1000s", c.StatusCode, c.Header.Get("Location"), c.body)
	}
	tok, _ := e.token()
	if tok.AccessToken != p.Token.AccessToken || tok.UserID != e.fake.Account().UserID {
		t.Fatalf("after confirming the token is %v", tok)
	}
	if _, ok := e.parked(); ok {
		t.Error("still parked after confirming")
	}
	if n, _ := e.jobs.calls(); n != 1 {
		t.Errorf("OnConnected ran %d times, want 1", n)
	}
	after2 := e.get("/admin")
	if !strings.Contains(after2.body, "Instagram is connected") || !strings.Contains(after2.body, "@vitrine.studio is connected") ||
		strings.Contains(after2.body, "Connect @vitrine.studio?") {
		t.Errorf("dashboard after confirming:\n%.3000s", after2.body)
	}
	if strings.Contains(e.get("/admin").body, "Instagram is connected.") {
		t.Error("the notice was shown twice")
	}
	evs, _ = e.st.Events(context.Background(), 1)
	if len(evs) != 1 || evs[0].Kind != "connected" || !strings.Contains(evs[0].Message, "confirmed on the dashboard") {
		t.Errorf("last event %+v", evs)
	}
	if av := e.get("/admin/avatar"); av.StatusCode != http.StatusOK {
		t.Errorf("no profile picture after confirming: %d", av.StatusCode)
	}

	// Too late: a second click finds nothing.
	if c := e.post("/admin/parked/confirm", url.Values{"csrf_token": {csrf}}); c.StatusCode != http.StatusSeeOther {
		t.Errorf("second confirm = %d", c.StatusCode)
	}
	if d := e.get("/admin"); !strings.Contains(d.body, "Nothing is waiting") {
		t.Errorf("second confirm not explained:\n%.2000s", d.body)
	}

	for name, text := range map[string]string{"other browser": r.body, "dashboard": dash.body, "status.json": st.body,
		"after": after2.body, "logs": e.logs.String()} {
		e.assertNoSecrets(name, text, p.Token.AccessToken, before.AccessToken, code, state)
	}
	all, _ := e.st.Events(context.Background(), 0)
	for _, ev := range all {
		e.assertNoSecrets("events", ev.Message, p.Token.AccessToken, before.AccessToken, code, state)
	}
}

// Discard forgets the parked token and changes nothing else.
func TestParkedDiscard(t *testing.T) {
	e := newEnv(t)
	csrf := e.login()
	before := e.connectOther()
	e.handOff()
	p, ok := e.parked()
	if !ok {
		t.Fatal("nothing parked")
	}
	r := e.post("/admin/parked/discard", url.Values{"csrf_token": {csrf}})
	if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/admin" {
		t.Fatalf("discard = %d %q", r.StatusCode, r.Header.Get("Location"))
	}
	if _, ok := e.parked(); ok {
		t.Error("the parked token was kept")
	}
	if tok, _ := e.token(); tok.AccessToken != before.AccessToken {
		t.Error("discarding changed the connection")
	}
	if n, _ := e.jobs.calls(); n != 0 {
		t.Errorf("OnConnected ran %d times", n)
	}
	dash := e.get("/admin")
	if !strings.Contains(dash.body, "Discarded.") || !strings.Contains(dash.body, "The connection of @vitrine.studio was discarded") ||
		strings.Contains(dash.body, "Connect @vitrine.studio?") || !strings.Contains(dash.body, "@old.account") {
		t.Errorf("dashboard after discarding:\n%.3000s", dash.body)
	}
	evs, _ := e.st.Events(context.Background(), 1)
	if len(evs) != 1 || evs[0].Kind != "parked" || !strings.Contains(evs[0].Message, "Discarded the connection of @vitrine.studio") {
		t.Errorf("last event %+v", evs)
	}
	if r := e.post("/admin/parked/discard", url.Values{"csrf_token": {csrf}}); r.StatusCode != http.StatusSeeOther ||
		!strings.Contains(e.get("/admin").body, "Nothing is waiting") {
		t.Errorf("second discard = %d", r.StatusCode)
	}
	e.assertNoSecrets("logs", e.logs.String(), p.Token.AccessToken, before.AccessToken)
}

// Connect and Discard are admin POSTs: without this session's CSRF token,
// or from another site, they are refused and change nothing.
func TestParkedNeedsCSRF(t *testing.T) {
	e := newEnv(t)
	csrf := e.login()
	before := e.connectOther()
	e.handOff()
	p, _ := e.parked()
	other := e.newClient()
	otherCSRF := e.loginWith(other)
	for _, path := range []string{"/admin/parked/confirm", "/admin/parked/discard"} {
		for name, r := range map[string]response{
			"no token":           e.post(path, url.Values{}),
			"wrong token":        e.post(path, url.Values{"csrf_token": {"x" + csrf}}),
			"another session's":  e.post(path, url.Values{"csrf_token": {otherCSRF}}),
			"from another site":  e.post(path, url.Values{"csrf_token": {csrf}}, "Origin", "https://evil.example"),
			"cross-site fetch":   e.post(path, url.Values{"csrf_token": {csrf}}, "Sec-Fetch-Site", "cross-site"),
			"signed out, no tok": e.postWith(e.newClient(), path, url.Values{}),
		} {
			if r.StatusCode != http.StatusForbidden {
				t.Errorf("%s %s = %d, want 403", path, name, r.StatusCode)
			}
		}
	}
	if tok, _ := e.token(); tok.AccessToken != before.AccessToken {
		t.Error("a refused request changed the connection")
	}
	if now, ok := e.parked(); !ok || now.Token.AccessToken != p.Token.AccessToken {
		t.Error("a refused request changed what is parked")
	}
	if n, _ := e.jobs.calls(); n != 0 {
		t.Errorf("OnConnected ran %d times", n)
	}
	// GET does nothing there.
	if r := e.get("/admin/parked/confirm"); r.StatusCode != http.StatusNotFound && r.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("GET confirm = %d", r.StatusCode)
	}
}

// With nothing connected, the hand-off waits too; once it lapsed, the
// dashboard no longer asks and a late Connect finds nothing.
func TestParkedWithNothingConnectedLapses(t *testing.T) {
	e := newEnv(t)
	csrf := e.login()
	r, _, _ := e.handOff()
	if r.StatusCode != http.StatusOK || !strings.Contains(r.body, "Waiting for your confirmation") {
		t.Fatalf("callback in another browser = %d:\n%.1500s", r.StatusCode, r.body)
	}
	if _, ok := e.token(); ok {
		t.Fatal("connected without confirmation")
	}
	dash := e.get("/admin")
	if !strings.Contains(dash.body, "Connect @vitrine.studio?") || strings.Contains(dash.body, "it replaces") ||
		!strings.Contains(dash.body, "Connect your Instagram account") {
		t.Errorf("dashboard:\n%.3000s", dash.body)
	}
	e.clock.Advance(connection.ParkedFor + time.Minute)
	if dash := e.get("/admin"); strings.Contains(dash.body, "Connect @vitrine.studio?") || !strings.Contains(dash.body, "lapsed") {
		t.Errorf("dashboard after it lapsed:\n%.3000s", dash.body)
	}
	if _, ok := e.parked(); ok {
		t.Error("a lapsed parked token was kept")
	}
	if c := e.post("/admin/parked/confirm", url.Values{"csrf_token": {csrf}}); c.StatusCode != http.StatusSeeOther {
		t.Errorf("late confirm = %d", c.StatusCode)
	}
	if _, ok := e.token(); ok {
		t.Error("a lapsed parked token was connected")
	}
	if d := e.get("/admin"); !strings.Contains(d.body, "Nothing is waiting") {
		t.Errorf("late confirm not explained:\n%.2000s", d.body)
	}
}
