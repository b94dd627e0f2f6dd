package admin

import (
	"context"
	"errors"
	"net/http"
	"net/url"

	"github.com/gin-gonic/gin"

	"vitrine/auth"
	"vitrine/instagram"
	"vitrine/store"
)

// callbackElsewhere finishes connecting in a browser that doesn't carry
// the admin's session. On a phone, the Instagram app may take over the
// authorize link and hand the redirect to another browser; the code would
// otherwise be lost. The state alone proves the admin started this flow
// (auth.TakeStateElsewhere), so it may only renew the account already
// connected: any other is parked until the owner confirms it on the
// dashboard (Operations.ConnectElsewhere). This browser learns only
// whether it worked, or that it waits: Instagram's words and the
// dashboard stay with the session that started it (its events and the
// dashboard, which refreshes itself).
func (a *Admin) callbackElsewhere(c *gin.Context, q url.Values) {
	ctx := c.Request.Context()
	switch err := a.auth.TakeStateElsewhere(ctx, q.Get("state")); {
	case errors.Is(err, auth.ErrStateMissing), errors.Is(err, auth.ErrStateUnknown):
		c.Error(errNoSession)
		return
	case errors.Is(err, auth.ErrStateExpired):
		a.handoffPage(c, http.StatusBadRequest, "bad", "This link has expired",
			"Connecting must be finished within 10 minutes of clicking Generate. Return to your Vitrine dashboard and click Generate again.")
		return
	case err != nil:
		c.Error(internal("check the connection request", err))
		return
	}
	if e := q.Get("error"); e != "" {
		if e == "access_denied" {
			a.addEvent(ctx, "connect", store.LevelInfo, "Connecting Instagram was declined on Instagram (in another browser); nothing changed")
			a.handoffPage(c, http.StatusOK, "info", "You declined the connection", "Nothing changed. You can close this page.")
			return
		}
		desc := orDefault(shortText(q.Get("error_description"), 200), shortText(e, 60))
		a.log.Warn("admin: Instagram returned an authorization error (in another browser)", "description", desc)
		a.addEvent(ctx, "connect", store.LevelError, "Instagram refused the connection: "+desc+". Nothing was changed.")
		a.handoffPage(c, http.StatusBadRequest, "bad", "Connecting didn't finish",
			"Instagram refused the connection. Return to your Vitrine dashboard for the details, and click Generate to try again.")
		return
	}
	code := q.Get("code")
	if code == "" {
		a.handoffPage(c, http.StatusBadRequest, "bad", "Connecting didn't finish",
			"The answer from Instagram has no authorization code. Return to your Vitrine dashboard and click Generate again.")
		return
	}
	tok, parked, err := a.ops.ConnectElsewhere(ctx, code)
	if err != nil {
		he := a.connectFailed(ctx, err)
		// Only Instagram being out of reach is a gateway error; a code it
		// refused is this request's fault.
		status := http.StatusBadRequest
		if errors.Is(he, instagram.ErrUnavailable) || errors.Is(he, instagram.ErrRateLimited) || errors.Is(he, context.DeadlineExceeded) {
			status = he.Status
		}
		a.handoffPage(c, status, "bad", "Connecting didn't finish",
			"Vitrine couldn't connect Instagram. Return to your Vitrine dashboard for the details, and click Generate to try again.")
		return
	}
	if parked {
		a.log.Info("admin: a connection finished in another browser waits for confirmation on the dashboard")
		a.handoffPage(c, http.StatusOK, "warn", "Waiting for your confirmation",
			"Instagram approved @"+tok.Username+", but this browser isn't signed in to Vitrine, so nothing changed yet. "+
				"Open your Vitrine dashboard, signed in, and click Connect there. You can close this page.")
		return
	}
	a.keepAvatar(ctx, tok)
	a.log.Info("admin: Instagram connected from another browser")
	a.handoffPage(c, http.StatusOK, "ok", "Connected",
		"Instagram is connected. You can close this and return to your dashboard.")
}

// handoffPage is the whole answer to a browser without the session: the
// outcome in a sentence, no link into the admin and nothing of its data.
func (a *Admin) handoffPage(c *gin.Context, status int, tone, heading, msg string) {
	a.render(c, status, "message.html", messageView{page: a.page(c, heading), Tone: tone, Heading: heading, Message: msg, Plain: true})
}
