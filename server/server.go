// Package server is one assembled Vitrine: it builds the store, the
// Instagram client, the widget, the jobs, the admin and, in -demo, the demo
// from a validated configuration, routes the HTTP paths over them, and
// serves them through the fast path.
package server

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"runtime/debug"
	"time"

	"github.com/gin-gonic/gin"

	"vitrine/admin"
	"vitrine/alerts"
	"vitrine/auth"
	"vitrine/config"
	"vitrine/connection"
	"vitrine/demo"
	"vitrine/fastpath"
	"vitrine/feed"
	"vitrine/instagram"
	"vitrine/instagram/fake"
	"vitrine/jobs"
	"vitrine/metaapp"
	"vitrine/metrics"
	"vitrine/store"
	"vitrine/templates"
	"vitrine/widget"
)

// Vitrine is one wired Vitrine: store, Instagram client, widget, jobs,
// admin, and the routes over them. `vitrine serve` runs one; the system
// tests build their own with a simulated clock.
type Vitrine struct {
	cfg        config.Config
	log        *slog.Logger
	Store      *store.Store
	Instagram  *instagram.Client
	Metrics    *metrics.Metrics
	Connection *connection.Connection
	Feed       *feed.Feed
	Alerts     *alerts.Alerter
	Gallery    *widget.Widget
	Jobs       *jobs.Scheduler
	Admin      *admin.Admin
	Demo       *demo.Demo // nil unless cfg.Demo
	MetaApp    *metaapp.App
	Handler    http.Handler

	clients *clients
	http    *http.Server // set by Start
	// stopFollowing ends the gallery's Follow that Start began, and
	// following is closed once it has.
	stopFollowing context.CancelFunc
	following     chan struct{}
}

// Options are what the demo and tests vary; `vitrine serve` without -demo
// uses the zero value.
type Options struct {
	Now func() time.Time // every component's clock; nil: time.Now
	// DemoFake is the fake Instagram cfg points at (demo.Configure), served
	// by this server under demo.FakePrefix; required when cfg.Demo is set.
	DemoFake *fake.Fake
}

// New opens the store under cfg.DataDir and wires everything. cfg must be
// valid; nothing changes it afterwards. Close releases the store.
func New(cfg config.Config, log *slog.Logger, o Options) (_ *Vitrine, err error) {
	if cfg.Demo != (o.DemoFake != nil) {
		return nil, errors.New("server: a demo needs its fake Instagram, and only a demo has one")
	}
	v := &Vitrine{cfg: cfg, log: log}
	c := &v.cfg
	v.clients = &clients{trusted: c.TrustedProxyNetworks(), log: log}
	key, err := store.LoadOrCreateKey(c.DataDir, c.SecretKey)
	if err != nil {
		return nil, fmt.Errorf("secret key: %w", err)
	}
	storeOpts := []store.Option{store.WithLogger(log)}
	if o.Now != nil {
		storeOpts = append(storeOpts, store.WithClock(o.Now))
	}
	if v.Store, err = store.Open(c.DatabaseLocation(), key, storeOpts...); err != nil {
		return nil, fmt.Errorf("open database %s: %w", store.Redact(c.DatabaseLocation()), err)
	}
	defer func() {
		if err != nil {
			v.Store.Close()
		}
	}()

	if v.Instagram, err = instagram.New(InstagramConfig(c, log, o.Now)); err != nil {
		return nil, fmt.Errorf("instagram client: %w", err)
	}
	mediaCache := int64(c.Widget.MediaCacheMB) << 20
	if mediaCache == 0 {
		mediaCache = -1 // widget.Options' "none"; its 0 is the default size
	}
	if v.Gallery, err = widget.New(widget.Options{Settings: c.Widget, PublicURL: c.Server.PublicURL, Source: widget.StoreSource(v.Store, c.MediaDir()),
		Logger: log, Now: o.Now, MediaCacheBytes: mediaCache}); err != nil {
		return nil, fmt.Errorf("widget: %w", err)
	}
	// The demo's outbox exists before the alerts that deliver to it, and
	// the demo, which shows it, after the scheduler.
	var outbox *demo.Outbox
	var deliver func(context.Context, alerts.Alert) error
	if cfg.Demo {
		outbox = demo.NewOutbox(c.Server.PublicURL, log)
		deliver = outbox.Deliver
	}
	if err := v.buildJobs(c, log, o.Now, deliver); err != nil {
		return nil, err
	}
	var demoPanel admin.Demo
	if cfg.Demo {
		v.Demo, err = demo.New(demo.Options{Config: *c, Fake: o.DemoFake, Outbox: outbox, Jobs: v.Jobs, Store: v.Store, Logger: log, Snippet: v.Gallery.Snippet})
		if err != nil {
			return nil, err
		}
		demoPanel = v.Demo
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
		PublicURL: c.Server.PublicURL, Auth: adminAuth, Store: v.Store, Connection: v.Connection, Instagram: v.Instagram, Jobs: v.Jobs,
		Logger: log, Now: o.Now, Demo: demoPanel,
		// A hidden or pinned post reaches visitors with the next snapshot:
		// build it now rather than at the next sync.
		OnModerated:  v.Gallery.Rebuild,
		EmbedSnippet: func() string { return v.Gallery.Snippet(widget.EmbedOptions{}) },
	})
	if err != nil {
		return nil, fmt.Errorf("admin: %w", err)
	}
	v.MetaApp, err = metaapp.New(metaapp.Options{
		AppSecret: c.Instagram.ClientSecret, PublicURL: c.Server.PublicURL, Connection: v.Connection, Store: v.Store,
		Alert:   func() { v.Jobs.Go(v.Alerts.Evaluate) },
		Refused: v.Metrics.RequestRefused, Logger: log, Now: o.Now,
	})
	if err != nil {
		return nil, fmt.Errorf("metaapp: %w", err)
	}
	v.Handler = withoutForwardedPrefix(v.routes())
	return v, nil
}

// buildJobs wires the connection's life, the feed, the alerts (delivering
// to outbox too, when set) and the schedule table over them. The hooks
// close over v's fields, all set before anything runs.
func (v *Vitrine) buildJobs(c *config.Config, log *slog.Logger, now func() time.Time, outbox func(context.Context, alerts.Alert) error) (err error) {
	v.Metrics, err = metrics.New(metrics.Sources{
		Status:         func(ctx context.Context) (connection.Status, error) { return v.Connection.Status(ctx) },
		PostCount:      v.Store.PostCount,
		RefusalReasons: append([]string{metaapp.RefusedSignedRequest}, auth.RefusalReasons...),
	})
	if err != nil {
		return err
	}
	v.Connection, err = connection.New(connection.Options{
		Store: v.Store, Instagram: v.Instagram, Logger: log, Now: now, Observer: v.Metrics,
		RefreshBefore: c.Jobs.RefreshBefore.Std(),
		OnConnected:   func(context.Context) { jobs.AfterConnect(v.Jobs, v.Alerts) },
		// Disconnect removes what was served: the cached posts, the
		// mirrored files, and (by rebuilding) the images held in memory.
		OnDisconnected: func(ctx context.Context) error {
			if err := v.Feed.Forget(ctx); err != nil {
				return err
			}
			return v.Gallery.Rebuild(ctx)
		},
	})
	if err != nil {
		return fmt.Errorf("connection: %w", err)
	}
	v.Feed, err = feed.New(feed.Options{
		Store: v.Store, Instagram: v.Instagram, Connection: v.Connection, MediaDir: c.MediaDir(), MaxPosts: c.Widget.MaxPosts,
		Logger: log, Now: now, Observer: v.Metrics, VideoMaxBytes: int64(c.Widget.VideoMaxMB) << 20,
		OnSynced: func() {
			v.Gallery.MarkStale(false)
			if err := v.Gallery.Rebuild(context.Background()); err != nil {
				log.Error("widget rebuild after sync", "err", err)
			}
			releaseMemory()
		},
	})
	if err != nil {
		return fmt.Errorf("feed: %w", err)
	}
	v.Alerts, err = alerts.New(alerts.Options{
		Settings: c.Alerts, PublicURL: c.Server.PublicURL, Store: v.Store, Connection: v.Connection,
		Logger: log, Now: now, Observer: v.Metrics, Outbox: outbox,
		RefreshFailing: func(ctx context.Context) bool { return v.Jobs.LastFailed(ctx, jobs.JobRefresh) },
	})
	if err != nil {
		return fmt.Errorf("alerts: %w", err)
	}
	v.Jobs, err = jobs.New(jobs.Options{
		Tasks: jobs.Tasks(jobs.Parts{Connection: v.Connection, Feed: v.Feed, Alerts: v.Alerts,
			OnSyncFailed: func(error) { v.Gallery.MarkStale(true) }},
			jobs.Schedules{Validate: c.Jobs.Validate, Sync: c.Jobs.Sync}),
		Runs: v.Store, Logger: log, Now: now, Observer: v.Metrics,
		Leases: v.Store, Holder: JobsHolder(v.Store), LeaseTTL: c.Jobs.Lease.Std(),
	})
	if err != nil {
		return fmt.Errorf("jobs: %w", err)
	}
	return nil
}

// JobsHolder names this process in the jobs' leases. On PostgreSQL each
// process is its own holder, so one replica at a time runs the jobs. An
// SQLite file has one server, so every process on it is the same holder:
// the lease is always held, and a server restarted after a crash runs its
// jobs at once instead of waiting out its predecessor's lease.
func JobsHolder(st *store.Store) string {
	if st.Shared() {
		return jobs.NewHolder()
	}
	return "local"
}

func (v *Vitrine) routes() http.Handler {
	engine := newEngine(&v.cfg, v.log)
	engine.Use(v.clients.warnUntrustedForwarding)
	engine.GET("/healthz", func(c *gin.Context) { c.String(http.StatusOK, "ok\n") })
	engine.GET("/readyz", func(c *gin.Context) {
		if err := v.Store.Ping(c.Request.Context()); err != nil {
			v.log.Error("readiness: database check failed", "err", err)
			c.String(http.StatusServiceUnavailable, "database unavailable\n")
			return
		}
		c.String(http.StatusOK, "ready\n")
	})
	engine.GET("/metrics", v.metricsGate(metrics.Access{AllowedNetworks: v.cfg.MetricsNetworks(), Token: v.cfg.Metrics.Token}),
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

// Start starts the jobs and serves on ln, through the fast path, in the
// background; the channel reports why serving stopped, unless Shutdown
// stopped it.
func (v *Vitrine) Start(ln net.Listener) <-chan error {
	releaseMemory()
	v.Jobs.Start()
	v.FollowGallery()
	v.http = NewHTTPServer(v.Handler, v.log)
	errc := make(chan error, 1)
	go func() { errc <- v.http.Serve(fastpath.Listen(ln, v.http, v.Gallery, v.log)) }()
	return errc
}

// releaseMemory hands the garbage of a start or a sync back to the
// system now. Building the snapshot of 1,000 posts leaves some 6 MiB of
// free heap that Go would otherwise keep for minutes, or until it reaches
// the next GC goal; on a small host that is an eighth of the process. It
// costs one collection of a heap of a few MiB, once per start or sync.
func releaseMemory() { debug.FreeOSMemory() }

// Shutdown stops what Start serves: no new connections, and the open
// requests get until ctx is done. The jobs go on until StopJobs.
func (v *Vitrine) Shutdown(ctx context.Context) error { return v.http.Shutdown(ctx) }

// StopJobs waits for running jobs, up to ten seconds.
func (v *Vitrine) StopJobs() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := v.Jobs.Stop(ctx); err != nil {
		v.log.Warn("jobs did not stop in time", "err", err)
	}
}

// FollowGallery starts rebuilding the gallery when another process on the
// same database changed it (widget.poll_every), until Close. Start calls
// it; tests that serve v themselves may too.
func (v *Vitrine) FollowGallery() {
	if v.stopFollowing != nil {
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	v.stopFollowing, v.following = cancel, make(chan struct{})
	go func() {
		defer close(v.following)
		v.Gallery.Follow(ctx, v.cfg.Widget.PollEvery.Std())
	}()
}

// Close stops following the gallery and closes the store.
func (v *Vitrine) Close() error {
	if v.stopFollowing != nil {
		v.stopFollowing()
		<-v.following
	}
	return v.Store.Close()
}

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

// InstagramConfig is the client configuration cfg describes; now is the
// client's clock (nil: time.Now).
func InstagramConfig(cfg *config.Config, log *slog.Logger, now func() time.Time) instagram.Config {
	return instagram.Config{
		ClientID:     cfg.Instagram.ClientID,
		ClientSecret: cfg.Instagram.ClientSecret,
		RedirectURI:  cfg.RedirectURI(),
		Scopes:       cfg.Instagram.Scopes,
		ForceReauth:  cfg.Instagram.ForceReauth,
		AuthURL:      cfg.Instagram.AuthURL,
		TokenURL:     cfg.Instagram.TokenURL,
		GraphURL:     cfg.Instagram.GraphURL,
		GraphVersion: cfg.Instagram.GraphVersion,
		Timeout:      cfg.Instagram.Timeout.Std(),
		MediaHosts:   cfg.Instagram.MediaHosts,
		Logger:       log,
		Now:          now,
	}
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
