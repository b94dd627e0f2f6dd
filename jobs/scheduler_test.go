package jobs

import (
	"context"
	"errors"
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
	tasks := []Task{{Name: "sync", Schedule: "every quarter hour", Run: func(context.Context) error { return nil }}}
	if _, err := New(Options{Tasks: tasks, Runs: h.st}); err == nil || !strings.Contains(err.Error(), "sync") {
		t.Errorf("New with a bad schedule: %v", err)
	}
}

// A task whose error says nothing is connected is recorded as waiting,
// not as a failure: no failure count, no backoff.
func TestNothingConnectedIsWaiting(t *testing.T) {
	h := newHarness(t)
	if err := h.s.Register(Task{Name: "sync", Schedule: "@every 1h", Idle: Idle,
		Run: func(context.Context) error { return connection.ErrNotConnected }}); err != nil {
		t.Fatal(err)
	}
	if err := h.s.RunNow(h.ctx, "sync"); !errors.Is(err, connection.ErrNotConnected) {
		t.Fatalf("RunNow: %v", err)
	}
	runs, err := h.st.JobRuns(h.ctx)
	if err != nil || len(runs) != 1 {
		t.Fatalf("runs %+v, %v", runs, err)
	}
	if r := runs[0]; !r.Waiting || r.Failures != 0 || r.Failing() || !r.NotBefore.IsZero() {
		t.Errorf("recorded as %+v, want waiting", r)
	}
}
