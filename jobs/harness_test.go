package jobs

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"vitrine/instagram/fake"
	"vitrine/store"
	"vitrine/testkit"
	"vitrine/testkit/teststore"
)

var testStart = time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)

// harness is a scheduler with no tasks of its own over a temp-file store,
// on a simulated clock: the tests register the tasks they need. The
// app's schedule table is tested with the app.
type harness struct {
	t     testing.TB
	ctx   context.Context
	clock *fake.Clock
	st    *store.Store
	logs  *testkit.LogBuffer
	s     *Scheduler
}

func newHarness(t testing.TB) *harness {
	t.Helper()
	h := &harness{t: t, ctx: context.Background(), clock: fake.NewClock(testStart), logs: testkit.NewLogBuffer()}
	key := make([]byte, store.KeySize)
	h.st = teststore.Open(t, teststore.SQLite(t), key, store.WithClock(h.clock.Now))
	h.s = h.newScheduler()
	return h
}

// newScheduler is a scheduler on h's store, as a restarted process has.
func (h *harness) newScheduler() *Scheduler {
	h.t.Helper()
	log := slog.New(slog.NewTextHandler(h.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	s, err := New(Options{Runs: h.st, Logger: log, Now: h.clock.Now,
		// As the server has it on SQLite: through the leases, always held.
		Leases: h.st, Holder: "local"})
	if err != nil {
		h.t.Fatal(err)
	}
	return s
}
