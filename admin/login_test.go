package admin_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"vitrine/auth"
	"vitrine/testkit"
)

// Every admin page but the sign-in form and the callback needs a session.
func TestLoggedOutRedirectsToLogin(t *testing.T) {
	v := newVitrine(t)
	for _, p := range []string{"/admin", "/admin/generate", "/admin/disconnect", "/admin/connected", "/admin/avatar"} {
		r := v.client.Get(p)
		if r.StatusCode != http.StatusFound || r.Header.Get("Location") != "/admin/login" {
			t.Errorf("GET %s logged out = %d %q, want 302 /admin/login", p, r.StatusCode, r.Header.Get("Location"))
		}
	}
	r := v.client.Get("/admin/status.json")
	if r.StatusCode != http.StatusUnauthorized || !strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
		t.Errorf("status.json logged out = %d %s", r.StatusCode, r.Header.Get("Content-Type"))
	}
}

// The sign-in form is one of the admin's pages, with their headers, and
// signing in leads to the dashboard.
func TestLoginPage(t *testing.T) {
	v := newVitrine(t)
	page := v.client.Get("/admin/login")
	if page.StatusCode != http.StatusOK || !strings.Contains(page.Text, `type="password"`) || !strings.Contains(page.Text, "<title>Sign in") {
		t.Fatalf("login page = %d:\n%.1500s", page.StatusCode, page.Text)
	}
	assertAdminHeaders(t, page)
	r := v.client.Post("/admin/login", url.Values{"password": {"not it"}, "csrf_token": {testkit.CSRFToken(t, page.Text)}})
	if r.StatusCode != http.StatusUnauthorized || !strings.Contains(r.Text, `class="alert alert-bad"`) || !strings.Contains(r.Text, "isn&#39;t right") {
		t.Errorf("wrong password = %d:\n%.1500s", r.StatusCode, r.Text)
	}
	v.client.SignIn(testPassword)
	dash := v.client.Get("/admin")
	if !strings.Contains(dash.Text, "Connect your Instagram account") {
		t.Fatalf("dashboard after signing in:\n%.1500s", dash.Text)
	}
	assertAdminHeaders(t, dash)
	r = v.client.Post("/admin/logout", url.Values{"csrf_token": {testkit.CSRFToken(t, dash.Text)}})
	if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/admin/login?signed_out=1" {
		t.Fatalf("logout = %d %q", r.StatusCode, r.Header.Get("Location"))
	}
	if r := v.client.Get("/admin/login?signed_out=1"); !strings.Contains(r.Text, "signed out") {
		t.Errorf("no notice after signing out:\n%.1500s", r.Text)
	}
}

// TestCSRF: every admin POST refuses a missing or wrong token and a
// cross-origin Origin, with 403 and an HTML page (JSON when asked).
func TestCSRF(t *testing.T) {
	v := newVitrine(t)
	csrf := v.client.SignIn(testPassword)
	id := v.CachePosts(1)[0].ID
	for _, p := range []string{"/admin/login", "/admin/logout", "/admin/disconnect", "/admin/sync", "/admin/posts/" + id} {
		for name, tc := range map[string]struct {
			form   url.Values
			header []string
		}{
			"missing":      {url.Values{"password": {testPassword}, "action": {"hide"}}, nil},
			"wrong":        {url.Values{"password": {testPassword}, "action": {"hide"}, "csrf_token": {csrf + "x"}}, nil},
			"cross-origin": {url.Values{"password": {testPassword}, "action": {"hide"}, "csrf_token": {csrf}}, []string{"Origin", "https://evil.example"}},
		} {
			r := v.client.Post(p, tc.form, tc.header...)
			if r.StatusCode != http.StatusForbidden {
				t.Errorf("POST %s (%s) = %d, want 403", p, name, r.StatusCode)
			}
			if !strings.Contains(r.Header.Get("Content-Type"), "text/html") || !strings.Contains(r.Text, "</html>") || strings.Contains(r.Text, "goroutine") {
				t.Errorf("POST %s (%s): not a clean HTML page", p, name)
			}
		}
	}
	// Nothing happened: still signed in, sync never ran, nothing hidden.
	if r := v.client.Get("/admin"); r.StatusCode != http.StatusOK {
		t.Errorf("signed out by a refused POST: %d", r.StatusCode)
	}
	if n := v.Fake.CallsTo("/me/media"); n != 0 || v.SyncRuns() != 0 {
		t.Errorf("sync ran: %d reads of the feed, %d runs", n, v.SyncRuns())
	}
	if d := v.decisions(); len(d) != 0 {
		t.Errorf("a refused POST moderated: %v", d)
	}
	// JSON callers get JSON errors.
	r := v.client.Post("/admin/sync", nil, "X-CSRF-Token", "nope", "Accept", "application/json")
	if r.StatusCode != http.StatusForbidden || !strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
		t.Errorf("JSON CSRF failure = %d %s", r.StatusCode, r.Header.Get("Content-Type"))
	}
	if r := v.client.Post("/admin/sync", url.Values{"csrf_token": {csrf}}, "Origin", "null", "Sec-Fetch-Site", "same-origin"); r.StatusCode != http.StatusConflict {
		t.Errorf("same-origin sync with Origin null = %d, want 409 (no token to sync)", r.StatusCode)
	}
}

// The admin's own refusals (a connection started from another site, an
// OAuth answer nobody asked for) are counted and logged at the bounded
// rate with auth's: 200 refused requests add at most 20 log lines.
func TestAdminRefusalsShareAuthsBoundedLog(t *testing.T) {
	v := newVitrine(t)
	v.client.SignIn(testPassword)
	before := strings.Count(v.Logs.String(), "\n")
	kinds := []func() int{
		func() int { return v.client.Get("/admin/generate", "Sec-Fetch-Site", "cross-site").StatusCode },
		func() int { return v.Browser().Get("/admin/callback?code=c&state=s").StatusCode },
		func() int { return v.Browser().Post("/admin/sync", url.Values{}).StatusCode },
		func() int {
			return v.Browser().Post("/admin/disconnect", url.Values{"csrf_token": {"x"}}, "Origin", "https://evil.example").StatusCode
		},
	}
	for i := range 200 {
		if code := kinds[i%len(kinds)](); code < 400 || code >= 500 {
			t.Fatalf("refused request %d answered %d, want a 4xx", i, code)
		}
	}
	if lines := strings.Count(v.Logs.String(), "\n") - before; lines > 20 {
		t.Errorf("200 refused requests wrote %d log lines, want at most 20:\n%s", lines, v.Logs.String())
	}
	refusals := v.refusals()
	total := 0
	for _, n := range refusals {
		total += n
	}
	if total != 200 {
		t.Errorf("%d refusals counted, want 200: %v", total, refusals)
	}
	for reason, want := range map[string]int{auth.RefusedCrossSite: 50, auth.RefusedOAuthState: 50} {
		if got := refusals[reason]; got != want {
			t.Errorf("%d refusals counted as %q, want %d", got, reason, want)
		}
	}
	v.Clock.Advance(time.Minute)
	v.client.Get("/admin/generate", "Sec-Fetch-Site", "cross-site")
	if !strings.Contains(v.Logs.String(), "more requests refused, not logged one by one") {
		t.Errorf("no summary of the refusals not logged:\n%s", v.Logs.String())
	}
}
