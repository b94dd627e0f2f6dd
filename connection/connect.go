package connection

import (
	"context"
	"errors"
	"strings"
	"time"

	"vitrine/store"
)

// connectTimeout bounds the network work of connecting (code exchange,
// long-lived upgrade, profile): its own limit, not the HTTP request's
// write deadline, which would cut it short and leave the admin with
// "could not be reached".
const connectTimeout = 45 * time.Second

// Connecting steps, as StepError names them.
const (
	StepExchange  = "Exchanging the authorization code"
	StepLongLived = "Getting a long-lived token"
	StepProfile   = "Reading your Instagram profile"
	StepSave      = "Saving the token"
)

// StepError is a failed Connect: the step it failed at and why. Err comes
// from the instagram package or the store and carries no secret.
type StepError struct {
	Step string
	Err  error
}

func (e *StepError) Error() string {
	return "connection: " + strings.ToLower(e.Step) + ": " + e.Err.Error()
}
func (e *StepError) Unwrap() error { return e.Err }

// Connect turns an authorization code into the owner's long-lived token:
// Exchange, then Save, which replaces any earlier token. On failure
// nothing is written and the old token, if any, stays. The work runs
// under its own time limits, detached from ctx's cancellation (a browser
// that goes away must not leave a half-made connection behind), and the
// event log records the outcome.
func (c *Connection) Connect(ctx context.Context, code string) (store.Token, error) {
	tok, err := c.Exchange(ctx, code)
	if err != nil {
		return store.Token{}, err
	}
	return c.Save(ctx, tok)
}

// Exchange is Connect's network part: code exchange, long-lived upgrade,
// profile. It writes nothing; the token it returns carries its access
// token, for Save or Park.
func (c *Connection) Exchange(ctx context.Context, code string) (store.Token, error) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), connectTimeout)
	defer cancel()
	tok, err := c.exchange(ctx, code)
	if err != nil {
		c.logFailure(err)
		return store.Token{}, err
	}
	return tok, nil
}

// Save stores tok, as Exchange returned it, as the owner's token in one
// transaction that replaces any earlier one, and records it. The token
// returned has no access token.
func (c *Connection) Save(ctx context.Context, tok store.Token) (store.Token, error) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), connectTimeout)
	defer cancel()
	if err := c.st.SaveToken(ctx, tok); err != nil {
		err = &StepError{StepSave, err}
		c.logFailure(err)
		return store.Token{}, err
	}
	c.connected(ctx, tok, "")
	tok.AccessToken = ""
	return tok, nil
}

func (c *Connection) logFailure(err error) {
	var se *StepError
	if errors.As(err, &se) {
		c.log.Warn("connection: connecting Instagram failed", "step", se.Step, "err", se.Err)
	}
}

// connected logs and records a token just saved; how says how it came
// ("" for the usual way).
func (c *Connection) connected(ctx context.Context, tok store.Token, how string) {
	c.log.Info("connection: Instagram connected", "token", tok)
	c.rememberName(ctx, tok)
	c.event(ctx, "connected", store.LevelInfo, "Connected @"+tok.Username+" ("+AccountTypeWords(tok.AccountType)+
		")"+how+"; the token expires "+dateWords(tok.ExpiresAt))
}

func (c *Connection) exchange(ctx context.Context, code string) (store.Token, error) {
	short, err := c.ig.ExchangeCode(ctx, code)
	if err != nil {
		return store.Token{}, &StepError{StepExchange, err}
	}
	long, err := c.ig.ExchangeLongLived(ctx, short.AccessToken)
	if err != nil {
		return store.Token{}, &StepError{StepLongLived, err}
	}
	prof, err := c.ig.Me(ctx, long.AccessToken)
	if err != nil {
		return store.Token{}, &StepError{StepProfile, err}
	}
	now := c.now()
	userID := prof.UserID
	if userID == "" {
		userID = short.UserID
	}
	return store.Token{
		AccessToken:       long.AccessToken,
		UserID:            userID,
		Username:          prof.Username,
		Name:              prof.Name,
		AccountType:       prof.AccountType,
		ProfilePictureURL: prof.ProfilePictureURL,
		MediaCount:        prof.MediaCount,
		FollowersCount:    prof.FollowersCount,
		Biography:         prof.Biography,
		Scopes:            strings.Join(short.Permissions, ","),
		IssuedAt:          now,
		ExpiresAt:         long.ExpiresAt,
		Status:            store.StatusValid,
		StatusReason:      "connected",
		StatusChangedAt:   now,
		LastCheckedAt:     now,
		ConnectedAt:       now,
	}, nil
}

// Disconnect deletes the token, and any token parked for the owner's
// confirmation: the owner asked for Instagram to be forgotten, and a
// parked one could still be confirmed. The parked one goes first, so a
// failure in between leaves a connection to disconnect again, never a
// parked token behind a disconnected one. Removing what the token served
// (the cached posts, the mirrored files, the gallery) is the caller's
// next step: app's Disconnect does both. It returns the username that
// was connected ("" when none was).
func (c *Connection) Disconnect(ctx context.Context) (username string, err error) {
	if err := c.st.DiscardParkedToken(ctx); err != nil {
		return "", err
	}
	return c.deleteToken(ctx)
}

// deleteToken deletes the connected token and returns its username (""
// when none was connected).
func (c *Connection) deleteToken(ctx context.Context) (username string, err error) {
	if tok, err := c.st.Token(ctx); err == nil || errors.Is(err, store.ErrUndecryptable) {
		username = tok.Username
		// Kept since it connected, or now for one connected before names
		// were kept: Meta may ask to delete its data later.
		c.rememberName(ctx, tok)
	}
	if err := c.st.DeleteToken(ctx); err != nil {
		return "", err
	}
	c.log.Info("connection: Instagram disconnected; token deleted")
	return username, nil
}

// AccountTypeWords names an Instagram account type for people.
func AccountTypeWords(t string) string {
	switch strings.ToUpper(t) {
	case "BUSINESS":
		return "Business account"
	case "MEDIA_CREATOR", "CREATOR":
		return "Creator account"
	case "":
		return "Instagram account"
	}
	return strings.ToUpper(t[:1]) + strings.ToLower(t[1:]) + " account"
}

func dateWords(t time.Time) string {
	if t.IsZero() {
		return "at an unknown date"
	}
	return "on " + t.UTC().Format("2 Jan 2006")
}
