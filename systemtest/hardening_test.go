package systemtest

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"

	"golang.org/x/crypto/bcrypt"

	"vitrine/config"
	"vitrine/instagram/fake"
	"vitrine/testkit"
)

// The outside review's checks, against the real binary: each failed on
// the code it reviewed.
func TestHardeningSeenFromOutside(t *testing.T) {
	testkit.SkipIfShort(t, "runs the binary")
	t.Parallel()
	testkit.CleanEnv(t)
	f := fake.New(fake.Options{Posts: 3})
	fakeSrv := httptest.NewServer(f)
	t.Cleanup(fakeSrv.Close)
	ep := f.Endpoints(fakeSrv.URL)
	dataDir := filepath.Join(t.TempDir(), "data")
	const (
		passwordA   = "first long passphrase"
		passwordB   = "second long passphrase"
		metricToken = "scrape-token-0123456789"
	)
	hashOf := func(pw string) string {
		h, err := bcrypt.GenerateFromPassword([]byte(pw), config.MinPasswordCost)
		if err != nil {
			t.Fatal(err)
		}
		return string(h)
	}
	envWith := func(extra map[string]string) []string {
		settings := map[string]string{
			"DATA_DIR":                 dataDir,
			"SERVER_ADDR":              "127.0.0.1:0",
			"SERVER_PUBLIC_URL":        "http://gallery.example.com", // cookies without Secure, for this http client
			"INSTAGRAM_CLIENT_ID":      f.ClientID(),
			"INSTAGRAM_CLIENT_SECRET":  f.ClientSecret(),
			"INSTAGRAM_AUTH_URL":       ep.AuthURL,
			"INSTAGRAM_TOKEN_URL":      ep.TokenURL,
			"INSTAGRAM_GRAPH_URL":      ep.GraphURL,
			"METRICS_ALLOWED_NETWORKS": "192.0.2.0/24", // not this host
			"LOG_LEVEL":                "info",
		}
		for k, v := range extra {
			settings[k] = v
		}
		return binaryEnv(settings)
	}

	b := startBinary(t, envWith(map[string]string{"ADMIN_PASSWORD_HASH": hashOf(passwordA), "METRICS_TOKEN": metricToken}))

	// The database files and the data directory are the owner's alone.
	for _, name := range []string{"vitrine.db", "vitrine.db-wal", "vitrine.db-shm"} {
		if fi, err := os.Stat(filepath.Join(dataDir, name)); err != nil {
			t.Errorf("%s: %v", name, err)
		} else if fi.Mode().Perm() != 0o600 {
			t.Errorf("%s is %v, want 0600", name, fi.Mode().Perm())
		}
	}
	if fi, err := os.Stat(dataDir); err != nil || fi.Mode().Perm() != 0o700 {
		t.Errorf("data_dir mode = %v (%v), want 0700", fi.Mode().Perm(), err)
	}

	// The owner signs in with password A, in two browsers.
	signIn := func() (*http.Client, string) {
		c := cookieClient()
		if code, hdr, page := b.request(c, http.MethodPost, "/admin/login",
			url.Values{"password": {passwordA}, "csrf_token": {b.loginToken(c)}}); code != http.StatusSeeOther || hdr.Get("Location") != "/admin" {
			t.Fatalf("sign in = %d %q:\n%.500s", code, hdr.Get("Location"), page)
		}
		_, _, dash := b.request(c, http.MethodGet, "/admin", nil)
		return c, testkit.CSRFToken(t, dash)
	}
	owner, _ := signIn()
	laptop, laptopCSRF := signIn()
	if code, _, _ := b.request(owner, http.MethodGet, "/admin/status.json", nil); code != http.StatusOK {
		t.Fatalf("status.json signed in = %d", code)
	}

	// A cross-site navigation to /admin/generate does not lead to Instagram.
	if code, hdr, _ := b.request(owner, http.MethodGet, "/admin/generate", nil, "Sec-Fetch-Site", "cross-site", "Sec-Fetch-Mode", "navigate"); code < 400 || hdr.Get("Location") != "" {
		t.Errorf("cross-site /admin/generate = %d Location %q, want a refusal", code, hdr.Get("Location"))
	}

	// No Location a client's headers can point at another host.
	for _, path := range []string{"/widget.json/", "/widget/", "/admin/", "/healthz/"} {
		for _, prefix := range []string{"..", "//evil.example", "/"} {
			if _, hdr, _ := b.request(nil, http.MethodGet, path, nil, "X-Forwarded-Prefix", prefix); strings.HasPrefix(hdr.Get("Location"), "//") {
				t.Errorf("GET %s with X-Forwarded-Prefix %q: Location %q", path, prefix, hdr.Get("Location"))
			}
		}
	}

	// /metrics: this host is outside metrics.allowed_networks; only the
	// bearer token admits it.
	if code, hdr, body := b.request(nil, http.MethodGet, "/metrics", nil); code != http.StatusUnauthorized || strings.Contains(body, "vitrine_") || hdr.Get("WWW-Authenticate") == "" {
		t.Errorf("/metrics without the token = %d (WWW-Authenticate %q):\n%.300s", code, hdr.Get("WWW-Authenticate"), body)
	}
	if code, _, _ := b.request(nil, http.MethodGet, "/metrics", nil, "Authorization", "Bearer wrong-token-0123456789"); code != http.StatusUnauthorized {
		t.Errorf("/metrics with a wrong token = %d, want 401", code)
	}
	if code, _, body := b.request(nil, http.MethodGet, "/metrics", nil, "Authorization", "Bearer "+metricToken); code != http.StatusOK || !strings.Contains(body, "vitrine_token_valid") {
		t.Errorf("/metrics with the token = %d:\n%.300s", code, body)
	}

	// 40 wrong passwords at once from one address: at most 10 are checked.
	guesser := cookieClient()
	guessToken := b.loginToken(guesser)
	var (
		mu      sync.Mutex
		answers = map[int]int{}
		wg      sync.WaitGroup
		start   = make(chan struct{})
	)
	for i := range 40 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			code, _, _ := b.request(guesser, http.MethodPost, "/admin/login", url.Values{"password": {fmt.Sprintf("guess %d", i)}, "csrf_token": {guessToken}})
			mu.Lock()
			answers[code]++
			mu.Unlock()
		}()
	}
	close(start)
	wg.Wait()
	if answers[http.StatusUnauthorized] > 10 || answers[http.StatusUnauthorized]+answers[http.StatusTooManyRequests] != 40 {
		t.Errorf("40 simultaneous wrong passwords: %v; want at most 10 checked (401), the rest 429", answers)
	}

	// 200 refused POSTs add at most 20 log lines. The owner's sign-out
	// afterwards marks the end: its line is written after all of theirs.
	before := strings.Count(b.logs.String(), "\n")
	for i := range 200 {
		var code int
		switch i % 4 {
		case 0:
			code, _, _ = b.request(nil, http.MethodPost, "/admin/sync", url.Values{"csrf_token": {"forged"}})
		case 1:
			code, _, _ = b.request(nil, http.MethodPost, "/admin/disconnect", url.Values{}, "Origin", "https://evil.example")
		case 2:
			code, _, _ = b.request(nil, http.MethodPost, "/admin/login", url.Values{"password": {"x"}})
		case 3:
			code, _, _ = b.request(guesser, http.MethodPost, "/admin/login", url.Values{"password": {"guess"}, "csrf_token": {guessToken}})
		}
		if code < 400 || code >= 500 {
			t.Fatalf("refused POST %d answered %d", i, code)
		}
	}
	if code, _, _ := b.request(laptop, http.MethodPost, "/admin/logout", url.Values{"csrf_token": {laptopCSRF}}); code != http.StatusSeeOther {
		t.Fatalf("sign out = %d", code)
	}
	b.logs.WaitFor(t, regexp.MustCompile(`msg="admin: (signed out)"`))
	// The marker's own line is not the refusals'.
	lines := strings.Count(b.logs.String(), "\n") - before - 1
	if lines > 20 {
		t.Errorf("200 refused POSTs added %d log lines, want at most 20:\n%s", lines, b.logs.String())
	}
	b.stop()

	// Restarted with password B's hash, the old session is refused.
	b = startBinary(t, envWith(map[string]string{"ADMIN_PASSWORD_HASH": hashOf(passwordB)}))
	// (Cookies are not bound to a port: the new one gets the old cookie.)
	if code, _, _ := b.request(owner, http.MethodGet, "/admin/status.json", nil); code != http.StatusUnauthorized {
		t.Errorf("the old session after the password hash changed = %d, want 401", code)
	}
	// Without metrics.token, a scrape from outside the networks is 403.
	if code, _, _ := b.request(nil, http.MethodGet, "/metrics", nil); code != http.StatusForbidden {
		t.Errorf("/metrics from outside, no token configured = %d, want 403", code)
	}
}
