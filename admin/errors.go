package admin

import (
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"vitrine/auth"
)

// httpError is an error a handler hands to renderErrors with c.Error: the
// status and words for the admin. cause is for the log only (already free of
// secrets: the instagram package redacts its errors, and we never wrap a
// token, code or state).
type httpError struct {
	Status  int
	Title   string
	Message string
	// Step names the part of connecting Instagram that failed, if any.
	Step string
	// Popup marks a page shown in the connect popup: it offers "Close"
	// and tells the opener to refresh.
	Popup bool
	// refusal, when set, marks a request refused for its own sake (a
	// stale OAuth state, a connection started from another site): anyone
	// can send those, so they are logged at a bounded rate under this
	// reason (one of auth.RefusalReasons).
	refusal string
	cause   error
	// retry, when set, makes the page reload itself that often (and the
	// answer say so in Retry-After): the database is away.
	retry time.Duration
}

func (e *httpError) Error() string {
	s := e.Title
	if e.Message != "" {
		s += ": " + e.Message
	}
	if e.cause != nil {
		s += ": " + e.cause.Error()
	}
	return s
}

func (e *httpError) Unwrap() error { return e.cause }

func notFound() *httpError {
	return &httpError{Status: http.StatusNotFound, Title: "Page not found",
		Message: "There is nothing at this address."}
}

func internal(op string, err error) *httpError {
	return &httpError{Status: http.StatusInternalServerError, Title: "Something went wrong",
		Message: "Vitrine could not " + op + ". The details are in the server log; please try again.", cause: err}
}

// wantsJSON reports whether the error should be answered as JSON: the
// status endpoint and fetch calls that ask for JSON.
func wantsJSON(c *gin.Context) bool {
	return strings.HasSuffix(c.Request.URL.Path, ".json") ||
		strings.Contains(c.GetHeader("Accept"), "application/json")
}

// renderErrors is the one error path of the admin, auth's middleware
// included: handlers call c.Error and return; this renders the last error
// as an HTML page, or as JSON for JSON routes, with its status. Never a
// stack, never a 200.
func (a *Admin) renderErrors(c *gin.Context) {
	c.Next()
	if len(c.Errors) == 0 {
		return
	}
	err := c.Errors.Last().Err
	var he *httpError
	var ae *auth.Error
	logged := false
	switch {
	case errors.As(err, &he):
	case errors.As(err, &ae):
		he = &httpError{Status: ae.Status, Title: ae.Title, Message: ae.Message, cause: ae.Err}
		logged = ae.Reason != "" // a refusal auth has counted and logged
	default:
		he = internal("complete the request", err)
	}
	if he.Status < 400 {
		he.Status = http.StatusInternalServerError
	}
	he = a.databaseAwayIfDown(c.Request.Context(), he)
	if he.refusal != "" {
		a.auth.Refused(he.refusal, "admin: request refused", "method", c.Request.Method, "path", c.Request.URL.Path,
			"status", he.Status, "why", he.Title, "ip", c.ClientIP())
	} else if !logged {
		level := a.log.Info
		if he.Status >= 500 {
			level = a.log.Error
		}
		level("admin: request failed", "method", c.Request.Method, "path", c.Request.URL.Path,
			"status", he.Status, "err", he.Error())
	}
	if c.Writer.Written() {
		return
	}
	if he.retry > 0 {
		c.Header("Retry-After", strconv.Itoa(int(he.retry.Seconds())))
	}
	if wantsJSON(c) {
		c.JSON(he.Status, gin.H{"error": he.Title, "message": he.Message})
		return
	}
	v := messageView{
		page:    a.page(c, he.Title),
		Tone:    "bad",
		Heading: he.Title,
		Message: he.Message,
		Step:    he.Step,
		Popup:   he.Popup,
	}
	if he.Popup {
		v.Result = "failed"
	}
	if he.retry > 0 {
		v.Refresh = int(he.retry.Seconds())
		v.Tone, v.Plain = "warn", true
	}
	if he.Status == http.StatusNotFound || he.Status == http.StatusForbidden {
		v.Tone = "warn"
	}
	a.render(c, he.Status, "message.html", v)
}
