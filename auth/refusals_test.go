package auth

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// Anyone can make the admin refuse requests: 200 of them, of every kind
// of auth's an unauthenticated client can send, add at most 20 log lines,
// and every one is counted. Before, each refused POST wrote two lines,
// unbounded.
func TestRefusedRequestsDoNotFloodTheLog(t *testing.T) {
	e := newEnv(t)
	f := newLoginForm(e)
	before := strings.Count(e.logs.String(), "\n")
	kinds := []func(i int) int{
		func(int) int { // no CSRF token, no session
			return e.newBrowser().Post("/admin/form", url.Values{}).StatusCode
		},
		func(int) int { // a form from another site
			return e.newBrowser().Post("/admin/form", url.Values{"csrf_token": {"x"}}, "Origin", "https://evil.example").StatusCode
		},
		func(int) int { // a forged login token
			return e.newBrowser().Post("/admin/login", url.Values{"password": {"guess"}, "csrf_token": {"forged"}}).StatusCode
		},
		func(i int) int { // wrong passwords, then throttled
			code, err := f.send("wrong guess", fmt.Sprintf("192.0.2.%d", i%7+1))
			if err != nil {
				t.Fatal(err)
			}
			return code
		},
	}
	for i := range 200 {
		if code := kinds[i%len(kinds)](i); code < 400 || code >= 500 {
			t.Fatalf("refused request %d answered %d, want a 4xx", i, code)
		}
	}
	lines := strings.Count(e.logs.String(), "\n") - before
	if lines > 20 {
		t.Errorf("200 refused requests wrote %d log lines, want at most 20:\n%s", lines, e.logs.String())
	}
	if got := e.refusals.total(); got != 200 {
		t.Errorf("%d refusals counted, want 200", got)
	}
	for _, reason := range []string{refusedCSRF, refusedCrossOrigin, refusedWrongPassword, refusedLoginThrottled} {
		if e.refusals.of(reason) == 0 {
			t.Errorf("no refusal counted as %q", reason)
		}
	}
	// The next window starts with a summary of what this one left out.
	e.clock.Advance(refusalWindow)
	e.newBrowser().Post("/admin/form", url.Values{})
	if !strings.Contains(e.logs.String(), "more requests refused, not logged one by one") {
		t.Errorf("no summary of the refusals not logged:\n%s", e.logs.String())
	}
}

// A window that ends quietly still gets its summary, from a timer.
func TestRefusalSummaryComesWithoutANewRefusal(t *testing.T) {
	e := newEnv(t)
	fired := make(chan func(), 1)
	e.auth.refused.afterFunc = func(_ time.Duration, f func()) *time.Timer {
		fired <- f
		return time.NewTimer(time.Hour)
	}
	for range refusalsLoggedPerWindow + 3 {
		e.newBrowser().Post("/admin/form", url.Values{})
	}
	select {
	case flush := <-fired:
		flush()
	default:
		t.Fatal("no summary was scheduled for the refusals not logged")
	}
	logs := e.logs.String()
	if !strings.Contains(logs, "more requests refused") || !strings.Contains(logs, "count=3") {
		t.Errorf("summary missing or wrong:\n%s", logs)
	}
	if r := e.newBrowser().Post("/admin/form", url.Values{}); r.StatusCode != http.StatusForbidden {
		t.Errorf("refused POST = %d", r.StatusCode)
	}
}
