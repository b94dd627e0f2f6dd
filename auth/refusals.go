package auth

import (
	"log/slog"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Why a request was refused: the reason label of the refusal metric.
const (
	refusedCSRF           = "csrf"
	refusedCrossOrigin    = "cross_origin"
	refusedWrongPassword  = "wrong_password"
	refusedLoginThrottled = "login_throttled"
	refusedLoginBusy      = "login_busy"

	// The admin's own refusals, which it reports through Refused: a
	// connection started from another site, and an OAuth answer with no
	// state of this admin's.
	RefusedCrossSite  = "cross_site_generate"
	RefusedOAuthState = "oauth_state"
)

// RefusalReasons lists every reason given to Options.Refused, so a metric
// can show each at 0 before the first refusal.
var RefusalReasons = []string{refusedCSRF, refusedCrossOrigin, RefusedCrossSite, RefusedOAuthState,
	refusedWrongPassword, refusedLoginThrottled, refusedLoginBusy}

// Anyone on the internet can make the admin refuse a request, so refusals
// are logged at a bounded rate: the first few of each minute one by one,
// then one summary line for the rest. Every refusal is still counted.
const (
	refusalsLoggedPerWindow = 5
	refusalWindow           = time.Minute
)

// refusalLog logs refused requests without letting a flood of them flood
// the log. count, if set, sees every refusal.
type refusalLog struct {
	log   *slog.Logger
	now   func() time.Time
	count func(reason string)
	// afterFunc schedules the summary of a window that ends quietly.
	afterFunc func(time.Duration, func()) *time.Timer

	mu          sync.Mutex
	windowStart time.Time
	logged      int
	suppressed  map[string]int
	summary     *time.Timer
}

func newRefusalLog(log *slog.Logger, now func() time.Time, count func(string)) *refusalLog {
	return &refusalLog{log: log, now: now, count: count, afterFunc: time.AfterFunc, suppressed: map[string]int{}}
}

// Refused counts one refused request under reason (one of
// RefusalReasons) and logs msg and args at Warn, unless this minute has
// logged its share of refusals already: anyone can make the admin refuse
// requests, and the log must not grow with them.
func (a *Auth) Refused(reason, msg string, args ...any) { a.refused.note(reason, msg, args...) }

// note records one refusal: msg and args are logged at Warn unless this
// window has already logged its share.
func (r *refusalLog) note(reason, msg string, args ...any) {
	if r.count != nil {
		r.count(reason)
	}
	r.mu.Lock()
	now := r.now()
	if now.Sub(r.windowStart) >= refusalWindow {
		r.flushLocked()
		r.windowStart, r.logged = now, 0
	}
	if r.logged < refusalsLoggedPerWindow {
		r.logged++
		r.mu.Unlock()
		r.log.Warn(msg, append(args, "reason", reason)...)
		return
	}
	r.suppressed[reason]++
	if r.summary == nil {
		r.summary = r.afterFunc(refusalWindow, r.flush)
	}
	r.mu.Unlock()
}

func (r *refusalLog) flush() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.flushLocked()
}

// flushLocked writes the summary of what the window did not log.
func (r *refusalLog) flushLocked() {
	if r.summary != nil {
		r.summary.Stop()
		r.summary = nil
	}
	if len(r.suppressed) == 0 {
		return
	}
	total := 0
	reasons := make([]string, 0, len(r.suppressed))
	for reason, n := range r.suppressed {
		total += n
		reasons = append(reasons, reason)
	}
	sort.Strings(reasons)
	parts := make([]string, len(reasons))
	for i, reason := range reasons {
		parts[i] = reason + "=" + strconv.Itoa(r.suppressed[reason])
	}
	r.log.Warn("admin: more requests refused, not logged one by one",
		"count", total, "by_reason", strings.Join(parts, " "), "window", refusalWindow)
	clear(r.suppressed)
}
