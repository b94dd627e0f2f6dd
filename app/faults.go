package app

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"vitrine/alerts"
	"vitrine/feed"
	"vitrine/mediadir"
	"vitrine/metrics"
	"vitrine/store"
)

// faultCheckEvery is how often a started app checks the database and the
// disk: the unit alerts.database_after is counted in.
const faultCheckEvery = 10 * time.Second

// faultWatch is what the app remembers between checks of the machine's
// faults.
type faultWatch struct {
	mu sync.Mutex
	// watcher: this process tells ops about the database and the disk.
	// It is decided while the database answers (the process holding the
	// jobs lease, or any when nobody holds it) and kept while it does
	// not, when nobody can take the lease over.
	watcher bool
	decided bool
	// wasDown is the outage the latest check found, if any, so its end
	// goes to the activity log once.
	wasDown store.Health
	// noSpace words the latest sync's full disk ("data directory full:
	// 27 images not mirrored"), "" once a sync mirrored without finding
	// it full.
	noSpace string
}

// CheckFaults checks the database and the disk and tells ops what
// changed (alerts.Database, alerts.Disk). Start runs it every
// faultCheckEvery; tests call it after moving the clock.
func (a *App) CheckFaults(ctx context.Context) {
	h := a.Store.CheckHealth(ctx)
	w := &a.faults
	w.mu.Lock()
	if h.Up {
		_, mine, held, err := a.Jobs.LeaseStatus(ctx)
		if err == nil {
			w.watcher, w.decided = mine || !held, true
		}
	}
	watcher := w.watcher || !w.decided
	down := w.wasDown
	if h.Up {
		w.wasDown = store.Health{}
	} else {
		w.wasDown = h
	}
	noSpace := w.noSpace
	w.mu.Unlock()

	if !h.Up && down.Since.IsZero() {
		a.Log.Error("app: the database is unreachable; the gallery keeps serving from memory", "err", h.LastError)
	}
	if !watcher {
		return
	}
	if h.Up && !down.Since.IsZero() {
		a.Log.Info("app: the database answers again", "down_since", down.Since)
		a.event(ctx, "database", store.LevelWarn, fmt.Sprintf("The database was unreachable from %s to %s: %s. The gallery kept serving from memory.",
			down.Since.UTC().Format("2006-01-02 15:04:05 MST"), h.Since.UTC().Format("15:04:05 MST"), down.LastError))
	}
	a.Alerts.Database(ctx, h)
	if h.Up { // the disk's alert keeps its state in the database
		a.Alerts.Disk(ctx, a.diskState(noSpace))
	}
}

// diskState is the disk as the alert sees it: full when the latest sync
// found it so, or when less than alerts.DiskLowFraction of the data or
// media directory's file system is free.
func (a *App) diskState(noSpace string) alerts.Disk {
	if noSpace != "" {
		return alerts.Disk{Full: true, Detail: noSpace}
	}
	for _, d := range a.Disks() {
		if d.Total > 0 && float64(d.Free) < alerts.DiskLowFraction*float64(d.Total) {
			return alerts.Disk{Full: true, Detail: fmt.Sprintf("%s directory nearly full: %.1f%% free (%s of %s)",
				d.Dir, 100*float64(d.Free)/float64(d.Total), bytesWords(d.Free), bytesWords(d.Total))}
		}
	}
	return alerts.Disk{}
}

// Disks are the free and total bytes of the data directory's file system
// and the media directory's (the same when one holds the other).
func (a *App) Disks() []metrics.Disk {
	var ds []metrics.Disk
	for _, d := range []struct{ label, dir string }{{"data", a.Config.DataDir}, {"media", a.Config.MediaDir()}} {
		if free, total, err := mediadir.Space(d.dir); err == nil { // a media directory not made yet has no space to tell
			ds = append(ds, metrics.Disk{Dir: d.label, Free: free, Total: total})
		}
	}
	return ds
}

// afterSync remembers whether a sync found the disk full and tells ops of
// a change at once, within the sync that found it.
func (a *App) afterSync(ctx context.Context, err error) {
	var full *feed.NoSpaceError
	a.faults.mu.Lock()
	switch {
	case errors.As(err, &full):
		a.faults.noSpace = feed.ErrNoSpace.Error() + ": " + full.NotMirrored()
	case err == nil:
		a.faults.noSpace = ""
	default:
		a.faults.mu.Unlock()
		return // another failure says nothing about the disk
	}
	noSpace := a.faults.noSpace
	a.faults.mu.Unlock()
	a.Alerts.Disk(ctx, a.diskState(noSpace))
}

// watchFaults runs CheckFaults every faultCheckEvery until ctx ends.
func (a *App) watchFaults(ctx context.Context) {
	t := time.NewTicker(faultCheckEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			a.CheckFaults(ctx)
		}
	}
}

func bytesWords(n uint64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	default:
		return fmt.Sprintf("%d KiB", n>>10)
	}
}
