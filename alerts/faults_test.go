package alerts

import (
	"strings"
	"testing"
	"time"

	"vitrine/config"
	"vitrine/store"
)

// The database's alert goes out once it has been away for
// alerts.database_after, once; reminders follow every remind_every, and
// "resolved" at the first check that finds it back. Its state is in
// memory: nothing about it is written to the store it is about.
func TestDatabaseAlertOnceAfterTheDelayThenResolved(t *testing.T) {
	h := newHarness(t, func(o *Options) { o.Settings.DatabaseAfter = config.Duration(2 * time.Minute) })
	down := store.Health{Up: false, Since: h.now(), LastError: "store: ping: connection refused"}
	h.al.Database(h.ctx, down)
	h.advance(119 * time.Second)
	h.al.Database(h.ctx, down)
	if k := h.hook.kinds(); len(k) != 0 {
		t.Fatalf("alerts before database_after: %v", k)
	}
	h.advance(time.Second)
	h.al.Database(h.ctx, down)
	h.advance(time.Hour)
	h.al.Database(h.ctx, down)
	if k := h.hook.kinds(); len(k) != 1 || k[0] != AlertDatabaseDown {
		t.Fatalf("alerts: %v, want one %s", k, AlertDatabaseDown)
	}
	if a := h.hook.last(); !strings.Contains(a.Text, "public gallery keeps serving") || !strings.Contains(a.Text, "connection refused") {
		t.Fatalf("the alert's words: %q", a.Text)
	}
	h.advance(24 * time.Hour)
	h.al.Database(h.ctx, down)
	h.al.Database(h.ctx, store.Health{Up: true, Since: h.now()})
	h.al.Database(h.ctx, store.Health{Up: true, Since: h.now()})
	want := []string{AlertDatabaseDown, AlertDatabaseReminder, AlertDatabaseResolved}
	if k := h.hook.kinds(); strings.Join(k, " ") != strings.Join(want, " ") {
		t.Fatalf("alerts: %v, want %v", k, want)
	}
	if _, ok, err := h.st.State(h.ctx, diskStateKey); err != nil || ok {
		t.Fatalf("the database's alert wrote state (%v, %v)", ok, err)
	}
}

// An outage shorter than alerts.database_after is not news.
func TestShortDatabaseOutageIsNotAlerted(t *testing.T) {
	h := newHarness(t, func(o *Options) { o.Settings.DatabaseAfter = config.Duration(2 * time.Minute) })
	h.al.Database(h.ctx, store.Health{Up: false, Since: h.now()})
	h.advance(20 * time.Second)
	h.al.Database(h.ctx, store.Health{Up: true, Since: h.now()})
	if k := h.hook.kinds(); len(k) != 0 {
		t.Fatalf("alerts for a 20 s outage: %v", k)
	}
}

// The disk's alert goes once per change and is remembered in the store:
// another Alerter on the same store (a restart) sends nothing again, and
// resolves it when there is room.
func TestDiskAlertOncePerChangeAcrossRestarts(t *testing.T) {
	h := newHarness(t)
	full := Disk{Full: true, Detail: "data directory full: 27 images not mirrored"}
	h.al.Disk(h.ctx, full)
	h.al.Disk(h.ctx, full)
	again, err := New(Options{Settings: h.al.cfg, PublicURL: testPublicURL, Store: h.st, Connection: h, Now: h.now,
		Logger: h.al.log, WebhookBackoff: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	again.Disk(h.ctx, full)
	if k := h.hook.kinds(); len(k) != 1 || k[0] != AlertDiskFull || !strings.Contains(h.hook.last().Subject, "27 images not mirrored") {
		t.Fatalf("alerts: %v (%q), want one %s", k, h.hook.last().Subject, AlertDiskFull)
	}
	again.Disk(h.ctx, Disk{})
	again.Disk(h.ctx, Disk{})
	if k := h.hook.kinds(); len(k) != 2 || k[1] != AlertDiskResolved {
		t.Fatalf("alerts: %v, want %s then %s", k, AlertDiskFull, AlertDiskResolved)
	}
}
