// Package config holds Vitrine's typed configuration: defaults in code, then a
// YAML file, then VITRINE_* environment variables, then Validate.
package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"

	"vitrine/appearance"
	"vitrine/instagram"
)

// Config is the whole configuration. The yaml tags are the public key names,
// each documented in config.example.yaml; environment names derive from them.
type Config struct {
	Server    Server    `yaml:"server"`
	DataDir   string    `yaml:"data_dir"`
	Database  Database  `yaml:"database"`
	SecretKey string    `yaml:"secret_key"`
	Log       Log       `yaml:"log"`
	Admin     Admin     `yaml:"admin"`
	Instagram Instagram `yaml:"instagram"`
	Jobs      Jobs      `yaml:"jobs"`
	Alerts    Alerts    `yaml:"alerts"`
	Widget    Widget    `yaml:"widget"`
	Metrics   Metrics   `yaml:"metrics"`

	// Demo is set by the -demo flag, never by the file: it relaxes the
	// requirements that only a real Instagram app can satisfy.
	Demo bool `yaml:"-"`
}

type Server struct {
	Addr           string   `yaml:"addr"`
	PublicURL      string   `yaml:"public_url"`
	TrustedProxies []string `yaml:"trusted_proxies"`
}

// Database says where the store lives: empty URL is the SQLite file in
// data_dir; a postgres:// URL is a PostgreSQL database several replicas
// can share. The URL may carry a password: it is a secret.
type Database struct {
	URL string `yaml:"url"`
}

type Log struct {
	Level  string `yaml:"level"`
	Format string `yaml:"format"`
}

type Admin struct {
	PasswordHash string   `yaml:"password_hash"`
	SessionTTL   Duration `yaml:"session_ttl"`
}

type Instagram struct {
	ClientID     string   `yaml:"client_id"`
	ClientSecret string   `yaml:"client_secret"`
	Scopes       []string `yaml:"scopes"`
	ForceReauth  bool     `yaml:"force_reauth"`
	AuthURL      string   `yaml:"auth_url"`
	TokenURL     string   `yaml:"token_url"`
	GraphURL     string   `yaml:"graph_url"`
	GraphVersion string   `yaml:"graph_version"`
	Timeout      Duration `yaml:"timeout"`
	// MediaHosts are where images may be downloaded from; see
	// instagram.CheckMediaHost for what an entry covers.
	MediaHosts []string `yaml:"media_hosts"`
}

type Jobs struct {
	Validate      string   `yaml:"validate"`
	Sync          string   `yaml:"sync"`
	RefreshBefore Duration `yaml:"refresh_before"`
	// Lease is how long the replica that runs the jobs holds that right
	// without renewing it: after a crash, another takes over within it.
	Lease Duration `yaml:"lease"`
}

type Alerts struct {
	WebhookURL    string   `yaml:"webhook_url"`
	WebhookSecret string   `yaml:"webhook_secret"`
	SMTP          SMTP     `yaml:"smtp"`
	RemindEvery   Duration `yaml:"remind_every"`
	// DatabaseAfter is how long the database may be unreachable before
	// ops are alerted: a restart or a failover takes seconds.
	DatabaseAfter Duration `yaml:"database_after"`
}

type SMTP struct {
	Host     string   `yaml:"host"`
	Port     int      `yaml:"port"`
	Username string   `yaml:"username"`
	Password string   `yaml:"password"`
	From     string   `yaml:"from"`
	To       []string `yaml:"to"`
	StartTLS bool     `yaml:"starttls"`
	// ImplicitTLS speaks TLS from the first byte (SMTPS, port 465); it
	// makes StartTLS moot.
	ImplicitTLS bool `yaml:"implicit_tls"`
}

type Widget struct {
	// Settings are the gallery's look and choice of posts (layout,
	// columns, colours, filters, …): the defaults the dashboard's
	// Appearance page starts from and can reset to. Their keys sit
	// directly under widget:.
	appearance.Settings `yaml:",inline"`
	MaxPosts            int      `yaml:"max_posts"`
	AllowedOrigins      []string `yaml:"allowed_origins"`
	FrameAncestors      []string `yaml:"frame_ancestors"`
	Placeholder         string   `yaml:"placeholder"`
	// VideoMaxMB is the largest video mirrored, in MiB, for the lightbox
	// to play; 0 mirrors none (the lightbox shows the thumbnail and links
	// to Instagram).
	VideoMaxMB int `yaml:"video_max_mb"`
	// WebP encodes each mirrored image in WebP too, at the JPEG's level of
	// detail, and pages offer it where it is smaller than the JPEG at
	// every width (smooth pictures, not most photographs); false serves
	// JPEG only and spares the host the encoding (one to three seconds of
	// one core per image, once).
	WebP bool `yaml:"webp"`
	// CacheMaxAge is how long browsers and shared caches (a CDN) may use
	// the gallery (page, fragment, widget.js, widget.json) before asking
	// again; a hidden post can stay visible that long.
	CacheMaxAge Duration `yaml:"cache_max_age"`
	// PollEvery is how often the gallery checks the database for a change
	// made by another process on the same database (a sync, a moderation),
	// to rebuild when it sees one.
	PollEvery Duration `yaml:"poll_every"`
	// MediaCacheMB is the memory, in MiB, that keeps mirrored images
	// ready to send without reading the disk; 0 sends every image from
	// disk (the kernel's page cache still keeps the popular ones).
	MediaCacheMB int `yaml:"media_cache_mb"`
}

// Metrics says who may read /metrics: clients on AllowedNetworks, and,
// when Token is set, anyone presenting it as a bearer token.
type Metrics struct {
	AllowedNetworks []string `yaml:"allowed_networks"`
	Token           string   `yaml:"token"`
}

// DefaultPlaceholder is widget.placeholder's default; left as is, the
// gallery says it in widget.language.
const DefaultPlaceholder = "New posts are on their way."

// Default returns the configuration used before any file or environment is
// read. Every default is safe: loopback only, nothing sent anywhere.
func Default() Config {
	return Config{
		Server:  Server{Addr: "127.0.0.1:8080"},
		DataDir: "data",
		Log:     Log{Level: "info", Format: "text"},
		Admin:   Admin{SessionTTL: Duration(12 * hour)},
		Instagram: Instagram{
			Scopes:       []string{"instagram_business_basic"},
			ForceReauth:  true,
			AuthURL:      "https://www.instagram.com/oauth/authorize",
			TokenURL:     "https://api.instagram.com/oauth/access_token",
			GraphURL:     "https://graph.instagram.com",
			GraphVersion: "v26.0",
			Timeout:      Duration(10 * second),
			MediaHosts:   slices.Clone(instagram.DefaultMediaHosts),
		},
		Jobs: Jobs{
			Validate:      "@every 1h",
			Sync:          "@every 15m",
			RefreshBefore: Duration(30 * day),
			Lease:         Duration(30 * second),
		},
		Alerts: Alerts{
			SMTP:          SMTP{Port: 587, StartTLS: true},
			RemindEvery:   Duration(24 * hour),
			DatabaseAfter: Duration(2 * minute),
		},
		Widget: Widget{
			Settings:       appearance.Defaults(),
			MaxPosts:       100,
			AllowedOrigins: []string{"*"},
			FrameAncestors: []string{"*"},
			Placeholder:    DefaultPlaceholder,
			VideoMaxMB:     50,
			WebP:           true,
			CacheMaxAge:    Duration(60 * second),
			PollEvery:      Duration(2 * second),
			MediaCacheMB:   16,
		},
		// Loopback only, as a Prometheus on the same host scrapes.
		Metrics: Metrics{AllowedNetworks: []string{"127.0.0.0/8", "::1/128"}},
	}
}

// Load reads the configuration: defaults, then the YAML file at path (skipped
// when path is ""), then VITRINE_* variables from the process environment.
// It does not validate: callers apply flags first, then call Validate.
func Load(path string) (*Config, error) {
	return LoadEnv(path, os.Environ())
}

// LoadEnv is Load with an explicit environment ("KEY=value" entries), so
// tests need not touch the process environment.
func LoadEnv(path string, environ []string) (*Config, error) {
	cfg := Default()
	if path != "" {
		data, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("config: read %s: %w", path, unwrapPathError(err))
		}
		if err := decodeYAML(data, &cfg); err != nil {
			return nil, fmt.Errorf("config: %s: %w", filepath.Base(path), err)
		}
	}
	if err := applyEnv(&cfg, environ); err != nil {
		return nil, err
	}
	return &cfg, nil
}

// decodeYAML decodes strictly: a misspelt key is an error, not a silent
// default, because a typo in "client_secret" should not surface hours later
// as a failed OAuth exchange.
func decodeYAML(data []byte, cfg *Config) error {
	if len(bytes.TrimSpace(data)) == 0 {
		return nil
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	err := dec.Decode(cfg)
	if err == nil || errors.Is(err, io.EOF) {
		return nil
	}
	var typeErr *yaml.TypeError
	if errors.As(err, &typeErr) {
		msgs := make([]string, len(typeErr.Errors))
		for i, m := range typeErr.Errors {
			msgs[i] = friendlyYAMLError(m)
		}
		return errors.New(strings.Join(msgs, "; "))
	}
	return err
}

// unwrapPathError drops the path an *os.PathError repeats, since the caller
// already names the file.
func unwrapPathError(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
