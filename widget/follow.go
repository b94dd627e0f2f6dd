package widget

import (
	"context"
	"time"
)

// followRebuildTimeout bounds one rebuild Follow starts; a rebuild takes
// tens of milliseconds, so this only matters when the database hangs.
const followRebuildTimeout = 30 * time.Second

// Follow keeps the snapshot up to date with changes made by other
// processes on the same database: every interval it reads the Source's
// generation, one small query, and rebuilds when it differs from the one
// the current snapshot was built from. Changes made in this process are
// rebuilt at once by their callers (Rebuild), which also moves the number
// Follow compares, so it does not rebuild them a second time. It returns
// when ctx is done. A failing database is logged when it starts failing
// and when it recovers, not at every interval.
func (w *Widget) Follow(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	failing := false
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		err := w.CatchUp(ctx)
		switch {
		case ctx.Err() != nil:
			return
		case err != nil && !failing:
			w.log.Warn("widget: cannot follow the gallery's changes; serving the last good snapshot", "err", err)
		case err == nil && failing:
			w.log.Info("widget: following the gallery's changes again")
		}
		failing = err != nil
	}
}

// CatchUp rebuilds when the Source's generation moved: what Follow does at
// each interval, for a caller that knows the store just changed.
func (w *Widget) CatchUp(ctx context.Context) error {
	gen, err := w.src.Generation(ctx)
	if err != nil || gen == w.generation.Load() {
		return err
	}
	// Not cancelled with ctx: a rebuild cut short by shutdown would mark
	// the gallery stale for the requests still being answered.
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), followRebuildTimeout)
	defer cancel()
	w.mu.Lock()
	defer w.mu.Unlock()
	if gen == w.generation.Load() { // a local Rebuild got there first
		return nil
	}
	return w.rebuild(rctx)
}
