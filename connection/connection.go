// Package connection owns the life of the site owner's Instagram
// connection: connecting with an authorization code (or parking the token
// for the owner to confirm), validating and refreshing the token,
// disconnecting, and the one status everyone reads (with its one "needs
// attention" rule). The admin pages, the scheduled
// jobs and the command line call it; none of them derives a state of its
// own.
package connection

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"vitrine/instagram"
	"vitrine/store"
)

var (
	// ErrNotConnected means no account is connected: nothing to do until
	// the admin clicks Generate.
	ErrNotConnected = errors.New("no Instagram account connected")
	// ErrNeedsReauth means the token is dead (revoked, expired, password
	// changed); only a new Generate fixes it.
	ErrNeedsReauth = errors.New("the Instagram token needs re-authorization")
)

// Store is what the connection needs of *store.Store.
type Store interface {
	Token(ctx context.Context) (store.Token, error)
	SaveToken(ctx context.Context, t store.Token) error
	DeleteToken(ctx context.Context) error
	UpdateTokenStatus(ctx context.Context, status store.TokenStatus, reason string) (changed bool, err error)
	MarkTokenChecked(ctx context.Context, at time.Time, lastErr string) error
	ReplaceAccessToken(ctx context.Context, accessToken string, issuedAt, expiresAt time.Time) error
	UpdateAccount(ctx context.Context, userID string, a store.Account) error
	AddEvent(ctx context.Context, kind, level, message string) error

	// SetState and State keep the names of the accounts connected before
	// (accountNameKey), for Meta's data deletion of one disconnected since.
	SetState(ctx context.Context, key, value string) error
	State(ctx context.Context, key string) (string, bool, error)

	ParkToken(ctx context.Context, t store.Token, until time.Time) error
	ParkedToken(ctx context.Context) (store.ParkedToken, error)
	DiscardParkedToken(ctx context.Context) error
	SaveParkedToken(ctx context.Context, p store.ParkedToken) error
}

// Instagram is what the connection needs of *instagram.Client.
type Instagram interface {
	ExchangeCode(ctx context.Context, code string) (instagram.ShortLivedToken, error)
	ExchangeLongLived(ctx context.Context, shortLived string) (instagram.LongLivedToken, error)
	Refresh(ctx context.Context, longLived string) (instagram.LongLivedToken, error)
	Me(ctx context.Context, token string) (instagram.Profile, error)
}

// Observer counts what happens to the connection (the metrics); every
// method must be safe for concurrent use.
type Observer interface {
	UpstreamError(err error)
	TokenRefreshed()
}

// Options configure New. Store is required; without Instagram the
// connection can only report its Status (as `vitrine status` does, with
// no Instagram app configured).
type Options struct {
	Store     Store
	Instagram Instagram
	Logger    *slog.Logger
	Now       func() time.Time
	// RefreshBefore is how much of the token's life may remain before
	// Refresh renews it; default 30 days.
	RefreshBefore time.Duration
	Observer      Observer
}

// DefaultRefreshBefore is Options.RefreshBefore's default.
const DefaultRefreshBefore = 30 * 24 * time.Hour

// Connection is the one Instagram connection of this Vitrine.
type Connection struct {
	st            Store
	ig            Instagram
	log           *slog.Logger
	now           func() time.Time
	refreshBefore time.Duration
	observer      Observer
}

// New checks o.
func New(o Options) (*Connection, error) {
	if o.Store == nil {
		return nil, errors.New("connection: Store is required")
	}
	if o.Instagram == nil {
		o.Instagram = noInstagram{}
	}
	c := &Connection{
		st: o.Store, ig: o.Instagram, log: o.Logger, now: o.Now, refreshBefore: o.RefreshBefore,
		observer: o.Observer,
	}
	if c.log == nil {
		c.log = slog.Default()
	}
	if c.now == nil {
		c.now = time.Now
	}
	if c.refreshBefore <= 0 {
		c.refreshBefore = DefaultRefreshBefore
	}
	if c.observer == nil {
		c.observer = nopObserver{}
	}
	return c, nil
}

// noInstagram refuses every call: the connection was made for reading its
// status only.
type noInstagram struct{}

var errNoInstagram = errors.New("connection: no Instagram client configured")

func (noInstagram) ExchangeCode(context.Context, string) (instagram.ShortLivedToken, error) {
	return instagram.ShortLivedToken{}, errNoInstagram
}

func (noInstagram) ExchangeLongLived(context.Context, string) (instagram.LongLivedToken, error) {
	return instagram.LongLivedToken{}, errNoInstagram
}

func (noInstagram) Refresh(context.Context, string) (instagram.LongLivedToken, error) {
	return instagram.LongLivedToken{}, errNoInstagram
}

func (noInstagram) Me(context.Context, string) (instagram.Profile, error) {
	return instagram.Profile{}, errNoInstagram
}

type nopObserver struct{}

func (nopObserver) UpstreamError(error) {}
func (nopObserver) TokenRefreshed()     {}

// event adds to the audit log; a failure to do so is logged, not fatal.
func (c *Connection) event(ctx context.Context, kind, level, msg string) {
	if err := c.st.AddEvent(context.WithoutCancel(ctx), kind, level, msg); err != nil {
		c.log.Warn("connection: add event", "kind", kind, "err", err)
	}
}
