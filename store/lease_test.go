package store

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Two processes' stores on one database: one holds the lease, the other
// can't take it until it is released or expires, and renewing only works
// for the holder of a lease that has not expired.
func TestLeaseOneHolderAtATime(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		loc, key := b.New(t), newKey(t)
		a, err := Open(loc, key)
		if err != nil {
			t.Fatal(err)
		}
		defer a.Close()
		// The other replica's clock is a year off: the lease goes by the
		// database's.
		skewed := func() time.Time { return time.Now().Add(365 * 24 * time.Hour) }
		other, err := Open(loc, key, WithClock(skewed))
		if err != nil {
			t.Fatal(err)
		}
		defer other.Close()

		mustHeld := func(what string, held bool, err error, want bool) {
			t.Helper()
			if err != nil || held != want {
				t.Fatalf("%s: held = %v, %v; want %v", what, held, err, want)
			}
		}
		held, err := a.AcquireLease(ctx, "jobs", "A", time.Minute)
		mustHeld("A acquires a free lease", held, err, true)
		held, err = other.AcquireLease(ctx, "jobs", "B", time.Minute)
		mustHeld("B acquires A's lease", held, err, false)
		held, err = other.RenewLease(ctx, "jobs", "B", time.Minute)
		mustHeld("B renews A's lease", held, err, false)
		held, err = a.AcquireLease(ctx, "jobs", "A", time.Minute)
		mustHeld("A acquires again", held, err, true)
		held, err = a.RenewLease(ctx, "jobs", "A", time.Minute)
		mustHeld("A renews", held, err, true)
		if h, left, ok, err := other.LeaseHolder(ctx, "jobs"); err != nil || !ok || h != "A" || left <= 0 || left > time.Minute {
			t.Errorf("LeaseHolder = %q %v %v %v, want A with up to a minute left", h, left, ok, err)
		}

		// B releasing what it doesn't hold changes nothing; A releasing
		// frees it for B at once.
		if err := other.ReleaseLease(ctx, "jobs", "B"); err != nil {
			t.Fatal(err)
		}
		held, err = other.AcquireLease(ctx, "jobs", "B", time.Minute)
		mustHeld("B acquires after its own release", held, err, false)
		if err := a.ReleaseLease(ctx, "jobs", "A"); err != nil {
			t.Fatal(err)
		}
		if _, _, ok, err := a.LeaseHolder(ctx, "jobs"); err != nil || ok {
			t.Errorf("LeaseHolder after release: ok = %v, %v", ok, err)
		}
		held, err = other.AcquireLease(ctx, "jobs", "B", 300*time.Millisecond)
		mustHeld("B acquires after A's release", held, err, true)

		// B stops renewing (it crashed): once the TTL has passed A takes it,
		// and B can neither renew nor take it back.
		held, err = a.AcquireLease(ctx, "jobs", "A", time.Minute)
		mustHeld("A acquires B's live lease", held, err, false)
		time.Sleep(400 * time.Millisecond)
		held, err = other.RenewLease(ctx, "jobs", "B", time.Minute)
		mustHeld("B renews its expired lease", held, err, false)
		held, err = a.AcquireLease(ctx, "jobs", "A", time.Minute)
		mustHeld("A acquires B's expired lease", held, err, true)
		held, err = other.AcquireLease(ctx, "jobs", "B", time.Minute)
		mustHeld("B acquires A's new lease", held, err, false)

		// Leases are independent by name.
		held, err = other.AcquireLease(ctx, "other", "B", time.Minute)
		mustHeld("B acquires another name", held, err, true)
	})
}

// Many contenders at once on an expired or free lease: exactly one wins
// each round.
func TestLeaseContendedAcquireHasOneWinner(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		loc, key := b.New(t), newKey(t)
		const n = 6
		stores := make([]*Store, n)
		for i := range stores {
			s, err := Open(loc, key)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			stores[i] = s
		}
		for round := range 5 {
			var wins atomic.Int32
			var wg sync.WaitGroup
			start := make(chan struct{})
			for i, s := range stores {
				wg.Add(1)
				go func() {
					defer wg.Done()
					<-start
					held, err := s.AcquireLease(ctx, "jobs", string(rune('A'+i)), 200*time.Millisecond)
					if err != nil {
						t.Error(err)
					}
					if held {
						wins.Add(1)
					}
				}()
			}
			close(start)
			wg.Wait()
			if got := wins.Load(); got != 1 {
				t.Fatalf("round %d: %d holders, want 1", round, got)
			}
			time.Sleep(250 * time.Millisecond) // let it expire for the next round
		}
	})
}
