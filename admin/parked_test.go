package admin_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"vitrine/admin"
	"vitrine/connection"
	"vitrine/store"
	"vitrine/testkit"
)

// connectOther stores a token of an account other than the fake's, as if
// the owner had connected it earlier.
func (v *vitrine) connectOther() store.Token {
	v.T.Helper()
	now := v.Clock.Now()
	tok := store.Token{AccessToken: "IGAA" + randomToken(), UserID: "17841400000000042", Username: "old.account",
		AccountType: "BUSINESS", IssuedAt: now, ExpiresAt: now.Add(60 * 24 * time.Hour)}
	if err := v.Store.SaveToken(context.Background(), tok); err != nil {
		v.T.Fatal(err)
	}
	return tok
}

// handOff approves on Instagram and opens the callback in another browser
// (a phone's, without the admin's cookie); it returns that browser's page
// and the callback's code and state.
func (v *vitrine) handOff() (page testkit.Response, code, state string) {
	v.T.Helper()
	back := v.decide(v.generate(), "approve")
	return v.Browser().Get(back.String()), back.Query().Get("code"), back.Query().Get("state")
}

func (v *vitrine) parked() (store.ParkedToken, bool) {
	v.T.Helper()
	p, err := v.Store.ParkedToken(context.Background())
	if errors.Is(err, store.ErrNoParkedToken) {
		return p, false
	}
	if err != nil {
		v.T.Fatal(err)
	}
	return p, true
}

// A callback without the admin's session for another account than the
// connected one leaves the connection alone: the state alone must not be
// enough to connect whatever account its code belongs to. The token is
// parked, the dashboard asks, and Connect makes it the connection.
func TestCallbackElsewhereForAnotherAccountKeepsTheConnection(t *testing.T) {
	v := newVitrine(t)
	csrf := v.client.SignIn(testPassword)
	before := v.connectOther()

	r, code, state := v.handOff()
	if r.StatusCode != http.StatusOK {
		t.Fatalf("callback in another browser = %d:\n%.1500s", r.StatusCode, r.Text)
	}
	after, ok := v.StoredToken()
	if !ok || after.UserID != before.UserID || after.AccessToken != before.AccessToken {
		t.Fatalf("the connection changed to %v", after)
	}
	if strings.Contains(r.Text, "Instagram is connected") {
		t.Errorf("the other browser was told it connected:\n%.1500s", r.Text)
	}
	if !strings.Contains(r.Text, "Waiting for your confirmation") || !strings.Contains(r.Text, "@vitrine.studio") ||
		!strings.Contains(r.Text, "click Connect there") {
		t.Errorf("the other browser's page:\n%.1500s", r.Text)
	}
	for _, private := range []string{before.Username, `href="/admin"`, "csrf_token"} {
		if strings.Contains(r.Text, private) {
			t.Errorf("the other browser's page shows %q", private)
		}
	}
	p, ok := v.parked()
	if !ok || p.Token.UserID != v.Fake.Account().UserID || p.Token.AccessToken == "" {
		t.Fatalf("nothing parked: %v", p.Token)
	}
	if n := v.Fake.CallsTo("/me/media"); n != 0 {
		t.Errorf("a sync read the feed %d times for a parked token", n)
	}

	// The dashboard asks, live too (status.json), and names both accounts.
	dash := v.client.Get("/admin")
	for _, want := range []string{"Connect @vitrine.studio?", `action="/admin/parked/confirm"`, `action="/admin/parked/discard"`,
		"it replaces @old.account", `data-parked="vitrine.studio"`, "in 1 hour"} {
		if !strings.Contains(dash.Text, want) {
			t.Errorf("dashboard lacks %q:\n%.3000s", want, dash.Text)
		}
	}
	assertAdminHeaders(t, dash)
	st := v.client.Get("/admin/status.json")
	var sv struct {
		Parked  *admin.ParkedView  `json:"parked"`
		Account *admin.AccountView `json:"account"`
	}
	if err := json.Unmarshal([]byte(st.Text), &sv); err != nil || sv.Parked == nil || sv.Parked.Username != "vitrine.studio" ||
		sv.Account == nil || sv.Account.Username != "old.account" {
		t.Errorf("status.json = %s (%v)", st.Text, err)
	}
	if ev := v.lastEvent("parked"); !strings.Contains(ev.Message, "@vitrine.studio") {
		t.Errorf("last parked event %+v", ev)
	}

	// Connect: that account is connected, the jobs are told, the
	// dashboard says so once, and nothing waits any more.
	c := v.client.Post("/admin/parked/confirm", url.Values{"csrf_token": {csrf}})
	if c.StatusCode != http.StatusSeeOther || c.Header.Get("Location") != "/admin" {
		t.Fatalf("confirm = %d %q:\n%.1000s", c.StatusCode, c.Header.Get("Location"), c.Text)
	}
	tok, _ := v.StoredToken()
	if tok.AccessToken != p.Token.AccessToken || tok.UserID != v.Fake.Account().UserID {
		t.Fatalf("after confirming the token is %v", tok)
	}
	if _, ok := v.parked(); ok {
		t.Error("still parked after confirming")
	}
	v.syncRuns(1) // confirmed, it is connected: the first sync follows
	after2 := v.client.Get("/admin")
	if !strings.Contains(after2.Text, "Instagram is connected") || !strings.Contains(after2.Text, "@vitrine.studio is connected") ||
		strings.Contains(after2.Text, "Connect @vitrine.studio?") {
		t.Errorf("dashboard after confirming:\n%.3000s", after2.Text)
	}
	if strings.Contains(v.client.Get("/admin").Text, "Instagram is connected.") {
		t.Error("the notice was shown twice")
	}
	if ev := v.lastEvent("connected"); !strings.Contains(ev.Message, "confirmed on the dashboard") {
		t.Errorf("last connected event %+v", ev)
	}
	if av := v.client.Get("/admin/avatar"); av.StatusCode != http.StatusOK {
		t.Errorf("no profile picture after confirming: %d", av.StatusCode)
	}

	// Too late: a second click finds nothing.
	if c := v.client.Post("/admin/parked/confirm", url.Values{"csrf_token": {csrf}}); c.StatusCode != http.StatusSeeOther {
		t.Errorf("second confirm = %d", c.StatusCode)
	}
	if d := v.client.Get("/admin"); !strings.Contains(d.Text, "Nothing is waiting") {
		t.Errorf("second confirm not explained:\n%.2000s", d.Text)
	}

	for name, text := range map[string]string{"other browser": r.Text, "dashboard": dash.Text, "status.json": st.Text,
		"after": after2.Text, "logs": v.Logs.String()} {
		v.assertNoSecrets(name, text, p.Token.AccessToken, before.AccessToken, code, state)
	}
	all, _ := v.Store.Events(context.Background(), 0)
	for _, ev := range all {
		v.assertNoSecrets("events", ev.Message, p.Token.AccessToken, before.AccessToken, code, state)
	}
}

// Discard forgets the parked token and changes nothing else.
func TestParkedDiscard(t *testing.T) {
	v := newVitrine(t)
	csrf := v.client.SignIn(testPassword)
	before := v.connectOther()
	v.handOff()
	p, ok := v.parked()
	if !ok {
		t.Fatal("nothing parked")
	}
	r := v.client.Post("/admin/parked/discard", url.Values{"csrf_token": {csrf}})
	if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/admin" {
		t.Fatalf("discard = %d %q", r.StatusCode, r.Header.Get("Location"))
	}
	if _, ok := v.parked(); ok {
		t.Error("the parked token was kept")
	}
	if tok, _ := v.StoredToken(); tok.AccessToken != before.AccessToken {
		t.Error("discarding changed the connection")
	}
	if n := v.Fake.CallsTo("/me/media"); n != 0 {
		t.Errorf("a sync read the feed %d times", n)
	}
	dash := v.client.Get("/admin")
	if !strings.Contains(dash.Text, "Discarded.") || !strings.Contains(dash.Text, "The connection of @vitrine.studio was discarded") ||
		strings.Contains(dash.Text, "Connect @vitrine.studio?") || !strings.Contains(dash.Text, "@old.account") {
		t.Errorf("dashboard after discarding:\n%.3000s", dash.Text)
	}
	if ev := v.lastEvent("parked"); !strings.Contains(ev.Message, "Discarded the connection of @vitrine.studio") {
		t.Errorf("last parked event %+v", ev)
	}
	if r := v.client.Post("/admin/parked/discard", url.Values{"csrf_token": {csrf}}); r.StatusCode != http.StatusSeeOther ||
		!strings.Contains(v.client.Get("/admin").Text, "Nothing is waiting") {
		t.Errorf("second discard = %d", r.StatusCode)
	}
	v.assertNoSecrets("logs", v.Logs.String(), p.Token.AccessToken, before.AccessToken)
}

// Connect and Discard are admin POSTs: without this session's CSRF token,
// or from another site, they are refused and change nothing.
func TestParkedNeedsCSRF(t *testing.T) {
	v := newVitrine(t)
	csrf := v.client.SignIn(testPassword)
	before := v.connectOther()
	v.handOff()
	p, _ := v.parked()
	other := v.Browser()
	otherCSRF := other.SignIn(testPassword)
	for _, path := range []string{"/admin/parked/confirm", "/admin/parked/discard"} {
		for name, r := range map[string]testkit.Response{
			"no token":           v.client.Post(path, url.Values{}),
			"wrong token":        v.client.Post(path, url.Values{"csrf_token": {"x" + csrf}}),
			"another session's":  v.client.Post(path, url.Values{"csrf_token": {otherCSRF}}),
			"from another site":  v.client.Post(path, url.Values{"csrf_token": {csrf}}, "Origin", "https://evil.example"),
			"cross-site fetch":   v.client.Post(path, url.Values{"csrf_token": {csrf}}, "Sec-Fetch-Site", "cross-site"),
			"signed out, no tok": v.Browser().Post(path, url.Values{}),
		} {
			if r.StatusCode != http.StatusForbidden {
				t.Errorf("%s %s = %d, want 403", path, name, r.StatusCode)
			}
		}
	}
	if tok, _ := v.StoredToken(); tok.AccessToken != before.AccessToken {
		t.Error("a refused request changed the connection")
	}
	if now, ok := v.parked(); !ok || now.Token.AccessToken != p.Token.AccessToken {
		t.Error("a refused request changed what is parked")
	}
	if n := v.Fake.CallsTo("/me/media"); n != 0 {
		t.Errorf("a sync read the feed %d times", n)
	}
	// GET does nothing there.
	if r := v.client.Get("/admin/parked/confirm"); r.StatusCode != http.StatusNotFound && r.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("GET confirm = %d", r.StatusCode)
	}
}

// With nothing connected, the hand-off waits too; once it lapsed, the
// dashboard no longer asks and a late Connect finds nothing.
func TestParkedWithNothingConnectedLapses(t *testing.T) {
	v := newVitrine(t)
	csrf := v.client.SignIn(testPassword)
	r, _, _ := v.handOff()
	if r.StatusCode != http.StatusOK || !strings.Contains(r.Text, "Waiting for your confirmation") {
		t.Fatalf("callback in another browser = %d:\n%.1500s", r.StatusCode, r.Text)
	}
	if _, ok := v.StoredToken(); ok {
		t.Fatal("connected without confirmation")
	}
	dash := v.client.Get("/admin")
	if !strings.Contains(dash.Text, "Connect @vitrine.studio?") || strings.Contains(dash.Text, "it replaces") ||
		!strings.Contains(dash.Text, "Connect your Instagram account") {
		t.Errorf("dashboard:\n%.3000s", dash.Text)
	}
	v.Clock.Advance(connection.ParkedFor + time.Minute)
	if dash := v.client.Get("/admin"); strings.Contains(dash.Text, "Connect @vitrine.studio?") || !strings.Contains(dash.Text, "lapsed") {
		t.Errorf("dashboard after it lapsed:\n%.3000s", dash.Text)
	}
	if _, ok := v.parked(); ok {
		t.Error("a lapsed parked token was kept")
	}
	if c := v.client.Post("/admin/parked/confirm", url.Values{"csrf_token": {csrf}}); c.StatusCode != http.StatusSeeOther {
		t.Errorf("late confirm = %d", c.StatusCode)
	}
	if _, ok := v.StoredToken(); ok {
		t.Error("a lapsed parked token was connected")
	}
	if d := v.client.Get("/admin"); !strings.Contains(d.Text, "Nothing is waiting") {
		t.Errorf("late confirm not explained:\n%.2000s", d.Text)
	}
}
