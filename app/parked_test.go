package app_test

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
	"vitrine/testkit/testvitrine"
)

// code is what Instagram's redirect carries after its account approved.
func (v *vitrine) code() string {
	v.T.Helper()
	v.Fake.RegisterRedirectURI(v.Config.RedirectURI())
	code, err := v.Fake.Authorize(v.Config.RedirectURI(), "instagram_business_basic")
	if err != nil {
		v.T.Fatal(err)
	}
	return code
}

// connectOther stores the token of an account other than the fake's, as
// if the owner had connected it earlier.
func (v *vitrine) connectOther() store.Token {
	v.T.Helper()
	now := v.Clock.Now()
	tok := store.Token{AccessToken: "IGAAold-account-token-0123456789abcdef", UserID: "17841400000000042",
		Username: "old.account", AccountType: "BUSINESS", IssuedAt: now, ExpiresAt: now.Add(60 * 24 * time.Hour)}
	if err := v.Store.SaveToken(v.ctx, tok); err != nil {
		v.T.Fatal(err)
	}
	v.Track(tok.AccessToken)
	return tok
}

// parkedToken is the parked access token, which no log, event or alert
// may then carry.
func (v *vitrine) parkedToken() string {
	v.T.Helper()
	p, err := v.Store.ParkedToken(v.ctx)
	if err != nil {
		v.T.Fatal(err)
	}
	v.Track(p.Token.AccessToken)
	return p.Token.AccessToken
}

// waitParkedAlert waits for the alert ConnectElsewhere sends in the
// background.
func (v *vitrine) waitParkedAlert() {
	v.T.Helper()
	testkit.Eventually(v.T, "the parked alert", func() bool { return v.count(alerts.AlertConnectionParked) > 0 })
}

// waitSynced waits for the sync that follows a new connection, recorded
// as the sync job's run.
func (v *vitrine) waitSynced() {
	v.T.Helper()
	testkit.Eventually(v.T, "the sync after connecting", func() bool {
		runs, err := v.Store.JobRuns(v.ctx)
		return err == nil && slices.ContainsFunc(runs, func(r store.JobRun) bool { return r.Name == jobs.JobSync && !r.LastRun.IsZero() })
	})
}

func (v *vitrine) count(kind string) int {
	n := 0
	for _, k := range v.hook.kinds() {
		if k == kind {
			n++
		}
	}
	return n
}

// assertNotInAlerts: no alert as sent carries any of secrets.
func (v *vitrine) assertNotInAlerts(secrets ...string) {
	v.T.Helper()
	v.hook.mu.Lock()
	b, _ := json.Marshal(v.hook.alerts)
	v.hook.mu.Unlock()
	for _, s := range secrets {
		if strings.Contains(string(b), s) {
			v.T.Error("an alert carries a token")
		}
	}
}

// A callback without the admin's session for another account does not
// touch the connection: the token is parked and ops are told once. When
// the owner confirms, that account is connected and its posts arrive.
func TestConnectElsewhereParksAnotherAccountUntilConfirmed(t *testing.T) {
	v := newVitrine(t, testvitrine.Posts(3))
	before := v.connectOther()
	gen, _ := v.Store.Generation(v.ctx)

	tok, parked, err := v.App.ConnectElsewhere(v.ctx, v.code())
	if err != nil || !parked {
		t.Fatalf("ConnectElsewhere = %v, parked %v, %v", tok, parked, err)
	}
	if tok.AccessToken != "" || tok.Username != v.Fake.Account().Username {
		t.Errorf("ConnectElsewhere returned %v (access token %v)", tok, tok.AccessToken != "")
	}
	secret := v.parkedToken()
	if now := v.Token(); now.AccessToken != before.AccessToken || now.UserID != before.UserID {
		t.Fatalf("the connection changed to %v", now)
	}
	if g, _ := v.Store.Generation(v.ctx); g != gen {
		t.Error("parking moved the gallery's generation")
	}
	username, until, ok, err := v.App.Parked(v.ctx)
	if err != nil || !ok || username != v.Fake.Account().Username || !until.Equal(v.Clock.Now().Add(connection.ParkedFor)) {
		t.Errorf("Parked = %q, %v, %v, %v", username, until, ok, err)
	}
	v.waitParkedAlert()
	if k := v.hook.kinds(); !slices.Equal(k, []string{alerts.AlertConnectionParked}) {
		t.Fatalf("alerts %v, want one %s", k, alerts.AlertConnectionParked)
	}
	if a := v.hook.last(); a.Account != "@"+username || !strings.Contains(a.Text, "dashboard") {
		t.Errorf("alert %+v", a)
	}
	if n, _ := v.Store.PostCount(v.ctx); n != 0 {
		t.Errorf("%d posts synced before confirming", n)
	}

	// Confirmed: that account is connected and the first sync runs.
	v.Restart(nil) // the dashboard may be served by another process
	confirmed, err := v.App.ConfirmParked(v.ctx)
	if err != nil || confirmed.AccessToken != "" || confirmed.Username != username {
		t.Fatalf("ConfirmParked = %v, %v", confirmed, err)
	}
	v.waitSynced()
	now := v.Token()
	if now.AccessToken != secret || now.UserID != v.Fake.Account().UserID || now.Status != store.StatusValid {
		t.Errorf("after confirming the token is %v", now)
	}
	if n, _ := v.Store.PostCount(v.ctx); n != 3 || v.galleryPosts() != 3 {
		t.Errorf("after confirming: %d posts cached, %d in the gallery", n, v.galleryPosts())
	}
	if r := v.jobRun(jobs.JobSync); !r.LastOK {
		t.Errorf("the sync after confirming: %+v", r)
	}
	if _, _, ok, _ := v.App.Parked(v.ctx); ok {
		t.Error("still parked after confirming")
	}
	if _, err := v.App.ConfirmParked(v.ctx); !errors.Is(err, connection.ErrNothingParked) {
		t.Errorf("confirming twice: %v", err)
	}
	if n := v.count(alerts.AlertConnectionParked); n != 1 {
		t.Errorf("%d parked alerts, want 1", n)
	}
	v.assertNotInAlerts(secret, before.AccessToken)
}

// Discarded, a parked token is gone and nothing else changed.
func TestConnectElsewhereDiscarded(t *testing.T) {
	v := newVitrine(t, testvitrine.Posts(3))
	before := v.connectOther()
	if _, parked, err := v.App.ConnectElsewhere(v.ctx, v.code()); err != nil || !parked {
		t.Fatalf("ConnectElsewhere: parked %v, %v", parked, err)
	}
	secret := v.parkedToken()
	v.waitParkedAlert()
	if err := v.App.DiscardParked(v.ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := v.Store.ParkedToken(v.ctx); !errors.Is(err, store.ErrNoParkedToken) {
		t.Errorf("the parked token was kept: %v", err)
	}
	if now := v.Token(); now.AccessToken != before.AccessToken || now.UserID != before.UserID {
		t.Errorf("discarding changed the connection to %v", now)
	}
	if n, _ := v.Store.PostCount(v.ctx); n != 0 {
		t.Errorf("%d posts synced", n)
	}
	if _, _, ok, _ := v.App.Parked(v.ctx); ok {
		t.Error("still parked after discarding")
	}
	if err := v.App.DiscardParked(v.ctx); !errors.Is(err, connection.ErrNothingParked) {
		t.Errorf("discarding twice: %v", err)
	}
	if _, err := v.App.ConfirmParked(v.ctx); !errors.Is(err, connection.ErrNothingParked) {
		t.Errorf("confirming after discarding: %v", err)
	}
	evs, _ := v.Store.Events(v.ctx, 1)
	if len(evs) != 1 || evs[0].Kind != "parked" || !strings.Contains(evs[0].Message, "Discarded") {
		t.Errorf("last event %+v", evs)
	}
	v.assertNotInAlerts(secret)
}

// With nothing connected, any account waits for confirmation; one that
// waited past connection.ParkedFor is gone.
func TestConnectElsewhereWithNothingConnectedParksUntilItLapses(t *testing.T) {
	v := newVitrine(t)
	if _, parked, err := v.App.ConnectElsewhere(v.ctx, v.code()); err != nil || !parked {
		t.Fatalf("ConnectElsewhere: parked %v, %v", parked, err)
	}
	v.parkedToken()
	if cs, _ := v.App.Status(v.ctx); cs.Connected {
		t.Fatal("connected without confirmation")
	}
	v.Clock.Advance(connection.ParkedFor)
	if _, _, ok, err := v.App.Parked(v.ctx); ok || err != nil {
		t.Errorf("Parked after an hour = %v, %v", ok, err)
	}
	if _, err := v.Store.ParkedToken(v.ctx); !errors.Is(err, store.ErrNoParkedToken) {
		t.Errorf("a lapsed parked token was kept: %v", err)
	}
	if _, err := v.App.ConfirmParked(v.ctx); !errors.Is(err, connection.ErrNothingParked) {
		t.Errorf("confirming a lapsed one: %v", err)
	}
	if cs, _ := v.App.Status(v.ctx); cs.Connected {
		t.Error("a lapsed parked token was connected")
	}
	v.waitParkedAlert()
	if n := v.count(alerts.AlertConnectionParked); n != 1 {
		t.Errorf("%d parked alerts, want 1", n)
	}
}

// The account already connected completes as before: its token is
// replaced and the sync runs, with nothing parked and no alert.
func TestConnectElsewhereForTheConnectedAccountCompletes(t *testing.T) {
	v := newVitrine(t, testvitrine.Posts(3))
	old := v.connect()
	tok, parked, err := v.App.ConnectElsewhere(context.WithoutCancel(v.ctx), v.code())
	if err != nil || parked || tok.AccessToken != "" || tok.UserID != v.Fake.Account().UserID {
		t.Fatalf("ConnectElsewhere = %v, parked %v, %v", tok, parked, err)
	}
	v.waitSynced()
	now := v.Token()
	if now.AccessToken == old || now.UserID != v.Fake.Account().UserID {
		t.Errorf("the token was not replaced: %v", now)
	}
	v.Track(now.AccessToken)
	if _, err := v.Store.ParkedToken(v.ctx); !errors.Is(err, store.ErrNoParkedToken) {
		t.Errorf("something was parked: %v", err)
	}
	if n, _ := v.Store.PostCount(v.ctx); n != 3 {
		t.Errorf("%d posts after connecting, want 3", n)
	}
	if k := v.hook.kinds(); len(k) != 0 {
		t.Errorf("alerts %v, want none", k)
	}
	evs, _ := v.Store.Events(v.ctx, 0)
	if i := slices.IndexFunc(evs, func(e store.Event) bool { return e.Kind == "connected" }); i < 0 {
		t.Errorf("no connected event: %+v", evs)
	}
}
