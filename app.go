package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"vitrine/admin"
	"vitrine/config"
	"vitrine/instagram"
	"vitrine/jobs"
	"vitrine/store"
	"vitrine/widget"
)

// app is one wired Vitrine: store, Instagram client, widget, jobs, admin,
// and the routes over them. serve runs one; tests build their own with a
// simulated clock.
type app struct {
	cfg     *config.Config
	log     *slog.Logger
	st      *store.Store
	ig      *instagram.Client
	gallery *widget.Widget
	sched   *jobs.Scheduler
	adm     *admin.Admin
	demo    *demo // nil unless cfg.Demo
	handler http.Handler
}

// appOptions are what tests vary; serve uses the zero value but for
// demoPosts.
type appOptions struct {
	now       func() time.Time // every component's clock; nil: time.Now
	demoPosts int
}

// newApp opens the store under cfg.DataDir and wires everything. In demo
// mode cfg.Server.PublicURL must already be the bound address, since the
// fake Instagram is mounted on this very server. Close releases it.
func newApp(cfg *config.Config, log *slog.Logger, o appOptions) (_ *app, err error) {
	a := &app{cfg: cfg, log: log}
	key, err := store.LoadOrCreateKey(cfg.DataDir, cfg.SecretKey)
	if err != nil {
		return nil, fmt.Errorf("secret key: %w", err)
	}
	storeOpts := []store.Option{store.WithLogger(log)}
	if o.now != nil {
		storeOpts = append(storeOpts, store.WithClock(o.now))
	}
	if a.st, err = store.Open(cfg.DatabasePath(), key, storeOpts...); err != nil {
		return nil, fmt.Errorf("open database %s: %w", cfg.DatabasePath(), err)
	}
	defer func() {
		if err != nil {
			a.st.Close()
		}
	}()

	if cfg.Demo {
		// Mounted below; the client is pointed at it before it is built.
		f := newDemoFake(cfg, o.demoPosts)
		pointAtFake(cfg, f)
		if a.demo, err = newDemo(cfg, f, log); err != nil {
			return nil, err
		}
	}
	if a.ig, err = newInstagramClient(cfg, log, o.now); err != nil {
		return nil, fmt.Errorf("instagram client: %w", err)
	}
	if a.gallery, err = widget.New(widget.Options{Settings: cfg.Widget, PublicURL: cfg.Server.PublicURL, Source: widgetSource{st: a.st, mediaDir: cfg.MediaDir()}, Logger: log, Now: o.now}); err != nil {
		return nil, fmt.Errorf("widget: %w", err)
	}
	a.sched, err = jobs.New(jobs.Options{
		Config: cfg, Store: a.st, Instagram: a.ig, Logger: log, Now: o.now,
		OnSynced: func() {
			a.gallery.MarkStale(false)
			if err := a.gallery.Rebuild(context.Background()); err != nil {
				log.Error("widget rebuild after sync", "err", err)
			}
		},
		OnSyncFailed: func(error) { a.gallery.MarkStale(true) },
		Outbox:       demoOutbox(a.demo),
	})
	if err != nil {
		return nil, fmt.Errorf("jobs: %w", err)
	}
	var demoPanel admin.Demo
	if a.demo != nil {
		a.demo.sched, a.demo.st, demoPanel = a.sched, a.st, a.demo
	}
	a.adm, err = admin.New(admin.Options{
		Config: cfg, Store: a.st, Instagram: a.ig, Jobs: adminJobs{a.sched}, Logger: log, Now: o.now, Demo: demoPanel,
		// Without a token the widget shows its placeholder, as it would
		// after a restart; rebuild now rather than at the next start.
		OnDisconnect: func() {
			if err := a.gallery.Rebuild(context.Background()); err != nil {
				log.Error("widget rebuild after disconnect", "err", err)
			}
		},
	})
	if err != nil {
		return nil, fmt.Errorf("admin: %w", err)
	}
	a.handler = a.routes()
	return a, nil
}

func (a *app) routes() http.Handler {
	engine := newEngine(a.cfg, a.log)
	engine.GET("/healthz", func(c *gin.Context) { c.String(http.StatusOK, "ok\n") })
	engine.GET("/readyz", func(c *gin.Context) {
		if err := a.st.Ping(c.Request.Context()); err != nil {
			a.log.Error("readiness: database check failed", "err", err)
			c.String(http.StatusServiceUnavailable, "database unavailable\n")
			return
		}
		c.String(http.StatusOK, "ready\n")
	})
	engine.GET("/metrics", gin.WrapH(a.sched.MetricsHandler()))
	engine.GET("/", func(c *gin.Context) { c.Redirect(http.StatusFound, "/admin") })
	a.adm.Register(engine)
	a.gallery.Register(engine)
	if a.demo != nil {
		a.demo.register(engine)
	}
	return engine
}

// stopJobs waits for running jobs, up to ten seconds.
func (a *app) stopJobs() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := a.sched.Stop(ctx); err != nil {
		a.log.Warn("jobs did not stop in time", "err", err)
	}
}

func (a *app) Close() error { return a.st.Close() }

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
