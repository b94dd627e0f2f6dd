package admin

import (
	"context"
	"net/http"
	"slices"

	"github.com/gin-gonic/gin"
)

// Demo lets the dashboard of `vitrine -demo` make the built-in fake
// Instagram misbehave, so a newcomer can watch the re-auth banner, the
// alert and the stale-but-serving gallery without waiting weeks.
type Demo interface {
	Actions() []DemoAction
	// Do runs one action and says what happened, in a sentence or two.
	Do(ctx context.Context, name string) (string, error)
	Links() []DemoLink
}

// DemoAction is one button of the demo panel: POST /admin/demo/{Name}.
type DemoAction struct {
	Name, Label, Hint string
	Danger            bool
}

// DemoLink is a page of the demo worth opening (the sample site, the
// alert outbox).
type DemoLink struct {
	Label, URL, Hint string
}

type demoView struct {
	Actions []DemoAction
	Links   []DemoLink
}

func (a *Admin) demoView() *demoView {
	if a.demo == nil {
		return nil
	}
	return &demoView{Actions: a.demo.Actions(), Links: a.demo.Links()}
}

func (a *Admin) demoAction(c *gin.Context) {
	name := c.Param("action")
	if !slices.ContainsFunc(a.demo.Actions(), func(d DemoAction) bool { return d.Name == name }) {
		c.Error(&httpError{Status: http.StatusNotFound, Title: "No such demo action",
			Message: "The demo panel on the dashboard lists what can be done."})
		return
	}
	msg, err := a.demo.Do(c.Request.Context(), name)
	if err != nil {
		c.Error(&httpError{Status: http.StatusBadGateway, Title: "The demo action failed",
			Message: shortText(err.Error(), 200), cause: err})
		return
	}
	a.log.Info("admin: demo action", "action", name)
	if wantsJSON(c) {
		c.JSON(http.StatusOK, gin.H{"ok": true, "message": msg})
		return
	}
	a.notice(c, flash{Kind: "notice", Tone: "info", Title: "Demo", Message: msg})
	c.Redirect(http.StatusSeeOther, "/admin")
}
