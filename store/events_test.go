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
