package metaapp

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"
)

// staleClaim is how long the first handling of a callback may take before
// a replay takes it over, its process presumably gone: far longer than a
// disconnect needs.
const staleClaim = 5 * time.Minute

// callbackID names a callback in the store: the same for every copy of one
// notice (path, user id, issued_at) whatever else its payload holds, and,
// keyed with the app secret, no clue to whose it was.
func (a *App) callbackID(path string, n notice) string {
	mac := hmac.New(sha256.New, []byte(a.o.AppSecret))
	mac.Write([]byte("vitrine metaapp callback\x00" + path + "\x00" + n.UserID + "\x00" + strconv.FormatInt(n.IssuedAt.Unix(), 10)))
	return hex.EncodeToString(mac.Sum(nil))
}

// once handles the verified notice n, sent to path, the first time it
// arrives at any replica, and answers every copy after that as the first
// was answered, without handling it again: no second disconnect, alert,
// confirmation or log line. A copy that arrives while the first is under
// way is asked to retry. handle returns the confirmation code to answer
// with ("" for none); its error's text is what Meta is told, the cause it
// logs itself. A failed handling is not remembered, so Meta's retry runs
// afresh.
func (a *App) once(c *gin.Context, path string, n notice, handle func(context.Context, notice) (string, error)) {
	ctx := c.Request.Context()
	now := a.o.Now()
	// A notice issued before this is refused before it gets here.
	if _, err := a.o.Store.PruneCallbacks(ctx, now.Add(-maxNoticeAge)); err != nil {
		a.o.Logger.Warn("metaapp: prune remembered callbacks", "err", err)
	}
	id := a.callbackID(path, n)
	cb, claimed, err := a.o.Store.ClaimCallback(ctx, id, n.IssuedAt, now, now.Add(-staleClaim))
	if err != nil {
		a.o.Logger.Error("metaapp: remember callback", "err", err)
		c.JSON(http.StatusInternalServerError, gin.H{"error": "could not record the request; Meta will retry"})
		return
	}
	if !claimed {
		if !cb.Done() {
			c.Header("Retry-After", "60")
			c.JSON(http.StatusServiceUnavailable, gin.H{"error": "this request is being handled; retry later"})
			return
		}
		a.answer(c, cb.Status, cb.Code)
		return
	}
	code, err := handle(ctx, n)
	bg := context.WithoutCancel(ctx) // what was done must be recorded
	if err != nil {
		if rerr := a.o.Store.ReleaseCallback(bg, id, cb.Claim); rerr != nil {
			a.o.Logger.Error("metaapp: release callback", "err", rerr)
		}
		c.JSON(http.StatusInternalServerError, gin.H{"error": err.Error()})
		return
	}
	if err := a.o.Store.FinishCallback(bg, id, cb.Claim, http.StatusOK, code); err != nil {
		// The work is done and the answer true; only a replay may now be
		// handled again, which finds nothing left to do.
		a.o.Logger.Error("metaapp: remember the answer", "err", err)
	}
	a.answer(c, http.StatusOK, code)
}

// answer is a callback's answer: a data deletion's carries its
// confirmation code and status URL, as Meta requires.
func (a *App) answer(c *gin.Context, status int, code string) {
	if code == "" {
		c.JSON(status, gin.H{"ok": true})
		return
	}
	c.JSON(status, gin.H{"url": a.base + DeletionPath + "?code=" + code, "confirmation_code": code})
}
