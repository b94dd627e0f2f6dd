package admin

import (
	"context"

	"github.com/gin-gonic/gin"
)

// event adds to the audit log the dashboard shows; a failure is logged,
// not shown: the action it records has already happened.
func (a *Admin) event(c *gin.Context, kind, level, msg string) {
	a.addEvent(c.Request.Context(), kind, level, msg)
}

func (a *Admin) addEvent(ctx context.Context, kind, level, msg string) {
	if err := a.store.AddEvent(ctx, kind, level, msg); err != nil {
		a.log.Error("admin: add event", "kind", kind, "err", err)
	}
}
