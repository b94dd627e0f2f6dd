package app_test

import (
	"errors"
	"net/http"
	"strings"
	"testing"

	"vitrine/app"
	"vitrine/connection"
	"vitrine/jobs"
	"vitrine/moderation"
	"vitrine/store"
	"vitrine/testkit/testvitrine"
)

func TestNewRejectsBadSchedule(t *testing.T) {
	v := newVitrine(t)
	cfg := v.Config
	cfg.Jobs.Sync = "every quarter hour"
	cfg.DataDir = t.TempDir()
	if a, err := app.New(cfg, nil, app.Options{}); err == nil || !strings.Contains(err.Error(), "sync") {
		if a != nil {
			a.Close()
		}
		t.Errorf("New with a bad schedule: %v", err)
	}
}

func TestMetricsExposition(t *testing.T) {
	v := newVitrine(t, testvitrine.Posts(5))
	m := v.metrics()
	if !strings.Contains(m, "vitrine_token_valid 0") || !strings.Contains(m, "vitrine_posts_cached 0") {
		t.Errorf("before connecting:\n%s", grepMetrics(m))
	}
	v.connect()
	if err := v.run(jobs.JobSync); err != nil {
		t.Fatal(err)
	}
	m = v.metrics()
	for _, want := range []string{
		"vitrine_token_valid 1",
		"vitrine_posts_cached 5",
		"vitrine_token_expiry_timestamp_seconds",
		`vitrine_last_success_timestamp_seconds{job="sync"}`,
		"vitrine_sync_duration_seconds_count 1",
		`vitrine_upstream_errors_total{kind="token_invalid"} 0`,
		`vitrine_alerts_sent_total{channel="webhook"} 0`,
		"go_goroutines",
	} {
		if !strings.Contains(m, want) {
			t.Errorf("metrics lack %q:\n%s", want, grepMetrics(m))
		}
	}
	v.Fake.RevokeTokens()
	_ = v.run(jobs.JobValidate)
	if m := v.metrics(); !strings.Contains(m, "vitrine_token_valid 0") || !strings.Contains(m, `vitrine_upstream_errors_total{kind="token_invalid"} 1`) {
		t.Errorf("after revoke:\n%s", grepMetrics(m))
	}
}

func grepMetrics(m string) string {
	var out []string
	for _, l := range strings.Split(m, "\n") {
		if strings.HasPrefix(l, "vitrine_") {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// A failed sync makes this process's gallery stale at once (the others
// follow the store); nothing connected is waiting, not a failure, and a
// later success clears it.
func TestSyncFailureMakesTheGalleryStale(t *testing.T) {
	v := newVitrine(t)
	if err := v.run(jobs.JobSync); !errors.Is(err, connection.ErrNotConnected) {
		t.Fatalf("sync without token: %v", err)
	}
	if r := v.jobRun(jobs.JobSync); !r.Waiting || r.Failures != 0 || !r.NotBefore.IsZero() {
		t.Errorf("sync without token recorded as %+v, want waiting", r)
	}
	if v.stale() {
		t.Fatal("stale with nothing connected")
	}
	v.connect()
	v.Fake.FailNext(100, http.StatusInternalServerError)
	if err := v.run(jobs.JobSync); err == nil {
		t.Fatal("sync succeeded against a failing Instagram")
	}
	if !v.stale() {
		t.Fatal("not stale after a failed sync")
	}
	v.Fake.ResetFaults()
	if err := v.run(jobs.JobSync); err != nil {
		t.Fatalf("sync after recovery: %v", err)
	}
	if v.stale() {
		t.Error("still stale after a good sync")
	}
}

// TestDisconnectRemovesWhatTheTokenServed: after Disconnect no cached post
// or mirrored file is left, the gallery shows none, and the log says so.
// A failing clean-up is reported, with the token already gone.
func TestDisconnectRemovesWhatTheTokenServed(t *testing.T) {
	v := newVitrine(t, testvitrine.Posts(3))
	v.connect()
	if err := v.run(jobs.JobSync); err != nil {
		t.Fatal(err)
	}
	if n, _ := v.Store.PostCount(v.ctx); n != 3 || v.galleryPosts() != 3 {
		t.Fatalf("before disconnecting: %d posts cached, %d in the gallery", n, v.galleryPosts())
	}
	who, err := v.App.Disconnect(v.ctx)
	if err != nil || who != v.Fake.Account().Username {
		t.Fatalf("Disconnect = %q, %v", who, err)
	}
	if n, _ := v.Store.PostCount(v.ctx); n != 0 || v.galleryPosts() != 0 {
		t.Errorf("after disconnecting: %d posts cached, %d in the gallery", n, v.galleryPosts())
	}
	if ims, _ := v.Store.Images(v.ctx); len(ims) != 0 {
		t.Errorf("after disconnecting: %d image records", len(ims))
	}
	if files := v.mediaFiles(); len(files) != 0 {
		t.Errorf("after disconnecting, files remain: %v", files)
	}
	evs, _ := v.Store.Events(v.ctx, 1)
	if len(evs) != 1 || evs[0].Kind != "disconnected" || !strings.Contains(evs[0].Message, "@"+who) {
		t.Errorf("last event %+v", evs)
	}
}

// TestModerateShowsAtOnce: a hidden post leaves the gallery before
// Moderate returns, a pinned one comes first, and the pin limit holds.
func TestModerateShowsAtOnce(t *testing.T) {
	v := newVitrine(t, testvitrine.Posts(5))
	v.connect()
	if err := v.run(jobs.JobSync); err != nil {
		t.Fatal(err)
	}
	posts, err := v.Store.Posts(v.ctx, 0)
	if err != nil || len(posts) != 5 {
		t.Fatalf("posts %d, %v", len(posts), err)
	}
	if changed, err := v.App.Moderate(v.ctx, posts[0].ID, moderation.Hide); !changed || err != nil {
		t.Fatalf("hide = %v, %v", changed, err)
	}
	if n := v.galleryPosts(); n != 4 {
		t.Errorf("after hiding one of 5 posts the gallery shows %d", n)
	}
	if changed, err := v.App.Moderate(v.ctx, posts[0].ID, moderation.Hide); changed || err != nil {
		t.Errorf("hiding again = %v, %v; want no change", changed, err)
	}
	for i, p := range posts[1:] {
		changed, err := v.App.Moderate(v.ctx, p.ID, moderation.Pin)
		if i < moderation.MaxPinned && (!changed || err != nil) {
			t.Fatalf("pin %d = %v, %v", i, changed, err)
		}
		if i >= moderation.MaxPinned && !errors.Is(err, store.ErrTooManyPins) {
			t.Errorf("pin %d past the limit = %v, %v", i, changed, err)
		}
	}
	if _, err := v.App.Moderate(v.ctx, posts[1].ID, "promote"); err == nil {
		t.Error("an unknown action was accepted")
	}
}
