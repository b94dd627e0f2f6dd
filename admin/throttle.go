package admin

import (
	"sync"
	"time"
)

// Login throttling, per client IP, in memory: a restart forgets it, which
// costs an attacker a restart per few tries — not something they control.
const (
	freeAttempts  = 5           // wrong passwords before any delay
	baseDelay     = time.Second // after the 5th failure; doubles each time
	maxDelay      = 15 * time.Minute
	forgetAfter   = 24 * time.Hour // an IP quiet this long starts over
	maxTrackedIPs = 10000          // bound memory under a spray from many IPs
)

type throttle struct {
	mu  sync.Mutex
	now func() time.Time
	ips map[string]*attempts
}

type attempts struct {
	failures int
	last     time.Time // last failure
	until    time.Time // no attempt before this
}

func newThrottle(now func() time.Time) *throttle {
	return &throttle{now: now, ips: map[string]*attempts{}}
}

// wait is how long ip must wait before its next attempt; 0 means go ahead.
// It never sleeps: the caller answers 429 with Retry-After.
func (t *throttle) wait(ip string) time.Duration {
	t.mu.Lock()
	defer t.mu.Unlock()
	a := t.ips[ip]
	if a == nil {
		return 0
	}
	return max(a.until.Sub(t.now()), 0)
}

// fail records a wrong password and returns the failure count and the wait
// now imposed before the next attempt.
func (t *throttle) fail(ip string) (int, time.Duration) {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.now()
	a := t.ips[ip]
	if a == nil || now.Sub(a.last) > forgetAfter {
		if len(t.ips) >= maxTrackedIPs {
			t.pruneLocked(now)
		}
		a = &attempts{}
		t.ips[ip] = a
	}
	a.failures++
	a.last = now
	var d time.Duration
	if a.failures >= freeAttempts {
		d = baseDelay << min(a.failures-freeAttempts, 20)
		d = min(d, maxDelay)
		a.until = now.Add(d)
	}
	return a.failures, d
}

// succeed forgets ip's failures.
func (t *throttle) succeed(ip string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.ips, ip)
}

func (t *throttle) pruneLocked(now time.Time) {
	for ip, a := range t.ips {
		if now.Sub(a.last) > time.Hour && !now.Before(a.until) {
			delete(t.ips, ip)
		}
	}
	// Still full (a spray from many addresses): forget an arbitrary half
	// rather than grow without bound.
	if len(t.ips) >= maxTrackedIPs {
		n := 0
		for ip := range t.ips {
			if n++; n > maxTrackedIPs/2 {
				break
			}
			delete(t.ips, ip)
		}
	}
}
