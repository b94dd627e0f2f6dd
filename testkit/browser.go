package testkit

import (
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"
)

// Browser is an HTTP client that acts towards the admin as a browser
// does: a cookie jar of its own, and no redirects followed, so that tests
// look at each hop. Paths are relative to Base unless they are absolute
// URLs. auth's and admin's tests, and the system tests, sign in with it.
type Browser struct {
	*http.Client
	t    testing.TB
	Base string // the server's URL, without a trailing slash
	CSRF string // the session's CSRF token, once SignIn signed in
}

// NewBrowser is a browser without a session, for the server at base.
func NewBrowser(t testing.TB, base string) *Browser {
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &Browser{t: t, Base: strings.TrimRight(base, "/"), Client: &http.Client{
		Jar:           jar,
		Timeout:       30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

// Response is a finished request with its body read.
type Response struct {
	*http.Response
	Text string // the body
}

// URL is path on the browser's server; an absolute URL stays as it is.
func (b *Browser) URL(path string) string {
	if strings.HasPrefix(path, "http://") || strings.HasPrefix(path, "https://") {
		return path
	}
	return b.Base + path
}

// Do sends req and reads the answer; a failed request fails the test.
func (b *Browser) Do(req *http.Request) Response {
	b.t.Helper()
	resp, err := b.Client.Do(req)
	if err != nil {
		b.t.Fatalf("%s %s: %v", req.Method, req.URL.Path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		b.t.Fatalf("%s %s: read the body: %v", req.Method, req.URL.Path, err)
	}
	return Response{resp, string(body)}
}

// Get fetches path with the headers given as name, value pairs.
func (b *Browser) Get(path string, header ...string) Response {
	b.t.Helper()
	req, err := http.NewRequest(http.MethodGet, b.URL(path), nil)
	if err != nil {
		b.t.Fatal(err)
	}
	setHeaders(req, header)
	return b.Do(req)
}

// Post submits form to path as a browser's form post, with the headers
// given as name, value pairs. It adds no CSRF token: tests of the check
// send their own (or none).
func (b *Browser) Post(path string, form url.Values, header ...string) Response {
	b.t.Helper()
	req, err := http.NewRequest(http.MethodPost, b.URL(path), strings.NewReader(form.Encode()))
	if err != nil {
		b.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	setHeaders(req, header)
	return b.Do(req)
}

func setHeaders(req *http.Request, header []string) {
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
}

// SignIn signs in through the admin's form as a person does: GET the form
// (which sets the pre-session cookie its CSRF token is bound to), POST the
// password with that token, then read the session's CSRF token off the
// signed-in page /admin, which it keeps in CSRF and returns. Any other
// outcome fails the test.
func (b *Browser) SignIn(password string) (csrf string) {
	b.t.Helper()
	form := b.Get("/admin/login")
	if form.StatusCode != http.StatusOK {
		b.t.Fatalf("GET /admin/login = %d:\n%.1000s", form.StatusCode, form.Text)
	}
	r := b.Post("/admin/login", url.Values{"password": {password}, "csrf_token": {CSRFToken(b.t, form.Text)}})
	if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/admin" {
		b.t.Fatalf("POST /admin/login = %d %q:\n%.1000s", r.StatusCode, r.Header.Get("Location"), r.Text)
	}
	home := b.Get("/admin")
	if home.StatusCode != http.StatusOK {
		b.t.Fatalf("GET /admin after signing in = %d:\n%.1000s", home.StatusCode, home.Text)
	}
	b.CSRF = CSRFToken(b.t, home.Text)
	return b.CSRF
}

// Cookie is the value of the browser's cookie name for the server's
// /admin pages, "" when it has none.
func (b *Browser) Cookie(name string) string {
	b.t.Helper()
	u, err := url.Parse(b.Base + "/admin")
	if err != nil {
		b.t.Fatal(err)
	}
	for _, c := range b.Jar.Cookies(u) {
		if c.Name == name {
			return c.Value
		}
	}
	return ""
}

// SetCookie plants a cookie for the server's /admin pages, as a browser
// that was handed it (or an attacker who planted it) holds it.
func (b *Browser) SetCookie(name, value string) {
	b.t.Helper()
	u, err := url.Parse(b.Base + "/admin")
	if err != nil {
		b.t.Fatal(err)
	}
	b.Jar.SetCookies(u, []*http.Cookie{{Name: name, Value: value, Path: "/admin"}})
}

var csrfField = regexp.MustCompile(`name="csrf_token" value="([^"]+)"`)

// CSRFToken is the CSRF token of the first form in html; without one it
// fails the test.
func CSRFToken(t testing.TB, html string) string {
	t.Helper()
	m := csrfField.FindStringSubmatch(html)
	if m == nil {
		t.Fatalf("no csrf_token in the page:\n%.2000s", html)
	}
	return m[1]
}
