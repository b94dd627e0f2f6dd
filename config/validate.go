package config

import (
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"net"
	"net/mail"
	"net/netip"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/robfig/cron/v3"
	"golang.org/x/crypto/bcrypt"

	"vitrine/instagram"
)

// Problem is one thing wrong with the configuration, named by its key (or
// its environment variable when it came from there).
type Problem struct {
	Key string
	Msg string
}

func (p Problem) String() string { return p.Key + ": " + p.Msg }

// Error carries every problem found at once, so a person fixes the file in
// one pass instead of one restart per mistake.
type Error struct {
	Problems []Problem
}

func (e *Error) Error() string {
	lines := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		lines[i] = p.String()
	}
	if len(lines) == 1 {
		return "config: " + lines[0]
	}
	return fmt.Sprintf("config: %d problems:\n  %s", len(lines), strings.Join(lines, "\n  "))
}

var graphVersionRE = regexp.MustCompile(`^v[0-9]+\.[0-9]+$`)

// Validate checks every setting and reports all problems together.
func (c *Config) Validate() error {
	var ps problems
	c.validateServer(&ps)
	c.validateStorage(&ps)
	c.validateLog(&ps)
	c.validateAdmin(&ps)
	c.validateInstagram(&ps)
	c.validateJobs(&ps)
	c.validateAlerts(&ps)
	c.validateWidget(&ps)
	c.validateMetrics(&ps)
	return ps.err()
}

func (c *Config) validateServer(ps *problems) {
	if _, port, err := net.SplitHostPort(c.Server.Addr); err != nil {
		ps.add("server.addr", "must be host:port, e.g. 127.0.0.1:8080")
	} else if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		ps.add("server.addr", "port must be a number between 0 and 65535")
	}
	switch {
	case c.Server.PublicURL == "" && !c.Demo:
		ps.add("server.public_url", "required: the https address people and Instagram reach Vitrine at (the OAuth redirect URI is built from it)")
	case c.Server.PublicURL != "":
		if u, ok := parseHTTPURL(c.Server.PublicURL); !ok {
			ps.add("server.public_url", "must be an absolute http(s) URL such as https://example.com")
		} else if u.RawQuery != "" || u.Fragment != "" {
			ps.add("server.public_url", "must not carry a query or fragment")
		}
	}
	for _, p := range c.Server.TrustedProxies {
		if net.ParseIP(p) == nil {
			if _, _, err := net.ParseCIDR(p); err != nil {
				ps.add("server.trusted_proxies", fmt.Sprintf("%q is not an IP address or CIDR range", p))
			}
		}
	}
}

// validateStorage checks where Vitrine keeps its data and the key that
// encrypts the token there.
func (c *Config) validateStorage(ps *problems) {
	if strings.TrimSpace(c.DataDir) == "" {
		ps.add("data_dir", "required: the directory for the database, secret key and mirrored images")
	}
	if u := c.Database.URL; u != "" {
		// The messages never quote the URL: it may hold a password.
		parsed, err := url.Parse(u)
		switch {
		case err != nil:
			ps.add("database.url", "is not a URL; use postgres://user:password@host:5432/dbname, or leave it empty for SQLite in data_dir")
		case parsed.Scheme != "postgres" && parsed.Scheme != "postgresql":
			ps.add("database.url", "must start with postgres:// or postgresql:// (leave it empty for SQLite in data_dir)")
		case parsed.Host == "" && parsed.Query().Get("host") == "":
			ps.add("database.url", "names no host; use postgres://user:password@host:5432/dbname")
		case c.SecretKey == "" && !c.Demo:
			// A key generated into each replica's data_dir would differ
			// from replica to replica: each could read only its own token.
			ps.add("secret_key", "required with database.url: every replica must decrypt the token with the same key (VITRINE_SECRET_KEY)")
		}
	}
	if c.SecretKey != "" && !validSecretKey(c.SecretKey) {
		ps.add("secret_key", "must be 32 random bytes, base64 or hex encoded (e.g. openssl rand -base64 32)")
	}
}

func (c *Config) validateLog(ps *problems) {
	switch c.Log.Level {
	case "debug", "info", "warn", "error":
	default:
		ps.add("log.level", "must be one of debug, info, warn, error")
	}
	switch c.Log.Format {
	case "text", "json":
	default:
		ps.add("log.format", "must be text or json")
	}
}

func (c *Config) validateAdmin(ps *problems) {
	if c.Admin.PasswordHash == "" {
		if !c.Demo {
			ps.add("admin.password_hash", "required unless -demo: run `vitrine hash-password` and paste its output")
		}
	} else if cost, err := bcrypt.Cost([]byte(c.Admin.PasswordHash)); err != nil {
		ps.add("admin.password_hash", "is not a bcrypt hash: run `vitrine hash-password` and paste its output")
	} else if cost < MinPasswordCost || cost > MaxPasswordCost {
		ps.add("admin.password_hash", fmt.Sprintf("has bcrypt cost %d; use a cost from %d to %d: below, a stolen hash is cheap to crack; above, each sign-in ties up the CPU for seconds. `vitrine hash-password` makes a cost-%d hash", cost, MinPasswordCost, MaxPasswordCost, bcrypt.DefaultCost))
	}
	if c.Admin.SessionTTL.Std() < time.Minute || c.Admin.SessionTTL.Std() > 30*day {
		ps.add("admin.session_ttl", "must be between 1m and 30d")
	}
}

func (c *Config) validateInstagram(ps *problems) {
	ig := c.Instagram
	if ig.ClientID == "" && !c.Demo {
		ps.add("instagram.client_id", "required unless -demo: the Instagram app ID from your Meta app (not the Facebook app ID)")
	}
	if ig.ClientSecret == "" && !c.Demo {
		ps.add("instagram.client_secret", "required unless -demo: the Instagram app secret (prefer VITRINE_INSTAGRAM_CLIENT_SECRET)")
	}
	if len(ig.Scopes) == 0 {
		ps.add("instagram.scopes", "at least one scope is required, normally instagram_business_basic")
	}
	for _, s := range ig.Scopes {
		if s == "" || strings.ContainsAny(s, ", ") {
			ps.add("instagram.scopes", "list each scope as its own item, without commas or spaces")
			break
		}
	}
	for key, raw := range map[string]string{"instagram.auth_url": ig.AuthURL, "instagram.token_url": ig.TokenURL, "instagram.graph_url": ig.GraphURL} {
		if _, ok := parseHTTPURL(raw); !ok {
			ps.add(key, "must be an absolute http(s) URL")
		}
	}
	if !graphVersionRE.MatchString(ig.GraphVersion) {
		ps.add("instagram.graph_version", "must look like v26.0")
	}
	if ig.Timeout.Std() < 100*time.Millisecond || ig.Timeout.Std() > 5*time.Minute {
		ps.add("instagram.timeout", "must be between 100ms and 5m")
	}
	if len(ig.MediaHosts) == 0 {
		ps.add("instagram.media_hosts", "at least one host is required, normally cdninstagram.com and fbcdn.net")
	}
	for _, h := range ig.MediaHosts {
		if err := instagram.CheckMediaHost(h); err != nil {
			ps.add("instagram.media_hosts", fmt.Sprintf("%q %v", h, err))
		}
	}
}

func (c *Config) validateJobs(ps *problems) {
	parser := cron.NewParser(cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)
	for key, spec := range map[string]string{"jobs.validate": c.Jobs.Validate, "jobs.sync": c.Jobs.Sync} {
		if _, err := parser.Parse(spec); err != nil {
			ps.add(key, fmt.Sprintf("not a schedule (%v); use e.g. \"@every 15m\" or \"*/15 * * * *\"", err))
		}
	}
	// Instagram refuses to refresh a token younger than 24 h and tokens live
	// 60 days, so anything outside this window can never refresh in time.
	if rb := c.Jobs.RefreshBefore.Std(); rb < day || rb > 58*day {
		ps.add("jobs.refresh_before", "must be between 1d and 58d (tokens live 60 days and can be refreshed after 24 h)")
	}
	if l := c.Jobs.Lease.Std(); l < time.Second || l > 10*time.Minute {
		ps.add("jobs.lease", "must be between 1s and 10m (another replica takes the jobs over within it after a crash)")
	}
}

func (c *Config) validateAlerts(ps *problems) {
	if c.Alerts.WebhookURL != "" {
		if _, ok := parseHTTPURL(c.Alerts.WebhookURL); !ok {
			ps.add("alerts.webhook_url", "must be an absolute http(s) URL")
		}
	}
	if c.Alerts.WebhookSecret != "" && c.Alerts.WebhookURL == "" {
		ps.add("alerts.webhook_secret", "set without alerts.webhook_url")
	}
	if c.Alerts.SMTP.Host != "" {
		c.validateSMTP(ps)
	}
	if d := c.Alerts.DatabaseAfter.Std(); d < 10*time.Second || d > 24*time.Hour {
		ps.add("alerts.database_after", "must be from 10s to 24h")
	}
	if c.Alerts.RemindEvery.Std() < time.Minute {
		ps.add("alerts.remind_every", "must be at least 1m")
	}
}

// validateSMTP checks the mail settings; they matter only once
// alerts.smtp.host turns mail alerts on.
func (c *Config) validateSMTP(ps *problems) {
	smtp := c.Alerts.SMTP
	if smtp.Port < 1 || smtp.Port > 65535 {
		ps.add("alerts.smtp.port", "must be between 1 and 65535")
	}
	if _, err := mail.ParseAddress(smtp.From); err != nil {
		ps.add("alerts.smtp.from", "required when alerts.smtp.host is set: a mail address")
	}
	if len(smtp.To) == 0 {
		ps.add("alerts.smtp.to", "required when alerts.smtp.host is set: at least one address")
	}
	for _, to := range smtp.To {
		if _, err := mail.ParseAddress(to); err != nil {
			ps.add("alerts.smtp.to", fmt.Sprintf("%q is not a mail address", to))
		}
	}
	if smtp.Password != "" && smtp.Username == "" {
		ps.add("alerts.smtp.username", "required when alerts.smtp.password is set")
	}
}

func (c *Config) validateWidget(ps *problems) {
	w := c.Widget
	if w.MaxPosts < 1 || w.MaxPosts > 1000 {
		ps.add("widget.max_posts", "must be between 1 and 1000")
	}
	if w.Count > w.MaxPosts {
		ps.add("widget.count", "must not exceed widget.max_posts")
	}
	// The gallery's options are checked by their own table, which the
	// dashboard's Appearance page uses too.
	for _, p := range w.Settings.Problems() {
		ps.add("widget."+p.Key, p.Msg)
	}
	if w.VideoMaxMB < 0 || w.VideoMaxMB > MaxVideoMB {
		ps.add("widget.video_max_mb", fmt.Sprintf("must be between 0 (no videos) and %d", MaxVideoMB))
	}
	if a := w.CacheMaxAge.Std(); a < time.Second || a > time.Hour || a%time.Second != 0 {
		ps.add("widget.cache_max_age", "must be whole seconds between 1s and 1h")
	}
	if p := w.PollEvery.Std(); p < 100*time.Millisecond || p > time.Minute {
		ps.add("widget.poll_every", "must be between 100ms and 1m")
	}
	if w.MediaCacheMB < 0 || w.MediaCacheMB > MaxMediaCacheMB {
		ps.add("widget.media_cache_mb", fmt.Sprintf("must be between 0 (images from disk) and %d", MaxMediaCacheMB))
	}
	for _, o := range w.AllowedOrigins {
		if o == "*" {
			continue
		}
		// An origin is scheme and host only: a path would never match the
		// Origin header a browser sends.
		if u, ok := parseHTTPURL(o); !ok || u.Path != "" {
			ps.add("widget.allowed_origins", fmt.Sprintf("%q is not an origin such as https://example.com (or *)", o))
		}
	}
	for _, src := range w.FrameAncestors {
		if src == "'self'" || src == "'none'" {
			continue
		}
		if strings.ContainsAny(src, ";,\"' ") {
			ps.add("widget.frame_ancestors", fmt.Sprintf("%q is not a CSP source such as https://example.com, 'self' or *", src))
		}
	}
}

// MaxVideoMB bounds widget.video_max_mb: Instagram's longest reels are a
// few hundred MiB, and every mirrored one takes that much disk.
const MaxVideoMB = 500

// MaxMediaCacheMB bounds widget.media_cache_mb: a gallery's images at
// three widths rarely take more.
const MaxMediaCacheMB = 1024

// Bcrypt costs admin.password_hash may have. Each step doubles the work of
// checking a password: 10 is about 70 ms of one core, 14 about a second.
const (
	MinPasswordCost = 10
	MaxPasswordCost = 14
)

// minMetricsTokenLength keeps the bearer token out of guessing range: it
// is compared on every scrape from anywhere.
const minMetricsTokenLength = 16

func (c *Config) validateMetrics(ps *problems) {
	for _, n := range c.Metrics.AllowedNetworks {
		if _, ok := parseNetwork(n); !ok {
			ps.add("metrics.allowed_networks", fmt.Sprintf("%q is not an IP address or CIDR range such as 10.0.0.0/8", n))
		}
	}
	switch t := c.Metrics.Token; {
	case t == "":
	case len(t) < minMetricsTokenLength:
		ps.add("metrics.token", fmt.Sprintf("is %d characters; use at least %d random ones (e.g. openssl rand -hex 24)", len(t), minMetricsTokenLength))
	case strings.ContainsFunc(t, func(r rune) bool { return r <= ' ' || r >= 0x7f }):
		ps.add("metrics.token", "must be printable ASCII without spaces: it is sent in an Authorization header")
	}
}

// parseNetwork reads a CIDR range, or a single address as a range of one.
func parseNetwork(s string) (netip.Prefix, bool) {
	if p, err := netip.ParsePrefix(strings.TrimSpace(s)); err == nil {
		return p.Masked(), true
	}
	if a, err := netip.ParseAddr(strings.TrimSpace(s)); err == nil {
		return netip.PrefixFrom(a, a.BitLen()), true
	}
	return netip.Prefix{}, false
}

// parseHTTPURL parses raw and reports whether it is an absolute http or
// https URL with a host, the only kind Vitrine can call or be reached at.
func parseHTTPURL(raw string) (*url.URL, bool) {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, false
	}
	return u, true
}

// validSecretKey reports whether s decodes to exactly 32 bytes.
func validSecretKey(s string) bool {
	for _, dec := range []func(string) ([]byte, error){
		hex.DecodeString,
		base64.StdEncoding.DecodeString,
		base64.RawStdEncoding.DecodeString,
		base64.URLEncoding.DecodeString,
		base64.RawURLEncoding.DecodeString,
	} {
		if b, err := dec(strings.TrimSpace(s)); err == nil && len(b) == 32 {
			return true
		}
	}
	return false
}

type problems []Problem

func (ps *problems) add(key, msg string) { *ps = append(*ps, Problem{Key: key, Msg: msg}) }

func (ps problems) err() error {
	if len(ps) == 0 {
		return nil
	}
	// Sections report in their own order, some from unordered maps; report
	// in key order for stable output.
	sorted := append([]Problem(nil), ps...)
	slices.SortStableFunc(sorted, func(a, b Problem) int { return strings.Compare(a.Key, b.Key) })
	return &Error{Problems: sorted}
}
