package admin

import (
	"context"
	"errors"
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"

	"vitrine/auth"
	"vitrine/connection"
	"vitrine/instagram"
	"vitrine/store"
)

// generate starts the connection: a fresh state bound to this session
// (auth.NewState), then a 302 to Instagram's authorize page. The
// dashboard opens this URL in a popup.
//
// Only a navigation from Vitrine's own pages (or one typed in) starts it:
// a link or form on another site must not overwrite the pending state and
// open Instagram's consent page. Browsers say where a navigation comes
// from in Sec-Fetch-Site; without the header (an older browser, a script)
// the session cookie, SameSite=Lax, is what holds.
func (a *Admin) generate(c *gin.Context) {
	switch c.GetHeader("Sec-Fetch-Site") {
	case "", "same-origin", "none":
	default:
		c.Error(errCrossSiteGenerate)
		return
	}
	state, err := a.auth.NewState(c)
	if err != nil {
		c.Error(internal("start the connection", err))
		return
	}
	a.log.Info("admin: sending the admin to Instagram to authorize")
	c.Redirect(http.StatusFound, a.ig.AuthorizeURL(state))
}

// errCrossSiteGenerate refuses a connection started from another site.
var errCrossSiteGenerate = &httpError{Status: http.StatusForbidden, Title: "Start from your dashboard",
	Message: "Connecting Instagram starts with the Generate button on your Vitrine dashboard; a link from another site can't start it. Nothing was changed.", refusal: auth.RefusedCrossSite}

// Callback outcomes that are not upstream failures.
var (
	errStateMissing = &httpError{Status: http.StatusBadRequest, Title: "This link can't be used",
		Message: "The answer from Instagram is missing its security check, so Vitrine ignored it. Nothing was changed. Close this window and click Generate again.", refusal: auth.RefusedOAuthState}
	errStateUnknown = &httpError{Status: http.StatusBadRequest, Title: "This link can't be used",
		Message: "This answer from Instagram doesn't belong to a connection started in this browser, or it was already used. Nothing was changed. Close this window and click Generate again.", refusal: auth.RefusedOAuthState}
	errStateExpired = &httpError{Status: http.StatusBadRequest, Title: "This link has expired",
		Message: "Connecting must be finished within 10 minutes of clicking Generate. Nothing was changed. Close this window and click Generate again."}
	errNoSession = &httpError{Status: http.StatusBadRequest, Title: "Please sign in first",
		Message: "This browser isn't signed in to Vitrine (or the session ended), so the answer from Instagram was ignored. Nothing was changed. Sign in and click Generate again.", refusal: auth.RefusedOAuthState}
)

// checkState consumes the callback's state (auth.TakeState) and words a
// refusal. It runs before anything looks at the code.
func (a *Admin) checkState(c *gin.Context, state string) *httpError {
	switch err := a.auth.TakeState(c, state); {
	case err == nil:
		return nil
	case errors.Is(err, auth.ErrNoSession):
		return errNoSession
	case errors.Is(err, auth.ErrStateMissing):
		return errStateMissing
	case errors.Is(err, auth.ErrStateUnknown):
		return errStateUnknown
	case errors.Is(err, auth.ErrStateExpired):
		return errStateExpired
	default:
		return internal("check the connection request", err)
	}
}

// callback is the OAuth redirect_uri. Its URL carries the code and state,
// so it never renders: it records the outcome in the session and 303s to
// /admin/connected (a clean URL; the redirect leaves no history entry with
// the code). Only when there is no session to carry the outcome does it
// render, through renderErrors.
func (a *Admin) callback(c *gin.Context) {
	q := c.Request.URL.Query()
	state := q.Get("state")
	if !auth.SignedIn(c) {
		a.callbackElsewhere(c, q)
		return
	}

	if e := q.Get("error"); e != "" {
		// Consume a valid state so it can't be reused; a decline changes
		// nothing either way, so a missing or stale state doesn't matter.
		stateOK := state != "" && a.checkState(c, state) == nil
		if e == "access_denied" {
			a.log.Info("admin: authorization declined on Instagram", "reason", shortText(q.Get("error_reason"), 60))
			a.event(c, "connect", store.LevelInfo, "Connecting Instagram was declined on Instagram; nothing changed")
			a.finishCallback(c, flash{Kind: "declined", Tone: "info", Title: "You declined the connection",
				Message: "You declined on Instagram; nothing changed. Your current connection, if any, is untouched."})
			return
		}
		desc := shortText(q.Get("error_description"), 200)
		a.log.Warn("admin: Instagram returned an authorization error", "error", shortText(e, 60), "description", desc, "state_ok", stateOK)
		if !stateOK {
			// Not the answer to this admin's own request: another site may
			// have sent the browser here, so its words are not shown.
			a.finishCallbackError(c, &httpError{Status: http.StatusBadRequest, Title: "This link can't be used",
				Message: "An error answer arrived that this browser didn't ask for. Nothing was changed. To connect, click Generate."})
			return
		}
		a.finishCallbackError(c, &httpError{Status: http.StatusBadGateway, Title: "Instagram refused the connection",
			Step: "Authorizing on Instagram", Message: "Instagram said: " + orDefault(desc, shortText(e, 60)) + ". Nothing was changed."})
		return
	}

	if he := a.checkState(c, state); he != nil {
		a.finishCallbackError(c, he)
		return
	}
	code := q.Get("code")
	if code == "" {
		a.finishCallbackError(c, &httpError{Status: http.StatusBadRequest, Title: "This link can't be used",
			Message: "The answer from Instagram has no authorization code. Nothing was changed. Click Generate again."})
		return
	}

	tok, he := a.connectWithCode(c.Request.Context(), code)
	if he != nil {
		a.finishCallbackError(c, he)
		return
	}
	a.finishCallback(c, flash{Kind: "connected", Tone: "ok", Title: "Instagram is connected",
		Message: "@" + tok.Username})
}

// connectWithCode connects with the code and keeps the owner's picture
// for the dashboard. The connection runs its network work under its own
// time limit, so the callback's write deadline can't cut it short.
func (a *Admin) connectWithCode(ctx context.Context, code string) (store.Token, *httpError) {
	tok, err := a.ops.Connect(ctx, code)
	if err != nil {
		return store.Token{}, a.connectFailed(ctx, err)
	}
	a.keepAvatar(ctx, tok)
	return tok, nil
}

// connectFailed records a failed connection in the activity log and
// words it for the admin.
func (a *Admin) connectFailed(ctx context.Context, err error) *httpError {
	he := connectError(err)
	while := ""
	if he.Step != "" {
		while = " while " + strings.ToLower(he.Step)
	}
	a.addEvent(ctx, "connect", store.LevelError, "Connecting Instagram failed"+while+": "+he.Message)
	return he
}

// keepAvatar keeps the newly connected account's picture, within its own
// time limit.
func (a *Admin) keepAvatar(ctx context.Context, tok store.Token) {
	actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), avatarTimeout)
	defer cancel()
	a.saveAvatar(actx, tok.ProfilePictureURL)
}

// connectError words a failed connection for the admin.
func connectError(err error) *httpError {
	var se *connection.StepError
	if !errors.As(err, &se) {
		return internal("connect Instagram", err)
	}
	if se.Step == connection.StepSave {
		he := internal("save the token", err)
		he.Title, he.Step = "Couldn't connect Instagram", se.Step
		return he
	}
	status := http.StatusBadGateway
	if errors.Is(err, context.DeadlineExceeded) {
		status = http.StatusGatewayTimeout
	}
	return &httpError{Status: status, Title: "Couldn't connect Instagram", Step: se.Step,
		Message: reasonText(se.Err) + ". Your previous connection, if any, is unchanged.", cause: err}
}

// reasonText is instagram.Reason as a sentence start, with a hint for the
// common cases.
func reasonText(err error) string {
	r := instagram.Reason(err)
	switch {
	case errors.Is(err, instagram.ErrUnavailable):
		return "Instagram is unavailable right now (" + r + "); try again in a few minutes"
	case errors.Is(err, instagram.ErrRateLimited):
		return "Instagram is rate-limiting requests; try again later"
	case r == "authorization code rejected":
		return "Instagram rejected the authorization code (it may have been used already or expired)"
	case r == "":
		return "Unknown error"
	}
	return strings.ToUpper(r[:1]) + r[1:]
}

// finishCallback stores the outcome and moves to the clean result URL.
func (a *Admin) finishCallback(c *gin.Context, f flash) {
	if !auth.SignedIn(c) {
		c.Error(errNoSession)
		return
	}
	if err := a.setFlash(c, f); err != nil {
		c.Error(internal("record the result", err))
		return
	}
	c.Redirect(http.StatusSeeOther, "/admin/connected")
}

func (a *Admin) finishCallbackError(c *gin.Context, he *httpError) {
	he.Popup = true
	if !auth.SignedIn(c) {
		c.Error(he) // renderErrors logs it
		return
	}
	if he.refusal != "" {
		a.auth.Refused(he.refusal, "admin: callback refused", "why", he.Title, "ip", c.ClientIP())
	}
	a.finishCallback(c, flash{Kind: "failed", Tone: "bad", Title: he.Title, Message: he.Message,
		Step: he.Step, Status: he.Status})
}

// connected shows the outcome of the last callback, in the popup: it tells
// the opener (same origin only) and closes, or links to the dashboard.
func (a *Admin) connected(c *gin.Context) {
	f, err := a.takeFlash(c)
	if err != nil {
		c.Error(internal("read the result", err))
		return
	}
	if f == nil || (f.Kind != "connected" && f.Kind != "declined" && f.Kind != "failed") {
		// Reloaded, or opened by hand: nothing to report.
		c.Redirect(http.StatusFound, "/admin")
		return
	}
	if f.Kind == "failed" {
		c.Error(&httpError{Status: max(f.Status, 400), Title: f.Title, Message: f.Message, Step: f.Step, Popup: true})
		return
	}
	v := messageView{page: a.page(c, f.Title), Tone: f.Tone, Heading: f.Title, Message: f.Message,
		Popup: true, Result: f.Kind}
	if f.Kind == "connected" {
		v.Message = "Your account " + f.Message + " is connected. Vitrine is fetching your posts now."
	}
	a.render(c, http.StatusOK, "message.html", v)
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// shortText trims s to n runes of printable text.
func shortText(s string, n int) string {
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return ' '
		}
		return r
	}, strings.TrimSpace(s))
	if r := []rune(s); len(r) > n {
		return string(r[:n]) + "…"
	}
	return s
}
