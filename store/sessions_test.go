package store

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestAdminSessionLifecycle(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		c := newClock()
		s, _ := b.open(t, WithClock(c.Now))
		now := c.Now()
		if _, ok, err := s.AdminSession(ctx, "h1"); ok || err != nil {
			t.Fatalf("missing session: ok=%v err=%v", ok, err)
		}
		if err := s.CreateAdminSession(ctx, AdminSession{IDHash: "h1", CSRFToken: "c1", ExpiresAt: now.Add(time.Hour)}); err != nil {
			t.Fatal(err)
		}
		if err := s.CreateAdminSession(ctx, AdminSession{IDHash: "h1", CSRFToken: "c2", ExpiresAt: now.Add(time.Hour)}); err == nil {
			t.Error("duplicate id hash accepted")
		}
		if err := s.CreateAdminSession(ctx, AdminSession{IDHash: "h2"}); err == nil {
			t.Error("session without csrf token accepted")
		}
		got, ok, err := s.AdminSession(ctx, "h1")
		if err != nil || !ok || got.CSRFToken != "c1" || !got.ExpiresAt.Equal(now.Add(time.Hour)) || !got.CreatedAt.Equal(now) {
			t.Fatalf("AdminSession = %+v %v %v", got, ok, err)
		}

		// State: set, a wrong hash doesn't clear it, the right one clears it once.
		if err := s.SetAdminSessionState(ctx, "h1", "st", now.Add(10*time.Minute)); err != nil {
			t.Fatal(err)
		}
		got, _, _ = s.AdminSession(ctx, "h1")
		if got.StateHash != "st" || !got.StateExpiresAt.Equal(now.Add(10*time.Minute)) {
			t.Errorf("state = %q %v", got.StateHash, got.StateExpiresAt)
		}
		if ok, err := s.ClearAdminSessionState(ctx, "h1", "other"); ok || err != nil {
			t.Errorf("clear with wrong hash = %v %v", ok, err)
		}
		if ok, err := s.ClearAdminSessionState(ctx, "h1", "st"); !ok || err != nil {
			t.Errorf("clear = %v %v", ok, err)
		}
		if ok, _ := s.ClearAdminSessionState(ctx, "h1", "st"); ok {
			t.Error("state cleared twice")
		}
		got, _, _ = s.AdminSession(ctx, "h1")
		if got.StateHash != "" || !got.StateExpiresAt.IsZero() {
			t.Errorf("after clear: %q %v", got.StateHash, got.StateExpiresAt)
		}
		if err := s.SetAdminSessionState(ctx, "nope", "st", now); err == nil {
			t.Error("state set on a missing session")
		}

		// Flash: taken once.
		if err := s.SetAdminSessionFlash(ctx, "h1", "hello"); err != nil {
			t.Fatal(err)
		}
		if f, err := s.TakeAdminSessionFlash(ctx, "h1"); f != "hello" || err != nil {
			t.Errorf("flash = %q %v", f, err)
		}
		if f, err := s.TakeAdminSessionFlash(ctx, "h1"); f != "" || err != nil {
			t.Errorf("second flash = %q %v", f, err)
		}
		if f, err := s.TakeAdminSessionFlash(ctx, "nope"); f != "" || err != nil {
			t.Errorf("flash of missing session = %q %v", f, err)
		}

		// Expiry sweep and delete.
		if err := s.CreateAdminSession(ctx, AdminSession{IDHash: "old", CSRFToken: "c", ExpiresAt: now.Add(-time.Second)}); err != nil {
			t.Fatal(err)
		}
		if n, err := s.DeleteExpiredAdminSessions(ctx, now); n != 1 || err != nil {
			t.Errorf("DeleteExpired = %d %v", n, err)
		}
		if err := s.DeleteAdminSession(ctx, "h1"); err != nil {
			t.Fatal(err)
		}
		if _, ok, _ := s.AdminSession(ctx, "h1"); ok {
			t.Error("session still there after delete")
		}
		if err := s.DeleteAdminSession(ctx, "h1"); err != nil {
			t.Errorf("second delete: %v", err)
		}
	})
}

func TestClearAdminSessionStateConcurrent(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		s, _ := b.open(t)
		if err := s.CreateAdminSession(ctx, AdminSession{IDHash: "h", CSRFToken: "c", ExpiresAt: time.Now().Add(time.Hour)}); err != nil {
			t.Fatal(err)
		}
		if err := s.SetAdminSessionState(ctx, "h", "st", time.Now().Add(time.Minute)); err != nil {
			t.Fatal(err)
		}
		var wins atomic.Int32
		var wg sync.WaitGroup
		for range 8 {
			wg.Go(func() {
				if ok, err := s.ClearAdminSessionState(ctx, "h", "st"); err != nil {
					t.Error(err)
				} else if ok {
					wins.Add(1)
				}
			})
		}
		wg.Wait()
		if wins.Load() != 1 {
			t.Errorf("%d callers cleared the state, want exactly 1", wins.Load())
		}
	})
}

// A callback opened in another browser (a phone's) finds its session by
// the state alone; of several, only one does.
func TestTakeAdminSessionStateConcurrent(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		s, _ := b.open(t)
		exp := time.Now().Add(time.Minute).UTC().Truncate(time.Second)
		for _, h := range []string{"a", "b"} {
			if err := s.CreateAdminSession(ctx, AdminSession{IDHash: h, CSRFToken: "c", ExpiresAt: time.Now().Add(time.Hour), Credential: "cred"}); err != nil {
				t.Fatal(err)
			}
		}
		if err := s.SetAdminSessionState(ctx, "b", "st-b", exp); err != nil {
			t.Fatal(err)
		}
		if _, ok, err := s.TakeAdminSessionState(ctx, "st-unknown"); ok || err != nil {
			t.Fatalf("unknown state: ok=%v err=%v", ok, err)
		}
		if _, ok, err := s.TakeAdminSessionState(ctx, ""); ok || err != nil {
			t.Fatalf("empty state: ok=%v err=%v", ok, err)
		}
		var (
			wins atomic.Int32
			got  AdminSession
			mu   sync.Mutex
			wg   sync.WaitGroup
		)
		for range 8 {
			wg.Go(func() {
				a, ok, err := s.TakeAdminSessionState(ctx, "st-b")
				if err != nil {
					t.Error(err)
				} else if ok {
					wins.Add(1)
					mu.Lock()
					got = a
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		if wins.Load() != 1 {
			t.Fatalf("%d callers took the state, want exactly 1", wins.Load())
		}
		if got.IDHash != "b" || got.Credential != "cred" || !got.StateExpiresAt.Equal(exp) {
			t.Errorf("took %+v", got)
		}
		if a, _, _ := s.AdminSession(ctx, "b"); a.StateHash != "" {
			t.Error("the state was not cleared")
		}
	})
}
