package app_test

import (
	"context"
	"crypto/hmac"
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"vitrine/alerts"
	"vitrine/config"
	"vitrine/store"
	"vitrine/testkit/testvitrine"
)

const (
	testPublicURL = "https://vitrine.example"
	testSecret    = "webhook-secret"
)

// hook is an httptest webhook receiver that checks every signature.
type hook struct {
	t      testing.TB
	srv    *httptest.Server
	mu     sync.Mutex
	alerts []alerts.Alert
	fail   atomic.Int32 // answer 503 to this many more requests
	hits   atomic.Int32
}

func newHook(t testing.TB) *hook {
	h := &hook{t: t}
	h.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.hits.Add(1)
		body, _ := io.ReadAll(r.Body)
		if got, want := r.Header.Get(alerts.SignatureHeader), alerts.Sign(testSecret, body); !hmac.Equal([]byte(got), []byte(want)) {
			t.Errorf("webhook signature %q, want %q", got, want)
		}
		if r.Header.Get("Content-Type") != "application/json" {
			t.Errorf("webhook content type %q", r.Header.Get("Content-Type"))
		}
		if h.fail.Load() > 0 {
			h.fail.Add(-1)
			http.Error(w, "try later", http.StatusServiceUnavailable)
			return
		}
		var a alerts.Alert
		if err := json.Unmarshal(body, &a); err != nil {
			t.Errorf("webhook body: %v", err)
		}
		var slack struct{ Text string }
		_ = json.Unmarshal(body, &slack)
		if slack.Text == "" {
			t.Error("webhook body has no Slack text")
		}
		h.mu.Lock()
		h.alerts = append(h.alerts, a)
		h.mu.Unlock()
	}))
	t.Cleanup(h.srv.Close)
	return h
}

func (h *hook) kinds() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []string
	for _, a := range h.alerts {
		out = append(out, a.Kind)
	}
	return out
}

func (h *hook) last() alerts.Alert {
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.alerts) == 0 {
		return alerts.Alert{}
	}
	return h.alerts[len(h.alerts)-1]
}

// vitrine is a Vitrine under test (testvitrine: the app built by app.New
// on the fake Instagram on loopback and a copy of a migrated database, on
// the fake's clock) with what the app's tests add: a webhook receiver for
// ops' alerts.
type vitrine struct {
	*testvitrine.Vitrine
	ctx  context.Context
	hook *hook
}

func newVitrine(t testing.TB, opts ...testvitrine.Option) *vitrine {
	t.Helper()
	hk := newHook(t)
	opts = append([]testvitrine.Option{testvitrine.Posts(6), testvitrine.SmallPictures(), testvitrine.DebugLog(),
		testvitrine.Configure(func(c *config.Config) {
			c.Server.PublicURL = testPublicURL
			c.Alerts.WebhookURL = hk.srv.URL + "/hooks/T000/B000/secretpath"
			c.Alerts.WebhookSecret = testSecret
		})}, opts...)
	return &vitrine{Vitrine: testvitrine.New(t, opts...), ctx: context.Background(), hook: hk}
}

func withClientTimeout(d time.Duration) testvitrine.Option {
	return testvitrine.Configure(func(c *config.Config) { c.Instagram.Timeout = config.Duration(d) })
}

// connect stores a freshly issued 60-day token, as admin's callback does.
func (v *vitrine) connect() string { return v.StoreToken().AccessToken }

func (v *vitrine) run(name string) error {
	v.T.Helper()
	return v.Jobs.RunNow(v.ctx, name)
}

func (v *vitrine) jobRun(name string) store.JobRun {
	v.T.Helper()
	runs, err := v.Store.JobRuns(v.ctx)
	if err != nil {
		v.T.Fatal(err)
	}
	for _, r := range runs {
		if r.Name == name {
			return r
		}
	}
	return store.JobRun{}
}

func (v *vitrine) metrics() string {
	v.T.Helper()
	rec := httptest.NewRecorder()
	v.App.Metrics.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	if rec.Code != http.StatusOK {
		v.T.Fatalf("/metrics: %d", rec.Code)
	}
	return rec.Body.String()
}

// gallery is /widget.json as this process serves it.
func (v *vitrine) gallery() (stale bool, posts int) {
	v.T.Helper()
	rec := httptest.NewRecorder()
	v.App.Gallery.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/widget.json", nil))
	var doc struct {
		Stale bool              `json:"stale"`
		Posts []json.RawMessage `json:"posts"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &doc); err != nil {
		v.T.Fatalf("/widget.json %d: %v", rec.Code, err)
	}
	return doc.Stale, len(doc.Posts)
}

func (v *vitrine) stale() bool       { s, _ := v.gallery(); return s }
func (v *vitrine) galleryPosts() int { _, n := v.gallery(); return n }

// mediaFiles lists the files under the media directory.
func (v *vitrine) mediaFiles() []string {
	v.T.Helper()
	var out []string
	err := filepath.WalkDir(v.Config.MediaDir(), func(path string, d fs.DirEntry, err error) error {
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		if err != nil || d.IsDir() {
			return err
		}
		out = append(out, path)
		return nil
	})
	if err != nil {
		v.T.Fatal(err)
	}
	return out
}
