package jobs

import (
	"context"
	"errors"
	"time"

	"vitrine/alerts"
	"vitrine/connection"
	"vitrine/feed"
	"vitrine/instagram"
)

// The jobs. Sync includes mirroring: images are downloaded right after the
// feed is read, while their signed URLs are fresh. Refresh runs on the
// validate schedule and does nothing until the stored expiry says it is
// due.
const (
	JobValidate = "validate"
	JobRefresh  = "refresh"
	JobSync     = "sync"
)

// Parts are what the tasks work on.
type Parts struct {
	Connection *connection.Connection
	Feed       *feed.Feed
	Alerts     *alerts.Alerter
	// OnSyncFailed is called when a sync fails (not when nothing is
	// connected), so the widget can mark its last good gallery stale.
	OnSyncFailed func(error)
}

// Schedules are the cron specs of the table (jobs.validate, jobs.sync).
type Schedules struct {
	Validate, Sync string
}

// Tasks is the schedule table: each job is a plain function over the
// parts; the alerts are evaluated after every look at the token, so ops
// hear of a change within the run that found it.
func Tasks(p Parts, s Schedules) []Task {
	checked := func(check func(context.Context) error) func(context.Context) error {
		return func(ctx context.Context) error {
			err := check(ctx)
			if !Idle(err) {
				p.Alerts.Evaluate(ctx)
			}
			return err
		}
	}
	sync := func(ctx context.Context) error {
		_, err := p.Feed.Sync(ctx, nil)
		if err != nil && !Idle(err) {
			if p.OnSyncFailed != nil {
				p.OnSyncFailed(err)
			}
			p.Alerts.Evaluate(ctx)
		}
		return err
	}
	task := func(name, spec string, timeout time.Duration, run func(context.Context) error) Task {
		return Task{Name: name, Schedule: spec, Timeout: timeout, Run: run,
			Idle: Idle, Transient: transient, RetryAfter: retryAfter}
	}
	return []Task{
		task(JobValidate, s.Validate, 2*time.Minute, checked(p.Connection.Validate)),
		task(JobRefresh, s.Validate, 2*time.Minute, checked(p.Connection.Refresh)),
		task(JobSync, s.Sync, 20*time.Minute, sync),
	}
}

// AfterConnect is what follows a newly saved token (connection's
// OnConnected): the old token's failures stop holding the jobs back, an
// open re-auth alert resolves, and a sync starts at once. It returns at
// once; the work runs in the background, which Stop waits for.
func AfterConnect(s *Scheduler, al *alerts.Alerter) {
	s.Go(func(ctx context.Context) {
		s.ForgetFailures(ctx, JobValidate, JobRefresh, JobSync)
		al.Evaluate(ctx)
		if err := s.RunWaiting(ctx, JobSync); err != nil {
			s.log.Warn("jobs: sync after connect failed", "err", errText(err))
		}
	})
}

// Idle reports an error that means "nothing to do until an account is
// connected": such runs are recorded as waiting, not as failures.
func Idle(err error) bool { return errors.Is(err, connection.ErrNotConnected) }

// transient reports whether a failure is upstream trouble to back off
// from: Instagram unavailable, throttling or refusing, or a timeout. A dead
// token waits for the admin; other failures (a panic, the store) simply
// run again on schedule.
func transient(err error) bool {
	if errors.Is(err, connection.ErrNeedsReauth) || errors.Is(err, connection.ErrNotConnected) {
		return false
	}
	return errors.Is(err, instagram.ErrUnavailable) || errors.Is(err, instagram.ErrRateLimited) ||
		errors.Is(err, instagram.ErrBadRequest) || errors.Is(err, instagram.ErrURLExpired) ||
		errors.Is(err, context.DeadlineExceeded)
}

// retryAfter is how long Instagram asked us to wait, if it did.
func retryAfter(err error) time.Duration {
	var ae *instagram.APIError
	if errors.As(err, &ae) {
		return ae.RetryAfter
	}
	return 0
}
