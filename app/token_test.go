package app_test

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"vitrine/alerts"
	"vitrine/config"
	"vitrine/connection"
	"vitrine/instagram"
	"vitrine/jobs"
	"vitrine/store"
	"vitrine/testkit"
	"vitrine/testkit/testvitrine"
)

// TestNinetyDays steps the fake clock three hours at a time for 90 days and
// lets the scheduler decide what is due: validate and refresh every three
// hours, sync daily. The token must stay usable the whole time, be
// refreshed, and no alert may go out.
func TestNinetyDays(t *testing.T) {
	testkit.SkipIfShort(t, "runs the jobs through 90 simulated days, hundreds of runs")
	v := newVitrine(t, testvitrine.Posts(3))
	// The token's life is the subject, and a refresh is due once in 30
	// days: a look every three hours finds it as surely as the default
	// hourly one, at a third of the runs. Each sync rebuilds the gallery
	// (every language, gzipped), tens of milliseconds, several times that
	// under -race, so the posts are synced daily.
	step, syncEvery := 3*time.Hour, 24*time.Hour
	v.Restart(func(c *config.Config) { c.Jobs.Validate, c.Jobs.Sync = "@every 3h", "@every 24h" })
	v.connect()
	steps := int(90 * 24 * time.Hour / step)
	for i := 0; i < steps; i++ {
		if err := v.Jobs.RunDue(v.ctx); err != nil {
			t.Fatalf("step %d (%s): %v", i, v.Clock.Now().Format(time.DateTime), err)
		}
		tok := v.Token()
		if tok.Status == store.StatusNeedsReauth || !v.Clock.Now().Before(tok.ExpiresAt) {
			t.Fatalf("day %.1f: token %s (%s), expires %s", v.Clock.Now().Sub(testvitrine.Start).Hours()/24, tok.Status, tok.StatusReason, tok.ExpiresAt)
		}
		v.Clock.Advance(step)
	}
	refreshes := v.Fake.CallsTo("/refresh_access_token")
	syncs := v.Fake.CallsTo("/me/media")
	validates := v.Fake.CallsTo("/me")
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
	if k := v.hook.kinds(); len(k) != 0 {
		t.Errorf("alerts sent during a healthy run: %v", k)
	}
	if !strings.Contains(v.metrics(), "vitrine_token_valid 1") {
		t.Error("metrics do not say the token is valid")
	}
}

// TestRevokeAlertOnceRemindResolve: revoking flips the token at the next
// validate, one alert goes out, reminders follow every remind_every (also
// across a restart), and reconnecting sends "resolved" and syncs.
func TestRevokeAlertOnceRemindResolve(t *testing.T) {
	v := newVitrine(t)
	v.connect()
	if err := v.Jobs.RunDue(v.ctx); err != nil {
		t.Fatal(err)
	}
	v.Fake.RevokeTokens()
	v.Clock.Advance(time.Hour)
	err := v.run(jobs.JobValidate)
	if !errors.Is(err, connection.ErrNeedsReauth) {
		t.Fatalf("validate after revoke: %v, want connection.ErrNeedsReauth", err)
	}
	tok := v.Token()
	if tok.Status != store.StatusNeedsReauth || tok.StatusReason != "app access removed" {
		t.Fatalf("token %s (%q)", tok.Status, tok.StatusReason)
	}
	if k := v.hook.kinds(); !slices.Equal(k, []string{alerts.AlertNeedsReauth}) {
		t.Fatalf("alerts %v, want one needs_reauth", k)
	}
	a := v.hook.last()
	if a.AdminURL != testPublicURL+"/admin" || !strings.Contains(a.Text, testPublicURL+"/admin") ||
		a.Cause != "app access removed" || !strings.Contains(a.Text, "app access removed") {
		t.Errorf("alert %+v: want cause and admin link", a)
	}

	// Hourly runs for the rest of the day: nothing new (sync also sees the
	// dead token and must not alert again).
	for range 23 {
		v.Clock.Advance(time.Hour)
		_ = v.Jobs.RunDue(v.ctx)
	}
	if n := len(v.hook.kinds()); n != 1 {
		t.Fatalf("%d alerts within remind_every, want 1", n)
	}
	v.Clock.Advance(time.Hour + time.Minute)
	_ = v.Jobs.RunDue(v.ctx)
	if k := v.hook.kinds(); !slices.Equal(k, []string{alerts.AlertNeedsReauth, alerts.AlertReminder}) {
		t.Fatalf("alerts %v after 24h, want a reminder", k)
	}

	// A restart neither resends nor forgets: the next reminder is due 24h
	// after the last one.
	v.Restart(nil)
	_ = v.Jobs.RunDue(v.ctx)
	if n := len(v.hook.kinds()); n != 2 {
		t.Fatalf("restart sent something: %v", v.hook.kinds())
	}
	for range 24 {
		v.Clock.Advance(time.Hour)
		_ = v.Jobs.RunDue(v.ctx)
	}
	if k := v.hook.kinds(); !slices.Equal(k, []string{alerts.AlertNeedsReauth, alerts.AlertReminder, alerts.AlertReminder}) {
		t.Fatalf("alerts %v, want a second reminder a day later", k)
	}

	// Reconnect.
	v.connect()
	syncsBefore := v.Fake.CallsTo("/me/media")
	v.App.AfterConnect(v.ctx)
	if k := v.hook.kinds(); len(k) != 4 || k[3] != alerts.AlertResolved {
		t.Fatalf("alerts %v, want resolved last", k)
	}
	if v.Fake.CallsTo("/me/media") == syncsBefore {
		t.Error("no sync after reconnect")
	}
	if r := v.jobRun(jobs.JobSync); !r.LastOK {
		t.Errorf("sync after reconnect: %+v", r)
	}
	for range 48 {
		v.Clock.Advance(time.Hour)
		if err := v.Jobs.RunDue(v.ctx); err != nil {
			t.Fatal(err)
		}
	}
	if n := len(v.hook.kinds()); n != 4 {
		t.Errorf("alerts after resolution: %v", v.hook.kinds())
	}
	evs, _ := v.Store.Events(v.ctx, 0)
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
	if !strings.Contains(v.metrics(), `vitrine_alerts_sent_total{channel="webhook"} 2`) {
		t.Error("metrics do not count the 2 webhook alerts of this scheduler")
	}
}

func TestPasswordChangeAndExpiryWords(t *testing.T) {
	v := newVitrine(t)
	v.connect()
	v.Fake.ChangePassword()
	_ = v.run(jobs.JobValidate)
	if tok := v.Token(); tok.Status != store.StatusNeedsReauth || tok.StatusReason != "password changed" {
		t.Errorf("after password change: %s %q", tok.Status, tok.StatusReason)
	}

	v2 := newVitrine(t)
	v2.connect()
	v2.Clock.Advance(61 * 24 * time.Hour)
	calls := v2.Fake.Calls()
	_ = v2.run(jobs.JobValidate)
	if tok := v2.Token(); tok.Status != store.StatusNeedsReauth || tok.StatusReason != "expired" {
		t.Errorf("past expires_at: %s %q", tok.Status, tok.StatusReason)
	}
	if v2.Fake.Calls() != calls {
		t.Error("validate called Instagram for a token past its stored expiry")
	}
	if k := v2.hook.kinds(); !slices.Equal(k, []string{alerts.AlertNeedsReauth}) {
		t.Errorf("alerts %v", k)
	}
}

// TestTransientErrorsNeverFlip: 5xx bursts, rate limits, dropped
// connections and timeouts are recorded and backed off, never a re-auth.
func TestTransientErrorsNeverFlip(t *testing.T) {
	v := newVitrine(t, withClientTimeout(300*time.Millisecond))
	v.connect()
	check := func(what string) {
		t.Helper()
		tok := v.Token()
		if tok.Status == store.StatusNeedsReauth {
			t.Fatalf("%s flipped the token to needs_reauth (%s)", what, tok.StatusReason)
		}
		if len(v.hook.kinds()) != 0 {
			t.Fatalf("%s sent an alert: %v", what, v.hook.kinds())
		}
	}

	v.Fake.FailNext(100, http.StatusInternalServerError)
	for _, j := range []string{jobs.JobValidate, jobs.JobSync} {
		if err := v.run(j); !errors.Is(err, instagram.ErrUnavailable) {
			t.Errorf("%s during 5xx: %v", j, err)
		}
	}
	check("a 5xx burst")
	if tok := v.Token(); tok.LastError == "" {
		t.Error("the failed validation is not recorded on the token")
	}
	r := v.jobRun(jobs.JobValidate)
	if r.LastOK || r.Failures != 1 || !r.NotBefore.After(v.Clock.Now()) {
		t.Errorf("validate run after 5xx: %+v, want a failure with backoff", r)
	}
	// Backing off: RunDue leaves it alone until NotBefore.
	before := v.Fake.CallsTo("/me")
	_ = v.Jobs.RunDue(v.ctx)
	if v.Fake.CallsTo("/me") != before {
		t.Error("validate ran again during its backoff")
	}
	v.Fake.ResetFaults()

	v.Fake.SetRateLimited(true)
	for _, j := range []string{jobs.JobValidate, jobs.JobSync} {
		if err := v.run(j); !errors.Is(err, instagram.ErrRateLimited) {
			t.Errorf("%s while rate limited: %v", j, err)
		}
	}
	if r := v.jobRun(jobs.JobSync); r.NotBefore.Sub(v.Clock.Now()) < 15*time.Minute {
		t.Errorf("sync backoff %s, want at least the 15 minutes Instagram asked for", r.NotBefore.Sub(v.Clock.Now()))
	}
	// Refresh when due, while rate limited.
	v.Clock.Advance(31 * 24 * time.Hour)
	if err := v.run(jobs.JobRefresh); !errors.Is(err, instagram.ErrRateLimited) {
		t.Errorf("refresh while rate limited: %v", err)
	}
	check("rate limiting")
	if tok := v.Token(); tok.Status != store.StatusRefreshDue {
		t.Errorf("status %s, want refresh_due while the refresh fails", tok.Status)
	}
	v.Fake.SetRateLimited(false)

	v.Fake.SetDropConnections(true)
	_ = v.run(jobs.JobValidate)
	_ = v.run(jobs.JobRefresh)
	v.Fake.SetDropConnections(false)
	check("dropped connections")

	v.Fake.SetLatency(2 * time.Second)
	if err := v.run(jobs.JobValidate); !errors.Is(err, instagram.ErrUnavailable) {
		t.Errorf("validate with a slow Instagram: %v", err)
	}
	v.Fake.SetLatency(0)
	check("timeouts")

	// All clear: the refresh goes through and the token is valid again.
	if err := v.run(jobs.JobRefresh); err != nil {
		t.Fatalf("refresh after the faults: %v", err)
	}
	tok := v.Token()
	if tok.Status != store.StatusValid || tok.ExpiresAt.Sub(v.Clock.Now()) < 59*24*time.Hour {
		t.Errorf("after refresh: %s, expires %s", tok.Status, tok.ExpiresAt)
	}
	if err := v.run(jobs.JobValidate); err != nil {
		t.Errorf("validate with the refreshed token: %v", err)
	}
	m := v.metrics()
	for _, kind := range []string{"unavailable", "rate_limited"} {
		if strings.Contains(m, `vitrine_upstream_errors_total{kind="`+kind+`"} 0`) {
			t.Errorf("metrics count no %s errors", kind)
		}
	}
}

// TestRefreshTooYoungAndKeepsOldOnFailure: a token younger than a day is
// not refreshed even when due; a failed refresh keeps the old token.
func TestRefreshTooYoungAndKeepsOldOnFailure(t *testing.T) {
	v := newVitrine(t)
	v.Restart(func(c *config.Config) { c.Jobs.RefreshBefore = 60 * 24 * 60 * 60 * 1e9 }) // always due
	old := v.connect()
	if err := v.run(jobs.JobRefresh); err != nil {
		t.Fatal(err)
	}
	if n := v.Fake.CallsTo("/refresh_access_token"); n != 0 {
		t.Errorf("refreshed a token younger than a day (%d calls)", n)
	}
	v.Clock.Advance(25 * time.Hour)
	v.Fake.FailNext(100, http.StatusBadGateway)
	if err := v.run(jobs.JobRefresh); err == nil {
		t.Fatal("refresh succeeded during a 502 burst")
	}
	v.Fake.ResetFaults()
	if tok := v.Token(); tok.AccessToken != old || tok.Status == store.StatusNeedsReauth {
		t.Fatal("a failed refresh lost the working token")
	}
	if err := v.run(jobs.JobRefresh); err != nil {
		t.Fatal(err)
	}
	tok := v.Token()
	if tok.AccessToken == old || !tok.IssuedAt.Equal(v.Clock.Now()) {
		t.Error("refresh did not store the new token")
	}
	v.Track(tok.AccessToken)
}

// TestExpiryWarningWhenRefreshKeepsFailing: 7 days before expiry, with the
// refresh failing, one warning goes out.
func TestExpiryWarningWhenRefreshKeepsFailing(t *testing.T) {
	v := newVitrine(t)
	v.connect()
	v.Clock.Advance(53*24*time.Hour + time.Hour) // < 7 days left
	v.Fake.FailNext(1000, http.StatusServiceUnavailable)
	for range 5 {
		_ = v.run(jobs.JobRefresh)
		v.Clock.Advance(time.Hour)
	}
	if k := v.hook.kinds(); !slices.Equal(k, []string{alerts.AlertExpiryWarning}) {
		t.Fatalf("alerts %v, want one expiry warning", k)
	}
	if !strings.Contains(v.hook.last().Text, "expires") {
		t.Errorf("warning text %q", v.hook.last().Text)
	}
	v.Fake.ResetFaults()
	if err := v.run(jobs.JobRefresh); err != nil {
		t.Fatal(err)
	}
	v.Clock.Advance(time.Hour)
	_ = v.run(jobs.JobValidate)
	if n := len(v.hook.kinds()); n != 1 {
		t.Errorf("alerts after the refresh recovered: %v", v.hook.kinds())
	}
}

// TestRestartLoopStillRefreshes restarts the scheduler (Start, Stop) every
// simulated 20 minutes across the day the refresh falls due: cron never gets
// to fire an hourly job, but the overdue runs at start from the persisted
// state do the work.
func TestRestartLoopStillRefreshes(t *testing.T) {
	v := newVitrine(t, testvitrine.Posts(2))
	v.connect()
	v.Clock.Advance(29*24*time.Hour + 12*time.Hour)
	before := v.Token().ExpiresAt
	for i := 0; i < 3*24; i++ {
		s, err := v.App.NewScheduler()
		if err != nil {
			t.Fatal(err)
		}
		s.Start()
		ctx, cancel := context.WithTimeout(v.ctx, 10*time.Second)
		if err := s.Stop(ctx); err != nil {
			t.Fatalf("restart %d: %v", i, err)
		}
		cancel()
		v.Clock.Advance(20 * time.Minute)
	}
	if n := v.Fake.CallsTo("/refresh_access_token"); n != 1 {
		t.Errorf("%d refreshes across the restart loop, want 1", n)
	}
	tok := v.Token()
	if !tok.ExpiresAt.After(before) || tok.Status != store.StatusValid {
		t.Errorf("token %s expires %s (was %s)", tok.Status, tok.ExpiresAt, before)
	}
	if n := v.Fake.CallsTo("/me"); n < 20 {
		t.Errorf("%d validations in a day of restarts, want about one an hour", n)
	}
	v.Track(tok.AccessToken)
}
