package store

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"
)

// moderationOf is the decisions on record as "id:hidden" / "id:pinned",
// in the order Moderation returns them.
func moderationOf(t *testing.T, s *Store) []string {
	t.Helper()
	ms, err := s.Moderation(context.Background())
	if err != nil {
		t.Fatalf("Moderation: %v", err)
	}
	out := make([]string, len(ms))
	for i, m := range ms {
		switch {
		case m.Hidden() && m.Pinned():
			out[i] = m.PostID + ":hidden+pinned"
		case m.Hidden():
			out[i] = m.PostID + ":hidden"
		case m.Pinned():
			out[i] = m.PostID + ":pinned"
		default:
			out[i] = m.PostID + ":none"
		}
	}
	return out
}

func mustChange(t *testing.T, what string, changed bool, err error, want bool) {
	t.Helper()
	if err != nil || changed != want {
		t.Fatalf("%s = %v, %v; want changed %v", what, changed, err, want)
	}
}

func TestModerationRoundTrip(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		c := newClock()
		s, _ := b.open(t, WithClock(c.Now))
		ctx := context.Background()
		replace(t, s, aPost("p1"), aPost("p2"), aPost("p3"), aPost("p4"))

		ch, err := s.HidePost(ctx, "p2")
		mustChange(t, "hide p2", ch, err, true)
		hiddenAt := c.Now()
		c.Advance(time.Hour)
		ch, err = s.HidePost(ctx, "p2")
		mustChange(t, "hide p2 again", ch, err, false)
		// The clock stands still between these pins: the order still holds.
		ch, err = s.PinPost(ctx, "p3", 3)
		mustChange(t, "pin p3", ch, err, true)
		ch, err = s.PinPost(ctx, "p1", 3)
		mustChange(t, "pin p1", ch, err, true)
		ch, err = s.PinPost(ctx, "p1", 3)
		mustChange(t, "pin p1 again", ch, err, false)

		// Most recently pinned first, then the hidden.
		if got, want := moderationOf(t, s), []string{"p1:pinned", "p3:pinned", "p2:hidden"}; !slices.Equal(got, want) {
			t.Fatalf("moderation = %v, want %v", got, want)
		}
		ms, _ := s.Moderation(ctx)
		if !ms[2].HiddenAt.Equal(hiddenAt) || !ms[0].PinnedAt.Equal(c.Now()) {
			t.Errorf("times: hidden at %v (want %v, the first hide), pinned at %v", ms[2].HiddenAt, hiddenAt, ms[0].PinnedAt)
		}

		// Hiding a pinned post unpins it; pinning a hidden one shows it.
		ch, err = s.HidePost(ctx, "p3")
		mustChange(t, "hide pinned p3", ch, err, true)
		ch, err = s.PinPost(ctx, "p2", 3)
		mustChange(t, "pin hidden p2", ch, err, true)
		if got, want := moderationOf(t, s), []string{"p2:pinned", "p1:pinned", "p3:hidden"}; !slices.Equal(got, want) {
			t.Fatalf("after hide-pinned and pin-hidden: %v, want %v", got, want)
		}

		// Undoing removes the row once no decision is left.
		ch, err = s.ShowPost(ctx, "p3")
		mustChange(t, "show p3", ch, err, true)
		ch, err = s.ShowPost(ctx, "p3")
		mustChange(t, "show p3 again", ch, err, false)
		ch, err = s.UnpinPost(ctx, "p1")
		mustChange(t, "unpin p1", ch, err, true)
		ch, err = s.UnpinPost(ctx, "p4")
		mustChange(t, "unpin p4 (never pinned)", ch, err, false)
		if got, want := moderationOf(t, s), []string{"p2:pinned"}; !slices.Equal(got, want) {
			t.Fatalf("after undoing: %v, want %v", got, want)
		}
		var rows int64
		s.db.Model(&moderationRow{}).Count(&rows)
		if rows != 1 {
			t.Errorf("%d moderation rows, want 1: undone decisions leave no row", rows)
		}
	})
}

// Decisions live apart from the posts rows: a sync that rewrites every
// post, one that misses a post for a while, and a restart keep them.
func TestModerationSurvivesSyncsAndRestarts(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		c := newClock()
		key := newKey(t)
		path := b.New(t)
		s, err := Open(path, key, WithClock(c.Now))
		if err != nil {
			t.Fatal(err)
		}
		ctx := context.Background()
		replace(t, s, aPost("p1"), aPost("p2"), aPost("p3"))
		if _, err := s.HidePost(ctx, "p1"); err != nil {
			t.Fatal(err)
		}
		if _, err := s.PinPost(ctx, "p3", 3); err != nil {
			t.Fatal(err)
		}
		replace(t, s, aPost("p0"), aPost("p1", withCaption("edited")), aPost("p2"), aPost("p3"))
		replace(t, s, aPost("p0"), aPost("p2"))                           // p1 and p3 missing from one listing…
		replace(t, s, aPost("p0"), aPost("p1"), aPost("p2"), aPost("p3")) // …and back
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		s, err = Open(path, key, WithClock(c.Now))
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		if got, want := moderationOf(t, s), []string{"p3:pinned", "p1:hidden"}; !slices.Equal(got, want) {
			t.Errorf("after syncs and a restart: %v, want %v", got, want)
		}
		if err := s.DeleteModeration(ctx); err != nil {
			t.Fatal(err)
		}
		if got := moderationOf(t, s); len(got) != 0 {
			t.Errorf("after DeleteModeration: %v", got)
		}
	})
}

func TestModerationOfUnknownPost(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		s, _ := b.open(t)
		ctx := context.Background()
		replace(t, s, aPost("p1"))
		ops := map[string]func(string) (bool, error){
			"hide":  func(id string) (bool, error) { return s.HidePost(ctx, id) },
			"show":  func(id string) (bool, error) { return s.ShowPost(ctx, id) },
			"pin":   func(id string) (bool, error) { return s.PinPost(ctx, id, 3) },
			"unpin": func(id string) (bool, error) { return s.UnpinPost(ctx, id) },
		}
		for name, op := range ops {
			for _, id := range []string{"nope", "", "p1' OR 1=1 --"} {
				if ch, err := op(id); !errors.Is(err, ErrUnknownPost) || ch {
					t.Errorf("%s %q = %v, %v; want ErrUnknownPost", name, id, ch, err)
				}
			}
		}
		if got := moderationOf(t, s); len(got) != 0 {
			t.Errorf("refused decisions were written: %v", got)
		}
	})
}

func TestPinLimit(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		s, _ := b.open(t)
		ctx := context.Background()
		replace(t, s, aPost("p1"), aPost("p2"), aPost("p3"), aPost("p4"), aPost("p5"))
		for _, id := range []string{"p1", "p2", "p3"} {
			if _, err := s.PinPost(ctx, id, 3); err != nil {
				t.Fatalf("pin %s: %v", id, err)
			}
		}
		if ch, err := s.PinPost(ctx, "p4", 3); !errors.Is(err, ErrTooManyPins) || ch {
			t.Fatalf("a 4th pin = %v, %v; want ErrTooManyPins", ch, err)
		}
		if ch, err := s.PinPost(ctx, "p2", 3); err != nil || ch {
			t.Errorf("pinning a pinned post at the limit = %v, %v; want no change, no error", ch, err)
		}
		if got, want := moderationOf(t, s), []string{"p3:pinned", "p2:pinned", "p1:pinned"}; !slices.Equal(got, want) {
			t.Errorf("after the refused pin: %v, want %v", got, want)
		}
		// A pinned post that is no longer cached can't be seen to unpin it: it
		// does not hold a place.
		replace(t, s, aPost("p2"), aPost("p3"), aPost("p4"), aPost("p5"))
		if _, err := s.PinPost(ctx, "p4", 3); err != nil {
			t.Errorf("pin p4 once p1 is gone: %v", err)
		}
		if _, err := s.PinPost(ctx, "p5", 3); !errors.Is(err, ErrTooManyPins) {
			t.Errorf("pin p5 with three cached pins: %v, want ErrTooManyPins", err)
		}
		if _, err := s.PinPost(ctx, "p5", 0); err != nil {
			t.Errorf("pin p5 without a limit: %v", err)
		}
	})
}

// Two tabs pinning at once can't pass the limit together: the count and
// the pin are one transaction.
func TestPinLimitHoldsUnderConcurrentPins(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		s, _ := b.open(t)
		ctx := context.Background()
		var posts []Post
		for i := range 12 {
			posts = append(posts, aPost(fmt.Sprintf("p%d", i)))
		}
		replace(t, s, posts...)
		var wg sync.WaitGroup
		var mu sync.Mutex
		pinned, refused := 0, 0
		for _, p := range posts {
			wg.Go(func() {
				_, err := s.PinPost(ctx, p.ID, 3)
				mu.Lock()
				defer mu.Unlock()
				switch {
				case err == nil:
					pinned++
				case errors.Is(err, ErrTooManyPins):
					refused++
				default:
					t.Errorf("pin %s: %v", p.ID, err)
				}
			})
		}
		wg.Wait()
		if pinned != 3 || refused != 9 || len(moderationOf(t, s)) != 3 {
			t.Errorf("%d pinned, %d refused, on record %v; want 3 and 9", pinned, refused, moderationOf(t, s))
		}
	})
}
