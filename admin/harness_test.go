package admin_test

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gin-gonic/gin"

	"vitrine/admin"
	"vitrine/auth"
	"vitrine/store"
	"vitrine/testkit"
	"vitrine/testkit/testvitrine"
)

const testPassword = testvitrine.Password

// sessionCookie is the cookie that carries the admin's session id.
const sessionCookie = "vitrine_session"

// vitrine is a served Vitrine under test (testvitrine: the server built
// over app.New, the fake Instagram with one small post on loopback, one
// clock) and the browser the test drives its admin with. The admin calls
// the real app's operations and scheduler.
type vitrine struct {
	*testvitrine.Vitrine
	client *testkit.Browser // without a session until signed in
	steps  *stepHooks
	feed   *feedGate
}

func newVitrine(t testing.TB, opts ...testvitrine.Option) *vitrine {
	t.Helper()
	v := &vitrine{steps: &stepHooks{}, feed: newFeedGate(t)}
	opts = append([]testvitrine.Option{testvitrine.Served(), testvitrine.Posts(1), testvitrine.SmallPictures(),
		testvitrine.QuickRetries(), testvitrine.WrapFake(func(next http.Handler) http.Handler {
			return v.feed.wrap(v.steps.wrap(next))
		})}, opts...)
	v.Vitrine = testvitrine.New(t, opts...)
	v.client = v.Browser()
	return v
}

// stepHooks run a function before the requests of one step of the code
// exchange, so a test can make Instagram fail between two steps of one
// callback (revoke the tokens once the long-lived one is issued, say).
type stepHooks struct {
	mu                   sync.Mutex
	beforeLong, beforeMe func()
}

func (h *stepHooks) set(long, me func()) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.beforeLong, h.beforeMe = long, me
}

func (h *stepHooks) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.mu.Lock()
		long, me := h.beforeLong, h.beforeMe
		h.mu.Unlock()
		switch p := r.URL.Path; {
		case long != nil && strings.HasSuffix(p, "/access_token") && !strings.HasSuffix(p, "/oauth/access_token"):
			long()
		case me != nil && strings.HasSuffix(p, "/me"):
			me()
		}
		next.ServeHTTP(w, r)
	})
}

// feedGate holds the reads of the feed (/me/media) while closed, so a test
// can look at a sync that is running; closed, a read waits until it opens
// or the test ends, then fails with 503 if failing is set.
type feedGate struct {
	mu      sync.Mutex
	open    chan struct{}
	failing bool
	done    chan struct{}
	held    chan struct{} // receives when a read is held
}

func newFeedGate(t testing.TB) *feedGate {
	g := &feedGate{open: make(chan struct{}), done: make(chan struct{}), held: make(chan struct{}, 1)}
	close(g.open)
	t.Cleanup(func() { close(g.done) })
	return g
}

// hold closes the gate; the function it returns opens it again.
func (g *feedGate) hold() (release func()) {
	g.mu.Lock()
	defer g.mu.Unlock()
	ch := make(chan struct{})
	g.open = ch
	return sync.OnceFunc(func() { close(ch) })
}

func (g *feedGate) fail(failing bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.failing = failing
}

func (g *feedGate) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.HasSuffix(r.URL.Path, "/me/media") {
			next.ServeHTTP(w, r)
			return
		}
		g.mu.Lock()
		open := g.open
		g.mu.Unlock()
		select {
		case <-open:
		default:
			select {
			case g.held <- struct{}{}:
			default:
			}
			select {
			case <-open:
			case <-g.done:
			}
		}
		g.mu.Lock()
		failing := g.failing
		g.mu.Unlock()
		if failing {
			http.Error(w, `{"error":{"message":"Service unavailable","code":2}}`, http.StatusServiceUnavailable)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// serveAdmin serves, on a loopback server of its own, an admin over v's
// store and client that calls ops and jobs (nil: none) instead of v's app,
// for what v's own admin never meets: no scheduler, or a rebuild that
// fails. It returns a browser for that server.
func serveAdmin(t testing.TB, v *vitrine, ops admin.Operations, jobs admin.Jobs) *testkit.Browser {
	t.Helper()
	gin.SetMode(gin.TestMode)
	engine := gin.New()
	srv := httptest.NewServer(engine)
	t.Cleanup(srv.Close)
	key, err := store.LoadOrCreateKey(v.Config.DataDir, v.Config.SecretKey)
	if err != nil {
		t.Fatal(err)
	}
	// As the server does: replicas sharing the key sign login forms alike.
	loginKey, err := store.DeriveKey(key, "login-form-v1")
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(v.Logs, nil))
	a, err := auth.New(auth.Options{Settings: v.Config.Admin, PublicURL: srv.URL, Store: v.Store, LoginKey: loginKey,
		Logger: log, Now: v.Clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	adm, err := admin.New(admin.Options{PublicURL: srv.URL, Auth: a, Store: v.Store, Operations: ops, Instagram: v.Instagram,
		Jobs: jobs, Logger: log, Now: v.Clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	adm.Register(engine)
	return testkit.NewBrowser(t, srv.URL)
}

// randomToken has the shape of a session id or an OAuth state: 256
// random bits, base64url.
func randomToken() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// syncRuns waits until want sync runs have finished and fails the test if
// more did.
func (v *vitrine) syncRuns(want int) {
	v.T.Helper()
	v.WaitForSyncRuns(want, time.Minute)
	if n := v.SyncRuns(); n != want {
		v.T.Errorf("%d sync runs, want %d", n, want)
	}
}

// refusals is what the metrics count of refused requests, by reason.
func (v *vitrine) refusals() map[string]int {
	v.T.Helper()
	rec := httptest.NewRecorder()
	v.Metrics.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	out := map[string]int{}
	for _, m := range regexp.MustCompile(`(?m)^vitrine_requests_refused_total\{reason="([^"]+)"\} (\d+)$`).FindAllStringSubmatch(rec.Body.String(), -1) {
		var n int
		fmt.Sscan(m[2], &n)
		out[m[1]] = n
	}
	return out
}

// lastEvent is the newest event of kind in the dashboard's log: the real
// app's background work (a sync, an alert) writes its own around the
// admin's.
func (v *vitrine) lastEvent(kind string) store.Event {
	v.T.Helper()
	evs, err := v.Store.Events(context.Background(), 0)
	if err != nil {
		v.T.Fatal(err)
	}
	for _, e := range evs {
		if e.Kind == kind {
			return e
		}
	}
	return store.Event{}
}

// generate starts a connection and returns Instagram's authorize URL.
func (v *vitrine) generate() *url.URL {
	v.T.Helper()
	r := v.client.Get("/admin/generate")
	if r.StatusCode != http.StatusFound {
		v.T.Fatalf("generate = %d:\n%.1000s", r.StatusCode, r.Text)
	}
	u, err := url.Parse(r.Header.Get("Location"))
	if err != nil {
		v.T.Fatal(err)
	}
	return u
}

// decide posts the fake's consent form like a browser would, and returns
// the redirect back to our callback.
func (v *vitrine) decide(authorize *url.URL, decision string) *url.URL {
	v.T.Helper()
	form := authorize.Query()
	form.Set("decision", decision)
	action := *authorize
	action.RawQuery = ""
	r := v.Browser().Post(action.String(), form)
	if r.StatusCode != http.StatusFound {
		v.T.Fatalf("authorize %s = %d:\n%.1000s", decision, r.StatusCode, r.Text)
	}
	u, err := url.Parse(r.Header.Get("Location"))
	if err != nil {
		v.T.Fatal(err)
	}
	u.Fragment = "" // a browser keeps "#_" to itself
	return u
}

// callback follows Instagram's redirect to our callback and then to the
// result page, and returns both answers.
func (v *vitrine) callback(u *url.URL) (cb, result testkit.Response) {
	v.T.Helper()
	cb = v.client.Get(u.String())
	if cb.StatusCode != http.StatusSeeOther {
		return cb, cb
	}
	if loc := cb.Header.Get("Location"); loc != "/admin/connected" {
		v.T.Fatalf("callback redirected to %q, want /admin/connected", loc)
	}
	return cb, v.client.Get("/admin/connected")
}

// connect runs the whole Generate → approve → callback path and returns
// the result page.
func (v *vitrine) connect() testkit.Response {
	v.T.Helper()
	_, res := v.callback(v.decide(v.generate(), "approve"))
	return res
}

func mustURL(t testing.TB, s string) *url.URL {
	t.Helper()
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// assertNoSecrets fails if text holds the client secret or any of values.
func (v *vitrine) assertNoSecrets(what, text string, values ...string) {
	v.T.Helper()
	for _, s := range append([]string{v.Fake.ClientSecret()}, values...) {
		if s != "" && strings.Contains(text, s) {
			v.T.Errorf("%s contains a secret (%.6s…)", what, s)
		}
	}
}

// assertAdminHeaders checks the headers every admin page carries.
func assertAdminHeaders(t *testing.T, r testkit.Response) {
	t.Helper()
	h := r.Header
	csp := h.Get("Content-Security-Policy")
	for _, want := range []string{"default-src 'none'", "script-src 'self' 'nonce-", "frame-ancestors 'none'", "base-uri 'none'"} {
		if !strings.Contains(csp, want) {
			t.Errorf("CSP %q lacks %q", csp, want)
		}
	}
	if strings.Contains(csp, "unsafe-inline") || strings.Contains(csp, "unsafe-eval") {
		t.Errorf("CSP allows unsafe code: %q", csp)
	}
	for k, v := range map[string]string{
		"X-Frame-Options": "DENY", "Referrer-Policy": "no-referrer", "Cache-Control": "no-store",
		"X-Content-Type-Options": "nosniff",
	} {
		if got := h.Get(k); got != v {
			t.Errorf("%s = %q, want %q", k, got, v)
		}
	}
	// Every script is external and carries this response's nonce.
	nonce := csp[strings.Index(csp, "'nonce-")+7:]
	nonce = nonce[:strings.Index(nonce, "'")]
	for _, tag := range regexp.MustCompile(`<script[^>]*>`).FindAllString(r.Text, -1) {
		if !strings.Contains(tag, `nonce="`+nonce+`"`) || !strings.Contains(tag, `src="/admin/static/`) {
			t.Errorf("script tag %s is not external with this response's nonce", tag)
		}
	}
	if strings.Contains(r.Text, "<style") || strings.Contains(r.Text, " style=\"") || strings.Contains(r.Text, " onclick=") {
		t.Errorf("inline style or handler in the page")
	}
}
