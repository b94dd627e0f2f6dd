package main

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"vitrine/config"
	"vitrine/instagram/fake"
)

// testPassword is the admin password of every testApp.
const testPassword = "demo"

var testPasswordHash = func() string {
	h, err := bcrypt.GenerateFromPassword([]byte(testPassword), bcrypt.MinCost)
	if err != nil {
		panic(err)
	}
	return string(h)
}()

// testApp is a whole Vitrine in the test process, served on a real
// loopback listener and talking to a fake Instagram over HTTP: either its
// own (on another listener, so a test can wrap or stop it) or, with demo,
// the one -demo mounts under /_fake/instagram.
type testApp struct {
	*app
	t     testing.TB
	URL   string // Vitrine's public URL
	fake  *fake.Fake
	clock *fake.Clock // nil unless simulatedClock
	logs  *logSink

	fakeSrv *httptest.Server // nil in demo mode
}

type testAppOptions struct {
	demo  bool // the built-in fake of -demo, its pages and fault switches
	posts int  // posts of the fake account; 0: the fake's default (30)
	// simulatedClock gives the app and the fake one fake.Clock, for tests
	// that step through hours; cron then never fires by itself, so such
	// tests call sched.RunDue. Otherwise the jobs run on real time.
	simulatedClock bool
	startJobs      bool
	// wrapFake puts a handler in front of the external fake (faults the
	// fake has no switch for: garbage bodies, hangs).
	wrapFake  func(http.Handler) http.Handler
	configure func(*config.Config)
}

func newTestApp(t testing.TB, o testAppOptions) *testApp {
	t.Helper()
	cleanEnv(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ta := &testApp{t: t, URL: "http://" + ln.Addr().String(), logs: newLogSink()}

	cfg := config.Default()
	cfg.DataDir = t.TempDir()
	cfg.Server.PublicURL = ta.URL
	cfg.Admin.PasswordHash = testPasswordHash
	cfg.Log.Level = "debug"
	cfg.Demo = o.demo
	var now func() time.Time
	if o.simulatedClock {
		ta.clock = fake.NewClock(time.Now())
		now = ta.clock.Now
	}
	if !o.demo {
		ta.fake = fake.New(fake.Options{RedirectURIs: []string{cfg.RedirectURI()}, Posts: o.posts, Clock: ta.clock})
		var h http.Handler = ta.fake
		if o.wrapFake != nil {
			h = o.wrapFake(h)
		}
		ta.fakeSrv = httptest.NewServer(h)
		t.Cleanup(ta.fakeSrv.Close)
		ep := ta.fake.Endpoints(ta.fakeSrv.URL)
		cfg.Instagram.ClientID, cfg.Instagram.ClientSecret = ta.fake.ClientID(), ta.fake.ClientSecret()
		cfg.Instagram.AuthURL, cfg.Instagram.TokenURL, cfg.Instagram.GraphURL = ep.AuthURL, ep.TokenURL, ep.GraphURL
	}
	if o.configure != nil {
		o.configure(&cfg)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(ta.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	a, err := newApp(&cfg, log, appOptions{now: now, demoPosts: o.posts})
	if err != nil {
		t.Fatal(err)
	}
	ta.app = a
	if o.demo {
		ta.fake = a.demo.fake
	}
	srv := &http.Server{Handler: a.handler, ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	if o.startJobs {
		a.sched.Start()
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
		a.stopJobs()
		a.Close()
	})
	return ta
}

// connect connects the fake's account the way the callback does, after
// the admin approved on Instagram, and waits for the first sync.
func (ta *testApp) connect() {
	ta.t.Helper()
	code, err := ta.fake.Authorize(ta.cfg.RedirectURI(), strings.Join(ta.cfg.Instagram.Scopes, ","))
	if err != nil {
		ta.t.Fatal(err)
	}
	if _, err := ta.adm.ConnectWithCode(context.Background(), code); err != nil {
		ta.t.Fatal(err)
	}
	if err := ta.sched.RunNow(context.Background(), "sync"); err != nil && !strings.Contains(err.Error(), "already running") {
		ta.t.Fatal(err)
	}
}

// get fetches path from the app and returns the response and its body.
func (ta *testApp) get(path string, header ...string) (*http.Response, []byte) {
	ta.t.Helper()
	req, err := http.NewRequest(http.MethodGet, ta.URL+path, nil)
	if err != nil {
		ta.t.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultTransport.RoundTrip(req) // no redirects followed, no gzip added
	if err != nil {
		ta.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		ta.t.Fatal(err)
	}
	return resp, body
}

func TestTestAppServesASyncedGallery(t *testing.T) {
	for _, demo := range []bool{false, true} {
		ta := newTestApp(t, testAppOptions{demo: demo, posts: 5})
		ta.connect()
		resp, body := ta.get("/widget.json")
		if resp.StatusCode != http.StatusOK || strings.Count(string(body), `"permalink"`) != 5 {
			t.Fatalf("demo=%v: /widget.json %d\n%.300s", demo, resp.StatusCode, body)
		}
	}
}
