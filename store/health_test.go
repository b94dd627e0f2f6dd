package store

import (
	"context"
	"testing"
	"time"
)

// Health is up from Open; a check that finds the database gone records
// since when, with the driver's error, and later checks keep that start.
func TestHealthRecordsWhenTheDatabaseStoppedAnswering(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 3, 0, 0, time.UTC)
	s, _ := openTest(t, WithClock(func() time.Time { return now }))
	if h := s.Health(); !h.Up || !h.Since.Equal(now) {
		t.Fatalf("Health after Open: %+v", h)
	}
	if h := s.CheckHealth(context.Background()); !h.Up {
		t.Fatalf("CheckHealth on an open store: %+v", h)
	}
	sqlDB, err := s.db.DB()
	if err != nil {
		t.Fatal(err)
	}
	sqlDB.Close() // the database no longer answers
	now = now.Add(time.Minute)
	down := s.CheckHealth(context.Background())
	if down.Up || !down.Since.Equal(now) || down.LastError == "" {
		t.Fatalf("CheckHealth once the database is gone: %+v", down)
	}
	now = now.Add(time.Minute)
	if h := s.CheckHealth(context.Background()); h.Up || !h.Since.Equal(down.Since) || !h.CheckedAt.Equal(now) {
		t.Fatalf("a second failed check moved the outage's start: %+v", h)
	}
	if h := s.Health(); h.Up || !h.Since.Equal(down.Since) {
		t.Fatalf("Health after the checks: %+v", h)
	}
}
