package admin

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"vitrine/auth"
)

// Every admin page but the sign-in form and the callback needs a session.
func TestLoggedOutRedirectsToLogin(t *testing.T) {
	e := newEnv(t)
	for _, p := range []string{"/admin", "/admin/generate", "/admin/disconnect", "/admin/connected", "/admin/avatar"} {
		r := e.get(p)
		if r.StatusCode != http.StatusFound || r.Header.Get("Location") != "/admin/login" {
			t.Errorf("GET %s logged out = %d %q, want 302 /admin/login", p, r.StatusCode, r.Header.Get("Location"))
		}
	}
	r := e.get("/admin/status.json")
	if r.StatusCode != http.StatusUnauthorized || !strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
		t.Errorf("status.json logged out = %d %s", r.StatusCode, r.Header.Get("Content-Type"))
	}
}

// The sign-in form is one of the admin's pages, with their headers, and
// signing in leads to the dashboard.
func TestLoginPage(t *testing.T) {
	e := newEnv(t)
	page := e.get("/admin/login")
	if page.StatusCode != http.StatusOK || !strings.Contains(page.body, `type="password"`) || !strings.Contains(page.body, "<title>Sign in") {
		t.Fatalf("login page = %d:\n%.1500s", page.StatusCode, page.body)
	}
	assertAdminHeaders(t, page)
	r := e.post("/admin/login", url.Values{"password": {"not it"}, "csrf_token": {csrfFrom(t, page.body)}})
	if r.StatusCode != http.StatusUnauthorized || !strings.Contains(r.body, `class="alert alert-bad"`) || !strings.Contains(r.body, "isn&#39;t right") {
		t.Errorf("wrong password = %d:\n%.1500s", r.StatusCode, r.body)
	}
	e.login()
	dash := e.get("/admin")
	if !strings.Contains(dash.body, "Connect your Instagram account") {
		t.Fatalf("dashboard after signing in:\n%.1500s", dash.body)
	}
	assertAdminHeaders(t, dash)
	r = e.post("/admin/logout", url.Values{"csrf_token": {csrfFrom(t, dash.body)}})
	if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/admin/login?signed_out=1" {
		t.Fatalf("logout = %d %q", r.StatusCode, r.Header.Get("Location"))
	}
	if r := e.get("/admin/login?signed_out=1"); !strings.Contains(r.body, "signed out") {
		t.Errorf("no notice after signing out:\n%.1500s", r.body)
	}
}

// TestCSRF: every admin POST refuses a missing or wrong token and a
// cross-origin Origin, with 403 and an HTML page (JSON when asked).
func TestCSRF(t *testing.T) {
	e := newEnv(t)
	csrf := e.login()
	id := e.seedPosts(1)[0].ID
	for _, p := range []string{"/admin/login", "/admin/logout", "/admin/disconnect", "/admin/sync", "/admin/posts/" + id} {
		for name, tc := range map[string]struct {
			form   url.Values
			header []string
		}{
			"missing":      {url.Values{"password": {testPassword}, "action": {"hide"}}, nil},
			"wrong":        {url.Values{"password": {testPassword}, "action": {"hide"}, "csrf_token": {csrf + "x"}}, nil},
			"cross-origin": {url.Values{"password": {testPassword}, "action": {"hide"}, "csrf_token": {csrf}}, []string{"Origin", "https://evil.example"}},
		} {
			r := e.post(p, tc.form, tc.header...)
			if r.StatusCode != http.StatusForbidden {
				t.Errorf("POST %s (%s) = %d, want 403", p, name, r.StatusCode)
			}
			if !strings.Contains(r.Header.Get("Content-Type"), "text/html") || !strings.Contains(r.body, "</html>") || strings.Contains(r.body, "goroutine") {
				t.Errorf("POST %s (%s): not a clean HTML page", p, name)
			}
		}
	}
	// Nothing happened: still signed in, sync never ran, nothing hidden.
	if r := e.get("/admin"); r.StatusCode != http.StatusOK {
		t.Errorf("signed out by a refused POST: %d", r.StatusCode)
	}
	if _, runs := e.jobs.calls(); len(runs) != 0 {
		t.Errorf("sync ran: %v", runs)
	}
	if d := e.decisions(); len(d) != 0 {
		t.Errorf("a refused POST moderated: %v", d)
	}
	// JSON callers get JSON errors.
	r := e.post("/admin/sync", nil, "X-CSRF-Token", "nope", "Accept", "application/json")
	if r.StatusCode != http.StatusForbidden || !strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
		t.Errorf("JSON CSRF failure = %d %s", r.StatusCode, r.Header.Get("Content-Type"))
	}
	if r := e.post("/admin/sync", url.Values{"csrf_token": {csrf}}, "Origin", "null", "Sec-Fetch-Site", "same-origin"); r.StatusCode != http.StatusConflict {
		t.Errorf("same-origin sync with Origin null = %d, want 409 (no token to sync)", r.StatusCode)
	}
}

// The admin's own refusals (a connection started from another site, an
// OAuth answer nobody asked for) are counted and logged at the bounded
// rate with auth's: 200 refused requests add at most 20 log lines.
func TestAdminRefusalsShareAuthsBoundedLog(t *testing.T) {
	e := newEnv(t)
	e.login()
	before := strings.Count(e.logs.String(), "\n")
	kinds := []func() int{
		func() int { return e.get("/admin/generate", "Sec-Fetch-Site", "cross-site").StatusCode },
		func() int { return e.getWith(e.newClient(), "/admin/callback?code=c&state=s").StatusCode },
		func() int { return e.postWith(e.newClient(), "/admin/sync", url.Values{}).StatusCode },
		func() int {
			return e.postWith(e.newClient(), "/admin/disconnect", url.Values{"csrf_token": {"x"}}, "Origin", "https://evil.example").StatusCode
		},
	}
	for i := range 200 {
		if code := kinds[i%len(kinds)](); code < 400 || code >= 500 {
			t.Fatalf("refused request %d answered %d, want a 4xx", i, code)
		}
	}
	if lines := strings.Count(e.logs.String(), "\n") - before; lines > 20 {
		t.Errorf("200 refused requests wrote %d log lines, want at most 20:\n%s", lines, e.logs.String())
	}
	if got := e.refusals.total(); got != 200 {
		t.Errorf("%d refusals counted, want 200", got)
	}
	for reason, want := range map[string]int{auth.RefusedCrossSite: 50, auth.RefusedOAuthState: 50} {
		if got := e.refusals.of(reason); got != want {
			t.Errorf("%d refusals counted as %q, want %d", got, reason, want)
		}
	}
	e.clock.Advance(time.Minute)
	e.get("/admin/generate", "Sec-Fetch-Site", "cross-site")
	if !strings.Contains(e.logs.String(), "more requests refused, not logged one by one") {
		t.Errorf("no summary of the refusals not logged:\n%s", e.logs.String())
	}
}
