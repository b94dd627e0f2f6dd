package app

import (
	"context"
	"crypto/hmac"
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"vitrine/alerts"
	"vitrine/config"
	"vitrine/instagram/fake"
	"vitrine/jobs"
	"vitrine/store"
	"vitrine/testkit"
	"vitrine/testkit/testfake"
	"vitrine/testkit/teststore"
)

var testStart = time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)

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

// harness is one App on the fake Instagram on loopback, a temp-file
// store and a webhook receiver, all on the fake's clock. Its short names
// are the app's parts.
type harness struct {
	t     testing.TB
	ctx   context.Context
	f     *fake.Fake
	clock *fake.Clock
	srv   *httptest.Server
	cfg   *config.Config
	hook  *hook
	logs  *testkit.LogBuffer

	a  *App
	st *store.Store
	s  *jobs.Scheduler

	blockCDN atomic.Value // string: CDN paths containing it answer 404

	mu     sync.Mutex
	tokens []string
}

type harnessOpt func(*harness, *fake.Options, *config.Config)

func withPosts(n int) harnessOpt {
	return func(_ *harness, o *fake.Options, _ *config.Config) { o.Posts = n }
}

func withClientTimeout(d time.Duration) harnessOpt {
	return func(_ *harness, _ *fake.Options, c *config.Config) { c.Instagram.Timeout = config.Duration(d) }
}

func newHarness(t testing.TB, opts ...harnessOpt) *harness {
	t.Helper()
	h := &harness{t: t, ctx: context.Background(), clock: fake.NewClock(testStart), logs: testkit.NewLogBuffer()}
	h.blockCDN.Store("")
	fo := fake.Options{Clock: h.clock, Posts: 6}
	h.hook = newHook(t)
	cfg := config.Default()
	cfg.DataDir = tempDir(t)
	cfg.Server.PublicURL = testPublicURL
	cfg.Alerts.WebhookURL = h.hook.srv.URL + "/hooks/T000/B000/secretpath"
	cfg.Alerts.WebhookSecret = testSecret
	cfg.Instagram.Timeout = config.Duration(5 * time.Second)
	for _, o := range opts {
		o(h, &fo, &cfg)
	}
	h.f = fake.New(fo)
	testfake.SmallPictures(h.f) // the pictures are not the subject here
	h.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if b := h.blockCDN.Load().(string); b != "" && strings.Contains(r.URL.Path, "/cdn/") && strings.Contains(r.URL.Path, b) {
			http.Error(w, "Not Found", http.StatusNotFound)
			return
		}
		h.f.ServeHTTP(w, r)
	}))
	t.Cleanup(h.srv.Close)
	ep := h.f.Endpoints(h.srv.URL)
	cfg.Instagram.ClientID, cfg.Instagram.ClientSecret = h.f.ClientID(), h.f.ClientSecret()
	cfg.Instagram.AuthURL, cfg.Instagram.TokenURL, cfg.Instagram.GraphURL = ep.AuthURL, ep.TokenURL, ep.GraphURL
	cfg.Instagram.MediaHosts = []string{ep.MediaHost}
	h.cfg = &cfg
	teststore.SQLiteAt(t, cfg.DatabasePath())
	h.restart()
	t.Cleanup(h.assertNoTokenInLogs)
	return h
}

// tempDir is a fresh directory, on tmpfs when there is one: the simulated
// months mirror many images and the mirror fsyncs each file, which a disk
// makes slow and a RAM disk makes free. (The database is a migrated copy
// opened without fsync, teststore.)
func tempDir(t testing.TB) string {
	t.Helper()
	if fi, err := os.Stat("/dev/shm"); err == nil && fi.IsDir() {
		if dir, err := os.MkdirTemp("/dev/shm", "vitrine-app-test-"); err == nil {
			t.Cleanup(func() { os.RemoveAll(dir) })
			return dir
		}
	}
	return t.TempDir()
}

// restart builds the app anew from h.cfg on the same data directory, as a
// restarted process does; the previous one is closed.
func (h *harness) restart() {
	h.t.Helper()
	if h.a != nil {
		h.a.Close()
	}
	log := slog.New(slog.NewTextHandler(h.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	a, err := New(*h.cfg, log, Options{Now: h.clock.Now, StoreOptions: teststore.Options(),
		InstagramBackoff: time.Millisecond, DownloadsPerSecond: 1000, WebhookBackoff: time.Millisecond})
	if err != nil {
		h.t.Fatal(err)
	}
	h.t.Cleanup(func() { a.Close() })
	h.a, h.st, h.s = a, a.Store, a.Jobs
}

// afterConnect runs what follows a saved token (Connect's background
// part), and waits for it.
func (h *harness) afterConnect() { h.a.afterConnect(h.ctx) }

// connect stores a freshly issued 60-day token, as admin's callback does.
func (h *harness) connect() string {
	h.t.Helper()
	tok := h.f.IssueLongLivedToken()
	h.mu.Lock()
	h.tokens = append(h.tokens, tok)
	h.mu.Unlock()
	now := h.clock.Now()
	a := h.f.Account()
	err := h.st.SaveToken(h.ctx, store.Token{
		AccessToken: tok, UserID: a.UserID, Username: a.Username, AccountType: a.AccountType,
		IssuedAt: now, ExpiresAt: now.Add(60 * 24 * time.Hour),
	})
	if err != nil {
		h.t.Fatal(err)
	}
	return tok
}

func (h *harness) token() store.Token {
	h.t.Helper()
	tok, err := h.st.Token(h.ctx)
	if err != nil {
		h.t.Fatal(err)
	}
	return tok
}

func (h *harness) run(name string) error {
	h.t.Helper()
	return h.s.RunNow(h.ctx, name)
}

func (h *harness) jobRun(name string) store.JobRun {
	h.t.Helper()
	runs, err := h.st.JobRuns(h.ctx)
	if err != nil {
		h.t.Fatal(err)
	}
	for _, r := range runs {
		if r.Name == name {
			return r
		}
	}
	return store.JobRun{}
}

// assertNoTokenInLogs: no log line, event or job error may carry a token.
func (h *harness) assertNoTokenInLogs() {
	h.mu.Lock()
	tokens := append([]string(nil), h.tokens...)
	h.mu.Unlock()
	var texts []string
	texts = append(texts, h.logs.String())
	if evs, err := h.st.Events(context.Background(), 0); err == nil {
		for _, e := range evs {
			texts = append(texts, e.Message)
		}
	}
	if runs, err := h.st.JobRuns(context.Background()); err == nil {
		for _, r := range runs {
			texts = append(texts, r.LastError)
		}
	}
	for _, tok := range tokens {
		for _, text := range texts {
			if strings.Contains(text, tok) || strings.Contains(text, tok[:24]) {
				h.t.Errorf("a token leaked into logs, events or job errors")
				return
			}
		}
	}
}

func (h *harness) metrics() string {
	h.t.Helper()
	rec := httptest.NewRecorder()
	h.a.Metrics.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	if rec.Code != http.StatusOK {
		h.t.Fatalf("/metrics: %d", rec.Code)
	}
	return rec.Body.String()
}

// gallery is /widget.json as this process serves it.
func (h *harness) gallery() (stale bool, posts int) {
	h.t.Helper()
	rec := httptest.NewRecorder()
	h.a.Gallery.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/widget.json", nil))
	var doc struct {
		Stale bool              `json:"stale"`
		Posts []json.RawMessage `json:"posts"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &doc); err != nil {
		h.t.Fatalf("/widget.json %d: %v", rec.Code, err)
	}
	return doc.Stale, len(doc.Posts)
}

func (h *harness) stale() bool       { s, _ := h.gallery(); return s }
func (h *harness) galleryPosts() int { _, n := h.gallery(); return n }

// mediaFiles lists the files under the media directory.
func (h *harness) mediaFiles() []string {
	h.t.Helper()
	var out []string
	err := filepath.WalkDir(h.cfg.MediaDir(), func(path string, d fs.DirEntry, err error) error {
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
		h.t.Fatal(err)
	}
	return out
}
