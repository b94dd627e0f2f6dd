package connection

import (
	"context"
	"errors"
	"fmt"
	"time"

	"vitrine/instagram"
	"vitrine/store"
)

const (
	// minRefreshAge: Instagram refuses to refresh a token younger than a day.
	minRefreshAge = 24 * time.Hour
	// defaultTokenLife is assumed when a refresh answer has no expires_in.
	defaultTokenLife = 60 * 24 * time.Hour
)

func expired(tok store.Token, now time.Time) bool {
	return !tok.ExpiresAt.IsZero() && !now.Before(tok.ExpiresAt)
}

func needsReauth(reason string) error {
	if reason == "" {
		reason = "token invalid"
	}
	return fmt.Errorf("%w: %s", ErrNeedsReauth, reason)
}

// Validate asks Instagram who the token belongs to (GET /me). A 190 (any
// subcode) or a passed expiry makes the token needs_reauth; transient
// trouble is recorded on the token and returned for backoff, never a
// state change.
func (c *Connection) Validate(ctx context.Context) error {
	tok, err := c.UsableToken(ctx)
	if err != nil {
		return err
	}
	now := c.now()
	if expired(tok, now) {
		return c.markNeedsReauth(ctx, reasonExpired)
	}
	prof, err := c.ig.Me(ctx, tok.AccessToken)
	if err != nil {
		return c.upstreamFailure(ctx, "validate", err, true)
	}
	// A renamed account, a new picture or biography shows without
	// reconnecting, and the mirror gets a picture URL whose signature has
	// not expired.
	err = c.st.UpdateAccount(ctx, tok.UserID, store.Account{
		Username: prof.Username, Name: prof.Name, AccountType: prof.AccountType,
		ProfilePictureURL: prof.ProfilePictureURL, MediaCount: prof.MediaCount, FollowersCount: prof.FollowersCount,
		Biography: prof.Biography,
	})
	if err != nil && !errors.Is(err, store.ErrNoToken) {
		return err
	}
	if err := c.st.MarkTokenChecked(ctx, now, ""); err != nil && !errors.Is(err, store.ErrNoToken) {
		return err
	}
	return nil
}

// Refresh extends the token when less than RefreshBefore remains of it
// (from the stored expiry, not a calendar) and it is at least a day old.
// The new token and its expiry are stored in one transaction; on failure
// the old token stays and the error is returned for backoff.
func (c *Connection) Refresh(ctx context.Context) error {
	tok, err := c.UsableToken(ctx)
	if err != nil {
		return err
	}
	now := c.now()
	left := tok.ExpiresAt.Sub(now)
	if expired(tok, now) {
		return c.markNeedsReauth(ctx, reasonExpired)
	}
	if !tok.ExpiresAt.IsZero() && left > c.refreshBefore {
		if tok.Status == store.StatusRefreshDue {
			// A refresh stored its token but stopped before this.
			_, err := c.st.UpdateTokenStatus(ctx, store.StatusValid, "")
			return notConnectedIfGone(err)
		}
		return nil
	}
	if age := now.Sub(tok.IssuedAt); age < minRefreshAge {
		c.log.Debug("connection: refresh due but the token is younger than a day", "age", age)
		return nil
	}
	if tok.Status == store.StatusValid {
		reason := fmt.Sprintf("expires in %s", DaysWords(left))
		if _, err := c.st.UpdateTokenStatus(ctx, store.StatusRefreshDue, reason); err != nil {
			return notConnectedIfGone(err)
		}
	}

	nt, err := c.ig.Refresh(ctx, tok.AccessToken)
	if err != nil {
		ferr := c.upstreamFailure(ctx, "refresh", err, false)
		if !errors.Is(ferr, ErrNeedsReauth) && ctx.Err() == nil {
			c.event(ctx, "refresh", store.LevelWarn, fmt.Sprintf(
				"Token refresh failed (%s); keeping the current token, which expires %s. Retrying with backoff.",
				instagram.Reason(err), tok.ExpiresAt.UTC().Format(time.DateOnly)))
		}
		return ferr
	}
	expires := nt.ExpiresAt
	if expires.IsZero() {
		expires = now.Add(defaultTokenLife)
	}
	// Instagram has issued the new token: store it even if our caller is
	// shutting down, or we could be left with only the old one.
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	if err := c.st.ReplaceAccessToken(wctx, nt.AccessToken, now, expires); err != nil {
		return fmt.Errorf("connection: store refreshed token: %w", err)
	}
	if _, err := c.st.UpdateTokenStatus(wctx, store.StatusValid, ""); err != nil {
		return notConnectedIfGone(err)
	}
	c.observer.TokenRefreshed()
	c.event(wctx, "refresh", store.LevelInfo, "Token refreshed; it now expires "+expires.UTC().Format(time.DateOnly)+".")
	return nil
}

// InstagramFailed handles an error from Instagram met while using the token on the
// owner's behalf (op names the work, e.g. "sync"): a dead token moves to
// needs_reauth and ErrNeedsReauth is returned; anything else is counted
// and returned wrapped, for backoff.
func (c *Connection) InstagramFailed(ctx context.Context, op string, err error) error {
	return c.upstreamFailure(ctx, op, err, false)
}

// upstreamFailure is Failed, noting transient trouble on the token when
// noteOnToken (validate's "last check" shows it).
func (c *Connection) upstreamFailure(ctx context.Context, op string, err error, noteOnToken bool) error {
	if ctx.Err() != nil {
		return err
	}
	c.observer.UpstreamError(err)
	if errors.Is(err, instagram.ErrTokenInvalid) {
		return c.markNeedsReauth(ctx, reauthReason(err))
	}
	if noteOnToken {
		if merr := c.st.MarkTokenChecked(ctx, c.now(), instagram.Reason(err)); merr != nil && !errors.Is(merr, store.ErrNoToken) {
			c.log.Warn("connection: record check", "err", merr)
		}
	}
	return fmt.Errorf("%s: %w", op, err)
}

// markNeedsReauth moves the token to needs_reauth. The alert goes out from
// the alerts package, which decides from persisted state so it is sent
// once per transition even across a crash.
func (c *Connection) markNeedsReauth(ctx context.Context, reason string) error {
	changed, err := c.st.UpdateTokenStatus(ctx, store.StatusNeedsReauth, reason)
	if err != nil {
		return notConnectedIfGone(err)
	}
	if changed {
		c.log.Warn("connection: Instagram token needs re-authorization", "reason", reason)
		c.event(ctx, "token", store.LevelError, "The Instagram token stopped working ("+reason+"): reconnect in /admin.")
	}
	return needsReauth(reason)
}

// reauthReason words a 190 for people ("expired", "password changed", …).
func reauthReason(err error) string {
	var ae *instagram.APIError
	if errors.As(err, &ae) && ae.Code == 190 && ae.Subcode == 463 {
		return reasonExpired
	}
	return instagram.Reason(err)
}

func notConnectedIfGone(err error) error {
	if errors.Is(err, store.ErrNoToken) {
		return ErrNotConnected
	}
	return err
}

// DaysWords is a duration in whole days for people: "1 day", "12 days",
// "less than a day".
func DaysWords(d time.Duration) string {
	days := int(d.Hours() / 24)
	switch {
	case d <= 0:
		return "no time"
	case days == 0:
		return "less than a day"
	case days == 1:
		return "1 day"
	default:
		return fmt.Sprintf("%d days", days)
	}
}
