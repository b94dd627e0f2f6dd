package store

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"
)

// Increments from several processes' stores at once all count: each
// update reads what the previous one wrote.
func TestCountersConcurrentUpdatesAddUp(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		loc, key := b.New(t), newKey(t)
		const stores, each = 3, 20
		var wg sync.WaitGroup
		for range stores {
			s, err := Open(loc, key)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			for range each {
				wg.Add(1)
				go func() {
					defer wg.Done()
					// Two keys given in either order: no deadlock.
					err := s.UpdateCounters(ctx, []string{"b", "a"}, func(cs []*Counter) error {
						cs[0].Value++
						cs[1].Value += 2
						return nil
					})
					if err != nil {
						t.Error(err)
					}
				}()
			}
		}
		wg.Wait()
		s2, err := Open(loc, key)
		if err != nil {
			t.Fatal(err)
		}
		defer s2.Close()
		cs, err := s2.Counters(ctx, "a", "b", "never")
		if err != nil {
			t.Fatal(err)
		}
		if cs[0].Value != 2*stores*each || cs[1].Value != stores*each || cs[2].Value != 0 || cs[2].Key != "never" {
			t.Errorf("counters = %+v, want a=%d b=%d never=0", cs, 2*stores*each, stores*each)
		}
	})
}

// A failed change writes nothing; a counter back at zero goes; prune
// forgets the idle ones whose Until has passed.
func TestCountersRollbackZeroAndPrune(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		s, _ := b.open(t)
		t0 := time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)
		set := func(k string, v float64, at, until time.Time) {
			t.Helper()
			err := s.UpdateCounters(ctx, []string{k}, func(cs []*Counter) error {
				cs[0].Value, cs[0].At, cs[0].Until = v, at, until
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
		}
		set("idle", 3, t0, time.Time{})
		set("held", 9, t0, t0.Add(48*time.Hour))
		set("fresh", 1, t0.Add(47*time.Hour), time.Time{})

		boom := errors.New("boom")
		err := s.UpdateCounters(ctx, []string{"idle"}, func(cs []*Counter) error {
			cs[0].Value = 100
			return boom
		})
		if !errors.Is(err, boom) {
			t.Fatalf("err = %v, want the change's", err)
		}
		cs, err := s.Counters(ctx, "idle", "held")
		if err != nil || cs[0].Value != 3 || !cs[0].At.Equal(t0) || !cs[1].Until.Equal(t0.Add(48*time.Hour)) {
			t.Fatalf("after a failed change: %+v %v", cs, err)
		}

		n, err := s.PruneCounters(ctx, t0.Add(24*time.Hour), t0.Add(47*time.Hour))
		if err != nil || n != 1 {
			t.Errorf("PruneCounters = %d, %v; want 1 (idle)", n, err)
		}
		set("fresh", 0, time.Time{}, time.Time{})
		var rows int64
		if err := s.db.Model(&counterRow{}).Count(&rows).Error; err != nil || rows != 1 {
			t.Errorf("rows left = %d, %v; want 1 (held)", rows, err)
		}
	})
}
