package app

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"vitrine/alerts"
	"vitrine/connection"
	"vitrine/jobs"
	"vitrine/store"
	"vitrine/testkit"
)

// code is what Instagram's redirect carries after its account approved.
func (h *harness) code() string {
	h.t.Helper()
	h.f.RegisterRedirectURI(h.cfg.RedirectURI())
	code, err := h.f.Authorize(h.cfg.RedirectURI(), "instagram_business_basic")
	if err != nil {
		h.t.Fatal(err)
	}
	return code
}

// connectOther stores the token of an account other than the fake's, as
// if the owner had connected it earlier.
func (h *harness) connectOther() store.Token {
	h.t.Helper()
	now := h.clock.Now()
	tok := store.Token{AccessToken: "IGAAold-account-token-0123456789abcdef", UserID: "17841400000000042",
		Username: "old.account", AccountType: "BUSINESS", IssuedAt: now, ExpiresAt: now.Add(60 * 24 * time.Hour)}
	if err := h.st.SaveToken(h.ctx, tok); err != nil {
		h.t.Fatal(err)
	}
	h.mu.Lock()
	h.tokens = append(h.tokens, tok.AccessToken)
	h.mu.Unlock()
	return tok
}

// parkedToken is the parked access token, which no log, event or alert
// may then carry.
func (h *harness) parkedToken() string {
	h.t.Helper()
	p, err := h.st.ParkedToken(h.ctx)
	if err != nil {
		h.t.Fatal(err)
	}
	h.mu.Lock()
	h.tokens = append(h.tokens, p.Token.AccessToken)
	h.mu.Unlock()
	return p.Token.AccessToken
}

// waitParkedAlert waits for the alert ConnectElsewhere sends in the
// background.
func (h *harness) waitParkedAlert() {
	h.t.Helper()
	testkit.Eventually(h.t, "the parked alert", func() bool { return h.count(alerts.AlertConnectionParked) > 0 })
}

// waitSynced waits for the sync that follows a new connection, recorded
// as the sync job's run.
func (h *harness) waitSynced() {
	h.t.Helper()
	testkit.Eventually(h.t, "the sync after connecting", func() bool {
		runs, err := h.st.JobRuns(h.ctx)
		return err == nil && slices.ContainsFunc(runs, func(r store.JobRun) bool { return r.Name == jobs.JobSync && !r.LastRun.IsZero() })
	})
}

func (h *harness) count(kind string) int {
	n := 0
	for _, k := range h.hook.kinds() {
		if k == kind {
			n++
		}
	}
	return n
}

// assertNotInAlerts: no alert as sent carries any of secrets.
func (h *harness) assertNotInAlerts(secrets ...string) {
	h.t.Helper()
	h.hook.mu.Lock()
	b, _ := json.Marshal(h.hook.alerts)
	h.hook.mu.Unlock()
	for _, s := range secrets {
		if strings.Contains(string(b), s) {
			h.t.Error("an alert carries a token")
		}
	}
}

// A callback without the admin's session for another account does not
// touch the connection: the token is parked and ops are told once. When
// the owner confirms, that account is connected and its posts arrive.
func TestConnectElsewhereParksAnotherAccountUntilConfirmed(t *testing.T) {
	h := newHarness(t, withPosts(3))
	before := h.connectOther()
	gen, _ := h.st.Generation(h.ctx)

	tok, parked, err := h.a.ConnectElsewhere(h.ctx, h.code())
	if err != nil || !parked {
		t.Fatalf("ConnectElsewhere = %v, parked %v, %v", tok, parked, err)
	}
	if tok.AccessToken != "" || tok.Username != h.f.Account().Username {
		t.Errorf("ConnectElsewhere returned %v (access token %v)", tok, tok.AccessToken != "")
	}
	secret := h.parkedToken()
	if now := h.token(); now.AccessToken != before.AccessToken || now.UserID != before.UserID {
		t.Fatalf("the connection changed to %v", now)
	}
	if g, _ := h.st.Generation(h.ctx); g != gen {
		t.Error("parking moved the gallery's generation")
	}
	username, until, ok, err := h.a.Parked(h.ctx)
	if err != nil || !ok || username != h.f.Account().Username || !until.Equal(h.clock.Now().Add(connection.ParkedFor)) {
		t.Errorf("Parked = %q, %v, %v, %v", username, until, ok, err)
	}
	h.waitParkedAlert()
	if k := h.hook.kinds(); !slices.Equal(k, []string{alerts.AlertConnectionParked}) {
		t.Fatalf("alerts %v, want one %s", k, alerts.AlertConnectionParked)
	}
	if a := h.hook.last(); a.Account != "@"+username || !strings.Contains(a.Text, "dashboard") {
		t.Errorf("alert %+v", a)
	}
	if n, _ := h.st.PostCount(h.ctx); n != 0 {
		t.Errorf("%d posts synced before confirming", n)
	}

	// Confirmed: that account is connected and the first sync runs.
	h.restart() // the dashboard may be served by another process
	confirmed, err := h.a.ConfirmParked(h.ctx)
	if err != nil || confirmed.AccessToken != "" || confirmed.Username != username {
		t.Fatalf("ConfirmParked = %v, %v", confirmed, err)
	}
	h.waitSynced()
	now := h.token()
	if now.AccessToken != secret || now.UserID != h.f.Account().UserID || now.Status != store.StatusValid {
		t.Errorf("after confirming the token is %v", now)
	}
	if n, _ := h.st.PostCount(h.ctx); n != 3 || h.galleryPosts() != 3 {
		t.Errorf("after confirming: %d posts cached, %d in the gallery", n, h.galleryPosts())
	}
	if r := h.jobRun(jobs.JobSync); !r.LastOK {
		t.Errorf("the sync after confirming: %+v", r)
	}
	if _, _, ok, _ := h.a.Parked(h.ctx); ok {
		t.Error("still parked after confirming")
	}
	if _, err := h.a.ConfirmParked(h.ctx); !errors.Is(err, connection.ErrNothingParked) {
		t.Errorf("confirming twice: %v", err)
	}
	if n := h.count(alerts.AlertConnectionParked); n != 1 {
		t.Errorf("%d parked alerts, want 1", n)
	}
	h.assertNotInAlerts(secret, before.AccessToken)
}

// Discarded, a parked token is gone and nothing else changed.
func TestConnectElsewhereDiscarded(t *testing.T) {
	h := newHarness(t, withPosts(3))
	before := h.connectOther()
	if _, parked, err := h.a.ConnectElsewhere(h.ctx, h.code()); err != nil || !parked {
		t.Fatalf("ConnectElsewhere: parked %v, %v", parked, err)
	}
	secret := h.parkedToken()
	h.waitParkedAlert()
	if err := h.a.DiscardParked(h.ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := h.st.ParkedToken(h.ctx); !errors.Is(err, store.ErrNoParkedToken) {
		t.Errorf("the parked token was kept: %v", err)
	}
	if now := h.token(); now.AccessToken != before.AccessToken || now.UserID != before.UserID {
		t.Errorf("discarding changed the connection to %v", now)
	}
	if n, _ := h.st.PostCount(h.ctx); n != 0 {
		t.Errorf("%d posts synced", n)
	}
	if _, _, ok, _ := h.a.Parked(h.ctx); ok {
		t.Error("still parked after discarding")
	}
	if err := h.a.DiscardParked(h.ctx); !errors.Is(err, connection.ErrNothingParked) {
		t.Errorf("discarding twice: %v", err)
	}
	if _, err := h.a.ConfirmParked(h.ctx); !errors.Is(err, connection.ErrNothingParked) {
		t.Errorf("confirming after discarding: %v", err)
	}
	evs, _ := h.st.Events(h.ctx, 1)
	if len(evs) != 1 || evs[0].Kind != "parked" || !strings.Contains(evs[0].Message, "Discarded") {
		t.Errorf("last event %+v", evs)
	}
	h.assertNotInAlerts(secret)
}

// With nothing connected, any account waits for confirmation; one that
// waited past connection.ParkedFor is gone.
func TestConnectElsewhereWithNothingConnectedParksUntilItLapses(t *testing.T) {
	h := newHarness(t)
	if _, parked, err := h.a.ConnectElsewhere(h.ctx, h.code()); err != nil || !parked {
		t.Fatalf("ConnectElsewhere: parked %v, %v", parked, err)
	}
	h.parkedToken()
	if cs, _ := h.a.Status(h.ctx); cs.Connected {
		t.Fatal("connected without confirmation")
	}
	h.clock.Advance(connection.ParkedFor)
	if _, _, ok, err := h.a.Parked(h.ctx); ok || err != nil {
		t.Errorf("Parked after an hour = %v, %v", ok, err)
	}
	if _, err := h.st.ParkedToken(h.ctx); !errors.Is(err, store.ErrNoParkedToken) {
		t.Errorf("a lapsed parked token was kept: %v", err)
	}
	if _, err := h.a.ConfirmParked(h.ctx); !errors.Is(err, connection.ErrNothingParked) {
		t.Errorf("confirming a lapsed one: %v", err)
	}
	if cs, _ := h.a.Status(h.ctx); cs.Connected {
		t.Error("a lapsed parked token was connected")
	}
	h.waitParkedAlert()
	if n := h.count(alerts.AlertConnectionParked); n != 1 {
		t.Errorf("%d parked alerts, want 1", n)
	}
}

// The account already connected completes as before: its token is
// replaced and the sync runs, with nothing parked and no alert.
func TestConnectElsewhereForTheConnectedAccountCompletes(t *testing.T) {
	h := newHarness(t, withPosts(3))
	old := h.connect()
	tok, parked, err := h.a.ConnectElsewhere(context.WithoutCancel(h.ctx), h.code())
	if err != nil || parked || tok.AccessToken != "" || tok.UserID != h.f.Account().UserID {
		t.Fatalf("ConnectElsewhere = %v, parked %v, %v", tok, parked, err)
	}
	h.waitSynced()
	now := h.token()
	if now.AccessToken == old || now.UserID != h.f.Account().UserID {
		t.Errorf("the token was not replaced: %v", now)
	}
	h.mu.Lock()
	h.tokens = append(h.tokens, now.AccessToken)
	h.mu.Unlock()
	if _, err := h.st.ParkedToken(h.ctx); !errors.Is(err, store.ErrNoParkedToken) {
		t.Errorf("something was parked: %v", err)
	}
	if n, _ := h.st.PostCount(h.ctx); n != 3 {
		t.Errorf("%d posts after connecting, want 3", n)
	}
	if k := h.hook.kinds(); len(k) != 0 {
		t.Errorf("alerts %v, want none", k)
	}
	evs, _ := h.st.Events(h.ctx, 0)
	if i := slices.IndexFunc(evs, func(e store.Event) bool { return e.Kind == "connected" }); i < 0 {
		t.Errorf("no connected event: %+v", evs)
	}
}
