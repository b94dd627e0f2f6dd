package systemtest

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"vitrine/config"
	"vitrine/demo"
	"vitrine/fastpath"
	"vitrine/instagram/fake"
	"vitrine/jobs"
	"vitrine/server"
	"vitrine/testkit"
)

// firstSyncPatience bounds a wait for a sync that mirrors images: it ends
// as soon as the sync does (seconds on a quiet machine), but a race-enabled
// build on a loaded two-core CI machine has taken minutes. Only a sync that
// never finishes waits it out.
const firstSyncPatience = 5 * time.Minute

// testPassword is the admin password of every testApp.
const testPassword = "demo"

// testPasswordHash has the lowest cost the configuration accepts.
var testPasswordHash = func() string {
	h, err := bcrypt.GenerateFromPassword([]byte(testPassword), config.MinPasswordCost)
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
	*server.Vitrine
	cfg   config.Config // as validated and given to server.New
	t     testing.TB
	URL   string // Vitrine's public URL
	fake  *fake.Fake
	clock *fake.Clock // nil unless simulatedClock
	logs  *testkit.LogBuffer

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
	// quickRetries keeps the Instagram client's retries inside one call
	// (as many attempts as in production) but waits about a millisecond
	// between them instead of up to 250 ms, 500 ms, 1 s: for tests that
	// drive many failing calls through simulated hours.
	quickRetries bool
}

func newTestApp(t testing.TB, o testAppOptions) *testApp {
	t.Helper()
	testkit.CleanEnv(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ta := &testApp{t: t, URL: "http://" + ln.Addr().String(), logs: testkit.NewLogBuffer()}

	cfg := config.Default()
	cfg.DataDir = t.TempDir()
	cfg.Server.PublicURL = ta.URL
	cfg.Admin.PasswordHash = testPasswordHash
	// Info, as in production: debug logging would turn the fast path off,
	// and every test should see what visitors get.
	cfg.Log.Level = "info"
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
		cfg.Instagram.MediaHosts = []string{ep.MediaHost}
	}
	if o.configure != nil {
		o.configure(&cfg)
	}
	// -demo's fake, mounted on the app itself. Unlike demo.Configure, the
	// test keeps its own data dir, password and job schedules.
	var demoFake *fake.Fake
	if o.demo {
		demoFake = demo.NewFake(cfg.RedirectURI(), o.posts)
		cfg = demo.UseFake(cfg, demoFake)
		ta.fake = demoFake
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	ta.cfg = cfg
	log := slog.New(slog.NewTextHandler(ta.logs, &slog.HandlerOptions{Level: slog.LevelInfo}))
	so := server.Options{Now: now, DemoFake: demoFake}
	if o.quickRetries {
		so.InstagramBackoff = time.Millisecond
	}
	a, err := server.New(cfg, log, so)
	if err != nil {
		t.Fatal(err)
	}
	ta.Vitrine = a
	// Start's fast path, but net/http's 1 MB header limit rather than
	// server.NewHTTPServer's 64 KB: the hostile tests take 1 MB targets to
	// the handlers.
	srv := &http.Server{Handler: a.Handler, ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(fastpath.Listen(ln, srv, a.Gallery, log)) // as Start does
	if o.startJobs {
		a.Jobs.Start()
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
		a.StopJobs()
		a.Close()
	})
	return ta
}

// connect connects the fake's account the way the callback does, after
// the admin approved on Instagram, and waits until the sync that starts
// (images mirrored) has finished: see connectSettled.
func (ta *testApp) connect() {
	ta.t.Helper()
	ta.connectSettled()
}

// syncRunsLogged counts the sync runs that have finished, whatever their
// outcome, from the scheduler's log lines.
var syncRunsLogged = regexp.MustCompile(`msg="jobs: (?:done|failed|cancelled)" job=sync `)

// connectSettled is connect, and then also waits for the sync that
// connecting starts in the background (app.Connect), which may run
// after connect's own: a test that steps a simulated clock or counts calls
// at the fake afterwards then starts from a quiet app.
func (ta *testApp) connectSettled() {
	ta.t.Helper()
	before := len(syncRunsLogged.FindAllString(ta.logs.String(), -1))
	code, err := ta.fake.Authorize(ta.cfg.RedirectURI(), strings.Join(ta.cfg.Instagram.Scopes, ","))
	if err != nil {
		ta.t.Fatal(err)
	}
	if _, err := ta.Connect(context.Background(), code); err != nil {
		ta.t.Fatal(err)
	}
	want := before + 1 // the background sync
	switch err := ta.Jobs.RunNow(context.Background(), "sync"); {
	case err == nil:
		want++ // ours ran first; the background one follows
	case errors.Is(err, jobs.ErrAlreadyRunning):
	default:
		ta.t.Fatal(err)
	}
	deadline := time.Now().Add(firstSyncPatience)
	for len(syncRunsLogged.FindAllString(ta.logs.String(), -1)) < want {
		if time.Now().After(deadline) {
			ta.t.Fatalf("the sync after connecting did not finish; log:\n%s", ta.logs.String())
		}
		select {
		case <-ta.logs.Changed():
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// adminClient is a browser signed in to the admin: its cookie jar holds
// the session; it follows no redirects.
type adminClient struct {
	*http.Client
	csrf string // the session's CSRF token
}

var csrfFieldRE = regexp.MustCompile(`name="csrf_token" value="([^"]+)"`)

// login signs in through the login form, as a browser does: GET the form
// (which sets the pre-session cookie its CSRF token is bound to), POST the
// password with that token, then read the session's token off /admin.
func (ta *testApp) login() *adminClient {
	ta.t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		ta.t.Fatal(err)
	}
	c := &adminClient{Client: &http.Client{Jar: jar, Timeout: 30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
	read := func(resp *http.Response, err error) (*http.Response, string) {
		ta.t.Helper()
		if err != nil {
			ta.t.Fatal(err)
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			ta.t.Fatal(err)
		}
		return resp, string(b)
	}
	resp, page := read(c.Get(ta.URL + "/admin/login"))
	m := csrfFieldRE.FindStringSubmatch(page)
	if resp.StatusCode != http.StatusOK || m == nil {
		ta.t.Fatalf("GET /admin/login = %d, no csrf_token:\n%.1000s", resp.StatusCode, page)
	}
	resp, page = read(c.PostForm(ta.URL+"/admin/login", url.Values{"password": {testPassword}, "csrf_token": {m[1]}}))
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/admin" {
		ta.t.Fatalf("POST /admin/login = %d %q:\n%.1000s", resp.StatusCode, resp.Header.Get("Location"), page)
	}
	resp, page = read(c.Get(ta.URL + "/admin"))
	if m = csrfFieldRE.FindStringSubmatch(page); resp.StatusCode != http.StatusOK || m == nil {
		ta.t.Fatalf("GET /admin after login = %d:\n%.1000s", resp.StatusCode, page)
	}
	c.csrf = m[1]
	return c
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
