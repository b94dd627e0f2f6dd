package jobs

import (
	"context"
	"errors"
	"fmt"
	"time"

	"vitrine/config"
	"vitrine/instagram"
	"vitrine/store"
)

const (
	// minRefreshAge: Instagram refuses to refresh a token younger than a day.
	minRefreshAge = 24 * time.Hour
	// defaultTokenLife is assumed when a refresh answer has no expires_in.
	defaultTokenLife = 60 * 24 * time.Hour
)

// token reads the stored token; ErrNotConnected when there is none.
func (s *Scheduler) token(ctx context.Context) (store.Token, error) {
	tok, err := s.st.Token(ctx)
	if errors.Is(err, store.ErrNoToken) {
		return tok, ErrNotConnected
	}
	if err != nil {
		return tok, fmt.Errorf("jobs: %w", err)
	}
	return tok, nil
}

func needsReauth(tok store.Token) error {
	reason := tok.StatusReason
	if reason == "" {
		reason = "token invalid"
	}
	return fmt.Errorf("%w: %s", ErrNeedsReauth, reason)
}

// validate asks Instagram who the token belongs to (GET /me). A 190 (any
// subcode) or a passed expiry makes the token needs_reauth; transient
// trouble is recorded on the token and backed off, never a state change.
func (s *Scheduler) validate(ctx context.Context) error {
	tok, err := s.token(ctx)
	if err != nil {
		return err
	}
	defer s.evaluateAlerts(ctx)
	if tok.Status == store.StatusNeedsReauth {
		return needsReauth(tok)
	}
	now := s.now()
	if !tok.ExpiresAt.IsZero() && !now.Before(tok.ExpiresAt) {
		return s.markNeedsReauth(ctx, "expired")
	}
	prof, err := s.ig.Me(ctx, tok.AccessToken)
	if err != nil {
		return s.upstreamFailure(ctx, "validate", err, true)
	}
	// A renamed account or a new picture shows without reconnecting, and
	// the mirror gets a picture URL whose signature has not expired.
	err = s.st.UpdateAccount(ctx, tok.UserID, store.Account{
		Username: prof.Username, Name: prof.Name, AccountType: prof.AccountType,
		ProfilePictureURL: prof.ProfilePictureURL, MediaCount: prof.MediaCount, FollowersCount: prof.FollowersCount,
	})
	if err != nil && !errors.Is(err, store.ErrNoToken) {
		return err
	}
	if err := s.st.MarkTokenChecked(ctx, now, ""); err != nil && !errors.Is(err, store.ErrNoToken) {
		return err
	}
	return nil
}

// refresh extends the token when less than jobs.refresh_before remains of
// it (from the stored expiry, not a calendar) and it is at least a day old.
// The new token and its expiry are stored in one transaction; on failure
// the old token stays and the run backs off.
func (s *Scheduler) refresh(ctx context.Context) error {
	tok, err := s.token(ctx)
	if err != nil {
		return err
	}
	defer s.evaluateAlerts(ctx)
	if tok.Status == store.StatusNeedsReauth {
		return needsReauth(tok)
	}
	now := s.now()
	left := tok.ExpiresAt.Sub(now)
	if !tok.ExpiresAt.IsZero() && left <= 0 {
		return s.markNeedsReauth(ctx, "expired")
	}
	before := s.cfg.Jobs.RefreshBefore.Std()
	if before <= 0 {
		before = config.Default().Jobs.RefreshBefore.Std()
	}
	if !tok.ExpiresAt.IsZero() && left > before {
		if tok.Status == store.StatusRefreshDue {
			// A refresh stored its token but stopped before this.
			_, err := s.st.UpdateTokenStatus(ctx, store.StatusValid, "")
			return ignoreNoToken(err)
		}
		return nil
	}
	if age := now.Sub(tok.IssuedAt); age < minRefreshAge {
		s.log.Debug("jobs: refresh due but the token is younger than a day", "age", age)
		return nil
	}
	if tok.Status == store.StatusValid {
		reason := fmt.Sprintf("expires in %s", daysWords(left))
		if _, err := s.st.UpdateTokenStatus(ctx, store.StatusRefreshDue, reason); err != nil {
			return ignoreNoToken(err)
		}
	}

	nt, err := s.ig.Refresh(ctx, tok.AccessToken)
	if err != nil {
		ferr := s.upstreamFailure(ctx, "refresh", err, false)
		if !errors.Is(ferr, ErrNeedsReauth) && ctx.Err() == nil {
			s.event(ctx, "refresh", store.LevelWarn, fmt.Sprintf(
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
	if err := s.st.ReplaceAccessToken(wctx, nt.AccessToken, now, expires); err != nil {
		return fmt.Errorf("jobs: store refreshed token: %w", err)
	}
	if _, err := s.st.UpdateTokenStatus(wctx, store.StatusValid, ""); err != nil {
		return ignoreNoToken(err)
	}
	s.metrics.refreshes.Inc()
	s.event(wctx, "refresh", store.LevelInfo, "Token refreshed; it now expires "+expires.UTC().Format(time.DateOnly)+".")
	return nil
}

// upstreamFailure handles an error from Instagram: a dead token moves to
// needs_reauth; anything else is counted, noted on the token when
// noteOnToken, and returned for backoff.
func (s *Scheduler) upstreamFailure(ctx context.Context, op string, err error, noteOnToken bool) error {
	if ctx.Err() != nil {
		return err
	}
	s.metrics.upstreamError(err)
	if errors.Is(err, instagram.ErrTokenInvalid) {
		return s.markNeedsReauth(ctx, reauthReason(err))
	}
	if noteOnToken {
		if merr := s.st.MarkTokenChecked(ctx, s.now(), instagram.Reason(err)); merr != nil && !errors.Is(merr, store.ErrNoToken) {
			s.log.Warn("jobs: record check", "err", merr)
		}
	}
	return fmt.Errorf("%s: %w", op, err)
}

// markNeedsReauth moves the token to needs_reauth. The alert goes out from
// evaluateAlerts, which decides from persisted state so it is sent once per
// transition even across a crash.
func (s *Scheduler) markNeedsReauth(ctx context.Context, reason string) error {
	changed, err := s.st.UpdateTokenStatus(ctx, store.StatusNeedsReauth, reason)
	if err != nil {
		if errors.Is(err, store.ErrNoToken) {
			return ErrNotConnected
		}
		return err
	}
	if changed {
		s.log.Warn("jobs: Instagram token needs re-authorization", "reason", reason)
		s.event(ctx, "token", store.LevelError, "The Instagram token stopped working ("+reason+"): reconnect in /admin.")
	}
	return fmt.Errorf("%w: %s", ErrNeedsReauth, reason)
}

// TokenConnected is called by admin after saving a new token: it sends
// "resolved" if a re-auth alert was open, forgets the old token's backoff
// and syncs now. It returns at once; the work runs in the background
// (Stop waits for it).
func (s *Scheduler) TokenConnected(ctx context.Context) {
	s.bg.Add(1)
	go func() {
		defer s.bg.Done()
		ctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
		defer cancel()
		stop := context.AfterFunc(s.ctx, cancel)
		defer stop()

		if runs, err := s.jobRuns(ctx); err == nil {
			for _, name := range []string{JobValidate, JobRefresh, JobSync} {
				if r, ok := runs[name]; ok && (r.Failures > 0 || !r.NotBefore.IsZero()) {
					r.Failures, r.NotBefore = 0, time.Time{}
					_ = s.st.SaveJobRun(ctx, r)
				}
			}
		}
		s.evaluateAlerts(ctx)
		j, err := s.job(JobSync)
		if err != nil {
			return
		}
		if err := s.runTracked(ctx, j, true, j.fn); err != nil {
			s.log.Warn("jobs: sync after connect failed", "err", err)
		}
	}()
}

// reauthReason words a 190 for people ("expired", "password changed", …).
func reauthReason(err error) string {
	var ae *instagram.APIError
	if errors.As(err, &ae) && ae.Code == 190 && ae.Subcode == 463 {
		return "expired"
	}
	return instagram.Reason(err)
}

// retryAfter is how long Instagram asked us to wait, if it did.
func retryAfter(err error) time.Duration {
	var ae *instagram.APIError
	if errors.As(err, &ae) {
		return ae.RetryAfter
	}
	return 0
}

// errText is an error for the dashboard; errors from instagram are already
// free of tokens.
func errText(err error) string {
	if err == nil {
		return ""
	}
	s := err.Error()
	if len(s) > 500 {
		s = s[:500] + "…"
	}
	return s
}

func ignoreNoToken(err error) error {
	if errors.Is(err, store.ErrNoToken) {
		return ErrNotConnected
	}
	return err
}

func daysWords(d time.Duration) string {
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

// event adds to the audit log; a failure to do so is logged, not fatal.
func (s *Scheduler) event(ctx context.Context, kind, level, msg string) {
	if err := s.st.AddEvent(context.WithoutCancel(ctx), kind, level, msg); err != nil {
		s.log.Warn("jobs: add event", "kind", kind, "err", err)
	}
}
