package auth

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"vitrine/config"
	"vitrine/testkit"
)

// RequireLogin sends a browser to the sign-in form, and answers 401 to
// scripts.
func TestRequireLogin(t *testing.T) {
	e := newEnv(t)
	r := e.client.Get("/admin")
	if r.StatusCode != http.StatusFound || r.Header.Get("Location") != "/admin/login" {
		t.Errorf("GET /admin logged out = %d %q, want 302 /admin/login", r.StatusCode, r.Header.Get("Location"))
	}
	for _, r := range []testkit.Response{e.client.Get("/admin/status.json"), e.client.Get("/admin", "Accept", "application/json")} {
		if r.StatusCode != http.StatusUnauthorized || !strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
			t.Errorf("%s logged out = %d %s, want 401 for the JSON error page", r.Request.URL, r.StatusCode, r.Header.Get("Content-Type"))
		}
	}
}

func TestLoginOK(t *testing.T) {
	e := newEnv(t)
	page := e.client.Get("/admin/login")
	if page.StatusCode != http.StatusOK || !strings.Contains(page.Text, `type="password"`) {
		t.Fatalf("login page = %d", page.StatusCode)
	}
	form := url.Values{"password": {testPassword}, "csrf_token": {testkit.CSRFToken(t, page.Text)}}
	r := e.client.Post("/admin/login", form)
	if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/admin" {
		t.Fatalf("login = %d %q", r.StatusCode, r.Header.Get("Location"))
	}
	var sc *http.Cookie
	for _, c := range r.Cookies() {
		if c.Name == sessionCookie {
			sc = c
		}
	}
	if sc == nil {
		t.Fatal("no session cookie")
	}
	if !sc.HttpOnly || sc.SameSite != http.SameSiteLaxMode || sc.Secure || sc.Path != "/admin" || sc.MaxAge != 12*3600 {
		t.Errorf("session cookie = %+v", sc)
	}
	if len(sc.Value) < 43 {
		t.Errorf("session id is %d characters, want ≥ 43 (256 bits)", len(sc.Value))
	}
	if home := e.client.Get("/admin"); home.StatusCode != http.StatusOK || !strings.Contains(home.Text, "Signed in") {
		t.Fatalf("signed-in page = %d:\n%.1500s", home.StatusCode, home.Text)
	}
	// Signed in, the login page sends you on.
	if r := e.client.Get("/admin/login"); r.StatusCode != http.StatusFound || r.Header.Get("Location") != "/admin" {
		t.Errorf("login page when signed in = %d %q", r.StatusCode, r.Header.Get("Location"))
	}
	if strings.Contains(e.logs.String(), testPassword) {
		t.Error("the password is in the log")
	}
}

func TestSecureCookieWithHTTPS(t *testing.T) {
	// The public URL decides, not the (plain http) test listener.
	e := newEnv(t, withPublicURL("https://photos.example"))
	page := e.client.Get("/admin/login")
	r := e.client.Post("/admin/login", url.Values{"password": {testPassword}, "csrf_token": {testkit.CSRFToken(t, page.Text)}},
		"Origin", "https://photos.example")
	if r.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign-in = %d", r.StatusCode)
	}
	found := false
	for _, c := range r.Cookies() {
		if c.Name == sessionCookie {
			found = true
			if !c.Secure {
				t.Errorf("session cookie not Secure with an https public URL")
			}
		}
	}
	if !found {
		t.Error("no session cookie after signing in")
	}
}

func TestLoginRotatesSession(t *testing.T) {
	e := newEnv(t)
	e.client.SignIn(testPassword)
	old := e.client.Cookie(sessionCookie)
	// Another browser holding that id (planted, or the same browser signing
	// in again) gets a fresh id at sign-in, and the old one dies.
	b := e.newBrowser()
	token := testkit.CSRFToken(t, b.Get("/admin/login").Text)
	b.SetCookie(sessionCookie, old)
	r := b.Post("/admin/login", url.Values{"password": {testPassword}, "csrf_token": {token}})
	if r.StatusCode != http.StatusSeeOther {
		t.Fatalf("login = %d", r.StatusCode)
	}
	var cur string
	for _, c := range r.Cookies() {
		if c.Name == sessionCookie {
			cur = c.Value
		}
	}
	if cur == "" || cur == old {
		t.Fatal("session id not rotated at login")
	}
	if r := e.client.Get("/admin"); r.StatusCode != http.StatusFound {
		t.Errorf("old session id still works: %d", r.StatusCode)
	}
	if r := b.Get("/admin"); r.StatusCode != http.StatusOK {
		t.Errorf("new session id does not work: %d", r.StatusCode)
	}
}

func TestLoginWrongAndThrottled(t *testing.T) {
	e := newEnv(t)
	page := e.client.Get("/admin/login")
	token := testkit.CSRFToken(t, page.Text)
	try := func(pw string) testkit.Response {
		t.Helper()
		return e.client.Post("/admin/login", url.Values{"password": {pw}, "csrf_token": {token}})
	}
	for i := 1; i <= freeAttempts; i++ {
		r := try("wrong-" + strings.Repeat("x", i))
		if r.StatusCode != http.StatusUnauthorized || !strings.Contains(r.Text, "isn&#39;t right") {
			t.Fatalf("wrong try %d = %d:\n%.1500s", i, r.StatusCode, r.Text)
		}
		if e.client.Cookie(sessionCookie) != "" {
			t.Fatal("a session cookie after a wrong password")
		}
	}
	// Sixth try at once: refused without looking at the password.
	r := try(testPassword)
	if r.StatusCode != http.StatusTooManyRequests || r.Header.Get("Retry-After") != "1" {
		t.Fatalf("throttled try = %d Retry-After %q", r.StatusCode, r.Header.Get("Retry-After"))
	}
	if !strings.Contains(r.Text, "Too many wrong passwords") || !strings.Contains(r.Text, "1 second") {
		t.Errorf("throttled page does not say why:\n%.1500s", r.Text)
	}
	e.clock.Advance(time.Second)
	if r := try("still-wrong"); r.StatusCode != http.StatusUnauthorized {
		t.Fatalf("after waiting = %d", r.StatusCode)
	}
	// The delay grows.
	if r := try(testPassword); r.StatusCode != http.StatusTooManyRequests || r.Header.Get("Retry-After") != "2" {
		t.Fatalf("second throttle = %d Retry-After %q", r.StatusCode, r.Header.Get("Retry-After"))
	}
	// Another address is not affected (gin's ClientIP trusts no proxy
	// headers unless configured; the throttle keys on it).
	if n, _, _, err := e.auth.throttle.begin(t.Context(), "192.0.2.1"); err != nil || n != 1 {
		t.Errorf("other IP starts at %d failures (%v)", n, err)
	}
	e.clock.Advance(2 * time.Second)
	if r := try(testPassword); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("right password after the wait = %d", r.StatusCode)
	}
	if w, err := e.auth.throttle.wait(t.Context(), clientKey("127.0.0.1")); err != nil || w != 0 {
		t.Errorf("throttle not reset by a success: %v %v", w, err)
	}
	logs := e.logs.String()
	if !strings.Contains(logs, "admin: wrong password") || strings.Contains(logs, "wrong-x") || strings.Contains(logs, testPassword) {
		t.Errorf("log should record wrong passwords without them:\n%s", logs)
	}
}

func TestLogoutRevokesSession(t *testing.T) {
	e := newEnv(t)
	csrf := e.client.SignIn(testPassword)
	id := e.client.Cookie(sessionCookie)
	r := e.client.Post("/admin/logout", url.Values{"csrf_token": {csrf}})
	if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/admin/login?signed_out=1" {
		t.Fatalf("logout = %d %q", r.StatusCode, r.Header.Get("Location"))
	}
	if e.client.Get("/admin/login?signed_out=1").StatusCode != http.StatusOK {
		t.Error("signed-out page")
	}
	c := e.newBrowser()
	c.SetCookie(sessionCookie, id)
	if r := c.Get("/admin"); r.StatusCode != http.StatusFound {
		t.Errorf("session works after logout: %d", r.StatusCode)
	}
}

func TestSessionExpires(t *testing.T) {
	e := newEnv(t)
	e.client.SignIn(testPassword)
	e.clock.Advance(12*time.Hour + time.Second)
	if r := e.client.Get("/admin"); r.StatusCode != http.StatusFound || r.Header.Get("Location") != "/admin/login" {
		t.Errorf("after the TTL: %d %q", r.StatusCode, r.Header.Get("Location"))
	}
}

// TestCSRF: every POST refuses a missing or wrong token and a
// cross-origin Origin with 403, before its handler runs, and counts the
// refusal.
func TestCSRF(t *testing.T) {
	e := newEnv(t)
	csrf := e.client.SignIn(testPassword)
	for _, p := range []string{"/admin/login", "/admin/logout", "/admin/form"} {
		for name, tc := range map[string]struct {
			form   url.Values
			header []string
		}{
			"missing":      {url.Values{"password": {testPassword}}, nil},
			"wrong":        {url.Values{"password": {testPassword}, "csrf_token": {csrf + "x"}}, nil},
			"cross-origin": {url.Values{"password": {testPassword}, "csrf_token": {csrf}}, []string{"Origin", "https://evil.example"}},
			"cross-site":   {url.Values{"password": {testPassword}, "csrf_token": {csrf}}, []string{"Sec-Fetch-Site", "cross-site"}},
			"null origin":  {url.Values{"password": {testPassword}, "csrf_token": {csrf}}, []string{"Origin", "null", "Sec-Fetch-Site", "same-site"}},
		} {
			if p == "/admin/login" && name == "cross-origin" {
				// The login token differs; still refused for the origin.
				tc.form.Set("csrf_token", "whatever")
			}
			if r := e.client.Post(p, tc.form, tc.header...); r.StatusCode != http.StatusForbidden {
				t.Errorf("POST %s (%s) = %d, want 403", p, name, r.StatusCode)
			}
		}
	}
	// Nothing happened: still signed in, the form never ran.
	if r := e.client.Get("/admin"); r.StatusCode != http.StatusOK {
		t.Errorf("signed out by a refused POST: %d", r.StatusCode)
	}
	if n := e.formRuns.Load(); n != 0 {
		t.Errorf("the guarded form ran %d times", n)
	}
	if e.refusals.of(refusedCSRF) == 0 || e.refusals.of(refusedCrossOrigin) == 0 {
		t.Errorf("refusals not counted: csrf %d, cross_origin %d", e.refusals.of(refusedCSRF), e.refusals.of(refusedCrossOrigin))
	}
	// The header works for scripts.
	if r := e.client.Post("/admin/form", nil, "X-CSRF-Token", "nope", "Accept", "application/json"); r.StatusCode != http.StatusForbidden {
		t.Errorf("a wrong X-CSRF-Token = %d, want 403", r.StatusCode)
	}
	if r := e.client.Post("/admin/form", nil, "X-CSRF-Token", csrf); r.StatusCode != http.StatusSeeOther {
		t.Errorf("the right X-CSRF-Token = %d, want 303", r.StatusCode)
	}
	// Same origin passes, also as the "null" Origin that no-referrer pages
	// send with their form posts.
	if r := e.client.Post("/admin/form", url.Values{"csrf_token": {csrf}}, "Origin", "null", "Sec-Fetch-Site", "same-origin"); r.StatusCode != http.StatusSeeOther {
		t.Errorf("same-origin POST with Origin null = %d, want 303", r.StatusCode)
	}
	if r := e.client.Post("/admin/logout", url.Values{"csrf_token": {csrf}}, "Origin", e.srv.URL); r.StatusCode != http.StatusSeeOther {
		t.Errorf("same-origin logout = %d", r.StatusCode)
	}
}

// A flash set by one request is shown by the next page, once.
func TestFlashIsShownOnce(t *testing.T) {
	e := newEnv(t)
	csrf := e.client.SignIn(testPassword)
	if r := e.client.Post("/admin/form", url.Values{"csrf_token": {csrf}}); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("form = %d", r.StatusCode)
	}
	if r := e.client.Get("/admin"); !strings.Contains(r.Text, `class="flash">Saved<`) {
		t.Errorf("the flash is not on the next page:\n%s", r.Text)
	}
	if r := e.client.Get("/admin"); strings.Contains(r.Text, "Saved") {
		t.Error("the flash is shown twice")
	}
}

// A session is valid only under the password hash it was created with:
// restarted with another password's hash, Vitrine refuses the old cookie
// (before, it kept working for up to the session's 12 hours).
func TestSessionEndsWhenThePasswordChanges(t *testing.T) {
	e := newEnv(t)
	e.client.SignIn(testPassword)
	cookie := e.client.Cookie(sessionCookie)
	statusWith := func(h http.Handler) int {
		req := httptest.NewRequest(http.MethodGet, e.srv.URL+"/admin/status.json", nil)
		req.AddCookie(&http.Cookie{Name: sessionCookie, Value: cookie})
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec.Code
	}
	restart := func(passwordHash string) http.Handler {
		a, err := New(Options{Settings: config.Admin{PasswordHash: passwordHash, SessionTTL: e.settings.SessionTTL},
			PublicURL: e.publicURL, Store: e.st, Now: e.clock.Now, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
		if err != nil {
			t.Fatal(err)
		}
		return e.routes(a)
	}
	if code := statusWith(restart(e.settings.PasswordHash)); code != http.StatusOK {
		t.Fatalf("the session after a restart with the same password = %d, want 200", code)
	}
	other, err := bcrypt.GenerateFromPassword([]byte("another long passphrase"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	if code := statusWith(restart(string(other))); code != http.StatusUnauthorized {
		t.Errorf("the session after the password changed = %d, want 401", code)
	}
	// Refused once, the session is gone for good, even under the old hash.
	if code := statusWith(restart(e.settings.PasswordHash)); code != http.StatusUnauthorized {
		t.Errorf("the ended session under the old password again = %d, want 401", code)
	}
}
