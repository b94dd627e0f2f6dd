package systemtest

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"vitrine/config"
	"vitrine/jobs"
	"vitrine/server"
	"vitrine/testkit"
	"vitrine/testkit/testvitrine"
)

// TestEveryProcessAgreesWhenTheGalleryIsStale: while Instagram fails every
// sync, /widget.json says "stale": true on the process that ran the sync,
// on another process on the same database, and on one started afterwards;
// once a sync succeeds again, all of them say false. The flag comes from
// what the store knows, not from the memory of the process that synced.
func TestEveryProcessAgreesWhenTheGalleryIsStale(t *testing.T) {
	t.Parallel()
	v := testvitrine.New(t, testvitrine.Served(), testvitrine.Posts(6), testvitrine.RealTime(), testvitrine.QuickRetries(), testvitrine.Configure(func(c *config.Config) {
		c.Widget.PollEvery = config.Duration(100 * time.Millisecond)
	}))
	v.ConnectAndSync(firstSyncPatience)
	ctx := context.Background()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	newProcess := func() *server.Vitrine {
		v, err := server.New(v.Config, log, server.Options{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { v.Close() })
		v.FollowGallery()
		return v
	}
	other := newProcess()
	if stale(t, v.Server.Handler) || stale(t, other.Handler) {
		t.Fatal("stale before any sync failed")
	}

	v.Fake.FailFor(time.Hour, http.StatusInternalServerError)
	if err := v.Jobs.RunNow(ctx, jobs.JobSync); err == nil {
		t.Fatal("the sync succeeded while Instagram answers 500")
	}
	if !stale(t, v.Server.Handler) {
		t.Error("the process that ran the failed sync does not say stale")
	}
	testkit.Eventually(t, "the other process says stale", func() bool { return stale(t, other.Handler) })
	restarted := newProcess()
	if !stale(t, restarted.Handler) {
		t.Error("a process started after the failed sync does not say stale")
	}

	v.Fake.ResetFaults()
	if err := v.Jobs.RunNow(ctx, jobs.JobSync); err != nil {
		t.Fatal(err)
	}
	if stale(t, v.Server.Handler) {
		t.Error("still stale after a good sync, on the process that ran it")
	}
	testkit.Eventually(t, "the other processes no longer say stale", func() bool {
		return !stale(t, other.Handler) && !stale(t, restarted.Handler)
	})
}

// stale is /widget.json's "stale" flag as h answers it.
func stale(t *testing.T, h http.Handler) bool {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/widget.json", nil))
	if rec.Code != http.StatusOK {
		t.Fatalf("/widget.json: %d", rec.Code)
	}
	var doc struct {
		Stale *bool `json:"stale"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &doc); err != nil || doc.Stale == nil {
		t.Fatalf("/widget.json has no stale flag (%v): %.300s", err, rec.Body.String())
	}
	return *doc.Stale
}
