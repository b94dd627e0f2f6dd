package admin

import (
	"context"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"vitrine/connection"
	"vitrine/jobs"
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
	// Parked is a connection that waits for the owner's confirmation.
	Parked *parkedView `json:"parked,omitempty"`

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
	Embeds       Embeds
	PollSeconds  int
	PopupName    string
	PopupFeature string
	Demo         *demoView
	// Posts is the Posts section; nil while nothing is connected or cached.
	Posts *postsView
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
	// Plain pages offer no action: they are shown to a browser that is
	// not the admin's.
	Plain bool
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
	base := a.base
	v := dashboardView{
		page:         a.page(c, "Dashboard"),
		S:            s,
		Flash:        f,
		WidgetURL:    base + "/widget",
		Embeds:       a.embeds(),
		PollSeconds:  int(pollInterval / time.Second),
		PopupName:    popupName,
		PopupFeature: popupFeatures,
		Demo:         a.demoView(),
	}
	if s.Connected || s.Posts > 0 {
		if v.Posts, err = a.postsSection(c.Request.Context()); err != nil {
			c.Error(internal("read the cached posts", err))
			return
		}
		v.Posts.keepDraft(f)
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
	cs, err := a.ops.Status(ctx)
	if err != nil {
		return statusView{}, err
	}
	v := statusView{State: string(store.StatusNone), StateLabel: "Not connected", Tone: "muted",
		SyncAvailable: a.jobs != nil, ExpiresIn: "—"}
	if cs.Connected {
		v.fill(cs, now)
		if av, ok := a.loadAvatar(ctx); ok {
			v.Account.PictureURL = avatarURL(av)
		}
	}
	if who, until, ok, err := a.ops.Parked(ctx); err != nil {
		return statusView{}, err
	} else if ok {
		v.Parked = &parkedView{Username: who, Until: timeOf(until, now)}
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
			jv := viewJob(j, cs.Connected, now)
			if j.Name == jobs.JobSync {
				v.LastSync, v.NextSync, v.SyncResult, v.SyncTone, v.Syncing = jv.LastRun, jv.NextRun, jv.Result, jv.Tone, j.Running
			}
			v.Jobs = append(v.Jobs, jv)
		}
	}
	return v, nil
}

// viewJob words one job's last outcome. A run that found nothing to do is
// not a failure: it waits for a connection, and once one is made it simply
// has not run yet.
func viewJob(j jobs.Status, connected bool, now time.Time) jobView {
	jv := jobView{Name: j.Name, Label: jobLabel(j.Name), LastRun: timeOf(j.LastRun, now),
		NextRun: timeOf(j.NextRun, now), Running: j.Running, Result: "Not run yet", Tone: "muted"}
	switch {
	case j.Running:
		jv.Result, jv.Tone = "Running…", "info"
	case j.LastRun.IsZero():
	case j.Waiting && !connected:
		jv.Result = "Waiting for a connection"
	case j.Waiting:
		jv.LastRun = timeOf(time.Time{}, now) // nothing ran for this connection yet
	case j.LastOK:
		jv.Result, jv.Tone = "OK", "ok"
	default:
		jv.Result, jv.Tone = "Failed: "+orDefault(j.LastError, "unknown error"), "bad"
	}
	if !j.LastRun.IsZero() && !j.Waiting {
		jv.Duration = j.LastDuration.Round(time.Millisecond).String()
	}
	return jv
}

// fill shows a connected account's status.
func (v *statusView) fill(cs connection.Status, now time.Time) {
	t := cs.Account
	v.Connected = true
	v.State, v.Reason, v.NeedsReauth = string(cs.State), cs.Reason, cs.NeedsAttention()
	switch cs.State {
	case store.StatusValid:
		v.StateLabel, v.Tone = "Connected", "ok"
		if v.Reason == "connected" {
			v.Reason = ""
		}
	case store.StatusRefreshDue:
		v.StateLabel, v.Tone = "Refresh due", "warn"
	case store.StatusNeedsReauth:
		v.StateLabel, v.Tone = "Needs reconnecting", "bad"
	default:
		v.StateLabel, v.Tone = string(cs.State), "warn"
	}
	initial := "?"
	if t.Username != "" {
		initial = strings.ToUpper(t.Username[:1])
	}
	v.Account = &accountView{Username: t.Username, Name: t.Name, Type: connection.AccountTypeWords(t.AccountType),
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

func plural(n int, unit string) string {
	if n == 1 {
		return "1 " + unit
	}
	return strconv.Itoa(n) + " " + unit + "s"
}

// disconnectPage is the confirm step (the dashboard shows the same form in
// a dialog when scripts run).
func (a *Admin) disconnectPage(c *gin.Context) {
	msg := "Vitrine will delete the stored Instagram token, the cached posts and the mirrored images. Your website's gallery shows its placeholder until you connect again."
	if cs, err := a.ops.Status(c.Request.Context()); err == nil && cs.Connected {
		msg = "Vitrine will delete the stored token for @" + cs.Account.Username + ", the cached posts and the mirrored images. Your website's gallery shows its placeholder until you connect again."
	}
	a.render(c, http.StatusOK, "message.html", messageView{
		page: a.page(c, "Disconnect Instagram?"), Tone: "warn", Heading: "Disconnect Instagram?", Message: msg,
		Confirm: &confirmView{Action: "/admin/disconnect", Button: "Disconnect and delete token", Cancel: "/admin"},
	})
}

func (a *Admin) disconnect(c *gin.Context) {
	ctx := c.Request.Context()
	if _, err := a.ops.Disconnect(ctx); err != nil {
		c.Error(internal("delete the token and the cached posts", err))
		return
	}
	if err := a.store.SetState(ctx, avatarKey, ""); err != nil {
		a.log.Warn("admin: forget profile picture", "err", err)
	}
	a.notice(c, flash{Kind: "notice", Tone: "info", Title: "Disconnected",
		Message: "The Instagram token, the cached posts and the mirrored images were deleted. Your website's gallery shows its placeholder until you connect again."})
	c.Redirect(http.StatusSeeOther, "/admin")
}

// syncNow starts a sync in the background and answers at once: a sync of
// a large account outlasts any request, and the dashboard's live status
// shows its progress and result. Scripts call it with Accept:
// application/json and get {"ok":true,"message":…}.
func (a *Admin) syncNow(c *gin.Context) {
	if a.jobs == nil {
		c.Error(&httpError{Status: http.StatusServiceUnavailable, Title: "Sync isn't available",
			Message: "The background jobs aren't running in this process."})
		return
	}
	if cs, err := a.ops.Status(c.Request.Context()); err != nil {
		c.Error(internal("read the connection status", err))
		return
	} else if !cs.Connected {
		c.Error(&httpError{Status: http.StatusConflict, Title: "Nothing to sync",
			Message: "Connect an Instagram account first."})
		return
	}
	started, err := a.jobs.RunInBackground(jobs.JobSync)
	if err != nil {
		c.Error(internal("start the sync", err))
		return
	}
	if !started {
		c.Error(&httpError{Status: http.StatusConflict, Title: "A sync is already running",
			Message: "It will finish on its own; the dashboard updates when it does."})
		return
	}
	msg := "Fetching posts now; the dashboard shows the result when it is done."
	a.log.Info("admin: sync started from the dashboard")
	if wantsJSON(c) {
		c.JSON(http.StatusAccepted, gin.H{"ok": true, "message": msg})
		return
	}
	a.notice(c, flash{Kind: "notice", Tone: "ok", Title: "Sync started", Message: msg})
	c.Redirect(http.StatusSeeOther, "/admin")
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
