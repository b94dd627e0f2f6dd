// Package alerts tells ops when the Instagram connection needs a person:
// one alert per change to needs_reauth, reminders while it lasts,
// "resolved" after reconnecting, and a warning when the token nears expiry
// while refreshing keeps failing; and, once per attempt, when connecting an
// account was finished without the admin's session and waits for the
// owner's confirmation. Channels: a signed webhook, email over SMTP, and
// (in -demo) an outbox. What was sent is kept in the store, so a restart
// neither repeats an alert nor forgets a reminder.
package alerts

import (
	"context"
	"crypto/tls"
	"errors"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"vitrine/config"
	"vitrine/connection"
	"vitrine/store"
)

// Store is what the alerts need of *store.Store: the audit log and the
// key/value state that remembers what was sent.
type Store interface {
	AddEvent(ctx context.Context, kind, level, message string) error
	State(ctx context.Context, key string) (value string, ok bool, err error)
	SetState(ctx context.Context, key, value string) error
	// JobRuns tell whether the refresh job is failing (Options.RefreshJob).
	JobRuns(ctx context.Context) ([]store.JobRun, error)
}

// Connection is what the alerts watch.
type Connection interface {
	Status(ctx context.Context) (connection.Status, error)
}

// Observer counts deliveries per channel (the metrics).
type Observer interface {
	AlertSent(channel string)
	AlertFailed(channel string)
}

// Options configure New. Store and Connection are required.
type Options struct {
	Settings   config.Alerts
	PublicURL  string // the admin link in every alert is PublicURL + "/admin"
	Store      Store
	Connection Connection
	Logger     *slog.Logger
	Now        func() time.Time
	Observer   Observer
	// RefreshJob names the job whose recorded runs (Store.JobRuns) tell
	// whether refreshing the token keeps failing, which the expiry warning
	// waits for; "": no expiry warning.
	RefreshJob string
	// HTTPClient sends webhooks; default a client with a 15 s timeout.
	HTTPClient *http.Client
	// SMTPTLSConfig is used for STARTTLS and SMTPS; nil: system roots and
	// alerts.smtp.host as the server name. Tests pass their own CA.
	SMTPTLSConfig *tls.Config
	// WebhookBackoff is the wait before the first retry of a webhook,
	// doubled for each further one; default 2 s.
	WebhookBackoff time.Duration
	// Outbox, when set, is one more channel beside the webhook and email:
	// -demo shows what it receives on a page.
	Outbox func(context.Context, Alert) error
}

// Alerter evaluates and sends alerts.
type Alerter struct {
	cfg        config.Alerts
	publicURL  string
	st         Store
	conn       Connection
	log        *slog.Logger
	now        func() time.Time
	observer   Observer
	refreshJob string
	hc         *http.Client
	smtpTLS    *tls.Config
	outbox     func(context.Context, Alert) error

	mu sync.Mutex // one evaluation at a time

	faults faults // the database's and the disk's alerts

	// Retries of a webhook delivery.
	webhookBackoff time.Duration
	webhookTries   int
}

// New checks o.
func New(o Options) (*Alerter, error) {
	if o.Store == nil || o.Connection == nil {
		return nil, errors.New("alerts: Store and Connection are required")
	}
	al := &Alerter{
		cfg: o.Settings, publicURL: o.PublicURL, st: o.Store, conn: o.Connection, log: o.Logger, now: o.Now,
		observer: o.Observer, refreshJob: o.RefreshJob, hc: o.HTTPClient, smtpTLS: o.SMTPTLSConfig,
		outbox: o.Outbox, webhookBackoff: 2 * time.Second, webhookTries: 4,
	}
	if o.WebhookBackoff > 0 {
		al.webhookBackoff = o.WebhookBackoff
	}
	if al.log == nil {
		al.log = slog.Default()
	}
	if al.now == nil {
		al.now = time.Now
	}
	if al.hc == nil {
		al.hc = &http.Client{Timeout: 15 * time.Second}
	}
	if al.observer == nil {
		al.observer = nopObserver{}
	}
	return al, nil
}

type nopObserver struct{}

func (nopObserver) AlertSent(string)   {}
func (nopObserver) AlertFailed(string) {}

// eventTimeout bounds writing an event: an alert about the database
// being away must not wait for it.
const eventTimeout = 5 * time.Second

// event adds to the audit log; a failure to do so is logged, not fatal.
func (al *Alerter) event(ctx context.Context, kind, level, msg string) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), eventTimeout)
	defer cancel()
	if err := al.st.AddEvent(ctx, kind, level, msg); err != nil {
		al.log.Warn("alerts: add event", "kind", kind, "err", err)
	}
}
