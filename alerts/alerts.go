package alerts

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"vitrine/config"
	"vitrine/connection"
	"vitrine/store"
)

// Alert kinds.
const (
	AlertNeedsReauth   = "needs_reauth"
	AlertReminder      = "reminder"
	AlertResolved      = "resolved"
	AlertExpiryWarning = "expiry_warning"
	// AlertConnectionParked: connecting an account was finished without
	// the admin's session and waits for the owner's confirmation.
	AlertConnectionParked = "connection_parked"
)

// expiryWarning is how long before expiry a failing refresh is reported.
const expiryWarning = 7 * 24 * time.Hour

// alertStateKey holds alertState in the store's key/value state (named
// when the jobs package sent alerts; kept so existing data stays valid), so a
// restart neither repeats an alert nor forgets a reminder.
const alertStateKey = "jobs.alerts"

type alertState struct {
	Open      bool      `json:"open"` // a needs_reauth alert went out and nothing resolved it yet
	Cause     string    `json:"cause,omitempty"`
	Since     time.Time `json:"since,omitzero"`
	LastSent  time.Time `json:"last_sent,omitzero"` // the alert or the latest reminder
	Reminders int       `json:"reminders,omitempty"`
	// ExpiryWarnedFor is the expiry a 7-day warning was sent about; a
	// refreshed token has another expiry and may be warned about again.
	ExpiryWarnedFor time.Time `json:"expiry_warned_for,omitzero"`
}

// Alert is one message to ops.
type Alert struct {
	Kind      string    `json:"event"`
	Subject   string    `json:"subject"`
	Text      string    `json:"text"` // Slack-compatible body
	Cause     string    `json:"cause,omitempty"`
	Account   string    `json:"account,omitempty"`
	AdminURL  string    `json:"admin_url"`
	ExpiresAt time.Time `json:"token_expires_at,omitzero"`
	At        time.Time `json:"at"`
}

func (al *Alerter) loadAlertState(ctx context.Context) (alertState, error) {
	var st alertState
	v, ok, err := al.st.State(ctx, alertStateKey)
	if err != nil || !ok {
		return st, err
	}
	if err := json.Unmarshal([]byte(v), &st); err != nil {
		al.log.Warn("alerts: unreadable alert state, starting afresh", "err", err)
		return alertState{}, nil
	}
	return st, nil
}

func (al *Alerter) saveAlertState(ctx context.Context, st alertState) error {
	b, err := json.Marshal(st)
	if err != nil {
		return err
	}
	return al.st.SetState(ctx, alertStateKey, string(b))
}

// Evaluate compares the connection with what ops were last told and sends
// what is owed: the needs_reauth alert once per transition, reminders every
// alerts.remind_every, "resolved" when the token works again, and a warning
// when the token is within 7 days of expiry while refresh keeps failing.
// An alert that reached no channel is tried again next time.
func (al *Alerter) Evaluate(ctx context.Context) {
	if err := al.evaluate(context.WithoutCancel(ctx)); err != nil {
		al.log.Warn("alerts: evaluate", "err", err)
	}
}

func (al *Alerter) evaluate(ctx context.Context) error {
	al.mu.Lock()
	defer al.mu.Unlock()
	cs, err := al.conn.Status(ctx)
	if err != nil {
		return err
	}
	if !cs.Connected {
		return nil // disconnected: nothing to watch; an open alert stays open until a token arrives
	}
	tok := cs.Account
	tok.Status, tok.StatusReason = cs.State, cs.Reason
	st, err := al.loadAlertState(ctx)
	if err != nil {
		return err
	}
	now := al.now()
	before := st
	remind := al.cfg.RemindEvery.Std()
	if remind <= 0 {
		remind = config.Default().Alerts.RemindEvery.Std()
	}

	switch {
	case tok.Status == store.StatusNeedsReauth && !st.Open:
		if al.send(ctx, al.newAlert(AlertNeedsReauth, tok, now)) {
			st = alertState{Open: true, Cause: tok.StatusReason, Since: tok.StatusChangedAt, LastSent: now,
				ExpiryWarnedFor: st.ExpiryWarnedFor}
		}
	case tok.Status == store.StatusNeedsReauth && now.Sub(st.LastSent) >= remind:
		a := al.newAlert(AlertReminder, tok, now)
		a.Cause = st.Cause
		if al.send(ctx, a) {
			st.LastSent = now
			st.Reminders++
		}
	case tok.Status != store.StatusNeedsReauth && st.Open:
		a := al.newAlert(AlertResolved, tok, now)
		a.Cause = st.Cause
		al.send(ctx, a) // best effort: never hold "resolved" back, or a new outage could go unreported
		st = alertState{ExpiryWarnedFor: st.ExpiryWarnedFor}
	}

	if tok.Status != store.StatusNeedsReauth && !tok.ExpiresAt.IsZero() {
		left := tok.ExpiresAt.Sub(now)
		if left > 0 && left <= expiryWarning && !st.ExpiryWarnedFor.Equal(tok.ExpiresAt) && al.refreshFailing(ctx) {
			if al.send(ctx, al.newAlert(AlertExpiryWarning, tok, now)) {
				st.ExpiryWarnedFor = tok.ExpiresAt
			}
		}
	}
	if st != before {
		return al.saveAlertState(ctx, st)
	}
	return nil
}

func (al *Alerter) adminURL() string {
	return strings.TrimRight(al.publicURL, "/") + "/admin"
}

func (al *Alerter) newAlert(kind string, tok store.Token, now time.Time) Alert {
	a := Alert{Kind: kind, Cause: tok.StatusReason, AdminURL: al.adminURL(), ExpiresAt: tok.ExpiresAt, At: now}
	if tok.Username != "" {
		a.Account = "@" + tok.Username
	}
	who := "The Instagram connection"
	if a.Account != "" {
		who = "The Instagram connection of " + a.Account
	}
	cause := a.Cause
	if cause == "" {
		cause = "token invalid"
	}
	switch kind {
	case AlertNeedsReauth:
		a.Subject = "Vitrine: Instagram needs reconnecting (" + cause + ")"
		a.Text = fmt.Sprintf("%s stopped working: %s. The widget keeps showing the last posts, but nothing new arrives until someone reconnects: open %s and click Generate.",
			who, cause, a.AdminURL)
	case AlertReminder:
		a.Subject = "Vitrine reminder: Instagram still needs reconnecting (" + cause + ")"
		a.Text = fmt.Sprintf("Reminder: %s is still broken (%s). Reconnect at %s (click Generate).", who, cause, a.AdminURL)
	case AlertResolved:
		a.Subject = "Vitrine: Instagram reconnected (resolved)"
		a.Text = fmt.Sprintf("Resolved: %s works again; a new token is in place. %s", who, a.AdminURL)
	case AlertConnectionParked:
		acct := orWords(a.Account, "an account")
		a.Subject = "Vitrine: connecting " + acct + " waits for confirmation"
		a.Text = fmt.Sprintf("Connecting the Instagram account %s was finished in a browser that isn't signed in to Vitrine, so nothing changed: "+
			"the owner must confirm it on the dashboard, or discard it, at %s. If nobody there started it, discard it: whoever finished it had the link of a pending connection.",
			acct, a.AdminURL)
	case AlertExpiryWarning:
		left := tok.ExpiresAt.Sub(now)
		a.Subject = "Vitrine: Instagram token expires in " + connection.DaysWords(left)
		a.Text = fmt.Sprintf("%s expires on %s (in %s) and refreshing it keeps failing (%s). If it expires, reconnect at %s.",
			who, tok.ExpiresAt.UTC().Format(time.DateOnly), connection.DaysWords(left), orWords(tok.LastError, "see the dashboard"), a.AdminURL)
	}
	return a
}

func orWords(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// ConnectionParked tells ops that connecting @username was finished
// without the admin's session and waits for the owner's confirmation on
// the dashboard: once per such attempt, on every channel. Unlike the
// connection's alerts it keeps no state: each attempt is news.
func (al *Alerter) ConnectionParked(ctx context.Context, username string) {
	al.send(context.WithoutCancel(ctx), al.newAlert(AlertConnectionParked, store.Token{Username: username}, al.now()))
}

// send delivers a to every configured channel and logs it as an event. It
// reports whether the alert counts as sent: delivered on at least one
// channel, or no channel is configured (then the event is all there is).
func (al *Alerter) send(ctx context.Context, a Alert) bool {
	level := store.LevelError
	switch a.Kind {
	case AlertResolved, AlertDatabaseResolved, AlertDiskResolved:
		level = store.LevelInfo
	case AlertExpiryWarning, AlertConnectionParked:
		level = store.LevelWarn
	}
	al.event(ctx, "alert", level, a.Subject)

	type channel struct {
		name string
		send func(context.Context, Alert) error
	}
	var chans []channel
	if al.cfg.WebhookURL != "" {
		chans = append(chans, channel{"webhook", al.sendWebhook})
	}
	if al.cfg.SMTP.Host != "" && len(al.cfg.SMTP.To) > 0 {
		chans = append(chans, channel{"email", al.sendEmail})
	}
	if al.outbox != nil {
		chans = append(chans, channel{"outbox", al.outbox})
	}
	if len(chans) == 0 {
		al.log.Warn("alerts: alert (no alert channel configured)", "alert", a.Kind, "subject", a.Subject)
		return true
	}
	sent := false
	for _, c := range chans {
		cctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
		err := c.send(cctx, a)
		cancel()
		if err != nil {
			al.observer.AlertFailed(c.name)
			al.log.Warn("alerts: alert not delivered", "channel", c.name, "alert", a.Kind, "err", err)
			al.event(ctx, "alert", store.LevelWarn, fmt.Sprintf("Alert %q not delivered by %s: %v", a.Kind, c.name, err))
			continue
		}
		sent = true
		al.observer.AlertSent(c.name)
		al.log.Info("alerts: alert sent", "channel", c.name, "alert", a.Kind)
	}
	return sent
}

// refreshFailing reports whether the refresh job's last runs failed, as
// recorded in the store; a store that can't say is not a reason to warn.
func (al *Alerter) refreshFailing(ctx context.Context) bool {
	if al.refreshJob == "" {
		return false
	}
	runs, err := al.st.JobRuns(ctx)
	if err != nil {
		al.log.Warn("alerts: read job runs", "err", err)
		return false
	}
	for _, r := range runs {
		if r.Name == al.refreshJob {
			return r.Failing()
		}
	}
	return false
}
