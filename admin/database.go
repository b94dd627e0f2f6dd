package admin

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"vitrine/store"
)

// Database is whether the database answers (*store.Store): Health is the
// latest check's answer, CheckHealth asks again.
type Database interface {
	Health() store.Health
	CheckHealth(ctx context.Context) store.Health
}

// retryEvery is how often the page shown while the database is away
// reloads itself, and the Retry-After of its answers.
const retryEvery = 10 * time.Second

// databaseGate answers every admin request, signing in included, with the
// "database unreachable" page while the latest check found it away, after
// one more check of its own: each retry of the page is a check, so the
// dashboard returns as soon as the database does. Static files still go
// out, for that page's stylesheet.
func (a *Admin) databaseGate(c *gin.Context) {
	if a.db == nil || strings.HasPrefix(c.Request.URL.Path, "/admin/static/") {
		c.Next()
		return
	}
	if h := a.db.Health(); !h.Up {
		if h = a.db.CheckHealth(c.Request.Context()); !h.Up {
			c.Error(databaseAway(h))
			c.Abort()
			return
		}
	}
	c.Next()
}

// databaseAwayIfDown is he, or, when he is a server error, the fault of
// the machine it comes from: the data directory's disk full, or the
// database not answering now. Neither is a bug, and both have words.
func (a *Admin) databaseAwayIfDown(ctx context.Context, he *httpError) *httpError {
	if he.Status < 500 || he.Status == http.StatusServiceUnavailable {
		return he
	}
	if store.IsDiskFull(he) {
		return &httpError{Status: http.StatusServiceUnavailable, Title: "The data directory is full",
			Message: "Vitrine could not save this: the disk of its data directory is full, and nothing was changed. " +
				"The public gallery keeps serving; free some space, then try again.", cause: he}
	}
	if a.db == nil {
		return he
	}
	if h := a.db.CheckHealth(context.WithoutCancel(ctx)); !h.Up {
		away := databaseAway(h)
		away.cause = he
		return away
	}
	return he
}

// databaseAway is the 503 shown while the database does not answer. It
// names no host, user or driver error: anyone may load an admin page, and
// the log has the details.
func databaseAway(h store.Health) *httpError {
	return &httpError{Status: http.StatusServiceUnavailable, Title: "The database is unreachable",
		Message: "Vitrine's database is unreachable since " + clockWords(h.Since) +
			"; the public gallery keeps serving the last posts. This page retries by itself every " +
			strconv.Itoa(int(retryEvery.Seconds())) + " seconds.",
		retry: retryEvery, cause: healthError(h)}
}

// clockWords is t as the message says it: the time of day, with the
// date when it was not today, in UTC as the server's log.
func clockWords(t time.Time) string {
	t = t.UTC()
	if time.Since(t) > 20*time.Hour {
		return t.Format("2006-01-02 15:04 UTC")
	}
	return t.Format("15:04 UTC")
}

type healthError store.Health

func (e healthError) Error() string { return "database unreachable: " + e.LastError }
