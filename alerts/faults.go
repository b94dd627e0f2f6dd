package alerts

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"time"

	"vitrine/config"
	"vitrine/store"
)

// Alert kinds of the machine's faults: the database unreachable for
// longer than alerts.database_after, and the disk under the data or media
// directory full or nearly full. Each has its alert, reminders every
// alerts.remind_every, and "resolved".
const (
	AlertDatabaseDown     = "database_unreachable"
	AlertDatabaseReminder = "database_reminder"
	AlertDatabaseResolved = "database_resolved"
	AlertDiskFull         = "disk_full"
	AlertDiskReminder     = "disk_reminder"
	AlertDiskResolved     = "disk_resolved"
)

// diskStateKey keeps what ops were told about the disk in the store's
// key/value state, so a restart neither repeats the alert nor forgets to
// resolve it.
const diskStateKey = "alerts.disk"

// faultState is what ops were last told about one fault.
type faultState struct {
	Open      bool      `json:"open"`
	Detail    string    `json:"detail,omitempty"` // the words of the alert that went out
	Since     time.Time `json:"since,omitzero"`
	LastSent  time.Time `json:"last_sent,omitzero"`
	Reminders int       `json:"reminders,omitempty"`
}

// faults is the state of the database and disk alerts. The database's is
// kept in memory only: it is needed exactly while the database can't
// store it (a restart during an outage alerts again, once the outage has
// lasted alerts.database_after for the new process). The disk's is also
// saved in the store, best effort: an SQLite file on the full disk may
// refuse it, and the memory copy goes on meanwhile.
type faults struct {
	mu         sync.Mutex
	database   faultState
	disk       faultState
	diskLoaded bool
}

// Database compares the database's health with what ops were told: an
// alert once it has been unreachable for alerts.database_after, reminders
// every alerts.remind_every while it stays so, and "resolved" at the first
// check that finds it back. Each process watches its own connection; with
// replicas, only the one that runs the jobs should call it, so ops hear of
// one outage once.
func (al *Alerter) Database(ctx context.Context, h store.Health) {
	ctx = context.WithoutCancel(ctx)
	al.faults.mu.Lock()
	defer al.faults.mu.Unlock()
	st, now := &al.faults.database, al.now()
	after := al.cfg.DatabaseAfter.Std()
	switch {
	case !h.Up && !st.Open && now.Sub(h.Since) >= after:
		a := al.faultAlert(AlertDatabaseDown, h.Since, h.LastError, now)
		if al.send(ctx, a) {
			*st = faultState{Open: true, Detail: h.LastError, Since: h.Since, LastSent: now}
		}
	case !h.Up && st.Open && now.Sub(st.LastSent) >= al.remindEvery():
		if al.send(ctx, al.faultAlert(AlertDatabaseReminder, st.Since, h.LastError, now)) {
			st.LastSent = now
			st.Reminders++
		}
	case h.Up && st.Open:
		al.send(ctx, al.faultAlert(AlertDatabaseResolved, st.Since, "", now)) // best effort, as the token's
		*st = faultState{}
	}
}

// Disk is what the alerts need to know about the disk: full is true when
// the latest sync found it full, or when less than DiskLowFraction of it
// is free; Detail words it for ops ("data directory full: 27 images not
// mirrored", "media directory nearly full: 3.0% free (…)").
type Disk struct {
	Full   bool
	Detail string
}

// DiskLowFraction is the share of free space under which the data or
// media directory's disk counts as nearly full.
const DiskLowFraction = 0.05

// Disk compares the disk with what ops were told: the alert once per
// change to full, reminders every alerts.remind_every, "resolved" when
// there is room again.
func (al *Alerter) Disk(ctx context.Context, d Disk) {
	ctx = context.WithoutCancel(ctx)
	al.faults.mu.Lock()
	defer al.faults.mu.Unlock()
	if !al.faults.diskLoaded {
		al.faults.diskLoaded = true
		if v, ok, err := al.st.State(ctx, diskStateKey); err != nil {
			al.log.Warn("alerts: read the disk alert's state", "err", err)
		} else if ok {
			if err := json.Unmarshal([]byte(v), &al.faults.disk); err != nil {
				al.log.Warn("alerts: unreadable disk alert state, starting afresh", "err", err)
			}
		}
	}
	st, now := &al.faults.disk, al.now()
	before := *st
	switch {
	case d.Full && !st.Open:
		if al.send(ctx, al.faultAlert(AlertDiskFull, now, d.Detail, now)) {
			*st = faultState{Open: true, Detail: d.Detail, Since: now, LastSent: now}
		}
	case d.Full && now.Sub(st.LastSent) >= al.remindEvery():
		if al.send(ctx, al.faultAlert(AlertDiskReminder, st.Since, d.Detail, now)) {
			st.LastSent = now
			st.Reminders++
		}
	case !d.Full && st.Open:
		al.send(ctx, al.faultAlert(AlertDiskResolved, st.Since, st.Detail, now))
		*st = faultState{}
	}
	if *st != before {
		b, _ := json.Marshal(st) // cannot fail: plain fields
		if err := al.st.SetState(ctx, diskStateKey, string(b)); err != nil {
			al.log.Warn("alerts: save the disk alert's state (kept in memory)", "err", err)
		}
	}
}

func (al *Alerter) remindEvery() time.Duration {
	if r := al.cfg.RemindEvery.Std(); r > 0 {
		return r
	}
	return config.Default().Alerts.RemindEvery.Std()
}

// faultAlert words one alert about the database or the disk; detail is
// the driver's error or the disk's state.
func (al *Alerter) faultAlert(kind string, since time.Time, detail string, now time.Time) Alert {
	a := Alert{Kind: kind, Cause: detail, AdminURL: al.adminURL(), At: now}
	at := since.UTC().Format("2006-01-02 15:04 MST")
	switch kind {
	case AlertDatabaseDown:
		a.Subject = "Vitrine: the database is unreachable"
		a.Text = fmt.Sprintf("Vitrine cannot reach its database since %s (%s). The public gallery keeps serving the last posts from memory; "+
			"the admin, syncs and token refreshes wait until it is back.", at, orWords(detail, "no answer"))
	case AlertDatabaseReminder:
		a.Subject = "Vitrine reminder: the database is still unreachable"
		a.Text = fmt.Sprintf("Reminder: Vitrine's database is unreachable since %s (%s). The public gallery keeps serving from memory.",
			at, orWords(detail, "no answer"))
	case AlertDatabaseResolved:
		a.Subject = "Vitrine: the database is reachable again (resolved)"
		a.Text = fmt.Sprintf("Resolved: Vitrine reaches its database again (unreachable since %s). %s", at, a.AdminURL)
	case AlertDiskFull:
		a.Subject = "Vitrine: " + detail
		a.Text = fmt.Sprintf("The disk of Vitrine's data directory is full or nearly full: %s. The gallery keeps serving what it has; "+
			"new images are not mirrored until there is room, then the next sync mirrors them. %s", detail, a.AdminURL)
	case AlertDiskReminder:
		a.Subject = "Vitrine reminder: " + detail
		a.Text = fmt.Sprintf("Reminder: the disk of Vitrine's data directory is full since %s: %s. %s", at, detail, a.AdminURL)
	case AlertDiskResolved:
		a.Subject = "Vitrine: data directory has room again (resolved)"
		a.Text = fmt.Sprintf("Resolved: the disk of Vitrine's data directory has room again (full since %s). The next sync mirrors what was missing. %s",
			at, a.AdminURL)
	}
	return a
}
