package fake

import (
	"fmt"
	"math"
	"net/http"
	"time"
)

// faults are the switches tests flip to make Instagram misbehave. They
// apply to API requests (token endpoints, graph, CDN), never to the
// authorize page a browser shows.
type faults struct {
	rateLimited    bool      // SetRateLimited(true): until switched off
	rateLimitUntil time.Time // RateLimitFor: until the clock passes it
	failN          int
	failStatus     int
	failUntil      time.Time // FailFor: every API request fails until the clock passes it
	ratio          float64   // FailRatio: the share of API requests that fail
	ratioStatus    int
	ratioSeen      int64 // requests FailRatio has judged since it was set
	ratioFailed    int64 // of those, failed
	latency        time.Duration
	drop           bool
	refusedFields  map[string]bool // RefuseFields
	emptyPages     int             // SetEmptyPages
}

// RevokeTokens makes every token issued so far fail with 190/458, as when
// the user removes the app. Tokens issued later work.
func (f *Fake) RevokeTokens() { f.invalidate(458) }

// ChangePassword makes every token issued so far fail with 190/460, as
// when the user changes their password. Tokens issued later work.
func (f *Fake) ChangePassword() { f.invalidate(460) }

func (f *Fake) invalidate(subcode int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, t := range f.tokens {
		t.invalidated = subcode
	}
}

// ExpireTokens makes every token issued so far expire now (190/463
// "Session has expired on <now>"), as if 60 days had passed for them
// alone. Tokens issued later work.
func (f *Fake) ExpireTokens() {
	f.mu.Lock()
	defer f.mu.Unlock()
	now := f.clock.Now()
	for _, t := range f.tokens {
		if t.expires.After(now) {
			t.expires = now
		}
	}
}

// AgeTokens moves every token issued so far d into the past, issue and
// expiry alike, as if it had been issued d earlier: a 60-day token aged 31
// days expires in 29 and may be refreshed. The demo uses it to show a
// refresh without waiting a month.
func (f *Fake) AgeTokens(d time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, t := range f.tokens {
		t.issued = t.issued.Add(-d)
		t.expires = t.expires.Add(-d)
	}
}

// SetRateLimited makes graph.instagram.com requests (graph reads, the
// long-lived exchange and refresh) answer HTTP 400 code 4 "Application
// request limit reached", with X-App-Usage and X-Business-Use-Case-Usage
// at 100% and estimated_time_to_regain_access 15 minutes, until switched
// off.
func (f *Fake) SetRateLimited(on bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.faults.rateLimited = on
	if !on {
		f.faults.rateLimitUntil = time.Time{}
	}
}

// RateLimitFor rate-limits graph requests like SetRateLimited until the
// fake's clock has advanced by d; estimated_time_to_regain_access counts
// down with the clock.
func (f *Fake) RateLimitFor(d time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.faults.rateLimitUntil = f.clock.Now().Add(d)
}

// FailNext makes the next n API requests (token endpoints, graph and CDN,
// in arrival order) answer HTTP status: 500 with
// Instagram's transient error JSON (code 2, is_transient), any other
// status with its plain-text reason, like Meta's edge proxies for
// 502/503/504. A status outside 400–599 counts as 500; n <= 0 cancels.
func (f *Fake) FailNext(n int, status int) {
	if status < 400 || status > 599 {
		status = http.StatusInternalServerError
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.faults.failN = max(n, 0)
	f.faults.failStatus = status
}

// FailFor makes every API request answer status (as FailNext does) until
// the fake's clock has advanced by d: an outage with an end. d <= 0 ends
// one early.
func (f *Fake) FailFor(d time.Duration, status int) {
	if status < 400 || status > 599 {
		status = http.StatusInternalServerError
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.faults.failUntil = f.clock.Now().Add(max(d, 0))
	f.faults.failStatus = status
}

// FailRatio makes a share p of API requests answer status (as FailNext
// does), spread evenly and deterministically rather than at random: with
// p = 0.5 the next request fails, the one after succeeds, and so on; with
// p = 0.25 one in four fails. Requests FailNext or FailFor already fail
// are not counted. p >= 1 fails every request; p <= 0 cancels. A status
// outside 400–599 counts as 500.
func (f *Fake) FailRatio(p float64, status int) {
	if status < 400 || status > 599 {
		status = http.StatusInternalServerError
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.faults.ratio = min(max(p, 0), 1)
	f.faults.ratioStatus = status
	f.faults.ratioSeen, f.faults.ratioFailed = 0, 0
}

// ratioFailsLocked judges one request under FailRatio: it fails when the
// failures so far fall short of the share p of the requests seen,
// counting this one (so the first request fails).
func (f *Fake) ratioFailsLocked() bool {
	if f.faults.ratio <= 0 {
		return false
	}
	f.faults.ratioSeen++
	if float64(f.faults.ratioFailed) < math.Ceil(f.faults.ratio*float64(f.faults.ratioSeen)-1e-9) {
		f.faults.ratioFailed++
		return true
	}
	return false
}

// OutageLeft is how long a FailFor outage has still to run; 0 when none.
func (f *Fake) OutageLeft() time.Duration {
	f.mu.Lock()
	defer f.mu.Unlock()
	return max(f.faults.failUntil.Sub(f.clock.Now()), 0)
}

// SetLatency delays every API response by d; a request whose context is
// cancelled meanwhile returns at once, unanswered.
func (f *Fake) SetLatency(d time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.faults.latency = max(d, 0)
}

// SetDropConnections makes API requests end with the connection closed and
// no answer, so the client sees EOF.
func (f *Fake) SetDropConnections(on bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.faults.drop = on
}

// ResetFaults turns off rate limiting, FailNext, FailFor, FailRatio,
// latency and dropped connections. Tokens invalidated by RevokeTokens, ExpireTokens or
// ChangePassword stay invalid, as on Instagram: re-authorize to recover.
func (f *Fake) ResetFaults() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.faults = faults{}
}

// applyFaults runs the switches for one API request; false means the
// request has been answered (or abandoned) and must go no further.
func (f *Fake) applyFaults(w http.ResponseWriter, r *http.Request) bool {
	f.mu.Lock()
	latency := f.faults.latency
	f.mu.Unlock()
	if latency > 0 {
		t := time.NewTimer(latency)
		defer t.Stop()
		select {
		case <-t.C:
		case <-r.Context().Done():
			return false
		}
	}

	f.mu.Lock()
	drop := f.faults.drop
	status := 0
	switch {
	case drop:
	case f.faults.failN > 0:
		f.faults.failN--
		status = f.faults.failStatus
	case f.clock.Now().Before(f.faults.failUntil):
		status = f.faults.failStatus
	case f.ratioFailsLocked():
		status = f.faults.ratioStatus
	}
	f.mu.Unlock()

	if drop {
		conn, _, err := http.NewResponseController(w).Hijack()
		if err != nil {
			// HTTP/2 cannot be hijacked; aborting resets the stream instead.
			panic(http.ErrAbortHandler)
		}
		conn.Close()
		return false
	}
	switch status {
	case 0:
		return true
	case http.StatusInternalServerError:
		writeGraphError(w, status, graphError{Message: msgUnexpected, Code: 2, Transient: true})
	default:
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(status)
		fmt.Fprint(w, http.StatusText(status))
	}
	return false
}

// rateLimitLocked reports whether graph requests are throttled now and the
// minutes until access returns.
func (f *Fake) rateLimitLocked(now time.Time) (bool, int) {
	if f.faults.rateLimited {
		return true, 15
	}
	if left := f.faults.rateLimitUntil.Sub(now); left > 0 {
		return true, int(math.Ceil(left.Minutes()))
	}
	return false, 0
}

// setUsageHeaders writes the usage headers Graph sends with every answer;
// throttled, they read 100% with the wait in minutes.
func setUsageHeaders(w http.ResponseWriter, userID string, limited bool, minutes int) {
	pct := 1
	if limited {
		pct = 100
	}
	w.Header().Set("X-App-Usage", fmt.Sprintf(`{"call_count":%d,"total_cputime":%d,"total_time":%d}`, pct, min(pct, 25), min(pct, 25)))
	w.Header().Set("X-Business-Use-Case-Usage", fmt.Sprintf(
		`{"%s":[{"type":"instagram","call_count":%d,"total_cputime":%d,"total_time":%d,"estimated_time_to_regain_access":%d}]}`,
		userID, pct, min(pct, 25), min(pct, 25), minutes))
}
