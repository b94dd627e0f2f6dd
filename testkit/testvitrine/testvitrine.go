// Package testvitrine is a whole Vitrine under test: the fake Instagram
// on loopback, a fresh database, a clock the test moves and a
// configuration pointing at both, with the app built by app.New as the
// server builds it. One call gives a test a ready Vitrine; the options
// ask for the rest (the fake's posts, a connected account, the HTTP
// server on loopback, the demo), and nothing is built that a test did not
// ask for. It is apart from testkit because it imports the product, which
// testkit's own users (the store, the fake) must not.
package testvitrine

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"image/jpeg"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"vitrine/app"
	"vitrine/config"
	"vitrine/demo"
	"vitrine/fastpath"
	"vitrine/instagram/fake"
	"vitrine/jobs"
	"vitrine/mediadir"
	"vitrine/server"
	"vitrine/store"
	"vitrine/testkit"
	"vitrine/testkit/testfake"
	"vitrine/testkit/teststore"
)

// Start is where the clock of every Vitrine stands when it is built,
// unless StartAt or RealTime says otherwise.
var Start = time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)

// Password is the admin's password; Browser.SignIn takes it.
const Password = "correct horse battery staple"

// PasswordHash is Password's hash at the lowest cost the configuration
// accepts, made once per test binary.
var PasswordHash = sync.OnceValue(func() string { return hash(config.MinPasswordCost) })

// quickHash is Password's hash at bcrypt's lowest cost, which the
// configuration refuses: a Vitrine under test checks it at each sign-in,
// and at the accepted cost those checks were most of an admin test's time.
var quickHash = sync.OnceValue(func() string { return hash(bcrypt.MinCost) })

func hash(cost int) string {
	h, err := bcrypt.GenerateFromPassword([]byte(Password), cost)
	if err != nil {
		panic(err)
	}
	return string(h)
}

// Vitrine is one Vitrine under test. The app's parts and operations are
// its own (App embedded), and so are the fake Instagram it talks to, the
// clock, the log and, when served, the HTTP server.
type Vitrine struct {
	*app.App // the app as built last (Restart builds another)

	T     testing.TB
	Clock *fake.Clock // every part's clock; nil under RealTime
	Fake  *fake.Fake  // the fake Instagram the configuration points at
	// FakeURL is where the fake serves: its own loopback server, or in
	// Demo the Vitrine itself (under /_fake/instagram).
	FakeURL string
	Logs    *testkit.LogBuffer

	// Server is the HTTP side over the app (admin, auth, Meta's
	// callbacks, routes) and URL its address on loopback; nil and ""
	// unless Served or Demo.
	Server *server.Vitrine
	URL    string

	o           options
	cfg         config.Config // what the app is built from
	stopServing func()

	mu     sync.Mutex
	tokens []string // access tokens the fixture handed the app
}

// Option asks for a part of the Vitrine, or changes one.
type Option func(*options)

type options struct {
	posts     int // the fake account's; 0: the fake's default (30)
	small     bool
	webp      bool
	connected bool
	served    bool
	demo      bool
	realTime  bool
	start     time.Time
	quick     bool
	logLevel  slog.Level
	wrapFake  func(http.Handler) http.Handler
	configure []func(*config.Config)
	create    mediadir.CreateFunc
}

// Posts gives the fake's account n posts; negative: none. Without it the
// account has the fake's default thirty.
func Posts(n int) Option { return func(o *options) { o.posts = n } }

// SmallPictures draws the fake's posts small (testfake.SmallPictures), for
// tests that mirror a feed but are not about its pictures.
func SmallPictures() Option { return func(o *options) { o.small = true } }

// WebP lets each sync make its WebP files (widget.webp), as a Vitrine
// does by default. Without it the fixture serves JPEG only: encoding takes
// about a second of CPU per picture, which a test about something else
// would spend at every sync.
func WebP() Option { return func(o *options) { o.webp = true } }

// Connected starts the Vitrine with the fake's account connected: a
// token saved as the admin's callback saves it (StoreToken), and no sync.
func Connected() Option { return func(o *options) { o.connected = true } }

// Served builds the whole server over the app (server.New: admin, auth,
// Meta's callbacks, the routes) and serves it, through the fast path as
// `vitrine serve` does, on a loopback httptest server at URL. It opens
// the database as the server does, migrating it.
func Served() Option { return func(o *options) { o.served = true } }

// Demo serves the -demo product (implies Served): the fake Instagram is
// the demo's own, on a wall clock and mounted on the Vitrine's address,
// with its pages and fault switches.
func Demo() Option { return func(o *options) { o.demo, o.served = true, true } }

// RealTime gives the app the real clock (and the fake its own standing
// one); by default every part runs on Clock, which stands at Start until
// the test moves it and never fires cron by itself.
func RealTime() Option { return func(o *options) { o.realTime = true } }

// StartAt stands the clock at t instead of Start.
func StartAt(t time.Time) Option { return func(o *options) { o.start = t } }

// QuickRetries keeps the Instagram client's retries inside one call but
// waits about a millisecond between them instead of up to a second: for
// tests that drive many failing calls. Unserved Vitrines always have it,
// with the mirror's and the webhook's waits shortened too.
func QuickRetries() Option { return func(o *options) { o.quick = true } }

// DebugLog records debug lines in Logs too (Info and above otherwise, as
// in production: a served Vitrine turns its fast path off when debugging).
func DebugLog() Option { return func(o *options) { o.logLevel = slog.LevelDebug } }

// WrapFake puts h in front of the fake Instagram, for faults the fake has
// no switch for (garbage bodies, hangs, a step that fails once).
func WrapFake(wrap func(http.Handler) http.Handler) Option {
	return func(o *options) { o.wrapFake = wrap }
}

// MediaFiles makes the mirror create its files with create: a test's
// disk that fills up.
func MediaFiles(create mediadir.CreateFunc) Option { return func(o *options) { o.create = create } }

// Configure changes the configuration after the fixture's own settings
// and before it is validated.
func Configure(change func(*config.Config)) Option {
	return func(o *options) { o.configure = append(o.configure, change) }
}

// New builds a Vitrine for t; everything it started stops when t ends.
func New(t testing.TB, opts ...Option) *Vitrine {
	t.Helper()
	testkit.CleanEnv(t)
	o := options{start: Start, logLevel: slog.LevelInfo}
	for _, opt := range opts {
		opt(&o)
	}
	v := &Vitrine{T: t, o: o, Logs: testkit.NewLogBuffer()}
	if !o.realTime {
		v.Clock = fake.NewClock(o.start)
	}

	var ts *httptest.Server
	cfg := config.Default()
	cfg.DataDir = dataDir(t)
	cfg.Admin.PasswordHash = PasswordHash()
	cfg.Server.PublicURL = "https://vitrine.example"
	if o.served {
		// The address first: the configuration names it (public_url,
		// the OAuth redirect), and the server is built from that.
		ts = httptest.NewUnstartedServer(nil)
		cfg.Server.PublicURL = "http://" + ts.Listener.Addr().String()
	}
	cfg.Log.Level = strings.ToLower(o.logLevel.String())
	cfg.Instagram.Timeout = config.Duration(5 * time.Second)
	cfg.Demo = o.demo
	cfg.Widget.WebP = o.webp
	if !o.demo {
		v.Fake = fake.New(fake.Options{RedirectURIs: []string{cfg.RedirectURI()}, Posts: o.posts, Clock: v.Clock})
		var h http.Handler = v.Fake
		if o.wrapFake != nil {
			h = o.wrapFake(h)
		}
		fakeSrv := httptest.NewServer(h)
		t.Cleanup(fakeSrv.Close)
		v.FakeURL = fakeSrv.URL
		ep := v.Fake.Endpoints(v.FakeURL)
		cfg.Instagram.ClientID, cfg.Instagram.ClientSecret = v.Fake.ClientID(), v.Fake.ClientSecret()
		cfg.Instagram.AuthURL, cfg.Instagram.TokenURL, cfg.Instagram.GraphURL = ep.AuthURL, ep.TokenURL, ep.GraphURL
		cfg.Instagram.MediaHosts = []string{ep.MediaHost}
	}
	for _, change := range o.configure {
		change(&cfg)
	}
	if o.demo {
		// -demo's fake, mounted on the Vitrine itself; unlike
		// demo.Configure, the test keeps its own data directory, password
		// and schedules.
		v.Fake = demo.NewFake(cfg.RedirectURI(), o.posts)
		cfg = demo.UseFake(cfg, v.Fake)
		v.FakeURL = cfg.Server.PublicURL
	}
	if o.small {
		testfake.SmallPictures(v.Fake)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatalf("testvitrine: the configuration: %v", err)
	}
	if cfg.Admin.PasswordHash == PasswordHash() {
		cfg.Admin.PasswordHash = quickHash() // valid but for its cost, checked above
	}
	v.cfg = cfg
	t.Cleanup(v.stop)
	if o.served {
		v.serve(ts)
	} else {
		teststore.SQLiteAt(t, cfg.DatabasePath())
		v.build()
	}
	if o.connected {
		v.StoreToken()
	}
	return v
}

// stop ends what New started, last to first: the server, then the jobs
// (the log is then complete for the check of secrets), then the store.
func (v *Vitrine) stop() {
	if v.stopServing != nil {
		v.stopServing()
	}
	if v.App == nil {
		return
	}
	v.App.StopJobs()
	v.assertNoSecretsLeaked()
	v.App.Close()
}

func (v *Vitrine) logger() *slog.Logger {
	return slog.New(slog.NewTextHandler(v.Logs, &slog.HandlerOptions{Level: v.o.logLevel}))
}

func (v *Vitrine) now() func() time.Time {
	if v.Clock == nil {
		return nil
	}
	return v.Clock.Now
}

// build makes the app with app.New from v.cfg, on the migrated copy of
// the database (teststore) and with the waits meant for the real
// Instagram and webhooks shortened.
func (v *Vitrine) build() {
	v.T.Helper()
	a, err := app.New(v.cfg, v.logger(), app.Options{Now: v.now(), StoreOptions: teststore.Options(),
		InstagramBackoff: time.Millisecond, DownloadsPerSecond: 1000, WebhookBackoff: time.Millisecond, MediaCreate: v.o.create})
	if err != nil {
		v.T.Fatal(err)
	}
	v.App = a
}

// serve builds the server with server.New and serves it on ts.
func (v *Vitrine) serve(ts *httptest.Server) {
	v.T.Helper()
	log := v.logger()
	so := server.Options{Now: v.now(), MediaCreate: v.o.create}
	if v.o.demo {
		so.DemoFake = v.Fake
	}
	if v.o.quick {
		so.InstagramBackoff = time.Millisecond
	}
	s, err := server.New(v.cfg, log, so)
	if err != nil {
		ts.Listener.Close()
		v.T.Fatal(err)
	}
	v.Server, v.App = s, s.App
	// Start's fast path in front of net/http, whose 1 MB header limit
	// (rather than server.NewHTTPServer's 64 KB) lets the hostile tests
	// take 1 MB targets to the handlers.
	ts.Config.Handler = s.Handler
	ts.Config.ReadHeaderTimeout = 10 * time.Second
	ts.Listener = fastpath.Listen(ts.Listener, ts.Config, s.Gallery, log)
	ts.Start()
	v.URL = ts.URL
	v.stopServing = ts.Close
}

// Restart builds the app anew on the same data directory and database,
// as a restarted process does, after change (if any) edits its
// configuration; the previous app is closed. Not for served Vitrines.
func (v *Vitrine) Restart(change func(*config.Config)) {
	v.T.Helper()
	if v.Server != nil {
		v.T.Fatal("testvitrine: Restart of a served Vitrine")
	}
	if change != nil {
		change(&v.cfg)
	}
	v.App.StopJobs()
	v.App.Close()
	v.App = nil
	v.build()
}

// dataDir is a fresh directory, on tmpfs when there is one: a sync
// mirrors many images and fsyncs each file, which a disk makes slow and a
// RAM disk makes free.
func dataDir(t testing.TB) string {
	t.Helper()
	if fi, err := os.Stat("/dev/shm"); err == nil && fi.IsDir() {
		if dir, err := os.MkdirTemp("/dev/shm", "vitrine-test-"); err == nil {
			t.Cleanup(func() { os.RemoveAll(dir) })
			return dir
		}
	}
	return t.TempDir()
}

// StoreToken saves a freshly issued 60-day token of the fake's account,
// as the admin's callback does, and returns it; nothing else follows (no
// sync, unlike app.Connect).
func (v *Vitrine) StoreToken() store.Token {
	v.T.Helper()
	access := v.Fake.IssueLongLivedToken()
	v.Track(access)
	now := v.now()
	if now == nil {
		now = time.Now
	}
	a := v.Fake.Account()
	tok := store.Token{AccessToken: access, UserID: a.UserID, Username: a.Username, AccountType: a.AccountType,
		IssuedAt: now(), ExpiresAt: now().Add(60 * 24 * time.Hour), Status: store.StatusValid}
	if err := v.Store.SaveToken(context.Background(), tok); err != nil {
		v.T.Fatal(err)
	}
	return tok
}

// Track adds secrets that must appear in no log line, event or job
// error of this Vitrine; checked when the test ends.
func (v *Vitrine) Track(secrets ...string) {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.tokens = append(v.tokens, secrets...)
}

// Token is the stored token; without one the test fails.
func (v *Vitrine) Token() store.Token {
	v.T.Helper()
	tok, ok := v.StoredToken()
	if !ok {
		v.T.Fatal("no token is stored")
	}
	return tok
}

// StoredToken is the stored token; ok is false when none is.
func (v *Vitrine) StoredToken() (tok store.Token, ok bool) {
	v.T.Helper()
	tok, err := v.Store.Token(context.Background())
	if errors.Is(err, store.ErrNoToken) {
		return store.Token{}, false
	}
	if err != nil {
		v.T.Fatal(err)
	}
	return tok, true
}

// Authorize approves the app on the fake Instagram as its owner does and
// returns the authorization code its redirect carries.
func (v *Vitrine) Authorize() string {
	v.T.Helper()
	code, err := v.Fake.Authorize(v.Config.RedirectURI(), strings.Join(v.Config.Instagram.Scopes, ","))
	if err != nil {
		v.T.Fatal(err)
	}
	return code
}

// syncRunsLogged matches the scheduler's line for each sync run that
// finished, whatever its outcome.
var syncRunsLogged = regexp.MustCompile(`msg="jobs: (?:done|failed|cancelled)" job=sync `)

// SyncRuns is how many sync runs have finished so far.
func (v *Vitrine) SyncRuns() int {
	return len(syncRunsLogged.FindAllString(v.Logs.String(), -1))
}

// WaitForSyncRuns waits until n sync runs have finished and none is
// running, for up to patience: a sync that mirrors images takes seconds on
// a quiet machine, minutes in a race-enabled build on a loaded one.
func (v *Vitrine) WaitForSyncRuns(n int, patience time.Duration) {
	v.T.Helper()
	deadline := time.After(patience)
	for v.SyncRuns() < n || v.syncing() {
		select {
		case <-v.Logs.Changed():
		case <-time.After(10 * time.Millisecond): // the run may still hold the job after its line
		case <-deadline:
			v.T.Fatalf("waited %s for %d sync runs, %d finished; log:\n%s", patience, n, v.SyncRuns(), v.Logs.String())
		}
	}
}

// syncing: the sync job is running (its run recorded and logged, it may
// still be releasing the job).
func (v *Vitrine) syncing() bool {
	for _, s := range v.Jobs.Statuses() {
		if s.Name == jobs.JobSync && s.Running {
			return true
		}
	}
	return false
}

// ConnectAndSync connects the fake's account as the callback does once the
// owner approved (app.Connect), then waits, for up to patience, until the
// sync that connecting starts in the background has finished, and any
// sync it ran besides: a test that then steps the clock or counts calls at
// the fake starts from a quiet app.
func (v *Vitrine) ConnectAndSync(patience time.Duration) store.Token {
	v.T.Helper()
	want := v.SyncRuns() + 1 // the background sync
	tok, err := v.Connect(context.Background(), v.Authorize())
	if err != nil {
		v.T.Fatal(err)
	}
	switch err := v.Jobs.RunNow(context.Background(), jobs.JobSync); {
	case err == nil:
		want++ // ours ran first; the background one follows
	case errors.Is(err, jobs.ErrAlreadyRunning):
	default:
		v.T.Fatal(err)
	}
	v.WaitForSyncRuns(want, patience)
	return tok
}

// Browser is a browser without a session, for the served Vitrine.
func (v *Vitrine) Browser() *testkit.Browser {
	v.T.Helper()
	if v.URL == "" {
		v.T.Fatal("testvitrine: a browser needs a served Vitrine (Served)")
	}
	return testkit.NewBrowser(v.T, v.URL)
}

// SignedIn is a browser signed in to the admin; its CSRF field is its
// session's token.
func (v *Vitrine) SignedIn() *testkit.Browser {
	v.T.Helper()
	b := v.Browser()
	b.SignIn(Password)
	return b
}

// Get is a visitor's request to the served Vitrine: no cookies, no
// redirects followed, no gzip asked for but what header asks (name, value
// pairs). It returns the answer and its body.
func (v *Vitrine) Get(path string, header ...string) (*http.Response, []byte) {
	v.T.Helper()
	if v.URL == "" {
		v.T.Fatal("testvitrine: Get needs a served Vitrine (Served)")
	}
	req, err := http.NewRequest(http.MethodGet, v.URL+path, nil)
	if err != nil {
		v.T.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		v.T.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		v.T.Fatal(err)
	}
	return resp, body
}

// assertNoSecretsLeaked: no log line, event or job error may carry the
// client secret, a token the fixture handed the app, or the stored one.
func (v *Vitrine) assertNoSecretsLeaked() {
	ctx := context.Background()
	v.mu.Lock()
	secrets := append([]string{v.cfg.Instagram.ClientSecret}, v.tokens...)
	v.mu.Unlock()
	texts := []string{v.Logs.String()}
	if tok, err := v.Store.Token(ctx); err == nil {
		secrets = append(secrets, tok.AccessToken)
	}
	if evs, err := v.Store.Events(ctx, 0); err == nil {
		for _, e := range evs {
			texts = append(texts, e.Message)
		}
	}
	if runs, err := v.Store.JobRuns(ctx); err == nil {
		for _, r := range runs {
			texts = append(texts, r.LastError)
		}
	}
	for _, s := range secrets {
		if len(s) < 8 {
			continue
		}
		for _, text := range texts {
			if strings.Contains(text, s) || (len(s) > 24 && strings.Contains(text, s[:24])) {
				v.T.Errorf("a secret (%.6s…) leaked into the logs, events or job errors", s)
				return
			}
		}
	}
}

// CachePosts caches n posts, newest first, as a sync would: the posts, and
// a mirrored 320 and 640 px copy of each, recorded and on disk (small
// JPEGs: the pictures are not the subject). The gallery shows them while
// an account is connected.
func (v *Vitrine) CachePosts(n int) []store.Post {
	v.T.Helper()
	ctx := context.Background()
	now := v.now()
	if now == nil {
		now = time.Now
	}
	posts := make([]store.Post, n)
	for i := range posts {
		posts[i] = store.Post{ID: fmt.Sprintf("1789000000000%04d", i), MediaType: "IMAGE",
			Caption:   fmt.Sprintf("Post number %d from the studio #tag", i),
			Permalink: fmt.Sprintf("https://www.instagram.com/p/P%d/", i), MediaURL: "https://cdn.example/x.jpg",
			Timestamp: now().Add(-time.Duration(i) * time.Hour)}
	}
	if _, err := v.Store.ReplacePosts(ctx, posts); err != nil {
		v.T.Fatal(err)
	}
	picture := smallJPEG()
	for _, p := range posts {
		var variants []store.ImageVariant
		for _, w := range []int{320, 640} {
			rel := p.ID + "/" + strconv.Itoa(w) + ".jpg"
			path := filepath.Join(v.Config.MediaDir(), filepath.FromSlash(rel))
			if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
				v.T.Fatal(err)
			}
			if err := os.WriteFile(path, picture, 0o600); err != nil {
				v.T.Fatal(err)
			}
			variants = append(variants, store.ImageVariant{Width: w, Height: w, Bytes: int64(len(picture)), Path: rel})
		}
		err := v.Store.SaveImage(ctx, store.Image{MediaID: p.ID, PostID: p.ID, Width: 1080, Height: 1080, Color: "#123456",
			Variants: variants})
		if err != nil {
			v.T.Fatal(err)
		}
	}
	return posts
}

// smallJPEG is an 8×8 grey JPEG.
var smallJPEG = sync.OnceValue(func() []byte {
	img := image.NewGray(image.Rect(0, 0, 8, 8))
	for i := range img.Pix {
		img.Pix[i] = 0x80
	}
	var b bytes.Buffer
	if err := jpeg.Encode(&b, img, nil); err != nil {
		panic(err)
	}
	return b.Bytes()
})
