package jobs

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"vitrine/connection"
)

// TestCronRunsAndSurvivesPanics starts real cron with an @every 1s job that
// panics on its first run: later runs must still happen (robfig/cron
// v3.0.1's SkipIfStillRunning would skip it forever otherwise), and Stop
// must return promptly.
func TestCronRunsAndSurvivesPanics(t *testing.T) {
	h := newHarness(t)
	var runs atomic.Int32
	ran := make(chan int32, 10)
	if err := h.s.Register(Task{Name: "tick", Schedule: "@every 1s", Run: func(context.Context) error {
		n := runs.Add(1)
		ran <- n
		if n == 1 {
			panic("boom")
		}
		return nil
	}}); err != nil {
		t.Fatal(err)
	}
	h.s.Start()
	deadline := time.After(10 * time.Second)
	for n := int32(0); n < 3; {
		select {
		case n = <-ran:
		case <-deadline:
			t.Fatalf("only %d runs within 10s", runs.Load())
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := h.s.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	var tick Status
	for _, st := range h.s.Statuses() {
		if st.Name == "tick" {
			tick = st
		}
	}
	if !tick.LastOK || tick.LastRun.IsZero() || tick.Running {
		t.Errorf("tick status %+v", tick)
	}
	if !strings.Contains(h.logs.String(), "panic") {
		t.Error("the panic was not logged")
	}
	// The overdue run at start found no token: recorded, not fatal.
	for _, st := range h.s.Statuses() {
		if st.Name == JobSync && (st.LastOK || !strings.Contains(st.LastError, "no Instagram account")) {
			t.Errorf("sync status %+v", st)
		}
	}
}

func TestRunNowNeverOverlaps(t *testing.T) {
	h := newHarness(t)
	release := make(chan struct{})
	started := make(chan struct{})
	if err := h.s.Register(Task{Name: "slow", Schedule: "@every 1h", Run: func(ctx context.Context) error {
		close(started)
		<-release
		return errors.New("slow failed")
	}}); err != nil {
		t.Fatal(err)
	}
	done := make(chan error)
	go func() { done <- h.s.RunNow(h.ctx, "slow") }()
	<-started
	if err := h.s.RunNow(h.ctx, "slow"); !errors.Is(err, ErrAlreadyRunning) {
		t.Errorf("second RunNow: %v, want ErrAlreadyRunning", err)
	}
	var running bool
	for _, st := range h.s.Statuses() {
		if st.Name == "slow" {
			running = st.Running
		}
	}
	if !running {
		t.Error("status does not say running")
	}
	close(release)
	if err := <-done; err == nil {
		t.Error("the job's error was lost")
	}
	if err := h.s.RunNow(h.ctx, "nope"); !errors.Is(err, ErrUnknownJob) {
		t.Errorf("unknown job: %v", err)
	}
	// Statuses survive a restart.
	s2 := h.newScheduler()
	if err := s2.Register(Task{Name: "slow", Schedule: "@every 1h", Run: func(context.Context) error { return nil }}); err != nil {
		t.Fatal(err)
	}
	for _, st := range s2.Statuses() {
		if st.Name == "slow" && (st.LastOK || st.LastError != "slow failed" || st.Failures != 1 || st.NextRun.IsZero()) {
			t.Errorf("after restart: %+v", st)
		}
	}
}

func TestStopCancelsJobsPastDeadline(t *testing.T) {
	h := newHarness(t)
	if err := h.s.Register(Task{Name: "stuck", Schedule: "@every 1h", Run: func(ctx context.Context) error {
		<-ctx.Done()
		return ctx.Err()
	}}); err != nil {
		t.Fatal(err)
	}
	h.s.Start()
	// Wait until the overdue run at start is inside the job.
	deadline := time.Now().Add(5 * time.Second)
	for {
		var running bool
		for _, st := range h.s.Statuses() {
			if st.Name == "stuck" {
				running = st.Running
			}
		}
		if running {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("stuck job never started")
		}
		time.Sleep(5 * time.Millisecond)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if err := h.s.Stop(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Stop: %v, want DeadlineExceeded", err)
	}
}

func TestNewRejectsBadSchedule(t *testing.T) {
	h := newHarness(t)
	tasks := Tasks(Parts{Connection: h.conn, Feed: h.feed, Alerts: h.al},
		Schedules{Validate: h.cfg.Jobs.Validate, Sync: "every quarter hour"})
	if _, err := New(Options{Tasks: tasks, Runs: h.st}); err == nil || !strings.Contains(err.Error(), "sync") {
		t.Errorf("New with a bad schedule: %v", err)
	}
}

func TestMetricsExposition(t *testing.T) {
	h := newHarness(t, withPosts(5))
	m := h.metrics()
	if !strings.Contains(m, "vitrine_token_valid 0") || !strings.Contains(m, "vitrine_posts_cached 0") {
		t.Errorf("before connecting:\n%s", grepMetrics(m))
	}
	h.connect()
	if err := h.run(JobSync); err != nil {
		t.Fatal(err)
	}
	m = h.metrics()
	for _, want := range []string{
		"vitrine_token_valid 1",
		"vitrine_posts_cached 5",
		"vitrine_token_expiry_timestamp_seconds",
		`vitrine_last_success_timestamp_seconds{job="sync"}`,
		"vitrine_sync_duration_seconds_count 1",
		`vitrine_upstream_errors_total{kind="token_invalid"} 0`,
		`vitrine_alerts_sent_total{channel="webhook"} 0`,
		"go_goroutines",
	} {
		if !strings.Contains(m, want) {
			t.Errorf("metrics lack %q:\n%s", want, grepMetrics(m))
		}
	}
	h.f.RevokeTokens()
	_ = h.run(JobValidate)
	if m := h.metrics(); !strings.Contains(m, "vitrine_token_valid 0") || !strings.Contains(m, `vitrine_upstream_errors_total{kind="token_invalid"} 1`) {
		t.Errorf("after revoke:\n%s", grepMetrics(m))
	}
}

func grepMetrics(m string) string {
	var out []string
	for _, l := range strings.Split(m, "\n") {
		if strings.HasPrefix(l, "vitrine_") {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// The widget marks its gallery stale through OnSyncFailed: it must fire on
// a failed sync, not when nothing is connected, and a later success is told
// through OnSynced.
func TestSyncFailureIsReported(t *testing.T) {
	h := newHarness(t)
	if err := h.run(JobSync); !errors.Is(err, connection.ErrNotConnected) {
		t.Fatalf("sync without token: %v", err)
	}
	// Nothing to do is waiting, not a failure.
	if r := h.jobRun(JobSync); !r.Waiting || r.Failures != 0 || !r.NotBefore.IsZero() {
		t.Errorf("sync without token recorded as %+v, want waiting", r)
	}
	if n := h.syncFailed.Load(); n != 0 {
		t.Fatalf("OnSyncFailed called %d times with nothing connected", n)
	}
	h.connect()
	h.f.FailNext(100, http.StatusInternalServerError)
	if err := h.run(JobSync); err == nil {
		t.Fatal("sync succeeded against a failing Instagram")
	}
	if n := h.syncFailed.Load(); n != 1 {
		t.Fatalf("OnSyncFailed called %d times, want 1", n)
	}
	h.f.ResetFaults()
	before := h.synced.Load()
	if err := h.s.RunNow(h.ctx, JobSync); err != nil {
		t.Fatalf("sync after recovery: %v", err)
	}
	if h.synced.Load() != before+1 {
		t.Error("OnSynced not called after recovery")
	}
}
