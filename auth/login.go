package auth

import (
	"math"
	"net/http"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"

	"vitrine/store"
)

// loginPath is the sign-in form's address: its POST carries the
// pre-session CSRF token, and signed-out visitors are sent to it.
const loginPath = "/admin/login"

// maxPasswordBytes bounds the work a request can ask of bcrypt's input
// handling; bcrypt itself reads at most 72 bytes.
const maxPasswordBytes = 1024

// LoginForm is what the sign-in form shows.
type LoginForm struct {
	// CSRF is the form's csrf_token (a pre-session token).
	CSRF string
	// Error says why the last try was refused; Notice is news ("You're
	// signed out.").
	Error, Notice string
}

// LoginPage draws the sign-in form with status: the admin's page, auth's
// words.
type LoginPage func(c *gin.Context, status int, f LoginForm)

// Register mounts the sign-in routes on g, the /admin group, behind
// LoadSession and CheckCSRF: GET and POST /login, and POST /logout for
// a signed-in session. page draws the form.
func (a *Auth) Register(g gin.IRouter, page LoginPage) {
	g.GET("/login", func(c *gin.Context) { a.loginPage(c, page) })
	g.POST("/login", func(c *gin.Context) { a.login(c, page) })
	g.POST("/logout", a.RequireLogin, a.logout)
}

func (a *Auth) loginPage(c *gin.Context, page LoginPage) {
	if sessionOf(c) != nil {
		c.Redirect(http.StatusFound, "/admin")
		return
	}
	f := LoginForm{CSRF: a.ensureLoginToken(c)}
	if c.Query("signed_out") == "1" {
		f.Notice = "You're signed out."
	}
	page(c, http.StatusOK, f)
}

func (a *Auth) login(c *gin.Context, page LoginPage) {
	ip := c.ClientIP()
	client := clientKey(ip)
	wait, err := a.throttle.wait(c.Request.Context(), client)
	if err != nil {
		c.Error(internal("check the sign-in limits", err))
		return
	}
	if wait > 0 {
		a.loginThrottled(c, page, ip, wait)
		return
	}
	password := c.PostForm("password")
	if !a.throttle.acquireCheck(c.Request.Context()) {
		a.Refused(refusedLoginBusy, "admin: sign-in busy, asked to retry", "ip", ip)
		a.loginRefused(c, page, http.StatusTooManyRequests, time.Second,
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
		a.loginThrottled(c, page, ip, wait)
		return
	}
	ok := len(password) <= maxPasswordBytes &&
		a.checkPassword([]byte(a.settings.PasswordHash), []byte(password)) == nil
	a.throttle.releaseCheck()
	if !ok {
		a.Refused(refusedWrongPassword, "admin: wrong password", "ip", ip, "failures", failures)
		msg := "That password isn't right."
		if penalty > 0 {
			msg += " Wait " + humanWait(penalty) + " before the next try."
		}
		a.loginRefused(c, page, http.StatusUnauthorized, penalty, msg)
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

func (a *Auth) loginThrottled(c *gin.Context, page LoginPage, ip string, wait time.Duration) {
	a.Refused(refusedLoginThrottled, "admin: login throttled", "ip", ip, "retry_after", wait.Round(time.Second))
	a.loginRefused(c, page, http.StatusTooManyRequests, wait,
		"Too many wrong passwords. For your security, wait "+humanWait(wait)+" and try again.")
}

// loginRefused shows the form again with the reason. This is the form's
// own answer (the admin retypes the password on it), not an error page,
// so it is drawn here, always with a 4xx status.
func (a *Auth) loginRefused(c *gin.Context, page LoginPage, status int, wait time.Duration, msg string) {
	if wait > 0 {
		c.Header("Retry-After", strconv.Itoa(int(math.Ceil(wait.Seconds()))))
	}
	page(c, status, LoginForm{CSRF: a.ensureLoginToken(c), Error: msg})
}

func (a *Auth) logout(c *gin.Context) {
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
