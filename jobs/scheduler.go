// Package jobs runs Vitrine's background work on a schedule table (the
// app's: validate and refresh the token, sync the feed). The Scheduler
// only schedules: it runs each task on
// its cron spec and on demand, never twice at once, recovers panics,
// backs off after transient failures and records every run in the store,
// so a restart resumes where the last process stopped.
//
// Replicas sharing a database coordinate through two kinds of lease in it
// (lease.go): the scheduler holding LeaseName starts the scheduled runs,
// the others none; and every run, scheduled or on demand, holds its job's
// own lease, so no job runs on two replicas at once.
package jobs

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/robfig/cron/v3"

	"vitrine/store"
)

var (
	// ErrAlreadyRunning: RunNow found the job running; it was not started
	// a second time.
	ErrAlreadyRunning = errors.New("jobs: already running")
	// ErrRunningElsewhere: the job is running on another replica (it
	// holds the job's lease); it is an ErrAlreadyRunning.
	ErrRunningElsewhere = fmt.Errorf("%w on another replica", ErrAlreadyRunning)
	// ErrUnknownJob: no job has that name.
	ErrUnknownJob = errors.New("jobs: unknown job")
)

// Backoff after consecutive transient failures: 1m, 2m, 4m … at most 1h,
// and never sooner than Instagram asked.
const (
	backoffBase = time.Minute
	backoffMax  = time.Hour
)

// Task is one row of the schedule table: a plain function run on a cron
// spec (or "@every …") within a time limit.
type Task struct {
	Name     string
	Schedule string
	Timeout  time.Duration
	Run      func(ctx context.Context) error
	// Idle reports an error that means "nothing to do yet" (no account
	// connected): recorded as waiting, not as a failure. May be nil.
	Idle func(error) bool
	// Transient reports an error worth backing off from (upstream
	// trouble), and RetryAfter how long the upstream asked to wait. May
	// be nil: then failures simply run again on schedule.
	Transient  func(error) bool
	RetryAfter func(error) time.Duration
}

// RunStore is where runs are recorded (*store.Store).
type RunStore interface {
	JobRuns(ctx context.Context) ([]store.JobRun, error)
	SaveJobRun(ctx context.Context, r store.JobRun) error
}

// Observer counts runs (the metrics).
type Observer interface {
	JobSucceeded(job string, at time.Time)
	JobFailed(job string)
	LastSuccess(job string, at time.Time)
	// LeaseHeld says whether this scheduler now runs the scheduled jobs.
	LeaseHeld(held bool)
}

// Options configure New. Runs is required.
type Options struct {
	Tasks    []Task
	Runs     RunStore
	Logger   *slog.Logger
	Observer Observer
	// Now is the clock for every decision and timestamp (tests pass the
	// fake Instagram's clock); default time.Now. Cron itself fires on real
	// time, and leases go by the database's clock.
	Now func() time.Time

	// Leases is where replicas sharing a database hold the leases
	// (*store.Store). Nil: this scheduler is alone, always runs the jobs
	// and takes no lease.
	Leases Leases
	// Holder names this process in the leases; default NewHolder().
	Holder string
	// LeaseTTL is how long a lease lasts unrenewed (jobs.lease); default
	// DefaultLeaseTTL. Leases are renewed every third of it.
	LeaseTTL time.Duration
}

// Status is one job's state for the dashboard.
type Status struct {
	Name         string
	Schedule     string
	LastRun      time.Time
	NextRun      time.Time
	LastOK       bool
	LastError    string
	LastDuration time.Duration
	LastSuccess  time.Time
	Failures     int // consecutive
	Running      bool
	// Waiting: the last run found nothing to do (no account connected).
	Waiting bool
}

type job struct {
	Task
	sched cron.Schedule

	mu      sync.Mutex // held while running: a job never overlaps itself
	running atomic.Bool
	entry   cron.EntryID
}

// Scheduler runs the tasks. Create it with New, then Start; Stop on
// shutdown.
type Scheduler struct {
	runs     RunStore
	log      *slog.Logger
	now      func() time.Time
	observer Observer

	mu      sync.Mutex // guards jobs, order, started, stopped
	jobs    map[string]*job
	order   []string
	started bool
	stopped bool

	cron   *cron.Cron
	ctx    context.Context // cancelled when Stop gives up waiting
	cancel context.CancelFunc
	bg     sync.WaitGroup // goroutines Stop waits for

	leases   Leases // nil: always the leader
	holder   string
	leaseTTL time.Duration
	leader   atomic.Bool // holds LeaseName: starts the scheduled runs
	// leaderUntil (Unix ns) is how long the last renewal lets it rely on
	// that; see Leader.
	leaderUntil atomic.Int64
	stopLease   chan struct{} // closed by Stop: the lease loop ends
	leaseDone   chan struct{} // closed when the lease loop has ended
}

// New parses every task's schedule.
func New(o Options) (*Scheduler, error) {
	if o.Runs == nil {
		return nil, errors.New("jobs: Runs is required")
	}
	s := &Scheduler{runs: o.Runs, log: o.Logger, now: o.Now, observer: o.Observer, jobs: map[string]*job{},
		leases: o.Leases, holder: o.Holder, leaseTTL: o.LeaseTTL}
	if s.holder == "" {
		s.holder = NewHolder()
	}
	if s.leaseTTL <= 0 {
		s.leaseTTL = DefaultLeaseTTL
	}
	if s.leases == nil {
		s.leader.Store(true)
	}
	if s.log == nil {
		s.log = slog.Default()
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.observer == nil {
		s.observer = nopObserver{}
	}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	for _, t := range o.Tasks {
		if err := s.register(t); err != nil {
			return nil, err
		}
	}
	s.seedObserver()
	return s, nil
}

type nopObserver struct{}

func (nopObserver) JobSucceeded(string, time.Time) {}
func (nopObserver) JobFailed(string)               {}
func (nopObserver) LastSuccess(string, time.Time)  {}
func (nopObserver) LeaseHeld(bool)                 {}

// seedObserver hands the observer the last successes a previous process
// recorded.
func (s *Scheduler) seedObserver() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	runs, err := s.jobRuns(ctx)
	if err != nil {
		return
	}
	for name, r := range runs {
		if !r.LastSuccess.IsZero() {
			s.observer.LastSuccess(name, r.LastSuccess)
		}
	}
}

// Register adds a task. It must be called before Start.
func (s *Scheduler) Register(t Task) error { return s.register(t) }

func (s *Scheduler) register(t Task) error {
	if t.Timeout <= 0 {
		t.Timeout = 10 * time.Minute
	}
	sched, err := cron.ParseStandard(t.Schedule)
	if err != nil {
		return fmt.Errorf("jobs: schedule of %s %q: %w", t.Name, t.Schedule, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.started {
		return fmt.Errorf("jobs: register %s: scheduler already started", t.Name)
	}
	if _, dup := s.jobs[t.Name]; dup {
		return fmt.Errorf("jobs: register %s: already registered", t.Name)
	}
	s.jobs[t.Name] = &job{Task: t, sched: sched}
	s.order = append(s.order, t.Name)
	return nil
}

// Start starts cron and, in the background, runs every job that is overdue
// according to the runs recorded in the store (a process restarted every
// ten minutes would otherwise never reach an hourly job).
func (s *Scheduler) Start() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.started || s.stopped {
		return
	}
	s.started = true
	l := cronLogger{s.log}
	// Recover sits inside SkipIfStillRunning: cron v3.0.1's
	// SkipIfStillRunning never releases its slot after a panic it did not
	// see recovered, and would skip the job forever.
	s.cron = cron.New(cron.WithChain(cron.SkipIfStillRunning(l), cron.Recover(l)), cron.WithLogger(l))
	for _, name := range s.order {
		j := s.jobs[name]
		j.entry = s.cron.Schedule(j.sched, cron.FuncJob(func() { s.runScheduled(j) }))
	}
	s.cron.Start()
	if s.leases == nil {
		s.observer.LeaseHeld(true)
		s.bg.Add(1)
		go func() {
			defer s.bg.Done()
			_ = s.RunDue(s.ctx)
		}()
	} else {
		// The overdue runs start when the lease is won (lease.go).
		s.stopLease, s.leaseDone = make(chan struct{}), make(chan struct{})
		go s.leaseLoop()
	}
	s.log.Info("jobs: scheduler started", "jobs", s.order)
}

// Stop stops cron and waits for running jobs until ctx ends; then it
// cancels them and returns ctx's error.
func (s *Scheduler) Stop(ctx context.Context) error {
	s.mu.Lock()
	first := !s.stopped
	s.stopped = true
	c := s.cron
	s.mu.Unlock()
	if first && s.stopLease != nil {
		// No more scheduled runs here: another replica may take them at
		// once. Runs under way keep their own jobs' leases until they end.
		close(s.stopLease)
		<-s.leaseDone
	}

	done := make(chan struct{})
	go func() {
		if c != nil {
			<-c.Stop().Done()
		}
		s.bg.Wait()
		close(done)
	}()
	select {
	case <-done:
		s.cancel()
		return nil
	case <-ctx.Done():
		s.cancel() // jobs honour their context and return soon
		return fmt.Errorf("jobs: stop: jobs still running: %w", ctx.Err())
	}
}

// RunNow runs the job now, whatever its schedule and backoff, and records
// the result. It returns ErrAlreadyRunning, without waiting, if the job is
// running. ctx bounds the run (as does Stop).
func (s *Scheduler) RunNow(ctx context.Context, name string) error {
	j, err := s.job(name)
	if err != nil {
		return err
	}
	return s.runTracked(ctx, j, false, j.Run)
}

// RunDue runs, one after the other, every job whose schedule says a run is
// due given its last recorded run and the clock, skipping jobs that back
// off; it runs none when another replica holds the jobs' lease. Start
// calls it (when it wins the lease); tests call it to step simulated time.
func (s *Scheduler) RunDue(ctx context.Context) error {
	if !s.lead() {
		return nil // another replica runs the scheduled jobs
	}
	runs, err := s.jobRuns(ctx)
	if err != nil {
		return err
	}
	var errs []error
	for _, name := range s.names() {
		j, _ := s.job(name)
		if !s.due(j, runs[name], s.now()) {
			continue
		}
		if !s.lead() {
			break // lost the lease meanwhile
		}
		err := s.runJob(ctx, j, false, j.Run)
		if err != nil && !errors.Is(err, ErrAlreadyRunning) && (j.Idle == nil || !j.Idle(err)) {
			errs = append(errs, fmt.Errorf("%s: %w", name, err))
		}
	}
	return errors.Join(errs...)
}

// due: never run, past the backoff after a failure, or past the next
// scheduled time after the last run.
func (s *Scheduler) due(j *job, r store.JobRun, now time.Time) bool {
	if r.LastRun.IsZero() {
		return true
	}
	if !r.NotBefore.IsZero() {
		return !now.Before(r.NotBefore)
	}
	return !now.Before(j.sched.Next(r.LastRun))
}

// Statuses lists every job with its recorded last run and its next run.
func (s *Scheduler) Statuses() []Status {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	runs, err := s.jobRuns(ctx)
	if err != nil {
		s.log.Warn("jobs: read job runs", "err", err)
	}
	s.mu.Lock()
	c := s.cron
	s.mu.Unlock()
	now := s.now()
	var out []Status
	for _, name := range s.names() {
		j, _ := s.job(name)
		r := runs[name]
		st := Status{
			Name: name, Schedule: j.Schedule, Waiting: r.Waiting, LastRun: r.LastRun, LastOK: r.LastOK, LastError: r.LastError,
			LastDuration: r.LastDuration, LastSuccess: r.LastSuccess, Failures: r.Failures, Running: j.running.Load(),
		}
		switch {
		case c != nil:
			st.NextRun = c.Entry(j.entry).Next
		case r.LastRun.IsZero():
			st.NextRun = now
		default:
			st.NextRun = j.sched.Next(r.LastRun)
		}
		if r.NotBefore.After(st.NextRun) {
			st.NextRun = r.NotBefore
		}
		out = append(out, st)
	}
	return out
}

func (s *Scheduler) names() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.order)
}

func (s *Scheduler) job(name string) (*job, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	j, ok := s.jobs[name]
	if !ok {
		return nil, fmt.Errorf("%w %q", ErrUnknownJob, name)
	}
	return j, nil
}

func (s *Scheduler) jobRuns(ctx context.Context) (map[string]store.JobRun, error) {
	list, err := s.runs.JobRuns(ctx)
	if err != nil {
		return nil, fmt.Errorf("jobs: %w", err)
	}
	runs := make(map[string]store.JobRun, len(list))
	for _, r := range list {
		runs[r.Name] = r
	}
	return runs, nil
}

// runScheduled is what cron calls: the job runs unless it is backing off.
func (s *Scheduler) runScheduled(j *job) {
	if !s.Leader() {
		s.log.Debug("jobs: another replica runs the jobs", "job", j.Name)
		return
	}
	runs, err := s.jobRuns(s.ctx)
	if err == nil {
		if nb := runs[j.Name].NotBefore; !nb.IsZero() && s.now().Before(nb) {
			s.log.Debug("jobs: backing off", "job", j.Name, "until", nb)
			return
		}
	}
	_ = s.runJob(s.ctx, j, false, j.Run)
}

// runTracked runs a job on behalf of a caller outside cron: Stop waits for
// it and cancels it if it outlives Stop's deadline.
func (s *Scheduler) runTracked(ctx context.Context, j *job, wait bool, fn func(context.Context) error) error {
	s.bg.Add(1)
	defer s.bg.Done()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stop := context.AfterFunc(s.ctx, cancel)
	defer stop()
	return s.runJob(ctx, j, wait, fn)
}

// runJob runs fn as job j: never twice at once, panics recovered, a time
// limit, and the outcome recorded in the store and the metrics. With wait
// it waits for a running instance instead of returning ErrAlreadyRunning.
func (s *Scheduler) runJob(ctx context.Context, j *job, wait bool, fn func(context.Context) error) error {
	if wait {
		j.mu.Lock()
	} else if !j.mu.TryLock() {
		return ErrAlreadyRunning
	}
	defer j.mu.Unlock()
	return s.runLocked(ctx, j, wait, fn)
}

// runLocked is runJob once j.mu is held: it takes the job's lease for
// the run (waiting for another replica's run to end when wait is set),
// runs fn and records the outcome.
func (s *Scheduler) runLocked(ctx context.Context, j *job, wait bool, fn func(context.Context) error) error {
	j.running.Store(true)
	defer j.running.Store(false)

	lctx, release, err := s.holdRunLease(ctx, j.Name, wait)
	if err != nil {
		return err
	}
	defer release()

	start := s.now()
	t0 := time.Now()
	jctx, cancel := context.WithTimeout(lctx, j.Timeout)
	err = s.call(jctx, j.Name, fn)
	cancel()
	took := time.Since(t0)
	if err != nil && lctx.Err() != nil && ctx.Err() == nil {
		// The job's lease could not be renewed in time: another replica
		// may run the job now. Not this run's failure to back off from.
		s.log.Warn("jobs: lost the job's lease; run cancelled", "job", j.Name, "err", err)
		return err
	}

	if err != nil && ctx.Err() != nil {
		// Shutting down (or the caller gave up): not the job's failure,
		// and no reason to back off next time.
		s.log.Info("jobs: cancelled", "job", j.Name, "err", err)
		return err
	}

	rctx, rcancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer rcancel()
	runs, lerr := s.jobRuns(rctx)
	if lerr != nil {
		s.log.Warn("jobs: read job runs", "err", lerr)
	}
	r := runs[j.Name]
	r.Name, r.LastRun, r.LastDuration, r.Waiting = j.Name, start, took, false
	switch {
	case err == nil:
		r.LastOK, r.LastError, r.LastSuccess, r.Failures, r.NotBefore = true, "", start, 0, time.Time{}
		s.observer.JobSucceeded(j.Name, start)
		s.log.Info("jobs: done", "job", j.Name, "duration", took)
	case j.Idle != nil && j.Idle(err):
		// Every tick until someone clicks Generate: not news, and not a
		// failure to show in red.
		r.LastOK, r.LastError, r.Failures, r.NotBefore, r.Waiting = false, errText(err), 0, time.Time{}, true
		s.log.Debug("jobs: nothing to do", "job", j.Name, "why", r.LastError)
	default:
		r.LastOK, r.LastError = false, errText(err)
		r.Failures++
		r.NotBefore = time.Time{}
		if j.Transient != nil && j.Transient(err) {
			r.NotBefore = start.Add(backoffDelay(r.Failures, j.retryAfter(err)))
		}
		s.observer.JobFailed(j.Name)
		s.log.Warn("jobs: failed", "job", j.Name, "duration", took, "failures", r.Failures,
			"retry_not_before", r.NotBefore, "err", r.LastError)
	}
	if serr := s.runs.SaveJobRun(rctx, r); serr != nil {
		s.log.Error("jobs: record run", "job", j.Name, "err", serr)
	}
	return err
}

// call runs fn, turning a panic into an error so the run is recorded and
// the job runs again next time.
func (s *Scheduler) call(ctx context.Context, name string, fn func(context.Context) error) (err error) {
	defer func() {
		if p := recover(); p != nil {
			s.log.Error("jobs: panic", "job", name, "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
			err = fmt.Errorf("panic: %v", p)
		}
	}()
	return fn(ctx)
}

func (j *job) retryAfter(err error) time.Duration {
	if j.RetryAfter == nil {
		return 0
	}
	return j.RetryAfter(err)
}

// backoffDelay doubles from backoffBase with each consecutive failure, up
// to backoffMax, and is never shorter than the wait the upstream asked for.
func backoffDelay(failures int, asked time.Duration) time.Duration {
	d := backoffBase
	for i := 1; i < failures && d < backoffMax; i++ {
		d *= 2
	}
	d = min(d, backoffMax)
	return max(d, asked)
}

// errText is an error for the dashboard; the errors of the tasks are
// already free of tokens.
func errText(err error) string {
	if err == nil {
		return ""
	}
	s := err.Error()
	if len(s) > 500 {
		s = s[:500] + "…"
	}
	return s
}

// cronLogger adapts slog to cron.Logger.
type cronLogger struct{ l *slog.Logger }

func (c cronLogger) Info(msg string, kv ...any) { c.l.Debug("cron: "+msg, kv...) }
func (c cronLogger) Error(err error, msg string, kv ...any) {
	c.l.Error("cron: "+msg, append(kv, "err", err)...)
}

// RunInBackground runs the named job in the background now, unless it is running
// already; Stop waits for it. It reports whether a run was started. The
// dashboard's "Sync now" uses it, so the request never waits for a sync.
func (s *Scheduler) RunInBackground(name string) (bool, error) {
	j, err := s.job(name)
	if err != nil {
		return false, err
	}
	if !j.mu.TryLock() {
		return false, nil
	}
	// Running from now on, so whoever started it sees it so at once.
	j.running.Store(true)
	s.bg.Add(1)
	go func() {
		defer s.bg.Done()
		defer j.mu.Unlock()
		if err := s.runLocked(s.ctx, j, false, j.Run); err != nil {
			s.log.Info("jobs: background run failed", "job", name, "err", errText(err))
		}
	}()
	return true, nil
}

// ForgetFailures clears the failure counts and backoffs of the named
// jobs: after a new token is connected, the old one's trouble no longer
// holds them back. A run that was waiting for a connection stays marked
// so: it has not run for the new one yet.
func (s *Scheduler) ForgetFailures(ctx context.Context, names ...string) {
	runs, err := s.jobRuns(ctx)
	if err != nil {
		s.log.Warn("jobs: read job runs", "err", err)
		return
	}
	for _, name := range names {
		if r, ok := runs[name]; ok && (r.Failures > 0 || !r.NotBefore.IsZero()) {
			r.Failures, r.NotBefore = 0, time.Time{}
			if err := s.runs.SaveJobRun(ctx, r); err != nil {
				s.log.Warn("jobs: record run", "job", name, "err", err)
			}
		}
	}
}

// Go runs fn in the background with a context that Stop cancels if it
// outlives Stop's deadline; Stop waits for it.
func (s *Scheduler) Go(fn func(ctx context.Context)) {
	s.bg.Add(1)
	go func() {
		defer s.bg.Done()
		fn(s.ctx)
	}()
}

// RunWaiting runs the named job once any run in progress has finished,
// and records the run.
func (s *Scheduler) RunWaiting(ctx context.Context, name string) error {
	j, err := s.job(name)
	if err != nil {
		return err
	}
	return s.runTracked(ctx, j, true, j.Run)
}

// RunAs runs fn now as the named job (never alongside it, recorded as its
// run): `vitrine sync` runs the sync with its progress bar this way.
func (s *Scheduler) RunAs(ctx context.Context, name string, fn func(context.Context) error) error {
	j, err := s.job(name)
	if err != nil {
		return err
	}
	return s.runTracked(ctx, j, false, fn)
}
