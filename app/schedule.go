package app

import (
	"context"
	"errors"
	"time"

	"vitrine/connection"
	"vitrine/instagram"
	"vitrine/jobs"
)

// schedule is the table of scheduled jobs: each runs one of the
// operations. Sync includes mirroring: images are downloaded right after
// the feed is read, while their signed URLs are fresh. Refresh runs on
// the validate schedule and does nothing until the stored expiry says it
// is due.
func (a *App) schedule() []jobs.Task {
	c := a.Config.Jobs
	task := func(name, spec string, timeout time.Duration, run func(context.Context) error) jobs.Task {
		return jobs.Task{Name: name, Schedule: spec, Timeout: timeout, Run: run,
			Idle: jobs.Idle, Transient: transient, RetryAfter: retryAfter}
	}
	return []jobs.Task{
		task(jobs.JobValidate, c.Validate, 2*time.Minute, a.Validate),
		task(jobs.JobRefresh, c.Validate, 2*time.Minute, a.Refresh),
		task(jobs.JobSync, c.Sync, 20*time.Minute, func(ctx context.Context) error {
			_, err := a.Sync(ctx, nil)
			return err
		}),
	}
}

// transient reports whether a failure is upstream trouble to back off
// from: Instagram unavailable, throttling or refusing, or a timeout. A dead
// token waits for the admin; other failures (a panic, the store) simply
// run again on schedule.
func transient(err error) bool {
	if errors.Is(err, connection.ErrNeedsReauth) || jobs.Idle(err) {
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
