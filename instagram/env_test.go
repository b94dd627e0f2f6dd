package instagram

import (
	"context"
	"errors"
	"fmt"
	"html"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"vitrine/instagram/fake"
	"vitrine/testkit"
)

// testRedirect is the admin callback; the fake matches it byte for byte.
const testRedirect = "https://vitrine.example/admin/callback?from=instagram"

// env is one fake Instagram on loopback and a client pointed at it. Every
// log line and every error the test sees is collected, and at the end of
// the test none may contain a token, a code or the client secret.
type env struct {
	t   *testing.T
	f   *fake.Fake
	srv *httptest.Server
	ep  fake.Endpoints
	c   *Client
	cfg Config

	logs *testkit.LogBuffer

	mu      sync.Mutex
	errs    []string
	secrets []string
}

type envOption func(*fake.Options, *Config)

func withPosts(n int) envOption { return func(o *fake.Options, _ *Config) { o.Posts = n } }
func withConfig(fn func(*Config)) envOption {
	return func(_ *fake.Options, c *Config) { fn(c) }
}

func newEnv(t *testing.T, opts ...envOption) *env {
	t.Helper()
	fo := fake.Options{RedirectURIs: []string{testRedirect}}
	var cfg Config
	for _, o := range opts {
		o(&fo, &cfg)
	}
	e := &env{t: t, f: fake.New(fo), logs: testkit.NewLogBuffer()}
	e.srv = httptest.NewServer(e.f)
	t.Cleanup(e.srv.Close)
	e.ep = e.f.Endpoints(e.srv.URL)
	e.cfg = e.config(cfg)
	c, err := New(e.cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	e.c = c
	e.track(e.f.ClientSecret())
	t.Cleanup(e.assertNoLeaks)
	return e
}

// config fills what the test left empty with the fake's values and
// test-friendly timing.
func (e *env) config(cfg Config) Config {
	def := Config{
		ClientID:     e.f.ClientID(),
		ClientSecret: e.f.ClientSecret(),
		RedirectURI:  testRedirect,
		Scopes:       []string{"instagram_business_basic"},
		AuthURL:      e.ep.AuthURL,
		TokenURL:     e.ep.TokenURL,
		GraphURL:     e.ep.GraphURL,
		Timeout:      5 * time.Second,
		Backoff:      time.Millisecond,
		Logger:       slog.New(slog.NewTextHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Now:          e.f.Clock().Now,
	}
	if cfg.ClientID == "" {
		cfg.ClientID = def.ClientID
	}
	if cfg.ClientSecret == "" {
		cfg.ClientSecret = def.ClientSecret
	}
	if cfg.RedirectURI == "" {
		cfg.RedirectURI = def.RedirectURI
	}
	if cfg.Scopes == nil {
		cfg.Scopes = def.Scopes
	}
	if cfg.AuthURL == "" {
		cfg.AuthURL = def.AuthURL
	}
	if cfg.TokenURL == "" {
		cfg.TokenURL = def.TokenURL
	}
	if cfg.GraphURL == "" {
		cfg.GraphURL = def.GraphURL
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = def.Timeout
	}
	if cfg.Backoff == 0 {
		cfg.Backoff = def.Backoff
	}
	if cfg.Logger == nil {
		cfg.Logger = def.Logger
	}
	if cfg.Now == nil {
		cfg.Now = def.Now
	}
	if cfg.MediaHosts == nil {
		cfg.MediaHosts = []string{e.ep.MediaHost}
	}
	return cfg
}

// track registers values that must never appear in logs or errors.
func (e *env) track(secrets ...string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, s := range secrets {
		if s != "" {
			e.secrets = append(e.secrets, s)
		}
	}
}

// seen records an error's every rendering for the leak check and returns it.
func (e *env) seen(err error) error {
	if err == nil {
		return nil
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	e.errs = append(e.errs, err.Error(), fmt.Sprintf("%v|%+v|%#v", err, err, err))
	for u := err; u != nil; u = errors.Unwrap(u) {
		e.errs = append(e.errs, u.Error())
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		e.errs = append(e.errs, ue.URL, ue.Error())
	}
	var ae *APIError
	if errors.As(err, &ae) {
		e.errs = append(e.errs, fmt.Sprintf("%+v", *ae), ae.Reason())
	}
	return err
}

func (e *env) assertNoLeaks() {
	e.t.Helper()
	e.mu.Lock()
	defer e.mu.Unlock()
	logs := e.logs.String()
	all := strings.Join(e.errs, "\n")
	for _, s := range e.secrets {
		if strings.Contains(logs, s) {
			e.t.Errorf("a secret (%.6s…) appears in the logs:\n%s", s, logs)
		}
		if strings.Contains(all, s) {
			e.t.Errorf("a secret (%.6s…) appears in an error:\n%s", s, all)
		}
	}
}

// authorize approves the app as the user would and returns the code as it
// arrives on the callback, trailing "#_" included.
func (e *env) authorize() string {
	e.t.Helper()
	code, err := e.f.Authorize(testRedirect, strings.Join(e.cfg.Scopes, ","))
	if err != nil {
		e.t.Fatalf("fake Authorize: %v", err)
	}
	e.track(strings.TrimSuffix(code, "#_"))
	return code
}

// login runs authorize → ExchangeCode → ExchangeLongLived.
func (e *env) login(ctx context.Context) (ShortLivedToken, LongLivedToken) {
	e.t.Helper()
	short, err := e.c.ExchangeCode(ctx, e.authorize())
	if err != nil {
		e.t.Fatalf("ExchangeCode: %v", e.seen(err))
	}
	e.track(short.AccessToken)
	long, err := e.c.ExchangeLongLived(ctx, short.AccessToken)
	if err != nil {
		e.t.Fatalf("ExchangeLongLived: %v", e.seen(err))
	}
	e.track(long.AccessToken)
	return short, long
}

// longLived issues a 60-day token straight from the fake.
func (e *env) longLived() string {
	tok := e.f.IssueLongLivedToken()
	e.track(tok)
	return tok
}

// noRedirects is a browser stand-in that stops at the 302 to the callback.
var noRedirects = &http.Client{
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	Timeout:       10 * time.Second,
}

var hiddenInputRE = regexp.MustCompile(`<input[^>]*type="hidden"[^>]*>`)
var attrRE = regexp.MustCompile(`(name|value)="([^"]*)"`)

// approveInBrowser loads the authorize page from AuthorizeURL and submits
// its form with decision=approve, returning the Location of the answer.
func (e *env) approveInBrowser(authorizeURL string) *url.URL {
	e.t.Helper()
	resp, err := noRedirects.Get(authorizeURL)
	if err != nil {
		e.t.Fatalf("GET authorize page: %v", err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		e.t.Fatalf("authorize page: HTTP %d: %s", resp.StatusCode, page)
	}
	form := url.Values{}
	for _, input := range hiddenInputRE.FindAllString(string(page), -1) {
		var name, value string
		for _, m := range attrRE.FindAllStringSubmatch(input, -1) {
			if m[1] == "name" {
				name = html.UnescapeString(m[2])
			} else {
				value = html.UnescapeString(m[2])
			}
		}
		if name != "" {
			form.Set(name, value)
		}
	}
	form.Set("decision", "approve")
	action := authorizeURL
	if m := regexp.MustCompile(`<form[^>]*action="([^"]*)"`).FindStringSubmatch(string(page)); m != nil && m[1] != "" {
		ref, err := url.Parse(html.UnescapeString(m[1]))
		if err == nil {
			base, _ := url.Parse(authorizeURL)
			action = base.ResolveReference(ref).String()
		}
	}
	resp, err = noRedirects.PostForm(action, form)
	if err != nil {
		e.t.Fatalf("POST authorize form: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound && resp.StatusCode != http.StatusSeeOther {
		e.t.Fatalf("approve: want a redirect, got HTTP %d", resp.StatusCode)
	}
	loc, err := url.Parse(resp.Header.Get("Location"))
	if err != nil {
		e.t.Fatalf("approve: bad Location: %v", err)
	}
	return loc
}

func within(t *testing.T, what string, got, want time.Time, tol time.Duration) {
	t.Helper()
	if d := got.Sub(want); d < -tol || d > tol {
		t.Errorf("%s = %s, want %s ± %s", what, got, want, tol)
	}
}
