package admin

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	"golang.org/x/crypto/bcrypt"

	"vitrine/auth"
	"vitrine/config"
	"vitrine/connection"
	"vitrine/instagram"
	"vitrine/instagram/fake"
	"vitrine/jobs"
	"vitrine/moderation"
	"vitrine/store"
	"vitrine/testkit"
	"vitrine/testkit/teststore"
	"vitrine/widget"
)

const testPassword = "correct horse battery staple"

var testStart = time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)

// env is the whole admin in-process: temp SQLite, the fake Instagram on a
// loopback server, the real instagram.Client pointed at it, and our gin
// engine on another loopback server. One clock drives all of them.
type env struct {
	t     testing.TB
	clock *fake.Clock
	fake  *fake.Fake
	st    *store.Store
	cfg   *config.Config
	ig    *hookedInstagram
	jobs  *recordingJobs // nil when the env was built without jobs or with others
	conn  *connection.Connection
	// gallery is the widget, built when a test first asks (gallery()).
	gallery *widget.Widget
	adm     *Admin
	srv     *httptest.Server

	disconnects atomic.Int32 // accounts disconnected, their posts and images removed
	rebuilds    atomic.Int32 // gallery rebuilds after a decision
	// rebuildErr, when set, is how such a rebuild fails.
	rebuildErr atomic.Pointer[error]
	refusals   refusalCounts
	client     *http.Client // cookie jar, does not follow redirects
	logs       *testkit.LogBuffer
}

type envOption func(*envOptions)

type envOptions struct {
	dbLocation string // "" is a fresh SQLite file
	dbKey      []byte
	noJobs     bool
	jobs       func(*env) Jobs
	publicURL  string
	embeds     func(*env) Embeds // Options.Embeds; nil: none
}

// withPublicURL gives the admin another server.public_url than the test
// listener's address.
func withPublicURL(u string) envOption { return func(o *envOptions) { o.publicURL = u } }

// withDatabase opens the env's store on the database at loc, with key, as
// one more replica on it.
func withDatabase(loc string, key []byte) envOption {
	return func(o *envOptions) { o.dbLocation, o.dbKey = loc, key }
}

func withoutJobs() envOption { return func(o *envOptions) { o.noJobs = true } }

// withJobs gives the admin the jobs newJobs makes (with the env's store
// and clock ready) instead of a recordingJobs.
func withJobs(newJobs func(*env) Jobs) envOption { return func(o *envOptions) { o.jobs = newJobs } }

func newEnv(t testing.TB, opts ...envOption) *env {
	t.Helper()
	var o envOptions
	for _, opt := range opts {
		opt(&o)
	}
	gin.SetMode(gin.TestMode)
	e := &env{t: t, clock: fake.NewClock(testStart), logs: testkit.NewLogBuffer()}
	log := slog.New(slog.NewTextHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))

	engine := gin.New()
	e.srv = httptest.NewServer(engine)
	t.Cleanup(e.srv.Close)

	e.fake = fake.New(fake.Options{RedirectURIs: []string{e.srv.URL + "/admin/callback"}, Clock: e.clock, Posts: 3})
	fsrv := httptest.NewServer(e.fake)
	t.Cleanup(fsrv.Close)

	key := make([]byte, store.KeySize)
	_, _ = rand.Read(key)
	var loc string
	if o.dbLocation != "" {
		loc, key = o.dbLocation, o.dbKey
	} else {
		loc = teststore.SQLite(t)
	}
	st := teststore.Open(t, loc, key, store.WithClock(e.clock.Now), store.WithLogger(log))
	e.st = st

	hash, err := bcrypt.GenerateFromPassword([]byte(testPassword), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	cfg := config.Default()
	cfg.Server.PublicURL = e.srv.URL
	if o.publicURL != "" {
		cfg.Server.PublicURL = o.publicURL
	}
	cfg.Admin.PasswordHash = string(hash)
	ep := e.fake.Endpoints(fsrv.URL)
	cfg.Instagram.ClientID, cfg.Instagram.ClientSecret = e.fake.ClientID(), e.fake.ClientSecret()
	cfg.Instagram.AuthURL, cfg.Instagram.TokenURL, cfg.Instagram.GraphURL = ep.AuthURL, ep.TokenURL, ep.GraphURL
	cfg.Instagram.MediaHosts = []string{ep.MediaHost}
	e.cfg = &cfg

	client, err := instagram.New(instagram.Config{
		ClientID: cfg.Instagram.ClientID, ClientSecret: cfg.Instagram.ClientSecret,
		RedirectURI: cfg.RedirectURI(), AuthURL: ep.AuthURL, TokenURL: ep.TokenURL, GraphURL: ep.GraphURL,
		MediaHosts: cfg.Instagram.MediaHosts,
		Timeout:    5 * time.Second, MaxRetries: 1, Backoff: time.Millisecond, Logger: log, Now: e.clock.Now,
	})
	if err != nil {
		t.Fatal(err)
	}
	e.ig = &hookedInstagram{Client: client}

	var jobs Jobs
	switch {
	case o.jobs != nil:
		jobs = o.jobs(e)
	case !o.noJobs:
		e.jobs = &recordingJobs{}
		jobs = e.jobs
	}
	e.conn, err = connection.New(connection.Options{Store: st, Instagram: e.ig, Logger: log, Now: e.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	// As server does: replicas sharing the key sign login forms alike.
	loginKey, err := store.DeriveKey(key, "login-form-v1")
	if err != nil {
		t.Fatal(err)
	}
	adminAuth, err := auth.New(auth.Options{Settings: cfg.Admin, PublicURL: cfg.Server.PublicURL, Store: st,
		LoginKey: loginKey, Refused: e.refusals.add, Logger: log, Now: e.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	var embeds func() Embeds
	if o.embeds != nil {
		embeds = func() Embeds { return o.embeds(e) }
	}
	e.adm, err = New(Options{PublicURL: cfg.Server.PublicURL, Auth: adminAuth, Store: st, Operations: operations{e}, Instagram: e.ig, Jobs: jobs,
		Logger: log, Now: e.clock.Now, GalleryCacheAge: cfg.Widget.CacheMaxAge.Std(), Embeds: embeds})
	if err != nil {
		t.Fatal(err)
	}
	e.adm.Register(engine)
	e.client = e.newClient()
	return e
}

// operations are the app's, as far as the admin reaches: the connection's
// answer, then what follows it (the jobs told of a new token; the posts
// and images of a disconnected one removed), counted.
type operations struct{ e *env }

func (o operations) Connect(ctx context.Context, code string) (store.Token, error) {
	tok, err := o.e.conn.Connect(ctx, code)
	if err == nil && o.e.jobs != nil {
		o.e.jobs.tokenConnected(ctx)
	}
	return tok, err
}

func (o operations) Disconnect(ctx context.Context) (string, error) {
	who, err := o.e.conn.Disconnect(ctx)
	if err == nil {
		o.e.disconnects.Add(1)
	}
	return who, err
}

func (o operations) Status(ctx context.Context) (connection.Status, error) {
	return o.e.conn.Status(ctx)
}

// Moderate saves the decision as the app does, then counts the gallery's
// rebuild, which fails with rebuildErr when that is set.
func (o operations) Moderate(ctx context.Context, postID string, action moderation.Action) (changed bool, err error) {
	st := o.e.st
	switch action {
	case moderation.Hide:
		changed, err = st.HidePost(ctx, postID)
	case moderation.Show:
		changed, err = st.ShowPost(ctx, postID)
	case moderation.Pin:
		changed, err = st.PinPost(ctx, postID, moderation.MaxPinned)
	case moderation.Unpin:
		changed, err = st.UnpinPost(ctx, postID)
	default:
		o.e.t.Errorf("moderate: unknown action %q", action)
	}
	if err != nil || !changed {
		return changed, err
	}
	o.e.rebuilds.Add(1)
	if err := o.e.rebuildErr.Load(); err != nil {
		return true, fmt.Errorf("%w: %w", moderation.ErrNotShownYet, *err)
	}
	return true, nil
}

// sessionCookie is the cookie that carries the admin's session id.
const sessionCookie = "vitrine_session"

// randomToken has the shape of a session id or an OAuth state: 256
// random bits, base64url.
func randomToken() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// refusalCounts is what auth's Options.Refused reported, by reason.
type refusalCounts struct {
	mu sync.Mutex
	n  map[string]int
}

func (r *refusalCounts) add(reason string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.n == nil {
		r.n = map[string]int{}
	}
	r.n[reason]++
}

func (r *refusalCounts) of(reason string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.n[reason]
}

func (r *refusalCounts) total() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, v := range r.n {
		n += v
	}
	return n
}

// newClient is a browser without a session: own cookie jar, no redirects
// followed (tests look at each hop).
func (e *env) newClient() *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{
		Jar:           jar,
		Timeout:       20 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// hookedInstagram is the real client with optional hooks run before each
// step, so a test can flip a fault on the fake between two calls of one
// callback (e.g. revoke tokens after the long-lived exchange).
type hookedInstagram struct {
	*instagram.Client
	mu                   sync.Mutex
	beforeLong, beforeMe func()
}

func (h *hookedInstagram) hooks() (func(), func()) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.beforeLong, h.beforeMe
}

func (h *hookedInstagram) setHooks(long, me func()) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.beforeLong, h.beforeMe = long, me
}

func (h *hookedInstagram) ExchangeLongLived(ctx context.Context, s string) (instagram.LongLivedToken, error) {
	if f, _ := h.hooks(); f != nil {
		f()
	}
	return h.Client.ExchangeLongLived(ctx, s)
}

func (h *hookedInstagram) Me(ctx context.Context, tok string) (instagram.Profile, error) {
	if _, f := h.hooks(); f != nil {
		f()
	}
	return h.Client.Me(ctx, tok)
}

// recordingJobs is a tiny real Jobs: it records calls and reports what the
// test sets.
type recordingJobs struct {
	mu        sync.Mutex
	connected int
	runs      []string
	busy      bool // RunInBackground finds the job running
	statuses  []jobs.Status
	// work, when set, is what RunInBackground and a new connection do
	// (the browser test syncs posts for real with it), synchronously:
	// nothing outlives the test.
	work func(ctx context.Context) error
}

func (j *recordingJobs) RunInBackground(name string) (bool, error) {
	j.mu.Lock()
	j.runs = append(j.runs, name)
	work, busy := j.work, j.busy
	j.mu.Unlock()
	if busy {
		return false, nil
	}
	if work != nil {
		_ = work(context.Background())
	}
	return true, nil
}

func (j *recordingJobs) Statuses() []jobs.Status {
	j.mu.Lock()
	defer j.mu.Unlock()
	return append([]jobs.Status(nil), j.statuses...)
}

// tokenConnected is what the app's Connect does after saving a token.
func (j *recordingJobs) tokenConnected(ctx context.Context) {
	if ctx.Err() != nil {
		panic("told of a new token with a context that is already done")
	}
	j.mu.Lock()
	j.connected++
	work := j.work
	j.mu.Unlock()
	if work != nil {
		_ = work(ctx)
	}
}

func (j *recordingJobs) calls() (int, []string) {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.connected, append([]string(nil), j.runs...)
}

// response is a finished request with its body read.
type response struct {
	*http.Response
	body string
}

func (e *env) do(c *http.Client, req *http.Request) response {
	e.t.Helper()
	resp, err := c.Do(req)
	if err != nil {
		e.t.Fatalf("%s %s: %v", req.Method, req.URL.Path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	return response{resp, string(b)}
}

func (e *env) url(path string) string {
	if strings.HasPrefix(path, "http") {
		return path
	}
	return e.srv.URL + path
}

func (e *env) getWith(c *http.Client, path string, header ...string) response {
	e.t.Helper()
	req, err := http.NewRequest(http.MethodGet, e.url(path), nil)
	if err != nil {
		e.t.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	return e.do(c, req)
}

func (e *env) get(path string, header ...string) response {
	e.t.Helper()
	return e.getWith(e.client, path, header...)
}

func (e *env) postWith(c *http.Client, path string, form url.Values, header ...string) response {
	e.t.Helper()
	req, err := http.NewRequest(http.MethodPost, e.url(path), strings.NewReader(form.Encode()))
	if err != nil {
		e.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	return e.do(c, req)
}

func (e *env) post(path string, form url.Values, header ...string) response {
	e.t.Helper()
	return e.postWith(e.client, path, form, header...)
}

var csrfRE = regexp.MustCompile(`name="csrf_token" value="([^"]+)"`)

func csrfFrom(t testing.TB, html string) string {
	t.Helper()
	m := csrfRE.FindStringSubmatch(html)
	if m == nil {
		t.Fatalf("no csrf_token in page:\n%.2000s", html)
	}
	return m[1]
}

// loginWith signs c in and returns the session's CSRF token.
func (e *env) loginWith(c *http.Client) string {
	e.t.Helper()
	page := e.getWith(c, "/admin/login")
	if page.StatusCode != http.StatusOK {
		e.t.Fatalf("GET /admin/login = %d", page.StatusCode)
	}
	r := e.postWith(c, "/admin/login", url.Values{"password": {testPassword}, "csrf_token": {csrfFrom(e.t, page.body)}})
	if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/admin" {
		e.t.Fatalf("login = %d %q:\n%.1000s", r.StatusCode, r.Header.Get("Location"), r.body)
	}
	dash := e.getWith(c, "/admin")
	if dash.StatusCode != http.StatusOK {
		e.t.Fatalf("GET /admin after login = %d", dash.StatusCode)
	}
	return csrfFrom(e.t, dash.body)
}

func (e *env) login() string {
	e.t.Helper()
	return e.loginWith(e.client)
}

// generate starts a connection and returns Instagram's authorize URL.
func (e *env) generate() *url.URL {
	e.t.Helper()
	r := e.get("/admin/generate")
	if r.StatusCode != http.StatusFound {
		e.t.Fatalf("generate = %d:\n%.1000s", r.StatusCode, r.body)
	}
	u, err := url.Parse(r.Header.Get("Location"))
	if err != nil {
		e.t.Fatal(err)
	}
	return u
}

// decide posts the fake's consent form like a browser would, and returns
// the redirect back to our callback.
func (e *env) decide(auth *url.URL, decision string) *url.URL {
	e.t.Helper()
	form := auth.Query()
	form.Set("decision", decision)
	action := *auth
	action.RawQuery = ""
	r := e.postWith(e.newClient(), action.String(), form)
	if r.StatusCode != http.StatusFound {
		e.t.Fatalf("authorize %s = %d:\n%.1000s", decision, r.StatusCode, r.body)
	}
	u, err := url.Parse(r.Header.Get("Location"))
	if err != nil {
		e.t.Fatal(err)
	}
	u.Fragment = "" // a browser keeps "#_" to itself
	return u
}

// callback follows Instagram's redirect to our callback and then to the
// result page, and returns both answers.
func (e *env) callback(u *url.URL) (cb, result response) {
	e.t.Helper()
	cb = e.get(u.String())
	if cb.StatusCode != http.StatusSeeOther {
		return cb, cb
	}
	if loc := cb.Header.Get("Location"); loc != "/admin/connected" {
		e.t.Fatalf("callback redirected to %q, want /admin/connected", loc)
	}
	return cb, e.get("/admin/connected")
}

// connect runs the whole Generate → approve → callback path and returns
// the result page.
func (e *env) connect() response {
	e.t.Helper()
	_, res := e.callback(e.decide(e.generate(), "approve"))
	return res
}

func (e *env) token() (store.Token, bool) {
	e.t.Helper()
	tok, err := e.st.Token(context.Background())
	if errors.Is(err, store.ErrNoToken) {
		return store.Token{}, false
	}
	if err != nil {
		e.t.Fatal(err)
	}
	return tok, true
}

func (e *env) sessionCookie() string {
	for _, c := range e.client.Jar.Cookies(mustURL(e.t, e.srv.URL+"/admin")) {
		if c.Name == sessionCookie {
			return c.Value
		}
	}
	return ""
}

func mustURL(t testing.TB, s string) *url.URL {
	t.Helper()
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// assertAdminHeaders checks the headers every admin page carries.
func assertAdminHeaders(t *testing.T, r response) {
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
	for _, tag := range regexp.MustCompile(`<script[^>]*>`).FindAllString(r.body, -1) {
		if !strings.Contains(tag, `nonce="`+nonce+`"`) || !strings.Contains(tag, `src="/admin/static/`) {
			t.Errorf("script tag %s is not external with this response's nonce", tag)
		}
	}
	if strings.Contains(r.body, "<style") || strings.Contains(r.body, " style=\"") || strings.Contains(r.body, " onclick=") {
		t.Errorf("inline style or handler in the page")
	}
}

// assertNoSecrets fails if text holds the client secret or any of values.
func (e *env) assertNoSecrets(what, text string, values ...string) {
	e.t.Helper()
	for _, v := range append([]string{e.fake.ClientSecret()}, values...) {
		if v != "" && strings.Contains(text, v) {
			e.t.Errorf("%s contains a secret (%.6s…)", what, v)
		}
	}
}
