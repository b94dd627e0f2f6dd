package admin

import (
	"context"
	"net/netip"
	"sync"
	"time"
)

// Login throttling, in memory: a restart forgets it, which costs an
// attacker a restart per few tries — not something they control.
//
// Three limits stack. Each client (an IPv4 address, or an IPv6 /64, which
// one subscriber usually holds whole) gets a few free tries, then a delay
// that doubles. Every client together shares a failure budget, because
// there is one account to guess: a guesser spread over many addresses
// slows down too, and the budget refills, so the owner is slowed, never
// locked out for good. And at most a few password checks run at once, so
// a burst can't buy more bcrypt CPU than that.
const (
	freeAttempts  = 5           // wrong passwords per client before any delay
	baseDelay     = time.Second // after the 5th failure; doubles each time
	maxDelay      = 15 * time.Minute
	forgetAfter   = 24 * time.Hour // a client quiet this long starts over
	maxTrackedIPs = 10000          // bound memory under a spray from many clients

	globalBurst  = 30              // failures, from anywhere, before the budget bites
	globalRefill = 2 * time.Second // one more failure allowed per interval

	maxConcurrentChecks = 2 // bcrypt at cost 10+ is ~50 ms of one core each
	maxCheckWait        = 5 * time.Second
)

type throttle struct {
	mu      sync.Mutex
	now     func() time.Time
	clients map[string]*attempts

	// budget is the global failure budget: failures still allowed, as of
	// budgetAt. It refills one per globalRefill up to globalBurst.
	budget   float64
	budgetAt time.Time

	checks chan struct{} // a slot per password check allowed to run now
}

type attempts struct {
	failures int       // counted when the attempt starts; a success clears them
	last     time.Time // last attempt
	until    time.Time // no attempt before this
}

func newThrottle(now func() time.Time) *throttle {
	return &throttle{
		now:      now,
		clients:  map[string]*attempts{},
		budget:   globalBurst,
		budgetAt: now(),
		checks:   make(chan struct{}, maxConcurrentChecks),
	}
}

// clientKey is what the throttle counts under: the address itself for
// IPv4, the /64 for IPv6, since one home or server gets a whole /64 and
// could otherwise rotate through 2^64 addresses.
func clientKey(ip string) string {
	addr, err := netip.ParseAddr(ip)
	if err != nil {
		return ip
	}
	addr = addr.Unmap()
	if addr.Is4() {
		return addr.String()
	}
	p, err := addr.Prefix(64)
	if err != nil {
		return addr.String()
	}
	return p.String()
}

// wait is how long client must wait before its next attempt; 0 means go
// ahead. It never sleeps: the caller answers 429 with Retry-After.
func (t *throttle) wait(client string) time.Duration {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.now()
	if a := t.clients[client]; a != nil && a.until.After(now) {
		return a.until.Sub(now)
	}
	return t.budgetWaitLocked(now)
}

// begin reserves an attempt for client before its password is checked,
// counting it as a failure until succeed says otherwise: requests already
// in flight then see each other, so a burst cannot all pass before the
// first failure is recorded. It returns the failures counted so far and
// the delay this attempt imposes if it fails, or, when client must wait
// first, that wait and no reservation.
func (t *throttle) begin(client string) (failures int, penalty, wait time.Duration) {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.now()
	a := t.clients[client]
	if a != nil && a.until.After(now) {
		return a.failures, 0, a.until.Sub(now)
	}
	if w := t.budgetWaitLocked(now); w > 0 {
		return 0, 0, w
	}
	if a == nil || now.Sub(a.last) > forgetAfter {
		if len(t.clients) >= maxTrackedIPs {
			t.pruneLocked(now)
		}
		a = &attempts{}
		t.clients[client] = a
	}
	t.budget--
	a.failures++
	a.last = now
	if a.failures >= freeAttempts {
		penalty = min(baseDelay<<min(a.failures-freeAttempts, 20), maxDelay)
		a.until = now.Add(penalty)
	}
	return a.failures, penalty, 0
}

// succeed forgets client's failures, and gives back to the global budget
// the failure its attempt was counted as.
func (t *throttle) succeed(client string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.clients, client)
	t.budget = min(t.budget+1, globalBurst)
}

// budgetWaitLocked refills the global budget and says how long until it
// allows one more failure.
func (t *throttle) budgetWaitLocked(now time.Time) time.Duration {
	if elapsed := now.Sub(t.budgetAt); elapsed > 0 {
		t.budget = min(t.budget+float64(elapsed)/float64(globalRefill), globalBurst)
		t.budgetAt = now
	}
	if t.budget >= 1 {
		return 0
	}
	return time.Duration((1 - t.budget) * float64(globalRefill))
}

// acquireCheck waits, at most maxCheckWait, for a slot to check a
// password in; false means none came (or ctx ended) and the caller should
// ask the client to come back. release gives the slot back.
func (t *throttle) acquireCheck(ctx context.Context) bool {
	select {
	case t.checks <- struct{}{}:
		return true
	default:
	}
	timer := time.NewTimer(maxCheckWait)
	defer timer.Stop()
	select {
	case t.checks <- struct{}{}:
		return true
	case <-timer.C:
		return false
	case <-ctx.Done():
		return false
	}
}

func (t *throttle) releaseCheck() { <-t.checks }

func (t *throttle) pruneLocked(now time.Time) {
	for k, a := range t.clients {
		if now.Sub(a.last) > time.Hour && !now.Before(a.until) {
			delete(t.clients, k)
		}
	}
	// Still full (a spray from many addresses): forget an arbitrary half
	// rather than grow without bound.
	if len(t.clients) >= maxTrackedIPs {
		n := 0
		for k := range t.clients {
			if n++; n > maxTrackedIPs/2 {
				break
			}
			delete(t.clients, k)
		}
	}
}
