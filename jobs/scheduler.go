// Package jobs keeps the Instagram connection alive and the cache fresh: a
// cron scheduler running named jobs (validate, refresh, sync — sync mirrors
// the images too), the token's state transitions, alerts to ops (webhook and
// email) and Prometheus metrics. Jobs are plain func(ctx) error; what they
// remember lives in the store, so a restart resumes where the last process
// stopped.
package jobs

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/robfig/cron/v3"

	"vitrine/config"
	"vitrine/instagram"
	"vitrine/store"
)

// The built-in jobs. Sync includes mirroring: images are downloaded right
// after the feed is read, while their signed URLs are fresh, so there is no
// separate mirror job. Refresh runs on the validate schedule (jobs.validate)
// and does nothing until the stored expiry says it is due.
const (
	JobValidate = "validate"
	JobRefresh  = "refresh"
	JobSync     = "sync"
)

var (
	// ErrAlreadyRunning: RunNow found the job running; it was not started
	// a second time.
	ErrAlreadyRunning = errors.New("jobs: already running")
	// ErrUnknownJob: no job has that name.
	ErrUnknownJob = errors.New("jobs: unknown job")
	// ErrNotConnected: there is no token yet; nothing to do until the
	// admin connects an account.
	ErrNotConnected = errors.New("jobs: no Instagram account connected")
	// ErrNeedsReauth: the token is dead (revoked, expired, password
	// changed); only a new Generate in /admin fixes it.
	ErrNeedsReauth = errors.New("jobs: Instagram token needs re-authorization")
)

// Backoff after consecutive transient failures: 1m, 2m, 4m … at most 1h,
// and never sooner than Instagram asked (RetryAfter).
const (
	backoffBase = time.Minute
	backoffMax  = time.Hour
)

// Options wire a Scheduler.
type Options struct {
	Config    *config.Config
	Store     Store
	Instagram Instagram
	Logger    *slog.Logger
	// Now is the clock for every decision and timestamp (tests pass the
	// fake Instagram's clock); default time.Now. Cron itself fires on real
	// time.
	Now func() time.Time
	// HTTPClient sends webhooks (CDN downloads go through Instagram's own
	// client); default a client with a 15 s timeout.
	HTTPClient *http.Client
	// OnSynced is called after each successful sync and mirror, in the
	// goroutine that ran it, so the widget can rebuild its snapshot.
	OnSynced func()
	// OnSyncFailed is called when a scheduled or "run now" sync fails (not
	// when nothing is connected), so the widget can mark its last good
	// gallery stale.
	OnSyncFailed func(error)
	// Outbox, when set, is one more alert channel ("outbox") beside the
	// webhook and email: -demo shows what it receives on a page.
	Outbox func(context.Context, Alert) error
	// Registerer receives the metrics; nil: a registry of the
	// scheduler's own (with Go and process collectors), served by
	// MetricsHandler.
	Registerer prometheus.Registerer
	// SMTPTLSConfig is used for STARTTLS; nil: system roots and
	// alerts.smtp.host as the server name. Tests pass their own CA.
	SMTPTLSConfig *tls.Config
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
}

type job struct {
	name    string
	spec    string
	sched   cron.Schedule
	fn      func(context.Context) error
	timeout time.Duration

	mu      sync.Mutex // held while running: a job never overlaps itself
	running atomic.Bool
	entry   cron.EntryID
}

// Scheduler runs the jobs. Create it with New, then Start; Stop on
// shutdown.
type Scheduler struct {
	cfg          *config.Config
	st           Store
	ig           Instagram
	log          *slog.Logger
	now          func() time.Time
	hc           *http.Client
	onSynced     func()
	outbox       func(context.Context, Alert) error
	onSyncFailed func(error)
	smtpTLS      *tls.Config
	metrics      *metrics

	mu      sync.Mutex // guards jobs, order, started, stopped
	jobs    map[string]*job
	order   []string
	started bool
	stopped bool

	cron   *cron.Cron
	ctx    context.Context // cancelled when Stop gives up waiting
	cancel context.CancelFunc
	bg     sync.WaitGroup // goroutines Stop waits for

	alertMu sync.Mutex // one alert evaluation at a time

	tempSwept atomic.Bool // stale temp files of a crashed run removed

	// Knobs tests turn down.
	webhookBackoff time.Duration
	webhookTries   int
	mirrorWorkers  int
	mirrorRate     float64 // downloads per second
}

// New checks o, parses every schedule and registers the built-in jobs.
func New(o Options) (*Scheduler, error) {
	if o.Config == nil || o.Store == nil || o.Instagram == nil {
		return nil, errors.New("jobs: Config, Store and Instagram are required")
	}
	s := &Scheduler{
		cfg:            o.Config,
		st:             o.Store,
		ig:             o.Instagram,
		log:            o.Logger,
		now:            o.Now,
		hc:             o.HTTPClient,
		onSynced:       o.OnSynced,
		outbox:         o.Outbox,
		onSyncFailed:   o.OnSyncFailed,
		smtpTLS:        o.SMTPTLSConfig,
		jobs:           map[string]*job{},
		webhookBackoff: 2 * time.Second,
		webhookTries:   4,
		mirrorWorkers:  4,
		mirrorRate:     8,
	}
	if s.log == nil {
		s.log = slog.Default()
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.hc == nil {
		s.hc = &http.Client{Timeout: 15 * time.Second}
	}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	m, err := newMetrics(o.Registerer, s)
	if err != nil {
		return nil, err
	}
	s.metrics = m

	validate, sync := o.Config.Jobs.Validate, o.Config.Jobs.Sync
	if validate == "" {
		validate = config.Default().Jobs.Validate
	}
	if sync == "" {
		sync = config.Default().Jobs.Sync
	}
	for _, j := range []struct {
		name, spec string
		fn         func(context.Context) error
		timeout    time.Duration
	}{
		{JobValidate, validate, s.validate, 2 * time.Minute},
		{JobRefresh, validate, s.refresh, 2 * time.Minute},
		{JobSync, sync, s.syncJob, 20 * time.Minute},
	} {
		if err := s.register(j.name, j.spec, j.fn, j.timeout); err != nil {
			return nil, err
		}
	}
	s.metrics.loadLastSuccess(s)
	return s, nil
}

// Register adds a job under name, run on spec (cron syntax or @every …),
// with at most a 10-minute run. It must be called before Start.
func (s *Scheduler) Register(name, spec string, fn func(context.Context) error) error {
	return s.register(name, spec, fn, 10*time.Minute)
}

func (s *Scheduler) register(name, spec string, fn func(context.Context) error, timeout time.Duration) error {
	sched, err := cron.ParseStandard(spec)
	if err != nil {
		return fmt.Errorf("jobs: schedule of %s %q: %w", name, spec, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.started {
		return fmt.Errorf("jobs: register %s: scheduler already started", name)
	}
	if _, dup := s.jobs[name]; dup {
		return fmt.Errorf("jobs: register %s: already registered", name)
	}
	s.jobs[name] = &job{name: name, spec: spec, sched: sched, fn: fn, timeout: timeout}
	s.order = append(s.order, name)
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
	// see recovered, and would skip the job forever (DESIGN.md habit 5).
	s.cron = cron.New(cron.WithChain(cron.SkipIfStillRunning(l), cron.Recover(l)), cron.WithLogger(l))
	for _, name := range s.order {
		j := s.jobs[name]
		j.entry = s.cron.Schedule(j.sched, cron.FuncJob(func() { s.runScheduled(j) }))
	}
	s.cron.Start()
	s.bg.Add(1)
	go func() {
		defer s.bg.Done()
		_ = s.RunDue(s.ctx)
	}()
	s.log.Info("jobs: scheduler started", "jobs", s.order)
}

// Stop stops cron and waits for running jobs until ctx ends; then it
// cancels them and returns ctx's error.
func (s *Scheduler) Stop(ctx context.Context) error {
	s.mu.Lock()
	s.stopped = true
	c := s.cron
	s.mu.Unlock()

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
	return s.runTracked(ctx, j, false, j.fn)
}

// RunDue runs, one after the other, every job whose schedule says a run is
// due given its last recorded run and the clock, skipping jobs that back
// off. Start calls it; tests call it to step simulated time.
func (s *Scheduler) RunDue(ctx context.Context) error {
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
		if err := s.runJob(ctx, j, false, j.fn); err != nil && !errors.Is(err, ErrAlreadyRunning) {
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
			Name: name, Schedule: j.spec, LastRun: r.LastRun, LastOK: r.LastOK, LastError: r.LastError,
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
	list, err := s.st.JobRuns(ctx)
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
	runs, err := s.jobRuns(s.ctx)
	if err == nil {
		if nb := runs[j.name].NotBefore; !nb.IsZero() && s.now().Before(nb) {
			s.log.Debug("jobs: backing off", "job", j.name, "until", nb)
			return
		}
	}
	_ = s.runJob(s.ctx, j, false, j.fn)
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
	j.running.Store(true)
	defer j.running.Store(false)

	start := s.now()
	t0 := time.Now()
	jctx, cancel := context.WithTimeout(ctx, j.timeout)
	err := s.call(jctx, j.name, fn)
	cancel()
	took := time.Since(t0)

	if err != nil && ctx.Err() != nil {
		// Shutting down (or the caller gave up): not the job's failure,
		// and no reason to back off next time.
		s.log.Info("jobs: cancelled", "job", j.name, "err", err)
		return err
	}

	rctx, rcancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer rcancel()
	runs, lerr := s.jobRuns(rctx)
	if lerr != nil {
		s.log.Warn("jobs: read job runs", "err", lerr)
	}
	r := runs[j.name]
	r.Name, r.LastRun, r.LastDuration = j.name, start, took
	if err == nil {
		r.LastOK, r.LastError, r.LastSuccess, r.Failures, r.NotBefore = true, "", start, 0, time.Time{}
		s.metrics.jobSucceeded(j.name, start)
		s.log.Info("jobs: done", "job", j.name, "duration", took)
	} else {
		r.LastOK, r.LastError = false, errText(err)
		r.Failures++
		r.NotBefore = time.Time{}
		if transient(err) {
			r.NotBefore = start.Add(backoffDelay(r.Failures, err))
		}
		s.metrics.jobFailed(j.name)
		lvl, msg := slog.LevelWarn, "jobs: failed"
		switch {
		case errors.Is(err, ErrNotConnected):
			// Every tick until someone clicks Generate: not news.
			lvl, msg = slog.LevelDebug, "jobs: skipped"
		case errors.Is(err, ErrNeedsReauth):
			lvl = slog.LevelInfo
		}
		s.log.Log(rctx, lvl, msg, "job", j.name, "duration", took, "failures", r.Failures,
			"retry_not_before", r.NotBefore, "err", r.LastError)
	}
	if serr := s.st.SaveJobRun(rctx, r); serr != nil {
		s.log.Error("jobs: record run", "job", j.name, "err", serr)
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

// transient reports whether a failure is upstream trouble to back off
// from: Instagram unavailable, throttling or refusing, or a timeout. A dead
// or missing token waits for the admin; other failures (a panic, the
// store) simply run again on schedule.
func transient(err error) bool {
	if errors.Is(err, ErrNeedsReauth) || errors.Is(err, ErrNotConnected) {
		return false
	}
	return errors.Is(err, instagram.ErrUnavailable) || errors.Is(err, instagram.ErrRateLimited) ||
		errors.Is(err, instagram.ErrBadRequest) || errors.Is(err, instagram.ErrURLExpired) ||
		errors.Is(err, context.DeadlineExceeded)
}

func backoffDelay(failures int, err error) time.Duration {
	d := backoffBase
	for i := 1; i < failures && d < backoffMax; i++ {
		d *= 2
	}
	d = min(d, backoffMax)
	if ra := retryAfter(err); ra > d {
		d = ra
	}
	return d
}

// cronLogger adapts slog to cron.Logger.
type cronLogger struct{ l *slog.Logger }

func (c cronLogger) Info(msg string, kv ...any) { c.l.Debug("cron: "+msg, kv...) }
func (c cronLogger) Error(err error, msg string, kv ...any) {
	c.l.Error("cron: "+msg, append(kv, "err", err)...)
}
