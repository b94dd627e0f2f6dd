package jobs

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"vitrine/instagram"
	"vitrine/store"
)

// Upstream error kinds, the label of vitrine_upstream_errors_total.
var upstreamKinds = []string{"token_invalid", "rate_limited", "unavailable", "timeout", "bad_request", "url_expired", "other"}

type metrics struct {
	gatherer prometheus.Gatherer

	lastSuccess    *prometheus.GaugeVec
	jobRuns        *prometheus.CounterVec
	syncDuration   prometheus.Histogram
	upstreamErrors *prometheus.CounterVec
	alertsSent     *prometheus.CounterVec
	alertFailures  *prometheus.CounterVec
	refreshes      prometheus.Counter
	imagesMirrored prometheus.Counter
}

func newMetrics(reg prometheus.Registerer, s *Scheduler) (*metrics, error) {
	m := &metrics{
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
	}
	for _, k := range upstreamKinds {
		m.upstreamErrors.WithLabelValues(k)
	}
	for _, c := range []string{"webhook", "email"} {
		m.alertsSent.WithLabelValues(c)
		m.alertFailures.WithLabelValues(c)
	}

	if reg == nil {
		r := prometheus.NewRegistry()
		r.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
		reg, m.gatherer = r, r
	} else if g, ok := reg.(prometheus.Gatherer); ok {
		m.gatherer = g
	} else {
		m.gatherer = prometheus.DefaultGatherer
	}
	for _, c := range []prometheus.Collector{m.lastSuccess, m.jobRuns, m.syncDuration, m.upstreamErrors,
		m.alertsSent, m.alertFailures, m.refreshes, m.imagesMirrored, &storeCollector{s: s}} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("jobs: register metrics: %w", err)
		}
	}
	return m, nil
}

// loadLastSuccess seeds the gauges from the store so a restart does not
// reset them to "never".
func (m *metrics) loadLastSuccess(s *Scheduler) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	runs, err := s.jobRuns(ctx)
	if err != nil {
		return
	}
	for name, r := range runs {
		if !r.LastSuccess.IsZero() {
			m.lastSuccess.WithLabelValues(name).Set(float64(r.LastSuccess.Unix()))
		}
	}
}

func (m *metrics) jobSucceeded(name string, at time.Time) {
	m.lastSuccess.WithLabelValues(name).Set(float64(at.Unix()))
	m.jobRuns.WithLabelValues(name, "success").Inc()
}

func (m *metrics) jobFailed(name string) { m.jobRuns.WithLabelValues(name, "failure").Inc() }

func (m *metrics) upstreamError(err error) { m.upstreamErrors.WithLabelValues(errorKind(err)).Inc() }

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

// MetricsHandler serves /metrics in the Prometheus text format.
func (s *Scheduler) MetricsHandler() http.Handler {
	return promhttp.HandlerFor(s.metrics.gatherer, promhttp.HandlerOpts{})
}

// storeCollector reads the token and the cache at scrape time, so the
// gauges are right from the first scrape after a restart and follow what
// admin changes (connect, disconnect) without a job in between.
type storeCollector struct{ s *Scheduler }

var (
	tokenValidDesc = prometheus.NewDesc("vitrine_token_valid",
		"1 when an Instagram token is connected, not expired and not waiting for re-authorization.", nil, nil)
	tokenExpiryDesc = prometheus.NewDesc("vitrine_token_expiry_timestamp_seconds",
		"When the Instagram token expires (Unix seconds); absent when none is connected.", nil, nil)
	postsCachedDesc = prometheus.NewDesc("vitrine_posts_cached",
		"Posts in the local cache the widget serves.", nil, nil)
)

func (c *storeCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- tokenValidDesc
	ch <- tokenExpiryDesc
	ch <- postsCachedDesc
}

func (c *storeCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	tok, err := c.s.st.Token(ctx)
	switch {
	case errors.Is(err, store.ErrNoToken):
		ch <- prometheus.MustNewConstMetric(tokenValidDesc, prometheus.GaugeValue, 0)
	case err != nil && tok.Status == "":
		ch <- prometheus.NewInvalidMetric(tokenValidDesc, err)
	default:
		valid := 0.0
		if tok.Status != store.StatusNeedsReauth && (tok.ExpiresAt.IsZero() || c.s.now().Before(tok.ExpiresAt)) && err == nil {
			valid = 1
		}
		ch <- prometheus.MustNewConstMetric(tokenValidDesc, prometheus.GaugeValue, valid)
		if !tok.ExpiresAt.IsZero() {
			ch <- prometheus.MustNewConstMetric(tokenExpiryDesc, prometheus.GaugeValue, float64(tok.ExpiresAt.Unix()))
		}
	}
	n, err := c.s.st.PostCount(ctx)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(postsCachedDesc, err)
		return
	}
	ch <- prometheus.MustNewConstMetric(postsCachedDesc, prometheus.GaugeValue, float64(n))
}
