// Package server is one served Vitrine: it builds the app (every part,
// once, from a validated configuration), the admin, Meta's callbacks and,
// in -demo, the demo over it, routes the HTTP paths, and serves them
// through the fast path.
package server

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"math"
	"net"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"vitrine/admin"
	"vitrine/app"
	"vitrine/auth"
	"vitrine/config"
	"vitrine/demo"
	"vitrine/fastpath"
	"vitrine/instagram/fake"
	"vitrine/mediadir"
	"vitrine/metaapp"
	"vitrine/metrics"
	"vitrine/store"
	"vitrine/templates"
	"vitrine/widget"
)

// Vitrine is one served Vitrine: the app (its parts and operations) and
// the HTTP side over it: the admin, Meta's callbacks, the demo and the
// routes. `vitrine serve` runs one; the system tests build their own with
// a simulated clock.
type Vitrine struct {
	*app.App
	Admin   *admin.Admin
	Demo    *demo.Demo // nil unless cfg.Demo
	MetaApp *metaapp.App
	Handler http.Handler

	proxies *proxies
	http    *http.Server // set by Start
}

// Options are what the demo and tests vary; `vitrine serve` without -demo
// uses the zero value.
type Options struct {
	Now func() time.Time // every component's clock; nil: time.Now
	// DemoFake is the fake Instagram cfg points at (demo.Configure), served
	// by this server under demo.FakePrefix; required when cfg.Demo is set.
	DemoFake *fake.Fake
	// InstagramBackoff, when set, replaces the Instagram client's retry
	// backoff: tests that make Instagram fail on purpose don't wait.
	InstagramBackoff time.Duration
	// MediaCreate, when set, creates the media directory's temporary
	// files: tests fill up a disk with it.
	MediaCreate mediadir.CreateFunc
}

// New builds the app (app.New opens the store under cfg.DataDir) and the
// HTTP side over it. cfg must be valid; nothing changes it afterwards.
// Close releases the store.
func New(cfg config.Config, log *slog.Logger, o Options) (_ *Vitrine, err error) {
	if cfg.Demo != (o.DemoFake != nil) {
		return nil, errors.New("server: a demo needs its fake Instagram, and only a demo has one")
	}
	v := &Vitrine{proxies: &proxies{trusted: cfg.TrustedProxyNetworks(), log: log}}
	// The demo's outbox exists before the alerts that deliver to it, and
	// the demo, which shows it, after the scheduler.
	var outbox *demo.Outbox
	appOpts := app.Options{Now: o.Now, InstagramBackoff: o.InstagramBackoff, MediaCreate: o.MediaCreate,
		RefusalReasons: append([]string{metaapp.RefusedSignedRequest}, auth.RefusalReasons...)}
	if cfg.Demo {
		outbox = demo.NewOutbox(cfg.Server.PublicURL, log)
		appOpts.AlertOutbox = outbox.Deliver
	}
	if v.App, err = app.New(cfg, log, appOpts); err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			v.App.Close()
		}
	}()
	c := &v.Config
	var demoPanel admin.Demo
	if cfg.Demo {
		v.Demo, err = demo.New(demo.Options{Config: *c, Fake: o.DemoFake, Outbox: outbox, Jobs: v.Jobs, Store: v.Store, Logger: log, Embeds: v.Gallery})
		if err != nil {
			return nil, err
		}
		demoPanel = v.Demo
	}
	key, err := store.LoadOrCreateKey(c.DataDir, c.SecretKey)
	if err != nil {
		return nil, fmt.Errorf("secret key: %w", err)
	}
	loginKey, err := store.DeriveKey(key, "login-form-v1")
	if err != nil {
		return nil, fmt.Errorf("login key: %w", err)
	}
	adminAuth, err := auth.New(auth.Options{Settings: c.Admin, PublicURL: c.Server.PublicURL, Store: v.Store,
		Refused: v.Metrics.RequestRefused, LoginKey: loginKey, Logger: log, Now: o.Now})
	if err != nil {
		return nil, fmt.Errorf("auth: %w", err)
	}
	v.Admin, err = admin.New(admin.Options{
		PublicURL: c.Server.PublicURL, Auth: adminAuth, Store: v.Store, Operations: v.App, Instagram: v.Instagram, Jobs: v.Jobs,
		Database: v.Store,
		Logger:   log, Now: o.Now, Demo: demoPanel,
		Embeds:          func() admin.Embeds { return dashboardEmbeds(v.Gallery) },
		GalleryCacheAge: cfg.Widget.CacheMaxAge.Std(),
	})
	if err != nil {
		return nil, fmt.Errorf("admin: %w", err)
	}
	v.MetaApp, err = metaapp.New(metaapp.Options{
		AppSecret: c.Instagram.ClientSecret, PublicURL: c.Server.PublicURL, Connection: v.App, Store: v.Store,
		Refused: v.Metrics.RequestRefused, Logger: log, Now: o.Now,
	})
	if err != nil {
		return nil, fmt.Errorf("metaapp: %w", err)
	}
	v.Handler = withoutForwardedPrefix(v.routes())
	return v, nil
}

func (v *Vitrine) routes() http.Handler {
	engine := newEngine(&v.Config, v.Log)
	engine.Use(v.proxies.warnUntrustedForwarding)
	engine.GET("/healthz", func(c *gin.Context) { c.String(http.StatusOK, "ok\n") })
	engine.GET("/readyz", v.readyz)
	engine.GET("/metrics", v.metricsGate(metrics.Access{AllowedNetworks: v.Config.MetricsNetworks(), Token: v.Config.Metrics.Token}),
		gin.WrapH(v.Metrics.Handler()))
	engine.GET("/", func(c *gin.Context) { c.Redirect(http.StatusFound, "/admin") })
	engine.GET("/favicon.ico", serveFavicon)
	v.Admin.Register(engine)
	v.Gallery.Register(engine)
	v.MetaApp.Register(engine)
	if v.Demo != nil {
		v.Demo.Register(engine)
	}
	return engine
}

// readyz answers whether this process can serve visitors: it has a
// gallery in memory (and, answering, is listening). The database is not
// asked: visitors never reach it, and a balancer that took every replica
// out during a database restart would darken a gallery each of them could
// serve. ?database=1 asks about the database too, for checks that want
// it (the admin, the jobs and the alerts need it; vitrine_database_up
// says the same).
func (v *Vitrine) readyz(c *gin.Context) {
	if !v.Gallery.Ready() {
		c.String(http.StatusServiceUnavailable, "no gallery to serve yet\n")
		return
	}
	switch c.Query("database") {
	case "":
		c.String(http.StatusOK, "ready\n")
		return
	case "1":
	default:
		c.String(http.StatusBadRequest, "database must be 1 or absent\n")
		return
	}
	if h := v.Store.CheckHealth(c.Request.Context()); !h.Up {
		v.Log.Warn("readiness: the database does not answer", "err", h.LastError)
		c.String(http.StatusServiceUnavailable, "ready to serve the gallery; the database is unreachable since "+
			h.Since.UTC().Format(time.RFC3339)+"\n")
		return
	}
	c.String(http.StatusOK, "ready; database up\n")
}

// favicon is the admin's icon. Browsers ask every origin for /favicon.ico
// unless a page names another; the widget and demo pages name none, and a
// 404 there is an error in the console of each page.
var favicon = func() []byte {
	b, err := fs.ReadFile(templates.Static(), "favicon.svg")
	if err != nil {
		panic(err) // embedded at build time
	}
	return b
}()

func serveFavicon(c *gin.Context) {
	h := c.Writer.Header()
	h.Set("Cache-Control", "public, max-age=86400")
	h.Set("X-Content-Type-Options", "nosniff")
	c.Data(http.StatusOK, "image/svg+xml", favicon)
}

// Start starts the app (its jobs and following the gallery) and serves on
// ln, through the fast path, in the background; the channel reports why
// serving stopped, unless Shutdown stopped it.
func (v *Vitrine) Start(ln net.Listener) <-chan error {
	v.App.Start()
	v.http = NewHTTPServer(v.Handler, v.Log)
	errc := make(chan error, 1)
	go func() { errc <- v.http.Serve(fastpath.Listen(ln, v.http, v.Gallery, v.Log)) }()
	return errc
}

// Shutdown stops what Start serves: no new connections, and the open
// requests get until ctx is done. The jobs go on until StopJobs.
func (v *Vitrine) Shutdown(ctx context.Context) error { return v.http.Shutdown(ctx) }

// withoutForwardedPrefix drops X-Forwarded-Prefix before gin sees it. gin
// builds its trailing-slash redirect from that header, so any client could
// otherwise make "GET /widget.json/" answer "Location: //widget.json", a
// link to another host that a shared cache might keep. Vitrine is never
// mounted under a prefix, so the header has no honest use here.
func withoutForwardedPrefix(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, ok := r.Header["X-Forwarded-Prefix"]; ok {
			r.Header.Del("X-Forwarded-Prefix")
		}
		next.ServeHTTP(w, r)
	})
}

// newEngine builds the gin engine with the middleware every route shares:
// panic recovery that never shows a stack to the client, and an access log
// that never records query strings (the OAuth callback carries the code).
func newEngine(cfg *config.Config, log *slog.Logger) *gin.Engine {
	gin.SetMode(gin.ReleaseMode)
	engine := gin.New()
	engine.HandleMethodNotAllowed = true
	// Only listed proxies may set the client IP that login throttling uses.
	if err := engine.SetTrustedProxies(cfg.Server.TrustedProxies); err != nil {
		log.Warn("server.trusted_proxies", "err", err)
	}
	engine.Use(func(c *gin.Context) {
		start := time.Now()
		c.Next()
		log.Debug("request", "method", c.Request.Method, "path", c.Request.URL.Path,
			"status", c.Writer.Status(), "duration", time.Since(start), "ip", c.ClientIP())
	})
	engine.Use(gin.CustomRecoveryWithWriter(io.Discard, func(c *gin.Context, recovered any) {
		log.Error("panic while serving", "method", c.Request.Method, "path", c.Request.URL.Path, "panic", fmt.Sprint(recovered))
		c.AbortWithStatus(http.StatusInternalServerError)
	}))
	return engine
}

// NewHTTPServer is the HTTP server Start runs h on: its timeouts bound slow
// or idle clients, and the fast path in front of it honours them too.
func NewHTTPServer(h http.Handler, log *slog.Logger) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
}

// dashboardEmbeds are the gallery's embeds as the dashboard offers them,
// with the heights their space depends on as the gallery stands now.
func dashboardEmbeds(g *widget.Widget) admin.Embeds {
	o := widget.EmbedOptions{}
	return admin.Embeds{
		JS:              g.Snippet(o),
		Iframe:          g.SnippetIframe(),
		Fragment:        g.SnippetFragment(),
		ReservedPhone:   int(math.Ceil(g.ReservedHeight(o, 360))),
		ReservedDesktop: int(math.Ceil(g.ReservedHeight(o, 1000))),
		FrameHeight:     g.FrameHeight(),
	}
}
