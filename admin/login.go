package admin

import (
	"context"
	"math"
	"net/http"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"

	"vitrine/store"
)

// maxPasswordBytes bounds the work a request can ask of bcrypt's input
// handling; bcrypt itself reads at most 72 bytes.
const maxPasswordBytes = 1024

type loginView struct {
	page
	LoginCSRF string
	Error     string
	Notice    string
}

func (a *Admin) loginPage(c *gin.Context) {
	if sessionOf(c) != nil {
		c.Redirect(http.StatusFound, "/admin")
		return
	}
	v := loginView{page: a.page(c, "Sign in"), LoginCSRF: a.ensureLoginToken(c)}
	if c.Query("signed_out") == "1" {
		v.Notice = "You're signed out."
	}
	a.render(c, http.StatusOK, "login.html", v)
}

func (a *Admin) login(c *gin.Context) {
	ip := c.ClientIP()
	client := clientKey(ip)
	wait, err := a.throttle.wait(c.Request.Context(), client)
	if err != nil {
		c.Error(internal("check the sign-in limits", err))
		return
	}
	if wait > 0 {
		a.loginThrottled(c, ip, wait)
		return
	}
	password := c.PostForm("password")
	if !a.throttle.acquireCheck(c.Request.Context()) {
		a.refused.note(refusedLoginBusy, "admin: sign-in busy, asked to retry", "ip", ip)
		a.loginRefused(c, http.StatusTooManyRequests, time.Second,
			"Too many sign-ins are being checked right now. Wait a second and try again.")
		return
	}
	failures, penalty, wait, err := a.throttle.begin(c.Request.Context(), client)
	if err != nil {
		a.throttle.releaseCheck()
		c.Error(internal("count the sign-in", err))
		return
	}
	if wait > 0 {
		a.throttle.releaseCheck()
		a.loginThrottled(c, ip, wait)
		return
	}
	ok := len(password) <= maxPasswordBytes &&
		a.checkPassword([]byte(a.settings.PasswordHash), []byte(password)) == nil
	a.throttle.releaseCheck()
	if !ok {
		a.refused.note(refusedWrongPassword, "admin: wrong password", "ip", ip, "failures", failures)
		msg := "That password isn't right."
		if penalty > 0 {
			msg += " Wait " + humanWait(penalty) + " before the next try."
		}
		a.loginRefused(c, http.StatusUnauthorized, penalty, msg)
		return
	}
	if err := a.throttle.succeed(c.Request.Context(), client); err != nil {
		// The session matters more; the count only stays high.
		a.log.Warn("admin: clear the sign-in failures", "err", err)
	}
	if err := a.startSession(c); err != nil {
		c.Error(internal("start your session", err))
		return
	}
	a.log.Info("admin: signed in", "ip", ip)
	a.event(c, "login", store.LevelInfo, "Admin signed in from "+ip)
	c.Redirect(http.StatusSeeOther, "/admin")
}

func (a *Admin) loginThrottled(c *gin.Context, ip string, wait time.Duration) {
	a.refused.note(refusedLoginThrottled, "admin: login throttled", "ip", ip, "retry_after", wait.Round(time.Second))
	a.loginRefused(c, http.StatusTooManyRequests, wait,
		"Too many wrong passwords. For your security, wait "+humanWait(wait)+" and try again.")
}

// loginRefused shows the form again with the reason. This is the form's
// own answer (the admin retypes the password on it), not an error page,
// so it is rendered here, always with a 4xx status.
func (a *Admin) loginRefused(c *gin.Context, status int, wait time.Duration, msg string) {
	if wait > 0 {
		c.Header("Retry-After", strconv.Itoa(int(math.Ceil(wait.Seconds()))))
	}
	v := loginView{page: a.page(c, "Sign in"), LoginCSRF: a.ensureLoginToken(c), Error: msg}
	a.render(c, status, "login.html", v)
}

func (a *Admin) logout(c *gin.Context) {
	if s := sessionOf(c); s != nil {
		if err := a.store.DeleteAdminSession(c.Request.Context(), s.IDHash); err != nil {
			c.Error(internal("end your session", err))
			return
		}
	}
	a.clearSessionCookie(c)
	a.log.Info("admin: signed out", "ip", c.ClientIP())
	c.Redirect(http.StatusSeeOther, "/admin/login?signed_out=1")
}

// humanWait says a delay in words: "3 seconds", "2 minutes".
func humanWait(d time.Duration) string {
	if d < time.Minute {
		return plural(int(math.Ceil(d.Seconds())), "second")
	}
	return plural(int(math.Ceil(d.Minutes())), "minute")
}

func plural(n int, unit string) string {
	if n == 1 {
		return "1 " + unit
	}
	return strconv.Itoa(n) + " " + unit + "s"
}

// event adds to the audit log; a failure is logged, not shown: the action
// it records has already happened.
func (a *Admin) event(c *gin.Context, kind, level, msg string) {
	a.addEvent(c.Request.Context(), kind, level, msg)
}

func (a *Admin) addEvent(ctx context.Context, kind, level, msg string) {
	if err := a.store.AddEvent(ctx, kind, level, msg); err != nil {
		a.log.Error("admin: add event", "kind", kind, "err", err)
	}
}
