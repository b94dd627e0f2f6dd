package store

import (
	"context"
	"testing"
)

func TestStateSetGetAndSurvivesReopen(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		path := b.New(t)
		key := newKey(t)
		s, err := Open(path, key)
		if err != nil {
			t.Fatal(err)
		}
		if v, ok, err := s.State(ctx, "jobs.sync.last_run"); err != nil || ok || v != "" {
			t.Errorf("missing key: %q, %v, %v", v, ok, err)
		}
		if err := s.SetState(ctx, "jobs.sync.last_run", "first"); err != nil {
			t.Fatal(err)
		}
		if err := s.SetState(ctx, "jobs.sync.last_run", "second"); err != nil {
			t.Fatal(err)
		}
		if err := s.SetState(ctx, "empty", ""); err != nil {
			t.Fatal(err)
		}
		if err := s.SetState(ctx, "", "x"); err == nil {
			t.Error("empty key accepted")
		}
		s.Close()

		s, err = Open(path, key)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		if v, ok, err := s.State(ctx, "jobs.sync.last_run"); err != nil || !ok || v != "second" {
			t.Errorf("after reopen: %q, %v, %v; want second", v, ok, err)
		}
		if v, ok, err := s.State(ctx, "empty"); err != nil || !ok || v != "" {
			t.Errorf("empty value: %q, %v, %v; want present and empty", v, ok, err)
		}
	})
}
