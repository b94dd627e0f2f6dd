// Package instagram is a typed client of the Instagram API with Instagram
// Login: the authorization-code flow, long-lived tokens, the profile and the
// media feed. Every call takes a context, has a per-attempt timeout, retries
// upstream trouble with backoff, and returns errors that wrap one of
// ErrTokenInvalid, ErrRateLimited, ErrUnavailable or ErrBadRequest. No URL,
// error or log line it produces carries a token, secret or code.
package instagram

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"regexp"
	"strings"
	"sync/atomic"
	"time"

	"vitrine/buildinfo"
)

// userAgent names this build in every request, to the Graph API and the
// CDN alike, so a report from Meta can say which version sent it.
var userAgent = buildinfo.Get().UserAgent()

// Defaults for the zero values in Config.
const (
	DefaultGraphVersion = "v26.0"
	DefaultTimeout      = 10 * time.Second
	DefaultMaxRetries   = 3
	DefaultBackoff      = 250 * time.Millisecond
	DefaultPageSize     = 25
	DefaultScope        = "instagram_business_basic"

	// maxBodyBytes bounds what we read from Instagram: a media page is a few
	// tens of KiB, so anything near this is a broken or hostile upstream.
	maxBodyBytes = 4 << 20
	// maxPageSize is the largest limit the Graph API honours on /me/media.
	maxPageSize = 100
)

// Config describes the Instagram app and how to reach it.
type Config struct {
	ClientID, ClientSecret string
	RedirectURI            string   // byte-for-byte the same in authorize and exchange
	Scopes                 []string // joined with "," (Instagram's separator); default instagram_business_basic
	// ForceReauth makes Instagram ask which account to sign in with
	// instead of reusing the one the browser is logged into.
	ForceReauth bool
	AuthURL     string // e.g. https://www.instagram.com/oauth/authorize
	TokenURL    string // e.g. https://api.instagram.com/oauth/access_token
	// GraphURL has no version: /access_token and /refresh_access_token are
	// unversioned, /me and friends get "/"+GraphVersion.
	GraphURL     string // e.g. https://graph.instagram.com
	GraphVersion string // default v26.0

	// HTTPClient carries the OAuth and Graph calls (default: own client with
	// transport timeouts, no redirects). Downloads never use it: they go
	// through a client of their own whose dialer enforces MediaHosts, which
	// an injected client would bypass.
	HTTPClient *http.Client
	// MediaHosts are where Download may fetch from (default
	// DefaultMediaHosts): domains, covering their subdomains, over https to
	// public addresses only; or exact host:port entries, over http or https
	// to any address. See CheckMediaHost.
	MediaHosts []string
	Timeout    time.Duration // per attempt; default 10s
	MaxRetries int           // default 3 (so up to 4 attempts); negative means none
	Backoff    time.Duration // base; default 250ms, capped at 5s, full jitter
	PageSize   int           // media per /me/media page; default 25, at most 100

	Logger *slog.Logger     // default slog.Default(); lines carry redacted URLs only
	Now    func() time.Time // for ExpiresAt; default time.Now
}

// Client talks to Instagram. It is safe for concurrent use.
type Client struct {
	cfg      Config
	authURL  *url.URL
	tokenURL *url.URL
	graphURL *url.URL
	hc       *http.Client
	media    *mediaHosts
	dl       *http.Client // downloads: see mediaHTTPClient
	log      *slog.Logger
	fields   *fieldChoice // optional fields Instagram refused
}

var graphVersionRE = regexp.MustCompile(`^v[0-9]+\.[0-9]+$`)

// New checks cfg and fills in defaults.
func New(cfg Config) (*Client, error) {
	var problems []string
	if strings.TrimSpace(cfg.ClientID) == "" {
		problems = append(problems, "ClientID is empty (use the Instagram app id, not the Facebook one)")
	}
	if strings.TrimSpace(cfg.ClientSecret) == "" {
		problems = append(problems, "ClientSecret is empty")
	}
	parse := func(name, raw string) *url.URL {
		u, err := parseAbsURL(raw)
		if err != nil {
			problems = append(problems, fmt.Sprintf("%s %s", name, err))
		}
		return u
	}
	redirect := parse("RedirectURI", cfg.RedirectURI)
	if redirect != nil && redirect.Fragment != "" {
		problems = append(problems, "RedirectURI must not have a #fragment")
	}
	c := &Client{
		authURL:  parse("AuthURL", cfg.AuthURL),
		tokenURL: parse("TokenURL", cfg.TokenURL),
		graphURL: parse("GraphURL", cfg.GraphURL),
		fields:   &fieldChoice{},
	}
	if cfg.GraphVersion == "" {
		cfg.GraphVersion = DefaultGraphVersion
	}
	if !graphVersionRE.MatchString(cfg.GraphVersion) {
		problems = append(problems, fmt.Sprintf("GraphVersion %q is not like v26.0", cfg.GraphVersion))
	}
	if cfg.Timeout < 0 || cfg.Backoff < 0 {
		problems = append(problems, "Timeout and Backoff must not be negative")
	}
	if cfg.PageSize < 0 || cfg.PageSize > maxPageSize {
		problems = append(problems, fmt.Sprintf("PageSize %d is not between 1 and %d", cfg.PageSize, maxPageSize))
	}
	for _, s := range cfg.Scopes {
		if s == "" || strings.ContainsAny(s, ", ") {
			problems = append(problems, fmt.Sprintf("scope %q is empty or contains a comma or space", s))
		}
	}
	media, err := parseMediaHosts(cfg.MediaHosts)
	if err != nil {
		problems = append(problems, "MediaHosts: "+err.Error())
	}
	if len(problems) > 0 {
		return nil, fmt.Errorf("instagram: invalid config: %s", strings.Join(problems, "; "))
	}

	if len(cfg.Scopes) == 0 {
		cfg.Scopes = []string{DefaultScope}
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.MaxRetries == 0 {
		cfg.MaxRetries = DefaultMaxRetries
	} else if cfg.MaxRetries < 0 {
		cfg.MaxRetries = 0
	}
	if cfg.Backoff == 0 {
		cfg.Backoff = DefaultBackoff
	}
	if cfg.PageSize == 0 {
		cfg.PageSize = DefaultPageSize
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	c.hc = cfg.HTTPClient
	if c.hc == nil {
		c.hc = defaultHTTPClient(cfg.Timeout)
	}
	c.media = media
	c.dl = mediaHTTPClient(cfg.Timeout, media, http.ProxyFromEnvironment)
	c.graphURL.Path = strings.TrimSuffix(c.graphURL.Path, "/")
	c.graphURL.RawPath = ""
	c.cfg = cfg
	c.log = cfg.Logger
	return c, nil
}

func parseAbsURL(raw string) (*url.URL, error) {
	if raw == "" {
		return nil, errors.New("is empty")
	}
	u, err := url.Parse(raw)
	if err != nil {
		// url.Parse echoes the input; these are config values, not secrets,
		// but keep the message short.
		return nil, fmt.Errorf("%q is not a URL", redactURLString(raw))
	}
	if (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, fmt.Errorf("%q is not an absolute http(s) URL", redactURL(u))
	}
	return u, nil
}

// defaultHTTPClient bounds dialing and TLS (the per-attempt context bounds
// the rest) so a stuck Instagram cannot hold a job, and refuses redirects: the API never redirects, and
// following one would carry the token in the query to wherever it points.
func defaultHTTPClient(timeout time.Duration) *http.Client {
	return &http.Client{
		Transport: &http.Transport{
			Proxy: http.ProxyFromEnvironment,
			DialContext: (&net.Dialer{
				Timeout:   min(timeout, 10*time.Second),
				KeepAlive: 30 * time.Second,
			}).DialContext,
			ForceAttemptHTTP2:     true,
			TLSHandshakeTimeout:   min(timeout, 10*time.Second),
			ExpectContinueTimeout: time.Second,
			MaxIdleConns:          10,
			MaxIdleConnsPerHost:   4,
			IdleConnTimeout:       90 * time.Second,
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// request is one logical call; do turns it into attempts.
type request struct {
	op      string
	method  string
	url     *url.URL   // complete, including secret query parameters
	form    url.Values // POST body
	secrets []string   // exact values scrubbed from every text we produce
	policy  retryPolicy
}

// graphURLFor builds an absolute Graph URL; versioned adds "/"+GraphVersion.
func (c *Client) graphURLFor(path string, versioned bool, q url.Values) *url.URL {
	u := *c.graphURL
	prefix := u.Path
	if versioned {
		prefix += "/" + c.cfg.GraphVersion
	}
	u.Path = prefix + path
	u.RawPath = ""
	u.RawQuery = q.Encode()
	u.Fragment, u.RawFragment = "", ""
	return &u
}

// scrubber returns a text filter for one request's secrets.
func (r *request) scrub(s string) string { return scrubText(s, r.secrets) }

// do runs r with retries and returns the body of the first 2xx answer.
func (c *Client) do(ctx context.Context, r *request) ([]byte, error) {
	var lastErr error
	for attempt := 0; ; attempt++ {
		body, retry, err := c.attempt(ctx, r, attempt)
		if err == nil {
			return body, nil
		}
		if ctx.Err() != nil {
			return nil, c.canceled(r, ctx, lastErr, err)
		}
		lastErr = err
		if !retry || attempt >= c.cfg.MaxRetries {
			if attempt > 0 {
				c.log.Warn("instagram: giving up", "op", r.op, "attempts", attempt+1, "err", err.Error())
			}
			return nil, err
		}
		wait := backoff(c.cfg.Backoff, attempt)
		c.log.Info("instagram: retrying", "op", r.op, "attempt", attempt+1, "wait", wait, "err", err.Error())
		if sleep(ctx, wait) != nil {
			return nil, c.canceled(r, ctx, lastErr, nil)
		}
	}
}

func (c *Client) canceled(r *request, ctx context.Context, lastErr, err error) error {
	ce := &cancelError{op: r.op, err: ctx.Err()}
	// An error from the attempt cut short by ctx says only "context canceled";
	// the previous one is the useful "why were we still retrying".
	if lastErr != nil {
		ce.last = lastErr.Error()
	} else if err != nil && !errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded) {
		ce.last = err.Error()
	}
	return ce
}

// attempt performs one HTTP exchange under its own timeout. It reports
// whether a failure is worth retrying under r.policy.
func (c *Client) attempt(ctx context.Context, r *request, n int) (body []byte, retry bool, err error) {
	actx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
	defer cancel()

	// written tells the code exchange whether Instagram may have seen the
	// request (see retryUnsent).
	var written atomic.Bool
	actx = httptrace.WithClientTrace(actx, &httptrace.ClientTrace{
		WroteRequest: func(i httptrace.WroteRequestInfo) {
			if i.Err == nil {
				written.Store(true)
			}
		},
	})

	var reqBody io.Reader
	if r.form != nil {
		reqBody = strings.NewReader(r.form.Encode())
	}
	req, err := http.NewRequestWithContext(actx, r.method, r.url.String(), reqBody)
	if err != nil {
		// Only a programming error gets here; never echo the URL.
		return nil, false, &APIError{Op: r.op, Message: "cannot build request", kind: ErrBadRequest}
	}
	if r.form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", userAgent)

	safeURL := redactURL(r.url)
	start := time.Now()
	resp, err := c.hc.Do(req)
	if err != nil {
		safeErr, msg := redactTransportErr(err, r.secrets)
		if actx.Err() == context.DeadlineExceeded && ctx.Err() == nil {
			msg = fmt.Sprintf("no answer within %s: %s", c.cfg.Timeout, msg)
		}
		c.log.Debug("instagram: request failed", "op", r.op, "method", r.method, "url", safeURL,
			"attempt", n+1, "duration", time.Since(start), "err", msg)
		return nil, r.policy.retryTransport(written.Load()), &transportError{op: r.op, msg: msg, err: safeErr}
	}
	defer resp.Body.Close()

	body, err = io.ReadAll(io.LimitReader(resp.Body, maxBodyBytes+1))
	c.log.Debug("instagram: request", "op", r.op, "method", r.method, "url", safeURL,
		"attempt", n+1, "status", resp.StatusCode, "bytes", len(body), "duration", time.Since(start))
	if err != nil {
		// The answer was cut off (timeout or reset mid-body). The server saw
		// the request, so the code exchange must not retry.
		safeErr, msg := redactTransportErr(err, r.secrets)
		msg = fmt.Sprintf("reading response (HTTP %d): %s", resp.StatusCode, msg)
		return nil, r.policy == retryIdempotent, &transportError{op: r.op, msg: msg, err: safeErr}
	}
	if len(body) > maxBodyBytes {
		return nil, false, &APIError{Op: r.op, HTTPStatus: resp.StatusCode,
			Message: fmt.Sprintf("response larger than %d MiB", maxBodyBytes>>20), kind: ErrUnavailable}
	}
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return body, false, nil
	}

	ae := &APIError{Op: r.op, HTTPStatus: resp.StatusCode}
	if !parseErrorBody(ae, body, r.scrub) {
		ctype, _, _ := strings.Cut(resp.Header.Get("Content-Type"), ";")
		if ctype == "" {
			ctype = "no content type"
		}
		ae.Message = fmt.Sprintf("non-JSON response (%s)", strings.TrimSpace(ctype))
		if s := snippet(body, r.scrub); s != "" {
			ae.Message += ": " + s
		}
	}
	ae.kind = classify(ae.HTTPStatus, ae.Code, ae.Transient)
	if ae.kind == ErrRateLimited {
		ae.RetryAfter = retryAfter(resp.Header)
	}
	retry = ae.kind == ErrUnavailable &&
		r.policy.retryStatus(resp.StatusCode, ae.Code == 1 || ae.Code == 2 || ae.Transient)
	return nil, retry, ae
}

// malformed is a 2xx answer we cannot use. Not retried: the same request
// would get the same answer.
func malformed(op string, status int, what string) *APIError {
	return &APIError{Op: op, HTTPStatus: status, Message: "malformed response: " + what, kind: ErrUnavailable}
}
