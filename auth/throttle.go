package auth

import (
	"context"
	"errors"
	"net/netip"
	"sync"
	"time"

	"vitrine/store"
)

// Login throttling. The failure counts live in the store, so replicas
// sharing a database count together: a guesser can't multiply its tries by
// the number of replicas, and a restart forgets nothing. Their times are
// this process's clock; replicas' clocks a few seconds apart shift a
// delay by as much, which the limits below absorb.
//
// Three limits stack. Each client (an IPv4 address, or an IPv6 /64, which
// one subscriber usually holds whole) gets a few free tries, then a delay
// that doubles. Every client together shares a failure budget, because
// there is one account to guess: a guesser spread over many addresses
// slows down too, and the budget refills, so the owner is slowed, never
// locked out for good. And at most a few password checks run at once in
// each process, so a burst can't buy more bcrypt CPU than that.
const (
	freeAttempts = 5           // wrong passwords per client before any delay
	baseDelay    = time.Second // after the 5th failure; doubles each time
	maxDelay     = 15 * time.Minute
	forgetAfter  = 24 * time.Hour // a client quiet this long starts over

	globalBurst  = 30              // failures, from anywhere, before the budget bites
	globalRefill = 2 * time.Second // one more failure allowed per interval

	maxConcurrentChecks = 2 // bcrypt at cost 10+ is ~50 ms of one core each
	maxCheckWait        = 5 * time.Second

	pruneEvery = time.Hour // how often idle clients' counts are deleted
)

// The counters' keys. A client's: Value its failures, At its last
// attempt, Until no attempt before it. The global budget's: Value the
// failures not yet refilled as of At (the budget is globalBurst less that).
const (
	clientCounterPrefix = "login:client:"
	globalCounter       = "login:global"
)

// Counters are the store's shared counters (Store has them).
type Counters interface {
	Counters(ctx context.Context, keys ...string) ([]store.Counter, error)
	UpdateCounters(ctx context.Context, keys []string, change func(cs []*store.Counter) error) error
	PruneCounters(ctx context.Context, idleBefore, now time.Time) (int64, error)
}

type throttle struct {
	counters Counters
	now      func() time.Time

	pruneMu  sync.Mutex
	prunedAt time.Time

	checks chan struct{} // a slot per password check allowed to run now
}

func newThrottle(counters Counters, now func() time.Time) *throttle {
	return &throttle{
		counters: counters,
		now:      now,
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

func counterKeys(client string) []string {
	return []string{clientCounterPrefix + client, globalCounter}
}

// wait is how long client must wait before its next attempt; 0 means go
// ahead. It never sleeps: the caller answers 429 with Retry-After.
func (t *throttle) wait(ctx context.Context, client string) (time.Duration, error) {
	cs, err := t.counters.Counters(ctx, counterKeys(client)...)
	if err != nil {
		return 0, err
	}
	now := t.now()
	if cs[0].Until.After(now) {
		return cs[0].Until.Sub(now), nil
	}
	return budgetWait(unrefilled(cs[1], now)), nil
}

// errMustWait rolls back begin's transaction: nothing to write.
var errMustWait = errors.New("must wait")

// begin reserves an attempt for client before its password is checked,
// counting it as a failure until succeed says otherwise: requests already
// in flight, on any replica, then see each other, so a burst cannot all
// pass before the first failure is recorded. It returns the failures
// counted so far and the delay this attempt imposes if it fails, or, when
// client must wait first, that wait and no reservation.
func (t *throttle) begin(ctx context.Context, client string) (failures int, penalty, wait time.Duration, err error) {
	t.prune(ctx)
	err = t.counters.UpdateCounters(ctx, counterKeys(client), func(cs []*store.Counter) error {
		a, g := cs[0], cs[1]
		now := t.now()
		if a.Until.After(now) {
			failures, wait = int(a.Value), a.Until.Sub(now)
			return errMustWait
		}
		owed := unrefilled(*g, now)
		if w := budgetWait(owed); w > 0 {
			wait = w
			return errMustWait
		}
		if now.Sub(a.At) > forgetAfter {
			a.Value, a.Until = 0, time.Time{}
		}
		g.Value, g.At = owed+1, now
		a.Value++
		a.At = now
		failures = int(a.Value)
		if failures >= freeAttempts {
			penalty = min(baseDelay<<min(failures-freeAttempts, 20), maxDelay)
			a.Until = now.Add(penalty)
		}
		return nil
	})
	if errors.Is(err, errMustWait) {
		return failures, 0, wait, nil
	}
	return failures, penalty, 0, err
}

// succeed forgets client's failures, and gives back to the global budget
// the failure its attempt was counted as.
func (t *throttle) succeed(ctx context.Context, client string) error {
	return t.counters.UpdateCounters(ctx, counterKeys(client), func(cs []*store.Counter) error {
		*cs[0] = store.Counter{Key: cs[0].Key}
		cs[1].Value = max(cs[1].Value-1, 0)
		return nil
	})
}

// unrefilled is the global budget's failures not yet refilled at now.
func unrefilled(g store.Counter, now time.Time) float64 {
	owed := g.Value
	if elapsed := now.Sub(g.At); elapsed > 0 {
		owed -= float64(elapsed) / float64(globalRefill)
	}
	return max(owed, 0)
}

// budgetWait is how long until the global budget allows one more failure
// when owed are not yet refilled.
func budgetWait(owed float64) time.Duration {
	if owed <= globalBurst-1 {
		return 0
	}
	return time.Duration((owed - (globalBurst - 1)) * float64(globalRefill))
}

// prune deletes, now and then, the counts of clients quiet for a day (they
// would start over anyway). New clients are counted only within the
// global budget, so the table grows by at most one row per globalRefill.
func (t *throttle) prune(ctx context.Context) {
	t.pruneMu.Lock()
	now := t.now()
	if now.Sub(t.prunedAt) < pruneEvery {
		t.pruneMu.Unlock()
		return
	}
	t.prunedAt = now
	t.pruneMu.Unlock()
	_, _ = t.counters.PruneCounters(ctx, now.Add(-forgetAfter), now) // retried next time
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
