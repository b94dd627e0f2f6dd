package jobs

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"encoding/json"
	"io"
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
	"vitrine/connection"
	"vitrine/feed"
	"vitrine/instagram"
	"vitrine/instagram/fake"
	"vitrine/metrics"
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

// harness: the fake Instagram on loopback, the real client, a temp-file
// store and a scheduler, all on the fake's clock.
type harness struct {
	t          testing.TB
	ctx        context.Context
	f          *fake.Fake
	clock      *fake.Clock
	srv        *httptest.Server
	ig         *instagram.Client
	st         *store.Store
	cfg        *config.Config
	hook       *hook
	logs       *testkit.LogBuffer
	s          *Scheduler
	conn       *connection.Connection
	feed       *feed.Feed
	al         *alerts.Alerter
	m          *metrics.Metrics
	synced     atomic.Int32
	syncFailed atomic.Int32

	blockCDN atomic.Value // string: CDN paths containing it answer 404

	mu     sync.Mutex
	tokens []string
}

type harnessOpt func(*harness, *fake.Options, *instagram.Config)

func withPosts(n int) harnessOpt {
	return func(_ *harness, o *fake.Options, _ *instagram.Config) { o.Posts = n }
}

func withClientTimeout(d time.Duration) harnessOpt {
	return func(_ *harness, _ *fake.Options, c *instagram.Config) { c.Timeout = d }
}

func newHarness(t testing.TB, opts ...harnessOpt) *harness {
	t.Helper()
	h := &harness{t: t, ctx: context.Background(), clock: fake.NewClock(testStart), logs: testkit.NewLogBuffer()}
	h.blockCDN.Store("")
	fo := fake.Options{Clock: h.clock, Posts: 6}
	ic := instagram.Config{RedirectURI: testPublicURL + "/admin/callback", Backoff: time.Millisecond, Timeout: 5 * time.Second}
	for _, o := range opts {
		o(h, &fo, &ic)
	}
	h.f = fake.New(fo)
	testfake.SmallPictures(h.f) // the jobs' tests are not about the pictures
	h.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if b := h.blockCDN.Load().(string); b != "" && strings.Contains(r.URL.Path, "/cdn/") && strings.Contains(r.URL.Path, b) {
			http.Error(w, "Not Found", http.StatusNotFound)
			return
		}
		h.f.ServeHTTP(w, r)
	}))
	t.Cleanup(h.srv.Close)
	ep := h.f.Endpoints(h.srv.URL)
	ic.ClientID, ic.ClientSecret = h.f.ClientID(), h.f.ClientSecret()
	ic.AuthURL, ic.TokenURL, ic.GraphURL = ep.AuthURL, ep.TokenURL, ep.GraphURL
	ic.MediaHosts = []string{ep.MediaHost}
	ic.Now = h.clock.Now
	ic.Logger = slog.New(slog.NewTextHandler(h.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	ig, err := instagram.New(ic)
	if err != nil {
		t.Fatal(err)
	}
	h.ig = ig

	key := make([]byte, store.KeySize)
	_, _ = rand.Read(key)
	dir := tempDir(t)
	h.st = teststore.Open(t, teststore.SQLiteAt(t, filepath.Join(dir, "vitrine.db")), key, store.WithClock(h.clock.Now))

	h.hook = newHook(t)
	cfg := config.Default()
	cfg.DataDir = dir
	cfg.Server.PublicURL = testPublicURL
	cfg.Alerts.WebhookURL = h.hook.srv.URL + "/hooks/T000/B000/secretpath"
	cfg.Alerts.WebhookSecret = testSecret
	h.cfg = &cfg
	h.s = h.newScheduler()
	t.Cleanup(h.assertNoTokenInLogs)
	return h
}

// tempDir is a fresh directory, on tmpfs when there is one: the simulated
// months mirror many images and the mirror fsyncs each file, which a disk
// makes slow and a RAM disk makes free. (The database is opened without
// fsync, teststore.)
func tempDir(t testing.TB) string {
	t.Helper()
	if fi, err := os.Stat("/dev/shm"); err == nil && fi.IsDir() {
		if dir, err := os.MkdirTemp("/dev/shm", "vitrine-jobs-test-"); err == nil {
			t.Cleanup(func() { os.RemoveAll(dir) })
			return dir
		}
	}
	return t.TempDir()
}

// newScheduler wires the parts and the schedule table from h.cfg, as the
// server does.
func (h *harness) newScheduler() *Scheduler {
	h.t.Helper()
	log := slog.New(slog.NewTextHandler(h.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	var err error
	h.m, err = metrics.New(metrics.Sources{
		Status:    func(ctx context.Context) (connection.Status, error) { return h.conn.Status(ctx) },
		PostCount: h.st.PostCount,
	})
	if err != nil {
		h.t.Fatal(err)
	}
	h.conn, err = connection.New(connection.Options{Store: h.st, Instagram: h.ig, Logger: log, Now: h.clock.Now,
		RefreshBefore: h.cfg.Jobs.RefreshBefore.Std(), Observer: h.m})
	if err != nil {
		h.t.Fatal(err)
	}
	h.feed, err = feed.New(feed.Options{Store: h.st, Instagram: h.ig, Connection: h.conn, MediaDir: h.cfg.MediaDir(),
		MaxPosts: h.cfg.Widget.MaxPosts, Logger: log, Now: h.clock.Now, Observer: h.m, DownloadsPerSecond: 1000,
		OnSynced: func() { h.synced.Add(1) }})
	if err != nil {
		h.t.Fatal(err)
	}
	var s *Scheduler
	h.al, err = alerts.New(alerts.Options{Settings: h.cfg.Alerts, PublicURL: h.cfg.Server.PublicURL, Store: h.st,
		Connection: h.conn, Logger: log, Now: h.clock.Now, Observer: h.m, WebhookBackoff: time.Millisecond,
		RefreshFailing: func(ctx context.Context) bool { return s.LastFailed(ctx, JobRefresh) }})
	if err != nil {
		h.t.Fatal(err)
	}
	s, err = New(Options{
		Tasks: Tasks(Parts{Connection: h.conn, Feed: h.feed, Alerts: h.al,
			OnSyncFailed: func(error) { h.syncFailed.Add(1) }},
			Schedules{Validate: h.cfg.Jobs.Validate, Sync: h.cfg.Jobs.Sync}),
		Runs: h.st, Logger: log, Now: h.clock.Now, Observer: h.m,
		// As the server has it on SQLite: through the leases, always held.
		Leases: h.st, Holder: "local",
	})
	if err != nil {
		h.t.Fatal(err)
	}
	return s
}

// afterConnect runs what the server runs once a token is saved, and waits
// for it.
func (h *harness) afterConnect() {
	AfterConnect(h.s, h.al)
	h.s.bg.Wait()
}

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
	runs, err := h.s.jobRuns(h.ctx)
	if err != nil {
		h.t.Fatal(err)
	}
	return runs[name]
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
	h.m.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	if rec.Code != http.StatusOK {
		h.t.Fatalf("/metrics: %d", rec.Code)
	}
	return rec.Body.String()
}
