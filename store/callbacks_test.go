package store

import (
	"context"
	"sync"
	"testing"
	"time"
)

// A callback is handled once: the first claim wins, the others read what
// it answered, or that it is still under way.
func TestCallbackClaimedOnce(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		s, _ := b.open(t)
		now := newClock().Now()
		issued := now.Add(-time.Minute)
		stale := now.Add(-5 * time.Minute)

		first, claimed, err := s.ClaimCallback(ctx, "cb1", issued, now, stale)
		if err != nil || !claimed || first.Claim == "" || first.Done() {
			t.Fatalf("first claim = %+v %v %v", first, claimed, err)
		}
		during, claimed, err := s.ClaimCallback(ctx, "cb1", issued, now.Add(time.Second), stale)
		if err != nil || claimed || during.Done() || during.Claim != first.Claim || !during.IssuedAt.Equal(issued) {
			t.Fatalf("claim while it is handled = %+v %v %v", during, claimed, err)
		}
		// Finishing under another claim changes nothing.
		if err := s.FinishCallback(ctx, "cb1", "not-the-claim", 500, "x"); err != nil {
			t.Fatal(err)
		}
		if err := s.FinishCallback(ctx, "cb1", first.Claim, 200, "code-1"); err != nil {
			t.Fatal(err)
		}
		after, claimed, err := s.ClaimCallback(ctx, "cb1", issued, now.Add(time.Hour), now.Add(time.Hour))
		if err != nil || claimed || after.Status != 200 || after.Code != "code-1" {
			t.Fatalf("claim after it was finished = %+v %v %v", after, claimed, err)
		}
		// A finished callback is never released.
		if err := s.ReleaseCallback(ctx, "cb1", first.Claim); err != nil {
			t.Fatal(err)
		}
		if again, claimed, _ := s.ClaimCallback(ctx, "cb1", issued, now, stale); claimed || again.Code != "code-1" {
			t.Errorf("after releasing a finished callback: %+v claimed %v", again, claimed)
		}
		if other, claimed, err := s.ClaimCallback(ctx, "cb2", issued, now, stale); err != nil || !claimed || other.Claim == first.Claim {
			t.Errorf("another callback = %+v %v %v", other, claimed, err)
		}
	})
}

// A failed handling is released, so Meta's retry is handled afresh; one
// whose process died is taken over once its claim is stale, and the old
// claim can no longer finish it.
func TestCallbackReleasedOrTakenOver(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		s, _ := b.open(t)
		now := newClock().Now()
		stale := now.Add(-5 * time.Minute)

		cb, _, _ := s.ClaimCallback(ctx, "failed", now, now, stale)
		if err := s.ReleaseCallback(ctx, "failed", "not-the-claim"); err != nil {
			t.Fatal(err)
		}
		if _, claimed, _ := s.ClaimCallback(ctx, "failed", now, now, stale); claimed {
			t.Fatal("released under another claim")
		}
		if err := s.ReleaseCallback(ctx, "failed", cb.Claim); err != nil {
			t.Fatal(err)
		}
		if _, claimed, err := s.ClaimCallback(ctx, "failed", now, now, stale); err != nil || !claimed {
			t.Errorf("after release: claimed %v, %v", claimed, err)
		}

		dead, _, _ := s.ClaimCallback(ctx, "dead", now, now, stale)
		later := now.Add(4 * time.Minute)
		if _, claimed, _ := s.ClaimCallback(ctx, "dead", now, later, later.Add(-5*time.Minute)); claimed {
			t.Fatal("a claim 4 minutes old was taken over")
		}
		later = now.Add(6 * time.Minute)
		taken, claimed, err := s.ClaimCallback(ctx, "dead", now, later, later.Add(-5*time.Minute))
		if err != nil || !claimed || taken.Claim == dead.Claim || taken.Done() {
			t.Fatalf("taking over a stale claim = %+v %v %v", taken, claimed, err)
		}
		if err := s.FinishCallback(ctx, "dead", dead.Claim, 200, "late"); err != nil {
			t.Fatal(err)
		}
		if err := s.FinishCallback(ctx, "dead", taken.Claim, 200, "new"); err != nil {
			t.Fatal(err)
		}
		if got, _, _ := s.ClaimCallback(ctx, "dead", now, later, later); got.Code != "new" {
			t.Errorf("code = %q, want the new holder's", got.Code)
		}
	})
}

// Replicas receiving the same callback at once: exactly one handles it.
func TestCallbackConcurrentClaims(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		loc, key := b.New(t), newKey(t)
		now := newClock().Now()
		const n = 8
		stores := make([]*Store, 2)
		for i := range stores {
			s, err := Open(loc, key)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			stores[i] = s
		}
		var (
			wg      sync.WaitGroup
			mu      sync.Mutex
			claims  int
			failure error
		)
		start := make(chan struct{})
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				_, claimed, err := stores[i%2].ClaimCallback(ctx, "same", now, now, now.Add(-5*time.Minute))
				mu.Lock()
				defer mu.Unlock()
				if err != nil {
					failure = err
				}
				if claimed {
					claims++
				}
			}()
		}
		close(start)
		wg.Wait()
		if failure != nil || claims != 1 {
			t.Errorf("%d of %d claims won (%v), want 1", claims, n, failure)
		}
	})
}

// Callbacks are forgotten once issued before the cutoff, the others kept.
func TestPruneCallbacks(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		s, _ := b.open(t)
		now := newClock().Now()
		stale := now.Add(-5 * time.Minute)
		for id, issued := range map[string]time.Time{"old": now.Add(-25 * time.Hour), "edge": now.Add(-24 * time.Hour), "new": now} {
			cb, _, err := s.ClaimCallback(ctx, id, issued, now, stale)
			if err != nil {
				t.Fatal(err)
			}
			if err := s.FinishCallback(ctx, id, cb.Claim, 200, id); err != nil {
				t.Fatal(err)
			}
		}
		n, err := s.PruneCallbacks(ctx, now.Add(-24*time.Hour))
		if err != nil || n != 1 {
			t.Fatalf("pruned %d, %v; want 1", n, err)
		}
		for id, want := range map[string]bool{"old": false, "edge": true, "new": true} {
			cb, claimed, err := s.ClaimCallback(ctx, id, now, now, stale)
			if err != nil || claimed == want || (want && cb.Code != id) {
				t.Errorf("%s after pruning: %+v claimed %v, %v", id, cb, claimed, err)
			}
		}
	})
}

// A database from before callbacks were remembered gains their table on
// opening, and keeps what it held: the deletion confirmations (in the
// state table) and the activity log.
func TestCallbacksTableMigrates(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		key := newKey(t)
		loc := b.New(t)
		s, err := Open(loc, key)
		if err != nil {
			t.Fatal(err)
		}
		// The previous release's schema: everything but meta_callbacks.
		if err := s.db.Exec("DROP TABLE meta_callbacks").Error; err != nil {
			t.Fatal(err)
		}
		if err := s.SetState(ctx, "metaapp.deletion.0123456789abcdef0123456789abcdef", "2026-11-01T10:30:00Z"); err != nil {
			t.Fatal(err)
		}
		if err := s.AddEvent(ctx, "deletion", LevelWarn, "Meta asked to delete"); err != nil {
			t.Fatal(err)
		}
		s.Close()

		s, err = Open(loc, key)
		if err != nil {
			t.Fatalf("reopening an older database: %v", err)
		}
		defer s.Close()
		now := newClock().Now()
		if _, claimed, err := s.ClaimCallback(ctx, "cb", now, now, now); err != nil || !claimed {
			t.Errorf("claim on the upgraded database: %v %v", claimed, err)
		}
		if v, ok, err := s.State(ctx, "metaapp.deletion.0123456789abcdef0123456789abcdef"); err != nil || !ok || v != "2026-11-01T10:30:00Z" {
			t.Errorf("confirmation after the upgrade = %q %v %v", v, ok, err)
		}
		if ev, err := s.Events(ctx, 0); err != nil || len(ev) != 1 || ev[0].Message != "Meta asked to delete" {
			t.Errorf("events after the upgrade = %+v %v", ev, err)
		}
	})
}
