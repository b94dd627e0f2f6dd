package admin

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"vitrine/store"
)

// statusView is the live part of the dashboard. The page renders it and
// /admin/status.json serves the same struct, so both always agree. It is
// built from store.Token field by field: the access token is never copied
// in, and nothing here knows the client secret.
type statusView struct {
	Connected   bool         `json:"connected"`
	State       string       `json:"state"`       // none, valid, refresh_due, needs_reauth
	StateLabel  string       `json:"state_label"` // words
	Tone        string       `json:"tone"`        // ok, warn, bad, muted
	Reason      string       `json:"reason"`
	NeedsReauth bool         `json:"needs_reauth"`
	Account     *accountView `json:"account,omitempty"`

	ExpiresAt   string `json:"expires_at,omitempty"`
	ExpiresIn   string `json:"expires_in"`
	ExpiresDays int    `json:"expires_in_days"`
	LifePercent int    `json:"life_percent"` // of 60 days left, for the bar

	ConnectedAt timeView `json:"connected_at"`
	LastCheck   timeView `json:"last_check"`
	LastRefresh timeView `json:"last_refresh"`
	LastSync    timeView `json:"last_sync"`
	NextSync    timeView `json:"next_sync"`
	LastError   string   `json:"last_error"`
	SyncResult  string   `json:"sync_result"`
	SyncTone    string   `json:"sync_tone"`
	Syncing     bool     `json:"syncing"`

	Posts         int64       `json:"posts"`
	Jobs          []jobView   `json:"jobs"`
	Events        []eventView `json:"events"`
	SyncAvailable bool        `json:"sync_available"`
}

type accountView struct {
	Username    string `json:"username"`
	Name        string `json:"name"`
	Type        string `json:"type"`
	MediaCount  string `json:"media_count"` // "1,284"
	Followers   string `json:"followers"`
	PictureURL  string `json:"picture_url,omitempty"` // our copy, /admin/avatar?v=…
	Initial     string `json:"initial"`
	ProfileURL  string `json:"profile_url"`
	ConnectedBy string `json:"-"`
}

type timeView struct {
	At    string `json:"at,omitempty"` // RFC 3339, empty when never
	Text  string `json:"text"`         // "5 minutes ago", "never"
	Title string `json:"title"`        // absolute, for the tooltip
}

type jobView struct {
	Name     string   `json:"name"`
	Label    string   `json:"label"`
	LastRun  timeView `json:"last_run"`
	NextRun  timeView `json:"next_run"`
	Result   string   `json:"result"`
	Tone     string   `json:"tone"`
	Duration string   `json:"duration"`
	Running  bool     `json:"running"`
}

type eventView struct {
	ID      uint     `json:"id"`
	Kind    string   `json:"kind"`
	Level   string   `json:"level"`
	Message string   `json:"message"`
	At      timeView `json:"at"`
}

type dashboardView struct {
	page
	S            statusView
	Flash        *flash
	WidgetURL    string
	SnippetHTML  string
	SnippetJS    string
	PollSeconds  int
	PopupName    string
	PopupFeature string
	Demo         *demoView
}

type messageView struct {
	page
	Tone    string // ok, info, warn, bad
	Heading string
	Message string
	Step    string
	// Popup pages tell the opener the Result ("connected", "declined",
	// "failed") and offer to close.
	Popup  bool
	Result string
	// Confirm, when set, is a POST form (the disconnect step).
	Confirm *confirmView
}

type confirmView struct {
	Action, Button, Cancel string
}

func (a *Admin) dashboard(c *gin.Context) {
	s, err := a.status(c.Request.Context())
	if err != nil {
		c.Error(internal("read the connection status", err))
		return
	}
	f, err := a.takeFlash(c)
	if err != nil {
		c.Error(internal("read your session", err))
		return
	}
	if f != nil && f.Kind != "notice" {
		f = nil // a popup result nobody looked at: the status shows it
	}
	base := strings.TrimRight(a.cfg.Server.PublicURL, "/")
	v := dashboardView{
		page:         a.page(c, "Dashboard"),
		S:            s,
		Flash:        f,
		WidgetURL:    base + "/widget",
		SnippetHTML:  `<iframe src="` + base + `/widget" title="Instagram posts" loading="lazy" style="width:100%;height:480px;border:0"></iframe>`,
		SnippetJS:    `<script src="` + base + `/widget.js" async></script>`,
		PollSeconds:  int(pollInterval / time.Second),
		PopupName:    popupName,
		PopupFeature: popupFeatures,
		Demo:         a.demoView(),
	}
	a.render(c, http.StatusOK, "dashboard.html", v)
}

func (a *Admin) statusJSON(c *gin.Context) {
	s, err := a.status(c.Request.Context())
	if err != nil {
		c.Error(internal("read the connection status", err))
		return
	}
	c.JSON(http.StatusOK, s)
}

// status gathers the dashboard's live data.
func (a *Admin) status(ctx context.Context) (statusView, error) {
	now := a.now()
	v := statusView{State: string(store.StatusNone), StateLabel: "Not connected", Tone: "muted",
		SyncAvailable: a.jobs != nil, ExpiresIn: "—"}
	tok, err := a.store.Token(ctx)
	switch {
	case errors.Is(err, store.ErrNoToken):
	case errors.Is(err, store.ErrUndecryptable):
		// Whose token it was is still known; it must be reconnected.
		v.fillToken(tok, now)
		v.State, v.StateLabel, v.Tone, v.NeedsReauth = string(store.StatusNeedsReauth), "Needs reconnecting", "bad", true
		v.Reason = "the stored token can't be decrypted (the secret key changed)"
	case err != nil:
		return statusView{}, err
	default:
		v.fillToken(tok, now)
	}
	if v.Account != nil {
		if av, ok := a.loadAvatar(ctx); ok {
			v.Account.PictureURL = avatarURL(av)
		}
	}
	if v.Posts, err = a.store.PostCount(ctx); err != nil {
		return statusView{}, err
	}
	events, err := a.store.Events(ctx, eventsShown)
	if err != nil {
		return statusView{}, err
	}
	v.Events = make([]eventView, len(events))
	for i, e := range events {
		v.Events[i] = eventView{ID: e.ID, Kind: e.Kind, Level: e.Level, Message: e.Message, At: timeOf(e.At, now)}
	}
	v.Jobs = []jobView{}
	v.LastSync, v.NextSync = timeOf(time.Time{}, now), timeOf(time.Time{}, now)
	v.SyncResult, v.SyncTone = "Not run yet", "muted"
	if a.jobs != nil {
		for _, j := range a.jobs.Statuses() {
			jv := jobView{Name: j.Name, Label: jobLabel(j.Name), LastRun: timeOf(j.LastRun, now),
				NextRun: timeOf(j.NextRun, now), Running: j.Running, Result: "Not run yet", Tone: "muted"}
			if !j.LastRun.IsZero() {
				jv.Duration = j.LastDuration.Round(time.Millisecond).String()
				if j.LastOK {
					jv.Result, jv.Tone = "OK", "ok"
				} else {
					jv.Result, jv.Tone = "Failed: "+orDefault(j.LastError, "unknown error"), "bad"
				}
			}
			if j.Running {
				jv.Result, jv.Tone = "Running…", "info"
			}
			if j.Name == "sync" {
				v.LastSync, v.NextSync, v.SyncResult, v.SyncTone, v.Syncing = jv.LastRun, jv.NextRun, jv.Result, jv.Tone, j.Running
			}
			v.Jobs = append(v.Jobs, jv)
		}
	}
	return v, nil
}

func (v *statusView) fillToken(t store.Token, now time.Time) {
	v.Connected = true
	v.State, v.Reason = string(t.Status), t.StatusReason
	switch t.Status {
	case store.StatusValid:
		v.StateLabel, v.Tone = "Connected", "ok"
		if v.Reason == "connected" {
			v.Reason = ""
		}
	case store.StatusRefreshDue:
		v.StateLabel, v.Tone = "Refresh due", "warn"
	case store.StatusNeedsReauth:
		v.StateLabel, v.Tone, v.NeedsReauth = "Needs reconnecting", "bad", true
	default:
		v.StateLabel, v.Tone = string(t.Status), "warn"
	}
	initial := "?"
	if t.Username != "" {
		initial = strings.ToUpper(t.Username[:1])
	}
	v.Account = &accountView{Username: t.Username, Name: t.Name, Type: accountType(t.AccountType),
		MediaCount: thousands(t.MediaCount), Followers: thousands(t.FollowersCount),
		Initial: initial, ProfileURL: "https://www.instagram.com/" + t.Username + "/"}
	if !t.ExpiresAt.IsZero() {
		v.ExpiresAt = t.ExpiresAt.UTC().Format(time.RFC3339)
		left := t.ExpiresAt.Sub(now)
		v.ExpiresDays = int(math.Floor(left.Hours() / 24))
		v.LifePercent = int(math.Round(100 * min(max(left.Hours()/(60*24), 0), 1)))
		switch {
		case left <= 0:
			v.ExpiresIn = "expired " + ago(-left)
			v.ExpiresDays = 0
		case left < 48*time.Hour:
			v.ExpiresIn = "in " + plural(int(math.Ceil(left.Hours())), "hour")
		default:
			v.ExpiresIn = "in " + plural(v.ExpiresDays, "day")
		}
	}
	v.ConnectedAt = timeOf(t.ConnectedAt, now)
	v.LastCheck = timeOf(t.LastCheckedAt, now)
	v.LastRefresh = timeOf(t.LastRefreshedAt, now)
	v.LastError = t.LastError
}

func accountType(t string) string {
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

func jobLabel(name string) string {
	switch name {
	case "sync":
		return "Fetch posts"
	case "validate":
		return "Check token"
	case "refresh":
		return "Refresh token"
	case "mirror":
		return "Copy images"
	}
	return name
}

func timeOf(t, now time.Time) timeView {
	if t.IsZero() {
		return timeView{Text: "never"}
	}
	tv := timeView{At: t.UTC().Format(time.RFC3339), Title: t.UTC().Format("Mon 2 Jan 2006, 15:04 UTC")}
	if d := t.Sub(now); d > 0 {
		tv.Text = "in " + span(d)
	} else {
		tv.Text = ago(-d)
	}
	return tv
}

func ago(d time.Duration) string {
	if d < time.Minute {
		return "just now"
	}
	return span(d) + " ago"
}

func span(d time.Duration) string {
	switch {
	case d < time.Minute:
		return "less than a minute"
	case d < time.Hour:
		return plural(int(d/time.Minute), "minute")
	case d < 48*time.Hour:
		return plural(int(d/time.Hour), "hour")
	}
	return plural(int(d/(24*time.Hour)), "day")
}

// disconnectPage is the confirm step (the dashboard shows the same form in
// a dialog when scripts run).
func (a *Admin) disconnectPage(c *gin.Context) {
	msg := "Vitrine will delete the stored Instagram token. Your website's gallery shows its placeholder until you connect again."
	if tok, err := a.store.Token(c.Request.Context()); err == nil || errors.Is(err, store.ErrUndecryptable) {
		msg = "Vitrine will delete the stored token for @" + tok.Username + ". Your website's gallery shows its placeholder until you connect again."
	}
	a.render(c, http.StatusOK, "message.html", messageView{
		page: a.page(c, "Disconnect Instagram?"), Tone: "warn", Heading: "Disconnect Instagram?", Message: msg,
		Confirm: &confirmView{Action: "/admin/disconnect", Button: "Disconnect and delete token", Cancel: "/admin"},
	})
}

func (a *Admin) disconnect(c *gin.Context) {
	ctx := c.Request.Context()
	who := ""
	if tok, err := a.store.Token(ctx); err == nil || errors.Is(err, store.ErrUndecryptable) {
		who = " @" + tok.Username
	}
	if err := a.store.DeleteToken(ctx); err != nil {
		c.Error(internal("delete the token", err))
		return
	}
	if err := a.store.SetState(ctx, avatarKey, ""); err != nil {
		a.log.Warn("admin: forget profile picture", "err", err)
	}
	a.log.Info("admin: Instagram disconnected; token deleted")
	if a.onDisconnect != nil {
		a.onDisconnect()
	}
	a.event(c, "disconnected", store.LevelWarn, "Disconnected"+who+"; the token was deleted")
	a.notice(c, flash{Kind: "notice", Tone: "info", Title: "Disconnected",
		Message: "The Instagram token was deleted. Your website's gallery shows its placeholder until you connect again."})
	c.Redirect(http.StatusSeeOther, "/admin")
}

// syncNow runs the sync job and waits for it. Scripts call it with
// Accept: application/json and get {"ok":true,"message":…}.
func (a *Admin) syncNow(c *gin.Context) {
	if a.jobs == nil {
		c.Error(&httpError{Status: http.StatusServiceUnavailable, Title: "Sync isn't available",
			Message: "The background jobs aren't running in this process."})
		return
	}
	if _, err := a.store.Token(c.Request.Context()); errors.Is(err, store.ErrNoToken) {
		c.Error(&httpError{Status: http.StatusConflict, Title: "Nothing to sync",
			Message: "Connect an Instagram account first."})
		return
	}
	ctx, cancel := context.WithTimeout(c.Request.Context(), 2*time.Minute)
	defer cancel()
	start := a.now()
	if err := a.jobs.RunNow(ctx, "sync"); errors.Is(err, ErrAlreadyRunning) {
		c.Error(&httpError{Status: http.StatusConflict, Title: "A sync is already running",
			Message: "It will finish on its own; the dashboard updates when it does.", cause: err})
		return
	} else if err != nil {
		c.Error(&httpError{Status: http.StatusBadGateway, Title: "Sync failed",
			Message: "Fetching posts failed: " + syncReason(err) + ". The website keeps showing the posts it has.", cause: err})
		return
	}
	n, _ := a.store.PostCount(c.Request.Context())
	msg := fmt.Sprintf("Posts are up to date: %s cached.", plural(int(n), "post"))
	a.log.Info("admin: sync now finished", "duration", a.now().Sub(start))
	if wantsJSON(c) {
		c.JSON(http.StatusOK, gin.H{"ok": true, "message": msg})
		return
	}
	a.notice(c, flash{Kind: "notice", Tone: "ok", Title: "Sync finished", Message: msg})
	c.Redirect(http.StatusSeeOther, "/admin")
}

// syncReason is the job's error in words. Job errors are built from
// instagram errors, which carry no secrets.
func syncReason(err error) string {
	if errors.Is(err, context.DeadlineExceeded) {
		return "it took too long"
	}
	return shortText(err.Error(), 200)
}

func (a *Admin) notice(c *gin.Context, f flash) {
	if err := a.setFlash(c, f); err != nil {
		a.log.Warn("admin: set flash", "err", err)
	}
}

// thousands writes n with comma separators: 1284 → "1,284".
func thousands(n int) string {
	s := strconv.Itoa(n)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	if neg {
		return "-" + s
	}
	return s
}
