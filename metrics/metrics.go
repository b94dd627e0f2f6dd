// Package metrics is Vitrine's Prometheus registry: the counters the jobs,
// the connection, the feed and the alerts report to, and the gauges read
// at scrape time (the token's validity and expiry, the cached posts).
// GET /metrics serves Handler.
package metrics

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"vitrine/buildinfo"
	"vitrine/connection"
	"vitrine/instagram"
)

// Upstream error kinds, the label of vitrine_upstream_errors_total.
var upstreamKinds = []string{"token_invalid", "rate_limited", "unavailable", "timeout", "bad_request", "url_expired", "other"}

// Alert channels, pre-declared so a scrape shows 0 before the first alert.
var alertChannels = []string{"webhook", "email"}

// Sources are read at scrape time, so the gauges are right from the first
// scrape after a restart and follow connect and disconnect at once.
type Sources struct {
	Status    func(ctx context.Context) (connection.Status, error)
	PostCount func(ctx context.Context) (int64, error)
	// DatabaseUp checks whether the database answers now. While it does
	// not, the gauges that read it are left out of the scrape rather than
	// failing it: vitrine_database_up 0 says why.
	DatabaseUp func(ctx context.Context) bool
	// Disks are the directories whose free space is reported, by the
	// label they get (data, media).
	Disks func() []Disk
	// RefusalReasons are the reasons RequestRefused will be given, shown
	// at 0 from the first scrape.
	RefusalReasons []string
}

// Disk is the space of the file system a directory is on.
type Disk struct {
	Dir         string // the dir label: "data" or "media"
	Free, Total uint64 // bytes; Free is what an unprivileged writer may use
}

// Mirror failure reasons (the feed's), the label of
// vitrine_mirror_failures_total, pre-declared so a scrape shows 0 before
// the first failure.
var mirrorFailureReasons = []string{"no_space", "download", "other"}

// Metrics holds every collector. Its methods are safe for concurrent use.
type Metrics struct {
	registry *prometheus.Registry

	lastSuccess    *prometheus.GaugeVec
	jobRuns        *prometheus.CounterVec
	syncDuration   prometheus.Histogram
	upstreamErrors *prometheus.CounterVec
	alertsSent     *prometheus.CounterVec
	alertFailures  *prometheus.CounterVec
	refreshes      prometheus.Counter
	imagesMirrored prometheus.Counter
	refused        *prometheus.CounterVec
	leaseHeld      prometheus.Gauge
	mirrorFailures *prometheus.CounterVec
}

// New registers every collector, with the Go and process collectors, on a
// registry of its own.
func New(src Sources) (*Metrics, error) {
	m := &Metrics{
		registry: prometheus.NewRegistry(),
		lastSuccess: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "vitrine_last_success_timestamp_seconds",
			Help: "When each job last succeeded (Unix seconds).",
		}, []string{"job"}),
		jobRuns: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "vitrine_job_runs_total",
			Help: "Job runs by job and result (success, failure).",
		}, []string{"job", "result"}),
		syncDuration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "vitrine_sync_duration_seconds",
			Help:    "Duration of successful syncs (feed and image mirroring).",
			Buckets: []float64{0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600},
		}),
		upstreamErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "vitrine_upstream_errors_total",
			Help: "Failed calls to Instagram (Graph API and CDN) by kind.",
		}, []string{"kind"}),
		alertsSent: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "vitrine_alerts_sent_total",
			Help: "Alerts delivered, by channel (webhook, email).",
		}, []string{"channel"}),
		alertFailures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "vitrine_alert_failures_total",
			Help: "Alerts a channel failed to deliver after its retries.",
		}, []string{"channel"}),
		refreshes: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "vitrine_token_refreshes_total",
			Help: "Successful token refreshes by this process.",
		}),
		imagesMirrored: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "vitrine_images_mirrored_total",
			Help: "Images downloaded and stored by this process.",
		}),
		refused: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "vitrine_requests_refused_total",
			Help: "Requests refused for their own sake (forged forms, wrong passwords, throttled sign-ins, scrapes from outside metrics.allowed_networks), by reason.",
		}, []string{"reason"}),
		leaseHeld: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "vitrine_jobs_lease_held",
			Help: "1 while this process holds the jobs lease and runs the scheduled jobs, 0 while another replica does.",
		}),
		mirrorFailures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "vitrine_mirror_failures_total",
			Help: "Images and videos a sync failed to mirror (retried by the next), by reason: no_space (the media directory's disk is full), download, other.",
		}, []string{"reason"}),
	}
	// The usual *_build_info pattern: a constant 1 whose labels say which
	// build runs, so a dashboard can show it and join it to other series.
	b := buildinfo.Get()
	build := prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "vitrine_build_info",
		Help: "Always 1; the labels are this build's version (a tag or dev), commit, date and Go version, as `vitrine version` prints them.",
		ConstLabels: prometheus.Labels{"version": b.Version, "commit": b.Commit, "modified": fmt.Sprint(b.Modified),
			"date": b.Date, "goversion": b.GoVersion},
	})
	build.Set(1)
	for _, r := range append([]string{RefusedScrape}, src.RefusalReasons...) {
		m.refused.WithLabelValues(r)
	}
	for _, k := range upstreamKinds {
		m.upstreamErrors.WithLabelValues(k)
	}
	for _, r := range mirrorFailureReasons {
		m.mirrorFailures.WithLabelValues(r)
	}
	for _, c := range alertChannels {
		m.alertsSent.WithLabelValues(c)
		m.alertFailures.WithLabelValues(c)
	}
	for _, c := range []prometheus.Collector{
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		m.lastSuccess, m.jobRuns, m.syncDuration, m.upstreamErrors, m.alertsSent, m.alertFailures,
		m.refreshes, m.imagesMirrored, m.refused, m.leaseHeld, m.mirrorFailures, &gauges{src: src}, build,
	} {
		if err := m.registry.Register(c); err != nil {
			return nil, fmt.Errorf("metrics: register: %w", err)
		}
	}
	return m, nil
}

// Handler serves the metrics in the Prometheus text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.registry, promhttp.HandlerOpts{})
}

// JobSucceeded records a successful run that started at.
func (m *Metrics) JobSucceeded(job string, at time.Time) {
	m.lastSuccess.WithLabelValues(job).Set(float64(at.Unix()))
	m.jobRuns.WithLabelValues(job, "success").Inc()
}

// JobFailed records a failed run.
func (m *Metrics) JobFailed(job string) { m.jobRuns.WithLabelValues(job, "failure").Inc() }

// LastSuccess seeds a job's gauge from the runs a previous process
// recorded, so a restart does not reset it to "never".
func (m *Metrics) LastSuccess(job string, at time.Time) {
	m.lastSuccess.WithLabelValues(job).Set(float64(at.Unix()))
}

// LeaseHeld records whether this process now runs the scheduled jobs.
func (m *Metrics) LeaseHeld(held bool) {
	v := 0.0
	if held {
		v = 1
	}
	m.leaseHeld.Set(v)
}

// UpstreamError counts a failed call to Instagram by kind.
func (m *Metrics) UpstreamError(err error) { m.upstreamErrors.WithLabelValues(errorKind(err)).Inc() }

// TokenRefreshed counts a successful refresh.
func (m *Metrics) TokenRefreshed() { m.refreshes.Inc() }

// ImageMirrored counts a stored image.
func (m *Metrics) ImageMirrored() { m.imagesMirrored.Inc() }

// MirrorFailed counts files a sync could not mirror, by the feed's reason.
func (m *Metrics) MirrorFailed(reason string, n int) {
	m.mirrorFailures.WithLabelValues(reason).Add(float64(n))
}

// Synced records a successful sync's duration.
func (m *Metrics) Synced(took time.Duration) { m.syncDuration.Observe(took.Seconds()) }

// AlertSent counts an alert delivered on channel.
func (m *Metrics) AlertSent(channel string) { m.alertsSent.WithLabelValues(channel).Inc() }

// AlertFailed counts an alert channel that failed after its retries.
func (m *Metrics) AlertFailed(channel string) { m.alertFailures.WithLabelValues(channel).Inc() }

// RequestRefused counts a request refused for reason.
func (m *Metrics) RequestRefused(reason string) { m.refused.WithLabelValues(reason).Inc() }

func errorKind(err error) string {
	switch {
	case errors.Is(err, instagram.ErrTokenInvalid):
		return "token_invalid"
	case errors.Is(err, instagram.ErrRateLimited):
		return "rate_limited"
	case errors.Is(err, instagram.ErrURLExpired):
		return "url_expired"
	case errors.Is(err, context.DeadlineExceeded):
		return "timeout"
	case errors.Is(err, instagram.ErrUnavailable):
		return "unavailable"
	case errors.Is(err, instagram.ErrBadRequest):
		return "bad_request"
	default:
		return "other"
	}
}

// gauges reads the connection and the cache at scrape time.
type gauges struct{ src Sources }

var (
	tokenValidDesc = prometheus.NewDesc("vitrine_token_valid",
		"1 when an Instagram token is connected and needs no attention (not expired, not waiting for re-authorization).", nil, nil)
	tokenExpiryDesc = prometheus.NewDesc("vitrine_token_expiry_timestamp_seconds",
		"When the Instagram token expires (Unix seconds); absent when none is connected.", nil, nil)
	postsCachedDesc = prometheus.NewDesc("vitrine_posts_cached",
		"Posts in the local cache the widget serves.", nil, nil)
	databaseUpDesc = prometheus.NewDesc("vitrine_database_up",
		"1 when the database answered at this scrape, 0 when it did not (the gallery keeps serving from memory; the admin and the jobs wait).", nil, nil)
	diskFreeDesc = prometheus.NewDesc("vitrine_disk_free_bytes",
		"Free bytes on the file system of the data directory (dir=data) and of the media directory (dir=media).", []string{"dir"}, nil)
	diskSizeDesc = prometheus.NewDesc("vitrine_disk_size_bytes",
		"Size in bytes of the file system of the data directory (dir=data) and of the media directory (dir=media).", []string{"dir"}, nil)
)

func (g *gauges) Describe(ch chan<- *prometheus.Desc) {
	ch <- tokenValidDesc
	ch <- tokenExpiryDesc
	ch <- postsCachedDesc
	ch <- databaseUpDesc
	ch <- diskFreeDesc
	ch <- diskSizeDesc
}

func (g *gauges) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	if g.src.Disks != nil {
		for _, d := range g.src.Disks() {
			ch <- prometheus.MustNewConstMetric(diskFreeDesc, prometheus.GaugeValue, float64(d.Free), d.Dir)
			ch <- prometheus.MustNewConstMetric(diskSizeDesc, prometheus.GaugeValue, float64(d.Total), d.Dir)
		}
	}
	if g.src.DatabaseUp != nil {
		up := g.src.DatabaseUp(ctx)
		v := 0.0
		if up {
			v = 1
		}
		ch <- prometheus.MustNewConstMetric(databaseUpDesc, prometheus.GaugeValue, v)
		if !up {
			return
		}
	}
	if g.src.Status != nil {
		s, err := g.src.Status(ctx)
		if err != nil {
			ch <- prometheus.NewInvalidMetric(tokenValidDesc, err)
		} else {
			valid := 0.0
			if !s.NeedsAttention() {
				valid = 1
			}
			ch <- prometheus.MustNewConstMetric(tokenValidDesc, prometheus.GaugeValue, valid)
			if s.Connected && !s.Account.ExpiresAt.IsZero() {
				ch <- prometheus.MustNewConstMetric(tokenExpiryDesc, prometheus.GaugeValue, float64(s.Account.ExpiresAt.Unix()))
			}
		}
	}
	if g.src.PostCount != nil {
		n, err := g.src.PostCount(ctx)
		if err != nil {
			ch <- prometheus.NewInvalidMetric(postsCachedDesc, err)
			return
		}
		ch <- prometheus.MustNewConstMetric(postsCachedDesc, prometheus.GaugeValue, float64(n))
	}
}
