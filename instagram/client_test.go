package instagram

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"vitrine/instagram/fake"
)

func validConfig() Config {
	return Config{
		ClientID:     "1234",
		ClientSecret: "secret",
		RedirectURI:  "https://vitrine.example/admin/callback",
		AuthURL:      "https://www.instagram.com/oauth/authorize",
		TokenURL:     "https://api.instagram.com/oauth/access_token",
		GraphURL:     "https://graph.instagram.com/",
	}
}

func TestNewDefaults(t *testing.T) {
	c, err := New(validConfig())
	if err != nil {
		t.Fatal(err)
	}
	cfg := c.cfg
	if cfg.GraphVersion != "v26.0" || cfg.Timeout != 10*time.Second || cfg.MaxRetries != 3 ||
		cfg.Backoff != 250*time.Millisecond || cfg.PageSize != 25 || cfg.Logger == nil || cfg.Now == nil ||
		c.hc == nil || len(cfg.Scopes) != 1 || cfg.Scopes[0] != "instagram_business_basic" ||
		c.dl == nil || c.dl == c.hc || !slices.Equal(c.media.domains, DefaultMediaHosts) || len(c.media.exact) != 0 {
		t.Errorf("defaults not applied: %+v", cfg)
	}
	if got := c.graphURLFor("/me", true, nil).String(); got != "https://graph.instagram.com/v26.0/me" {
		t.Errorf("versioned graph URL = %s", got)
	}
	if got := c.graphURLFor("/refresh_access_token", false, nil).String(); got != "https://graph.instagram.com/refresh_access_token" {
		t.Errorf("unversioned graph URL = %s", got)
	}

	cfg2 := validConfig()
	cfg2.GraphURL = "http://127.0.0.1:9999/_fake/instagram"
	c, err = New(cfg2)
	if err != nil {
		t.Fatal(err)
	}
	if got := c.graphURLFor("/me/media", true, nil).String(); got != "http://127.0.0.1:9999/_fake/instagram/v26.0/me/media" {
		t.Errorf("graph URL under a prefix = %s", got)
	}
}

func TestNewValidates(t *testing.T) {
	cases := []struct {
		name   string
		mutate func(*Config)
		want   string
	}{
		{"client id", func(c *Config) { c.ClientID = "" }, "ClientID"},
		{"secret", func(c *Config) { c.ClientSecret = " " }, "ClientSecret"},
		{"redirect relative", func(c *Config) { c.RedirectURI = "/admin/callback" }, "RedirectURI"},
		{"redirect fragment", func(c *Config) { c.RedirectURI = "https://x/cb#_" }, "fragment"},
		{"auth url", func(c *Config) { c.AuthURL = "www.instagram.com/oauth/authorize" }, "AuthURL"},
		{"token url", func(c *Config) { c.TokenURL = "ftp://api.instagram.com" }, "TokenURL"},
		{"graph url", func(c *Config) { c.GraphURL = "" }, "GraphURL"},
		{"version", func(c *Config) { c.GraphVersion = "24" }, "GraphVersion"},
		{"scope", func(c *Config) { c.Scopes = []string{"a,b"} }, "scope"},
		{"page size", func(c *Config) { c.PageSize = 1000 }, "PageSize"},
		{"media hosts", func(c *Config) { c.MediaHosts = []string{"fbcdn.net", "https://cdn.example"} }, `MediaHosts: "https://cdn.example" has a scheme`},
	}
	for _, tc := range cases {
		cfg := validConfig()
		tc.mutate(&cfg)
		_, err := New(cfg)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v, want it to mention %s", tc.name, err, tc.want)
		}
		if err != nil && strings.Contains(err.Error(), "secret\"") {
			t.Errorf("%s: the secret is in %v", tc.name, err)
		}
	}
}

func TestBackoff(t *testing.T) {
	for attempt := range 12 {
		ceiling := min(10*time.Millisecond<<attempt, maxBackoff)
		for range 50 {
			d := backoff(10*time.Millisecond, attempt)
			if d < 0 || d > ceiling {
				t.Fatalf("backoff(10ms, %d) = %s, outside [0, %s]", attempt, d, ceiling)
			}
		}
	}
	if d := backoff(0, 3); d != 0 {
		t.Errorf("backoff with no base = %s", d)
	}
}

// The default version is one Instagram answers (the fake lists them as
// Instagram does today), and a retired or unknown one is refused with a
// clear error, not taken for a token problem.
func TestGraphVersions(t *testing.T) {
	if !slices.Contains(fake.Versions, DefaultGraphVersion) {
		t.Errorf("default %s is not among the versions Instagram answers, %v", DefaultGraphVersion, fake.Versions)
	}
	for _, v := range fake.Versions {
		e := newEnv(t, withPosts(1), withConfig(func(c *Config) { c.GraphVersion = v }))
		if _, err := e.c.Me(context.Background(), e.longLived()); err != nil {
			t.Errorf("%s: %v", v, e.seen(err))
		}
	}
	e := newEnv(t, withPosts(1), withConfig(func(c *Config) { c.GraphVersion = "v19.0" }))
	_, err := e.c.Me(context.Background(), e.longLived())
	if !errors.Is(err, ErrBadRequest) || errors.Is(err, ErrTokenInvalid) || !strings.Contains(err.Error(), "v19.0") {
		t.Errorf("a retired version: %v", err)
	}
	e.seen(err)
}
