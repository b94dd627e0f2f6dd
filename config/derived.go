package config

import (
	"net/netip"
	"net/url"
	"path/filepath"
	"strings"
)

// RedirectURI is the OAuth redirect URI: registered in the Meta app and sent,
// byte for byte the same, in both the authorize and the exchange requests.
func (c *Config) RedirectURI() string {
	return strings.TrimRight(c.Server.PublicURL, "/") + "/admin/callback"
}

// SecureCookies reports whether cookies should carry the Secure flag.
func (c *Config) SecureCookies() bool {
	u, err := url.Parse(c.Server.PublicURL)
	return err == nil && u.Scheme == "https"
}

// DatabasePath is the SQLite file inside data_dir.
func (c *Config) DatabasePath() string { return filepath.Join(c.DataDir, "vitrine.db") }

// DatabaseLocation is what store.Open takes: database.url when set, else
// the SQLite file in data_dir. It may carry a password: never log it
// (store.Redact makes it printable).
func (c *Config) DatabaseLocation() string {
	if c.Database.URL != "" {
		return c.Database.URL
	}
	return c.DatabasePath()
}

// MediaDir holds the mirrored images.
func (c *Config) MediaDir() string { return filepath.Join(c.DataDir, "media") }

// MetricsNetworks is metrics.allowed_networks parsed; Validate has
// refused any entry that does not parse.
func (c *Config) MetricsNetworks() []netip.Prefix {
	var out []netip.Prefix
	for _, n := range c.Metrics.AllowedNetworks {
		if p, ok := parseNetwork(n); ok {
			out = append(out, p)
		}
	}
	return out
}

// TrustedProxyNetworks is server.trusted_proxies parsed, as gin reads it.
func (c *Config) TrustedProxyNetworks() []netip.Prefix {
	var out []netip.Prefix
	for _, n := range c.Server.TrustedProxies {
		if p, ok := parseNetwork(n); ok {
			out = append(out, p)
		}
	}
	return out
}
