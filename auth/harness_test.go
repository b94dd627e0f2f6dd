package auth

import (
	"crypto/rand"
	"errors"
	"html/template"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	"golang.org/x/crypto/bcrypt"

	"vitrine/config"
	"vitrine/instagram/fake"
	"vitrine/store"
	"vitrine/testkit"
)

const testPassword = "correct horse battery staple"

var testStart = time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)

// env is auth in front of a few stand-in admin pages, on a loopback
// server over a temp SQLite (or the database withDatabase names), with
// a clock the test moves.
type env struct {
	t         testing.TB
	clock     *fake.Clock
	st        *store.Store
	settings  config.Admin
	publicURL string // the public URL auth was given
	auth      *Auth
	srv       *httptest.Server

	refusals refusalCounts
	formRuns atomic.Int32 // POSTs the guarded form handler served
	client   *testkit.Browser
	logs     *testkit.LogBuffer
}

type envOption func(*envOptions)

type envOptions struct {
	dbLocation string // "" is a fresh SQLite file
	dbKey      []byte
	publicURL  string
}

// withPublicURL gives auth another server.public_url than the test
// listener's address.
func withPublicURL(u string) envOption { return func(o *envOptions) { o.publicURL = u } }

// withDatabase opens the env's store on the database at loc, with key, as
// one more replica on it.
func withDatabase(loc string, key []byte) envOption {
	return func(o *envOptions) { o.dbLocation, o.dbKey = loc, key }
}

func newEnv(t testing.TB, opts ...envOption) *env {
	t.Helper()
	var o envOptions
	for _, opt := range opts {
		opt(&o)
	}
	gin.SetMode(gin.TestMode)
	e := &env{t: t, clock: fake.NewClock(testStart), logs: testkit.NewLogBuffer()}
	log := slog.New(slog.NewTextHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))

	key := make([]byte, store.KeySize)
	_, _ = rand.Read(key)
	loc := filepath.Join(t.TempDir(), "v.db")
	if o.dbLocation != "" {
		loc, key = o.dbLocation, o.dbKey
	}
	st, err := store.Open(loc, key, store.WithClock(e.clock.Now), store.WithLogger(log))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	e.st = st

	hash, err := bcrypt.GenerateFromPassword([]byte(testPassword), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	e.settings = config.Default().Admin
	e.settings.PasswordHash = string(hash)

	var handler http.Handler
	e.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { handler.ServeHTTP(w, r) }))
	t.Cleanup(e.srv.Close)
	e.publicURL = e.srv.URL
	if o.publicURL != "" {
		e.publicURL = o.publicURL
	}
	// As server does: replicas sharing the key sign login forms alike.
	loginKey, err := store.DeriveKey(key, "login-form-v1")
	if err != nil {
		t.Fatal(err)
	}
	e.auth, err = New(Options{Settings: e.settings, PublicURL: e.publicURL, Store: st, Refused: e.refusals.add,
		LoginKey: loginKey, Logger: log, Now: e.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	handler = e.routes(e.auth)
	e.client = e.newBrowser()
	return e
}

var (
	loginTmpl = template.Must(template.New("login").Parse(`<form method="post" action="/admin/login">` +
		`<input type="hidden" name="csrf_token" value="{{.CSRF}}"><input name="password" type="password">` +
		`{{with .Error}}<p class="error">{{.}}</p>{{end}}{{with .Notice}}<p class="notice">{{.}}</p>{{end}}</form>`))
	homeTmpl = template.Must(template.New("home").Parse(`<p>Signed in</p>{{with .Flash}}<p class="flash">{{.}}</p>{{end}}` +
		`<form method="post" action="/admin/form"><input type="hidden" name="csrf_token" value="{{.CSRF}}"></form>`))
)

// routes mounts a on an engine as the admin does, with stand-ins for its
// pages: the sign-in form, a signed-in page showing the flash, a guarded
// form, a JSON endpoint, and the OAuth state's steps.
func (e *env) routes(a *Auth) http.Handler {
	engine := gin.New()
	g := engine.Group("/admin", renderErrors, a.LoadSession, a.CheckCSRF)
	a.Register(g, func(c *gin.Context, status int, f LoginForm) { page(c, status, loginTmpl, f) })
	g.GET("/take", func(c *gin.Context) { c.String(http.StatusOK, outcome(a.TakeState(c, c.Query("state")))) })
	g.GET("/elsewhere", func(c *gin.Context) {
		c.String(http.StatusOK, outcome(a.TakeStateElsewhere(c.Request.Context(), c.Query("state"))))
	})

	signedIn := g.Group("", a.RequireLogin)
	signedIn.GET("", func(c *gin.Context) {
		flash, err := a.TakeFlash(c)
		if err != nil {
			c.Error(err)
			return
		}
		page(c, http.StatusOK, homeTmpl, map[string]string{"CSRF": CSRFToken(c), "Flash": flash})
	})
	signedIn.GET("/status.json", func(c *gin.Context) { c.JSON(http.StatusOK, gin.H{"signed_in": SignedIn(c)}) })
	signedIn.POST("/form", func(c *gin.Context) {
		e.formRuns.Add(1)
		if err := a.SetFlash(c, "Saved"); err != nil {
			c.Error(err)
			return
		}
		c.Redirect(http.StatusSeeOther, "/admin")
	})
	signedIn.GET("/state", func(c *gin.Context) {
		state, err := a.NewState(c)
		if err != nil {
			c.Error(err)
			return
		}
		c.String(http.StatusOK, state)
	})
	return engine
}

func page(c *gin.Context, status int, t *template.Template, data any) {
	var b strings.Builder
	if err := t.Execute(&b, data); err != nil {
		panic(err)
	}
	c.Data(status, "text/html; charset=utf-8", []byte(b.String()))
}

func outcome(err error) string {
	if err != nil {
		return err.Error()
	}
	return "ok"
}

// renderErrors stands in for the admin's error page: the status, and the
// title as HTML or JSON.
func renderErrors(c *gin.Context) {
	c.Next()
	if len(c.Errors) == 0 || c.Writer.Written() {
		return
	}
	var ae *Error
	if !errors.As(c.Errors.Last().Err, &ae) {
		ae = internal("complete the request", c.Errors.Last().Err)
	}
	if wantsJSON(c) {
		c.JSON(ae.Status, gin.H{"error": ae.Title})
		return
	}
	page(c, ae.Status, template.Must(template.New("error").Parse(`<h1>{{.}}</h1>`)), ae.Title)
}

// refusalCounts is what Options.Refused reported, by reason.
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

// newBrowser is a browser without a session, for the env's server.
func (e *env) newBrowser() *testkit.Browser { return testkit.NewBrowser(e.t, e.srv.URL) }
