package store

import (
	"context"
	"fmt"
	"testing"
	"time"
)

func TestEventsNewestFirst(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		c := newClock()
		s, _ := b.open(t, WithClock(c.Now))
		for i, level := range []string{LevelInfo, LevelWarn, LevelError} {
			if err := s.AddEvent(ctx, "sync", level, fmt.Sprintf("event %d", i)); err != nil {
				t.Fatal(err)
			}
			c.Advance(time.Minute)
		}
		all, err := s.Events(ctx, 0)
		if err != nil {
			t.Fatal(err)
		}
		if len(all) != 3 {
			t.Fatalf("got %d events, want 3", len(all))
		}
		start := newClock().Now()
		for i, e := range all {
			n := 2 - i
			if e.Message != fmt.Sprintf("event %d", n) || e.Kind != "sync" || !e.At.Equal(start.Add(time.Duration(n)*time.Minute)) {
				t.Errorf("event %d = %+v", i, e)
			}
		}
		if all[0].Level != LevelError || all[2].Level != LevelInfo {
			t.Errorf("levels = %s..%s", all[0].Level, all[2].Level)
		}
		two, err := s.Events(ctx, 2)
		if err != nil || len(two) != 2 || two[0].ID != all[0].ID {
			t.Errorf("Events(2) = %+v, %v", two, err)
		}
	})
}

func TestAddEventRejectsUnknownLevel(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		s, _ := b.open(t)
		if err := s.AddEvent(context.Background(), "sync", "debug", "x"); err == nil {
			t.Error("level debug accepted")
		}
	})
}

func TestAddEventPrunesOldest(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		s, _ := b.open(t)
		s.maxEvents = 3
		for i := range 5 {
			if err := s.AddEvent(ctx, "k", LevelInfo, fmt.Sprint(i)); err != nil {
				t.Fatal(err)
			}
		}
		events, err := s.Events(ctx, 0)
		if err != nil {
			t.Fatal(err)
		}
		if len(events) != 3 || events[0].Message != "4" || events[2].Message != "2" {
			t.Errorf("events = %+v, want the newest three", events)
		}
	})
}

// Deleting an account's data reaches the audit log: entries that name it
// or quote its posts are rewritten, the rest stay as they were.
func TestAnonymiseEvents(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		c := newClock()
		s, _ := b.open(t, WithClock(c.Now))
		const gone = "(details removed)"
		entries := []struct {
			kind, msg string
			named     bool
		}{
			{"connected", "Connected @Ana.Pottery (Business account); the token expires 23 January 2027", true},
			{"sync", "Synced 3 posts (3 new, 0 changed, 0 removed); images: 3 mirrored now, 3 in all.", false},
			{"moderation", "Hid post 18000000000000001 (“Spring glaze test, straight from the…”).", true},
			{"moderation", "Pinned post 18000000000000999.", true}, // a post no longer cached
			{"note", "Quoted: spring   glaze\ntest, straight from the kiln", true},
			{"note", "Child 18000000000000002 failed to mirror", true},
			{"note", "See https://www.instagram.com/p/CyoR2foxUDR/", true},
			{"note", "Meta user 17841405793187218 asked", true},
			{"login", "Admin signed in from 192.0.2.7", false},
			{"connected", "Connected @someone.else (Creator account)", false},
			{"note", "hi there, said nobody", false}, // the short caption "Hi" is no quote
			{"disconnected", "Disconnected @ana.pottery; the token, the cached posts and the mirrored images were deleted", true},
		}
		for _, e := range entries {
			if err := s.AddEvent(ctx, e.kind, LevelWarn, e.msg); err != nil {
				t.Fatal(err)
			}
			c.Advance(time.Minute)
		}
		before, err := s.Events(ctx, 0)
		if err != nil {
			t.Fatal(err)
		}
		m := AccountMentions{
			UserID: "17841405793187218", Username: "ana.pottery", Kinds: []string{"moderation"},
			Posts: []Post{
				{ID: "18000000000000001", Caption: "Spring glaze test,\nstraight from the kiln. #ceramics", Permalink: "https://www.instagram.com/p/CyoR2foxUDR/",
					Children: []Child{{ID: "18000000000000002"}}},
				{ID: "18000000000000003", Caption: "Hi"},
			},
		}
		n, err := s.AnonymiseEvents(ctx, m, gone)
		if err != nil {
			t.Fatal(err)
		}
		want := 0
		for _, e := range entries {
			if e.named {
				want++
			}
		}
		if n != want {
			t.Errorf("AnonymiseEvents changed %d entries, want %d", n, want)
		}
		after, err := s.Events(ctx, 0)
		if err != nil || len(after) != len(before) {
			t.Fatalf("events after: %d, %v; want %d", len(after), err, len(before))
		}
		for i, e := range after {
			src := entries[len(entries)-1-i]
			wantMsg := src.msg
			if src.named {
				wantMsg = gone
			}
			if e.Message != wantMsg {
				t.Errorf("%s entry %q became %q", src.kind, src.msg, e.Message)
			}
			if b := before[i]; e.ID != b.ID || !e.At.Equal(b.At) || e.Kind != b.Kind || e.Level != b.Level {
				t.Errorf("entry changed more than its message: %+v, was %+v", e, b)
			}
		}
		// Again: nothing left to change.
		if n, err := s.AnonymiseEvents(ctx, m, gone); err != nil || n != 0 {
			t.Errorf("second AnonymiseEvents = %d, %v; want 0", n, err)
		}
		if _, err := s.AnonymiseEvents(ctx, m, " "); err == nil {
			t.Error("an empty replacement was accepted")
		}
	})
}
