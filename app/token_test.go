package app

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"vitrine/alerts"
	"vitrine/connection"
	"vitrine/instagram"
	"vitrine/jobs"
	"vitrine/store"
	"vitrine/testkit"
)

// TestNinetyDays steps the fake clock three hours at a time for 90 days and
// lets the scheduler decide what is due: validate and refresh every three
// hours, sync daily. The token must stay usable the whole time, be
// refreshed, and no alert may go out.
func TestNinetyDays(t *testing.T) {
	testkit.SkipIfShort(t, "runs the jobs through 90 simulated days, hundreds of runs")
	h := newHarness(t, withPosts(3))
	// The token's life is the subject, and a refresh is due once in 30
	// days: a look every three hours finds it as surely as the default
	// hourly one, at a third of the runs. Each sync rebuilds the gallery
	// (every language, gzipped), tens of milliseconds, several times that
	// under -race, so the posts are synced daily.
	step, syncEvery := 3*time.Hour, 24*time.Hour
	h.cfg.Jobs.Validate, h.cfg.Jobs.Sync = "@every 3h", "@every 24h"
	h.restart()
	h.connect()
	steps := int(90 * 24 * time.Hour / step)
	for i := 0; i < steps; i++ {
		if err := h.s.RunDue(h.ctx); err != nil {
			t.Fatalf("step %d (%s): %v", i, h.clock.Now().Format(time.DateTime), err)
		}
		tok := h.token()
		if tok.Status == store.StatusNeedsReauth || !h.clock.Now().Before(tok.ExpiresAt) {
			t.Fatalf("day %.1f: token %s (%s), expires %s", h.clock.Now().Sub(testStart).Hours()/24, tok.Status, tok.StatusReason, tok.ExpiresAt)
		}
		h.clock.Advance(step)
	}
	refreshes := h.f.CallsTo("/refresh_access_token")
	syncs := h.f.CallsTo("/me/media")
	validates := h.f.CallsTo("/me")
	t.Logf("90 days: %d refreshes, %d syncs, %d validations", refreshes, syncs, validates)
	if refreshes < 2 {
		t.Errorf("%d refreshes in 90 days, want at least 2 (at 30 days left, twice)", refreshes)
	}
	if refreshes > 4 {
		t.Errorf("%d refreshes in 90 days: refreshing far too often", refreshes)
	}
	if want := int64(90 * 24 * time.Hour / syncEvery); syncs != want {
		t.Errorf("%d syncs, want one every %s (%d)", syncs, syncEvery, want)
	}
	if want := int64(steps); validates < want-1 || validates > want+1 {
		t.Errorf("%d validations, want about one every %s (%d)", validates, step, want)
	}
	if k := h.hook.kinds(); len(k) != 0 {
		t.Errorf("alerts sent during a healthy run: %v", k)
	}
	if !strings.Contains(h.metrics(), "vitrine_token_valid 1") {
		t.Error("metrics do not say the token is valid")
	}
}

// TestRevokeAlertOnceRemindResolve: revoking flips the token at the next
// validate, one alert goes out, reminders follow every remind_every (also
// across a restart), and reconnecting sends "resolved" and syncs.
func TestRevokeAlertOnceRemindResolve(t *testing.T) {
	h := newHarness(t)
	h.connect()
	if err := h.s.RunDue(h.ctx); err != nil {
		t.Fatal(err)
	}
	h.f.RevokeTokens()
	h.clock.Advance(time.Hour)
	err := h.run(jobs.JobValidate)
	if !errors.Is(err, connection.ErrNeedsReauth) {
		t.Fatalf("validate after revoke: %v, want connection.ErrNeedsReauth", err)
	}
	tok := h.token()
	if tok.Status != store.StatusNeedsReauth || tok.StatusReason != "app access removed" {
		t.Fatalf("token %s (%q)", tok.Status, tok.StatusReason)
	}
	if k := h.hook.kinds(); !slices.Equal(k, []string{alerts.AlertNeedsReauth}) {
		t.Fatalf("alerts %v, want one needs_reauth", k)
	}
	a := h.hook.last()
	if a.AdminURL != testPublicURL+"/admin" || !strings.Contains(a.Text, testPublicURL+"/admin") ||
		a.Cause != "app access removed" || !strings.Contains(a.Text, "app access removed") {
		t.Errorf("alert %+v: want cause and admin link", a)
	}

	// Hourly runs for the rest of the day: nothing new (sync also sees the
	// dead token and must not alert again).
	for range 23 {
		h.clock.Advance(time.Hour)
		_ = h.s.RunDue(h.ctx)
	}
	if n := len(h.hook.kinds()); n != 1 {
		t.Fatalf("%d alerts within remind_every, want 1", n)
	}
	h.clock.Advance(time.Hour + time.Minute)
	_ = h.s.RunDue(h.ctx)
	if k := h.hook.kinds(); !slices.Equal(k, []string{alerts.AlertNeedsReauth, alerts.AlertReminder}) {
		t.Fatalf("alerts %v after 24h, want a reminder", k)
	}

	// A restart neither resends nor forgets: the next reminder is due 24h
	// after the last one.
	h.restart()
	_ = h.s.RunDue(h.ctx)
	if n := len(h.hook.kinds()); n != 2 {
		t.Fatalf("restart sent something: %v", h.hook.kinds())
	}
	for range 24 {
		h.clock.Advance(time.Hour)
		_ = h.s.RunDue(h.ctx)
	}
	if k := h.hook.kinds(); !slices.Equal(k, []string{alerts.AlertNeedsReauth, alerts.AlertReminder, alerts.AlertReminder}) {
		t.Fatalf("alerts %v, want a second reminder a day later", k)
	}

	// Reconnect.
	h.connect()
	syncsBefore := h.f.CallsTo("/me/media")
	h.afterConnect()
	if k := h.hook.kinds(); len(k) != 4 || k[3] != alerts.AlertResolved {
		t.Fatalf("alerts %v, want resolved last", k)
	}
	if h.f.CallsTo("/me/media") == syncsBefore {
		t.Error("no sync after reconnect")
	}
	if r := h.jobRun(jobs.JobSync); !r.LastOK {
		t.Errorf("sync after reconnect: %+v", r)
	}
	for range 48 {
		h.clock.Advance(time.Hour)
		if err := h.s.RunDue(h.ctx); err != nil {
			t.Fatal(err)
		}
	}
	if n := len(h.hook.kinds()); n != 4 {
		t.Errorf("alerts after resolution: %v", h.hook.kinds())
	}
	evs, _ := h.st.Events(h.ctx, 0)
	var alertEvents int
	for _, e := range evs {
		if e.Kind == "alert" {
			alertEvents++
		}
	}
	if alertEvents != 4 {
		t.Errorf("%d alert events, want 4 (each alert is also an event)", alertEvents)
	}
	// This scheduler (started after the first reminder) sent the second
	// reminder and "resolved".
	if !strings.Contains(h.metrics(), `vitrine_alerts_sent_total{channel="webhook"} 2`) {
		t.Error("metrics do not count the 2 webhook alerts of this scheduler")
	}
}

func TestPasswordChangeAndExpiryWords(t *testing.T) {
	h := newHarness(t)
	h.connect()
	h.f.ChangePassword()
	_ = h.run(jobs.JobValidate)
	if tok := h.token(); tok.Status != store.StatusNeedsReauth || tok.StatusReason != "password changed" {
		t.Errorf("after password change: %s %q", tok.Status, tok.StatusReason)
	}

	h2 := newHarness(t)
	h2.connect()
	h2.clock.Advance(61 * 24 * time.Hour)
	calls := h2.f.Calls()
	_ = h2.run(jobs.JobValidate)
	if tok := h2.token(); tok.Status != store.StatusNeedsReauth || tok.StatusReason != "expired" {
		t.Errorf("past expires_at: %s %q", tok.Status, tok.StatusReason)
	}
	if h2.f.Calls() != calls {
		t.Error("validate called Instagram for a token past its stored expiry")
	}
	if k := h2.hook.kinds(); !slices.Equal(k, []string{alerts.AlertNeedsReauth}) {
		t.Errorf("alerts %v", k)
	}
}

// TestTransientErrorsNeverFlip: 5xx bursts, rate limits, dropped
// connections and timeouts are recorded and backed off, never a re-auth.
func TestTransientErrorsNeverFlip(t *testing.T) {
	h := newHarness(t, withClientTimeout(300*time.Millisecond))
	h.connect()
	check := func(what string) {
		t.Helper()
		tok := h.token()
		if tok.Status == store.StatusNeedsReauth {
			t.Fatalf("%s flipped the token to needs_reauth (%s)", what, tok.StatusReason)
		}
		if len(h.hook.kinds()) != 0 {
			t.Fatalf("%s sent an alert: %v", what, h.hook.kinds())
		}
	}

	h.f.FailNext(100, http.StatusInternalServerError)
	for _, j := range []string{jobs.JobValidate, jobs.JobSync} {
		if err := h.run(j); !errors.Is(err, instagram.ErrUnavailable) {
			t.Errorf("%s during 5xx: %v", j, err)
		}
	}
	check("a 5xx burst")
	if tok := h.token(); tok.LastError == "" {
		t.Error("the failed validation is not recorded on the token")
	}
	r := h.jobRun(jobs.JobValidate)
	if r.LastOK || r.Failures != 1 || !r.NotBefore.After(h.clock.Now()) {
		t.Errorf("validate run after 5xx: %+v, want a failure with backoff", r)
	}
	// Backing off: RunDue leaves it alone until NotBefore.
	before := h.f.CallsTo("/me")
	_ = h.s.RunDue(h.ctx)
	if h.f.CallsTo("/me") != before {
		t.Error("validate ran again during its backoff")
	}
	h.f.ResetFaults()

	h.f.SetRateLimited(true)
	for _, j := range []string{jobs.JobValidate, jobs.JobSync} {
		if err := h.run(j); !errors.Is(err, instagram.ErrRateLimited) {
			t.Errorf("%s while rate limited: %v", j, err)
		}
	}
	if r := h.jobRun(jobs.JobSync); r.NotBefore.Sub(h.clock.Now()) < 15*time.Minute {
		t.Errorf("sync backoff %s, want at least the 15 minutes Instagram asked for", r.NotBefore.Sub(h.clock.Now()))
	}
	// Refresh when due, while rate limited.
	h.clock.Advance(31 * 24 * time.Hour)
	if err := h.run(jobs.JobRefresh); !errors.Is(err, instagram.ErrRateLimited) {
		t.Errorf("refresh while rate limited: %v", err)
	}
	check("rate limiting")
	if tok := h.token(); tok.Status != store.StatusRefreshDue {
		t.Errorf("status %s, want refresh_due while the refresh fails", tok.Status)
	}
	h.f.SetRateLimited(false)

	h.f.SetDropConnections(true)
	_ = h.run(jobs.JobValidate)
	_ = h.run(jobs.JobRefresh)
	h.f.SetDropConnections(false)
	check("dropped connections")

	h.f.SetLatency(2 * time.Second)
	if err := h.run(jobs.JobValidate); !errors.Is(err, instagram.ErrUnavailable) {
		t.Errorf("validate with a slow Instagram: %v", err)
	}
	h.f.SetLatency(0)
	check("timeouts")

	// All clear: the refresh goes through and the token is valid again.
	if err := h.run(jobs.JobRefresh); err != nil {
		t.Fatalf("refresh after the faults: %v", err)
	}
	tok := h.token()
	if tok.Status != store.StatusValid || tok.ExpiresAt.Sub(h.clock.Now()) < 59*24*time.Hour {
		t.Errorf("after refresh: %s, expires %s", tok.Status, tok.ExpiresAt)
	}
	if err := h.run(jobs.JobValidate); err != nil {
		t.Errorf("validate with the refreshed token: %v", err)
	}
	m := h.metrics()
	for _, kind := range []string{"unavailable", "rate_limited"} {
		if strings.Contains(m, `vitrine_upstream_errors_total{kind="`+kind+`"} 0`) {
			t.Errorf("metrics count no %s errors", kind)
		}
	}
}

// TestRefreshTooYoungAndKeepsOldOnFailure: a token younger than a day is
// not refreshed even when due; a failed refresh keeps the old token.
func TestRefreshTooYoungAndKeepsOldOnFailure(t *testing.T) {
	h := newHarness(t)
	h.cfg.Jobs.RefreshBefore = 60 * 24 * 60 * 60 * 1e9 // always due
	h.restart()
	old := h.connect()
	if err := h.run(jobs.JobRefresh); err != nil {
		t.Fatal(err)
	}
	if n := h.f.CallsTo("/refresh_access_token"); n != 0 {
		t.Errorf("refreshed a token younger than a day (%d calls)", n)
	}
	h.clock.Advance(25 * time.Hour)
	h.f.FailNext(100, http.StatusBadGateway)
	if err := h.run(jobs.JobRefresh); err == nil {
		t.Fatal("refresh succeeded during a 502 burst")
	}
	h.f.ResetFaults()
	if tok := h.token(); tok.AccessToken != old || tok.Status == store.StatusNeedsReauth {
		t.Fatal("a failed refresh lost the working token")
	}
	if err := h.run(jobs.JobRefresh); err != nil {
		t.Fatal(err)
	}
	tok := h.token()
	if tok.AccessToken == old || !tok.IssuedAt.Equal(h.clock.Now()) {
		t.Error("refresh did not store the new token")
	}
	h.mu.Lock()
	h.tokens = append(h.tokens, tok.AccessToken)
	h.mu.Unlock()
}

// TestExpiryWarningWhenRefreshKeepsFailing: 7 days before expiry, with the
// refresh failing, one warning goes out.
func TestExpiryWarningWhenRefreshKeepsFailing(t *testing.T) {
	h := newHarness(t)
	h.connect()
	h.clock.Advance(53*24*time.Hour + time.Hour) // < 7 days left
	h.f.FailNext(1000, http.StatusServiceUnavailable)
	for range 5 {
		_ = h.run(jobs.JobRefresh)
		h.clock.Advance(time.Hour)
	}
	if k := h.hook.kinds(); !slices.Equal(k, []string{alerts.AlertExpiryWarning}) {
		t.Fatalf("alerts %v, want one expiry warning", k)
	}
	if !strings.Contains(h.hook.last().Text, "expires") {
		t.Errorf("warning text %q", h.hook.last().Text)
	}
	h.f.ResetFaults()
	if err := h.run(jobs.JobRefresh); err != nil {
		t.Fatal(err)
	}
	h.clock.Advance(time.Hour)
	_ = h.run(jobs.JobValidate)
	if n := len(h.hook.kinds()); n != 1 {
		t.Errorf("alerts after the refresh recovered: %v", h.hook.kinds())
	}
}

// TestRestartLoopStillRefreshes restarts the scheduler (Start, Stop) every
// simulated 20 minutes across the day the refresh falls due: cron never gets
// to fire an hourly job, but the overdue runs at start from the persisted
// state do the work.
func TestRestartLoopStillRefreshes(t *testing.T) {
	h := newHarness(t, withPosts(2))
	h.connect()
	h.clock.Advance(29*24*time.Hour + 12*time.Hour)
	before := h.token().ExpiresAt
	for i := 0; i < 3*24; i++ {
		s, err := h.a.newScheduler()
		if err != nil {
			t.Fatal(err)
		}
		s.Start()
		ctx, cancel := context.WithTimeout(h.ctx, 10*time.Second)
		if err := s.Stop(ctx); err != nil {
			t.Fatalf("restart %d: %v", i, err)
		}
		cancel()
		h.clock.Advance(20 * time.Minute)
	}
	if n := h.f.CallsTo("/refresh_access_token"); n != 1 {
		t.Errorf("%d refreshes across the restart loop, want 1", n)
	}
	tok := h.token()
	if !tok.ExpiresAt.After(before) || tok.Status != store.StatusValid {
		t.Errorf("token %s expires %s (was %s)", tok.Status, tok.ExpiresAt, before)
	}
	if v := h.f.CallsTo("/me"); v < 20 {
		t.Errorf("%d validations in a day of restarts, want about one an hour", v)
	}
	h.mu.Lock()
	h.tokens = append(h.tokens, tok.AccessToken)
	h.mu.Unlock()
}
