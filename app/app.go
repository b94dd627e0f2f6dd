// Package app is one Vitrine: its parts (store, Instagram client, metrics,
// connection, feed, alerts, gallery and scheduler), each built once from a
// validated configuration, and the operations composed over them. Every
// caller goes through those operations: the schedule table, the command
// line, the admin's handlers and Meta's callbacks. So a sync is the same
// sync wherever it starts, and no part calls another behind its back.
package app

import (
	"context"
	"fmt"
	"log/slog"
	"runtime/debug"
	"time"

	"vitrine/alerts"
	"vitrine/config"
	"vitrine/connection"
	"vitrine/feed"
	"vitrine/instagram"
	"vitrine/jobs"
	"vitrine/mediadir"
	"vitrine/metrics"
	"vitrine/store"
	"vitrine/widget"
)

// Options are what the demo, the server and tests vary; the zero value is
// a plain Vitrine.
type Options struct {
	// Now is every part's clock; nil: time.Now.
	Now func() time.Time
	// AlertOutbox, when set, receives every alert besides the webhook and
	// email (the demo's outbox page).
	AlertOutbox func(context.Context, alerts.Alert) error
	// RefusalReasons are the reasons the HTTP handlers count refused
	// requests under, shown at 0 from the first scrape.
	RefusalReasons []string

	// StoreOptions are added to the store's own: tests open a copy of a
	// migrated database without migrating it again or syncing to disk.
	StoreOptions []store.Option

	// Tests shorten waits meant for the real Instagram and webhooks: the
	// client's retry backoff, the mirror's downloads per second, and the
	// first webhook retry. Zero: the parts' defaults.
	InstagramBackoff   time.Duration
	DownloadsPerSecond float64
	WebhookBackoff     time.Duration

	// MediaCreate creates the media directory's temporary files; nil:
	// the real file system's. Tests pass one whose disk fills up.
	MediaCreate mediadir.CreateFunc

	// JobsHolder names this process in the jobs' leases; "": JobsHolder's.
	// A command beside the server (`vitrine sync`) takes a name of its own.
	JobsHolder string
}

// App is one Vitrine's parts. They are exported for the server, which
// routes HTTP over them, and for tests; behaviour that crosses parts goes
// through App's methods.
type App struct {
	Config     config.Config
	Log        *slog.Logger
	Store      *store.Store
	Instagram  *instagram.Client
	Metrics    *metrics.Metrics
	Connection *connection.Connection
	Feed       *feed.Feed
	Alerts     *alerts.Alerter
	Gallery    *widget.Widget
	Jobs       *jobs.Scheduler

	now        func() time.Time // Options.Now, for the scheduler
	jobsHolder string           // Options.JobsHolder, or JobsHolder's

	// stopFollowing ends the gallery's Follow that Start began, and
	// following is closed once it has.
	stopFollowing context.CancelFunc
	following     chan struct{}

	faults faultWatch
	// stopWatching ends the checks of the database and disk Start began,
	// and watching is closed once they have.
	stopWatching context.CancelFunc
	watching     chan struct{}
}

// New opens the store under cfg.DataDir and builds every part. cfg should
// be valid (the server and `vitrine sync` validate it; `vitrine status`
// needs only the data directory and key). Nothing starts until Start;
// Close releases the store.
func New(cfg config.Config, log *slog.Logger, o Options) (_ *App, err error) {
	a := &App{Config: cfg, Log: log}
	c := &a.Config
	key, err := store.LoadOrCreateKey(c.DataDir, c.SecretKey)
	if err != nil {
		return nil, fmt.Errorf("secret key: %w", err)
	}
	storeOpts := []store.Option{store.WithLogger(log)}
	if o.Now != nil {
		storeOpts = append(storeOpts, store.WithClock(o.Now))
	}
	storeOpts = append(storeOpts, o.StoreOptions...)
	if a.Store, err = store.Open(c.DatabaseLocation(), key, storeOpts...); err != nil {
		return nil, fmt.Errorf("open database %s: %w", store.Redact(c.DatabaseLocation()), err)
	}
	defer func() {
		if err != nil {
			a.Store.Close()
		}
	}()

	ic := InstagramConfig(c, log, o.Now)
	ic.Backoff = o.InstagramBackoff
	if a.Instagram, err = instagram.New(ic); err != nil {
		return nil, fmt.Errorf("instagram client: %w", err)
	}
	if a.Metrics, err = metrics.New(metrics.Sources{Status: a.Status, PostCount: a.Store.PostCount,
		DatabaseUp: func(ctx context.Context) bool { return a.Store.CheckHealth(ctx).Up }, Disks: a.Disks,
		RefusalReasons: o.RefusalReasons}); err != nil {
		return nil, fmt.Errorf("metrics: %w", err)
	}
	if a.Connection, err = connection.New(connection.Options{
		Store: a.Store, Instagram: a.Instagram, Logger: log, Now: o.Now, Observer: a.Metrics,
		RefreshBefore: c.Jobs.RefreshBefore.Std(),
	}); err != nil {
		return nil, fmt.Errorf("connection: %w", err)
	}
	if a.Feed, err = feed.New(feed.Options{
		Store: a.Store, Instagram: a.Instagram, Connection: a.Connection, MediaDir: c.MediaDir(), MaxPosts: c.Widget.MaxPosts,
		VideoMaxBytes: int64(c.Widget.VideoMaxMB) << 20, DownloadsPerSecond: o.DownloadsPerSecond,
		Logger: log, Now: o.Now, Observer: a.Metrics, MediaCreate: o.MediaCreate,
	}); err != nil {
		return nil, fmt.Errorf("feed: %w", err)
	}
	if a.Alerts, err = alerts.New(alerts.Options{
		Settings: c.Alerts, PublicURL: c.Server.PublicURL, Store: a.Store, Connection: a.Connection,
		RefreshJob: jobs.JobRefresh, Outbox: o.AlertOutbox, WebhookBackoff: o.WebhookBackoff,
		Logger: log, Now: o.Now, Observer: a.Metrics,
	}); err != nil {
		return nil, fmt.Errorf("alerts: %w", err)
	}
	mediaCache := int64(c.Widget.MediaCacheMB) << 20
	if mediaCache == 0 {
		mediaCache = -1 // widget.Options' "none"; its 0 is the default size
	}
	if a.Gallery, err = widget.New(widget.Options{
		Settings: c.Widget, PublicURL: c.Server.PublicURL, Source: widget.StoreSource(a.Store, c.MediaDir()),
		SyncJob: jobs.JobSync, MediaCacheBytes: mediaCache, Logger: log, Now: o.Now,
	}); err != nil {
		return nil, fmt.Errorf("widget: %w", err)
	}
	a.now = o.Now
	a.jobsHolder = o.JobsHolder
	if a.jobsHolder == "" {
		a.jobsHolder = JobsHolder(a.Store)
	}
	if a.Jobs, err = a.newScheduler(); err != nil {
		return nil, fmt.Errorf("jobs: %w", err)
	}
	return a, nil
}

// Inspect opens what a command that only reads needs (`vitrine status`):
// the store, checked rather than migrated (store.Inspecting: an older
// database is refused, untouched), and the connection without an
// Instagram client, which reports the status without one. It needs only
// the data directory and its key (never made here), not Instagram's
// credentials; the other parts are nil. Close releases the store.
func Inspect(cfg config.Config, log *slog.Logger) (_ *App, err error) {
	a := &App{Config: cfg, Log: log}
	key, err := store.LoadKey(cfg.DataDir, cfg.SecretKey)
	if err != nil {
		return nil, fmt.Errorf("secret key: %w", err)
	}
	if a.Store, err = store.Open(cfg.DatabaseLocation(), key, store.WithLogger(log), store.Inspecting()); err != nil {
		return nil, fmt.Errorf("open database %s: %w", store.Redact(cfg.DatabaseLocation()), err)
	}
	if a.Connection, err = connection.New(connection.Options{Store: a.Store, Logger: log,
		RefreshBefore: cfg.Jobs.RefreshBefore.Std()}); err != nil {
		a.Store.Close()
		return nil, fmt.Errorf("connection: %w", err)
	}
	return a, nil
}

// newScheduler is the scheduler over the schedule table.
func (a *App) newScheduler() (*jobs.Scheduler, error) {
	return jobs.New(jobs.Options{
		Tasks: a.schedule(), Runs: runRecorder{a}, Logger: a.Log, Now: a.now, Observer: a.Metrics,
		Leases: a.Store, Holder: a.jobsHolder, LeaseTTL: a.Config.Jobs.Lease.Std(),
	})
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

// Start starts the scheduled jobs, following the gallery's changes made
// by other processes on the same database (widget.poll_every), and the
// checks of the database and the disk (CheckFaults).
func (a *App) Start() {
	releaseMemory()
	a.Jobs.Start()
	a.FollowGallery()
	if a.stopWatching == nil {
		ctx, cancel := context.WithCancel(context.Background())
		a.stopWatching, a.watching = cancel, make(chan struct{})
		go func() {
			defer close(a.watching)
			a.watchFaults(ctx)
		}()
	}
}

// FollowGallery starts following the gallery's changes, until Close. Start
// calls it; tests that run no jobs may too.
func (a *App) FollowGallery() {
	if a.stopFollowing != nil {
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	a.stopFollowing, a.following = cancel, make(chan struct{})
	go func() {
		defer close(a.following)
		a.Gallery.Follow(ctx, a.Config.Widget.PollEvery.Std())
	}()
}

// StopJobs waits for running jobs, up to ten seconds.
func (a *App) StopJobs() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := a.Jobs.Stop(ctx); err != nil {
		a.Log.Warn("jobs did not stop in time", "err", err)
	}
}

// Close stops following the gallery and checking the database, and closes
// the store.
func (a *App) Close() error {
	if a.stopWatching != nil {
		a.stopWatching()
		<-a.watching
	}
	if a.stopFollowing != nil {
		a.stopFollowing()
		<-a.following
	}
	return a.Store.Close()
}

// runRecorder records the jobs' runs in the store. A sync job that starts
// or stops failing moves the gallery's generation (the store's rule: the
// gallery says "stale" while it fails), so this process catches up at once
// instead of at its next poll, as the others do.
type runRecorder struct{ a *App }

func (r runRecorder) JobRuns(ctx context.Context) ([]store.JobRun, error) {
	return r.a.Store.JobRuns(ctx)
}

func (r runRecorder) SaveJobRun(ctx context.Context, run store.JobRun) error {
	if err := r.a.Store.SaveJobRun(ctx, run); err != nil {
		return err
	}
	if run.Name == jobs.JobSync {
		if err := r.a.Gallery.CatchUp(ctx); err != nil {
			r.a.Log.Warn("widget: catch up after the sync was recorded", "err", err)
		}
	}
	return nil
}

// releaseMemory hands the garbage of a start or a sync back to the
// system now. Building the snapshot of 1,000 posts leaves some 6 MiB of
// free heap that Go would otherwise keep for minutes, or until it reaches
// the next GC goal; on a small host that is an eighth of the process. It
// costs one collection of a heap of a few MiB, once per start or sync.
func releaseMemory() { debug.FreeOSMemory() }
