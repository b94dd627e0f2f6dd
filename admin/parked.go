package admin

import (
	"errors"
	"net/http"

	"github.com/gin-gonic/gin"

	"vitrine/connection"
)

// A connection finished in a browser without the session, for another
// account than the connected one, waits for the owner here: the dashboard
// asks "Connect @name?" with Connect and Discard, two POSTs that the
// group's CSRF check guards like every other.

// parkedView is the connection that waits, as the dashboard and
// status.json show it: the account's name and when it lapses.
type parkedView struct {
	Username string   `json:"username"`
	Until    timeView `json:"until"`
}

// confirmParked connects the parked account, then back to the dashboard,
// which says so; the first sync starts as after any connection.
func (a *Admin) confirmParked(c *gin.Context) {
	ctx := c.Request.Context()
	tok, err := a.ops.ConfirmParked(ctx)
	switch {
	case errors.Is(err, connection.ErrNothingParked):
		a.nothingParked(c)
		return
	case err != nil:
		c.Error(a.connectFailed(ctx, err))
		return
	}
	a.keepAvatar(ctx, tok)
	a.log.Info("admin: the parked connection was confirmed on the dashboard")
	a.notice(c, flash{Kind: "notice", Tone: "ok", Title: "Instagram is connected",
		Message: "@" + tok.Username + " is connected. Vitrine is fetching its posts now."})
	c.Redirect(http.StatusSeeOther, "/admin")
}

// discardParked forgets the parked connection; nothing else changes.
func (a *Admin) discardParked(c *gin.Context) {
	ctx := c.Request.Context()
	who, _, ok, err := a.ops.Parked(ctx)
	if err == nil && ok {
		err = a.ops.DiscardParked(ctx)
	} else if err == nil {
		err = connection.ErrNothingParked
	}
	switch {
	case errors.Is(err, connection.ErrNothingParked):
		a.nothingParked(c)
		return
	case err != nil:
		c.Error(internal("discard the connection that waited", err))
		return
	}
	a.log.Info("admin: the parked connection was discarded on the dashboard")
	a.notice(c, flash{Kind: "notice", Tone: "info", Title: "Discarded",
		Message: "The connection of @" + who + " was discarded. Nothing changed."})
	c.Redirect(http.StatusSeeOther, "/admin")
}

// nothingParked answers a Connect or Discard that came too late: it
// lapsed, or another tab or click handled it.
func (a *Admin) nothingParked(c *gin.Context) {
	a.notice(c, flash{Kind: "notice", Tone: "warn", Title: "Nothing is waiting",
		Message: "The connection that waited for your confirmation lapsed or was already handled. Nothing changed."})
	c.Redirect(http.StatusSeeOther, "/admin")
}
