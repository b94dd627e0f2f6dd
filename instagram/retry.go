package instagram

import (
	"context"
	"math/rand/v2"
	"time"
)

// maxBackoff caps one wait: past a few seconds the scheduler's next run is a
// better retry than a goroutine sleeping inside a request.
const maxBackoff = 5 * time.Second

// backoff is capped exponential backoff with full jitter (a uniform wait in
// [0, min(cap, base·2^attempt)]): many clients retrying after the same outage
// spread out instead of arriving together.
func backoff(base time.Duration, attempt int) time.Duration {
	if base <= 0 {
		return 0
	}
	ceiling := base
	for i := 0; i < attempt && ceiling < maxBackoff; i++ {
		ceiling *= 2
	}
	ceiling = min(ceiling, maxBackoff)
	return rand.N(ceiling + 1)
}

// sleep waits d or until ctx ends, whichever is first.
func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// retryPolicy says which failures are worth another attempt.
type retryPolicy int

const (
	// retryIdempotent: GETs. Retry connection errors, timeouts, 5xx and the
	// transient Graph codes 1/2 (is_transient).
	retryIdempotent retryPolicy = iota
	// retryUnsent: the POST that spends the single-use authorization code.
	// Retry only when the request surely never reached Instagram (it was not
	// fully written) or a gateway answered 502/503/504 (the proxy in front
	// did not get an answer, so most likely the code was not looked at). A
	// 500, a timeout or a reset after the request was written may mean
	// Instagram already consumed the code: a retry would then fail with
	// "code already used" and hide the real error.
	retryUnsent
)

func (p retryPolicy) retryStatus(status int, transientCode bool) bool {
	switch p {
	case retryUnsent:
		return status == 502 || status == 503 || status == 504
	default:
		return status >= 500 || transientCode
	}
}

func (p retryPolicy) retryTransport(written bool) bool {
	if p == retryUnsent {
		return !written
	}
	return true
}
