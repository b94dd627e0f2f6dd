package config

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"
	"gopkg.in/yaml.v3"

	"vitrine/appearance"
)

const examplePath = "../config.example.yaml"

func writeConfig(t *testing.T, body string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "vitrine.yaml")
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func problemKeys(t *testing.T, err error) []string {
	t.Helper()
	var cerr *Error
	if !errors.As(err, &cerr) {
		t.Fatalf("want *config.Error, got %T: %v", err, err)
	}
	var keys []string
	for _, p := range cerr.Problems {
		keys = append(keys, p.Key)
	}
	return keys
}

func TestExampleLoadsAsIsAndShowsTheDefaults(t *testing.T) {
	cfg, err := LoadEnv(examplePath, nil)
	if err != nil {
		t.Fatalf("example does not load: %v", err)
	}
	// Compared as YAML so an empty list in the file equals a nil slice.
	if got, want := asYAML(t, *cfg), asYAML(t, Default()); got != want {
		t.Errorf("example values drifted from the defaults in code:\n example:\n%s\n default:\n%s", got, want)
	}
	cfg.Demo = true
	if err := cfg.Validate(); err != nil {
		t.Errorf("example does not validate with -demo: %v", err)
	}
}

func TestExampleNeedsOnlyTheSecretsForRealUse(t *testing.T) {
	cfg, err := LoadEnv(examplePath, nil)
	if err != nil {
		t.Fatal(err)
	}
	got := problemKeys(t, cfg.Validate())
	want := []string{"admin.password_hash", "instagram.client_id", "instagram.client_secret", "server.public_url"}
	if !slices.Equal(got, want) {
		t.Errorf("problems = %v, want %v", got, want)
	}
}

func TestExampleDocumentsEveryKey(t *testing.T) {
	data, err := os.ReadFile(examplePath)
	if err != nil {
		t.Fatal(err)
	}
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		t.Fatal(err)
	}
	documented := map[string]bool{}
	var walk func(n *yaml.Node, prefix string)
	walk = func(n *yaml.Node, prefix string) {
		if n.Kind == yaml.DocumentNode {
			walk(n.Content[0], prefix)
			return
		}
		if n.Kind != yaml.MappingNode {
			return
		}
		for i := 0; i+1 < len(n.Content); i += 2 {
			key := n.Content[i].Value
			if prefix != "" {
				key = prefix + "." + key
			}
			if n.Content[i+1].Kind == yaml.MappingNode {
				walk(n.Content[i+1], key)
				continue
			}
			documented[key] = true
		}
	}
	walk(&root, "")
	for _, key := range Keys() {
		if !documented[key] {
			t.Errorf("config.example.yaml lacks %s", key)
		}
	}
	lines := strings.Split(string(data), "\n")
	for i, line := range lines {
		trimmed := strings.TrimSpace(line)
		if trimmed == "" || strings.HasPrefix(trimmed, "#") || strings.HasSuffix(trimmed, ":") {
			continue
		}
		// Each leaf sits under a comment, directly or as part of a small
		// group of related keys that one comment explains.
		commented := false
		for j := i - 1; j >= 0 && j >= i-4; j-- {
			if strings.HasPrefix(strings.TrimSpace(lines[j]), "#") {
				commented = true
				break
			}
		}
		if !commented {
			t.Errorf("config.example.yaml line %d (%s) has no comment near it", i+1, trimmed)
		}
	}
}

func TestThreeMistakesAreAllReportedByKey(t *testing.T) {
	path := writeConfig(t, `
server:
  addr: "no-port-here"
  public_url: https://gallery.example.com
instagram:
  client_id: "123"
  graph_version: "24"
widget:
  columns: 40
`)
	cfg, err := LoadEnv(path, []string{"VITRINE_INSTAGRAM_CLIENT_SECRET=s3cret"})
	if err != nil {
		t.Fatal(err)
	}
	cfg.Demo = false
	cfg.Admin.PasswordHash = mustHash(t, "pw")
	err = cfg.Validate()
	got := problemKeys(t, err)
	want := []string{"instagram.graph_version", "server.addr", "widget.columns"}
	if !slices.Equal(got, want) {
		t.Fatalf("problems = %v, want %v (%v)", got, want, err)
	}
	for _, key := range want {
		if !strings.Contains(err.Error(), key+": ") {
			t.Errorf("message does not name %s:\n%s", key, err)
		}
	}
}

// mustHash hashes pw at the lowest cost Validate accepts, once per test
// binary (each hash costs tens of milliseconds of CPU, and the cases of
// TestValidateRejectsEachBadValue each want one).
func mustHash(t *testing.T, pw string) string {
	t.Helper()
	hashes.Lock()
	defer hashes.Unlock()
	if h, ok := hashes.m[pw]; ok {
		return h
	}
	h, err := bcrypt.GenerateFromPassword([]byte(pw), MinPasswordCost)
	if err != nil {
		t.Fatal(err)
	}
	if hashes.m == nil {
		hashes.m = map[string]string{}
	}
	hashes.m[pw] = string(h)
	return string(h)
}

var hashes struct {
	sync.Mutex
	m map[string]string
}

// withCost is hash claiming another bcrypt cost: Validate reads the cost
// from the hash's prefix, and making a real cost-15 hash takes seconds.
func withCost(hash string, cost int) string {
	return hash[:4] + fmt.Sprintf("%02d", cost) + hash[6:]
}

func TestUnknownKeyNamesTheFullPathAndLine(t *testing.T) {
	path := writeConfig(t, "instagram:\n  client_id: x\n  clientsecret: y\n")
	_, err := LoadEnv(path, nil)
	if err == nil {
		t.Fatal("a misspelt key loaded silently")
	}
	if !strings.Contains(err.Error(), `line 3: unknown key "instagram.clientsecret"`) {
		t.Errorf("unclear error: %v", err)
	}
	if strings.Contains(err.Error(), "y\n") {
		t.Errorf("error echoes the value: %v", err)
	}
}

func TestBadFilesGiveClearErrors(t *testing.T) {
	cases := map[string]struct{ body, want string }{
		"syntax":   {"server: [unclosed", "vitrine.yaml: yaml:"},
		"type":     {"widget:\n  count: lots\n", "line 2"},
		"duration": {"admin:\n  session_ttl: forever\n", `invalid duration "forever"`},
		"scalar":   {"just a string\n", "vitrine.yaml"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := LoadEnv(writeConfig(t, tc.body), nil)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want it to contain %q", err, tc.want)
			}
		})
	}
	if _, err := LoadEnv(filepath.Join(t.TempDir(), "missing.yaml"), nil); err == nil || !strings.Contains(err.Error(), "no such file") {
		t.Errorf("missing file: %v", err)
	}
}

func TestEmptyFileMeansDefaults(t *testing.T) {
	cfg, err := LoadEnv(writeConfig(t, "# nothing yet\n"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if asYAML(t, *cfg) != asYAML(t, Default()) {
		t.Error("empty file changed the defaults")
	}
}

func TestEnvironmentOverridesTheFile(t *testing.T) {
	path := writeConfig(t, "instagram:\n  client_id: from-file\n  client_secret: file-secret\nwidget:\n  count: 4\n")
	secretFile := filepath.Join(t.TempDir(), "smtp-password")
	if err := os.WriteFile(secretFile, []byte("mail-pass\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := LoadEnv(path, []string{
		"VITRINE_INSTAGRAM_CLIENT_SECRET=env-secret",
		"VITRINE_WIDGET_COUNT=9",
		"VITRINE_WIDGET_CAPTIONS=true",
		"VITRINE_WIDGET_VIDEO_MAX_MB=0",
		"VITRINE_WIDGET_MEDIA_CACHE_MB=4",
		"VITRINE_JOBS_REFRESH_BEFORE=20d",
		"VITRINE_ALERTS_SMTP_TO=ops@example.com, owner@example.com",
		"VITRINE_ALERTS_SMTP_PASSWORD_FILE=" + secretFile,
		"VITRINE_CONFIG=/ignored/here",
		"UNRELATED=1",
	})
	if err != nil {
		t.Fatal(err)
	}
	checks := []struct {
		name      string
		got, want any
	}{
		{"client_id from file", cfg.Instagram.ClientID, "from-file"},
		{"client_secret from env", cfg.Instagram.ClientSecret, "env-secret"},
		{"count", cfg.Widget.Count, 9},
		{"captions", cfg.Widget.Captions, true},
		{"video_max_mb (default 50)", cfg.Widget.VideoMaxMB, 0},
		{"media_cache_mb (default 16)", cfg.Widget.MediaCacheMB, 4},
		{"refresh_before", cfg.Jobs.RefreshBefore.Std(), 20 * 24 * time.Hour},
		{"smtp.to", cfg.Alerts.SMTP.To, []string{"ops@example.com", "owner@example.com"}},
		{"smtp.password from _FILE", cfg.Alerts.SMTP.Password, "mail-pass"},
	}
	for _, c := range checks {
		if !reflect.DeepEqual(c.got, c.want) {
			t.Errorf("%s = %v, want %v", c.name, c.got, c.want)
		}
	}
}

// /metrics is loopback-only by default; its two keys have environment
// twins, the token a _FILE one too (it is a secret).
func TestMetricsAccessSettings(t *testing.T) {
	if got := Default().Metrics.AllowedNetworks; !slices.Equal(got, []string{"127.0.0.0/8", "::1/128"}) {
		t.Errorf("default allowed_networks = %v, want loopback only", got)
	}
	tokenFile := filepath.Join(t.TempDir(), "metrics-token")
	if err := os.WriteFile(tokenFile, []byte("0123456789abcdef0123\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := LoadEnv("", []string{
		"VITRINE_METRICS_ALLOWED_NETWORKS=10.1.0.0/16, 2001:db8::1",
		"VITRINE_METRICS_TOKEN_FILE=" + tokenFile,
	})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Metrics.Token != "0123456789abcdef0123" {
		t.Errorf("token from _FILE = %q", cfg.Metrics.Token)
	}
	var nets []string
	for _, p := range cfg.MetricsNetworks() {
		nets = append(nets, p.String())
	}
	if want := []string{"10.1.0.0/16", "2001:db8::1/128"}; !slices.Equal(nets, want) {
		t.Errorf("networks = %v, want %v", nets, want)
	}
}

func TestBadEnvironmentIsNamedAndNeverEchoed(t *testing.T) {
	_, err := LoadEnv("", []string{
		"VITRINE_WIDGET_COUNT=twelve-secret",
		"VITRINE_INSTAGRAM_CLIENTSECRET=oops-secret",
		"VITRINE_ADMIN_SESSION_TTL=soon-secret",
		"VITRINE_SECRET_KEY_FILE=/does/not/exist",
	})
	got := problemKeys(t, err)
	want := []string{"VITRINE_WIDGET_COUNT", "VITRINE_INSTAGRAM_CLIENTSECRET", "VITRINE_ADMIN_SESSION_TTL", "VITRINE_SECRET_KEY_FILE"}
	if !slices.Equal(got, want) {
		t.Errorf("problems = %v, want %v", got, want)
	}
	if strings.Contains(err.Error(), "-secret") {
		t.Errorf("error echoes a value: %v", err)
	}
}

// database.url is SQLite's file in data_dir when empty; set, it is a
// secret (it may carry the password): a _FILE twin, and no problem report
// quotes it.
func TestDatabaseURL(t *testing.T) {
	cfg := Default()
	cfg.DataDir = "/var/lib/vitrine"
	if got := cfg.DatabaseLocation(); got != filepath.Join("/var/lib/vitrine", "vitrine.db") {
		t.Errorf("DatabaseLocation without a URL = %q, want the SQLite file", got)
	}
	f := filepath.Join(t.TempDir(), "db-url")
	if err := os.WriteFile(f, []byte("postgres://v:hunter2@db.internal:5432/vitrine\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := LoadEnv("", []string{"VITRINE_DATABASE_URL_FILE=" + f})
	if err != nil {
		t.Fatal(err)
	}
	if got := c.DatabaseLocation(); got != "postgres://v:hunter2@db.internal:5432/vitrine" {
		t.Errorf("DatabaseLocation = %q", got)
	}
	c.Server.PublicURL, c.Admin.PasswordHash = "https://gallery.example.com", mustHash(t, "pw")
	c.Instagram.ClientID, c.Instagram.ClientSecret = "1", "s"
	if got := problemKeys(t, c.Validate()); !slices.Equal(got, []string{"secret_key"}) {
		t.Errorf("a postgres URL without secret_key: problems %v, want [secret_key] (replicas must share it)", got)
	}
	c.SecretKey = strings.Repeat("ab", 32)
	if err := c.Validate(); err != nil {
		t.Errorf("a postgres URL is refused: %v", err)
	}
	c.Database.URL = "postgresql://v:hunter2@/vitrine?host=/run/postgresql"
	if err := c.Validate(); err != nil {
		t.Errorf("a postgresql URL with a socket host is refused: %v", err)
	}
	c.Database.URL = "mysql://v:hunter2@db/vitrine"
	if err := c.Validate(); err == nil || strings.Contains(err.Error(), "hunter2") {
		t.Errorf("a mysql URL: err = %v, want a problem that does not quote the URL", err)
	}
}

// The test suites' own variables share the VITRINE_ prefix; they are
// neither settings nor typos.
func TestTestVariablesAreNotSettings(t *testing.T) {
	if _, err := LoadEnv("", []string{"VITRINE_TEST_POSTGRES_URL=postgres://127.0.0.1/x"}); err != nil {
		t.Errorf("VITRINE_TEST_POSTGRES_URL refused: %v", err)
	}
}

func TestEnvAndFileVariantTogetherIsAnError(t *testing.T) {
	f := filepath.Join(t.TempDir(), "s")
	os.WriteFile(f, []byte("x"), 0o600)
	_, err := LoadEnv("", []string{"VITRINE_INSTAGRAM_CLIENT_SECRET=a", "VITRINE_INSTAGRAM_CLIENT_SECRET_FILE=" + f})
	if err == nil || !strings.Contains(err.Error(), "use one") {
		t.Errorf("err = %v", err)
	}
}

func TestValidateRejectsEachBadValue(t *testing.T) {
	cases := []struct {
		key    string
		mutate func(*Config)
	}{
		{"server.public_url", func(c *Config) { c.Server.PublicURL = "gallery.example.com" }},
		{"server.trusted_proxies", func(c *Config) { c.Server.TrustedProxies = []string{"proxy.local"} }},
		{"data_dir", func(c *Config) { c.DataDir = " " }},
		{"secret_key", func(c *Config) { c.SecretKey = "too-short" }},
		{"database.url", func(c *Config) { c.Database.URL = "mysql://u:hunter2@db/v" }},
		{"database.url", func(c *Config) { c.Database.URL = "postgres:///v" }},
		{"database.url", func(c *Config) { c.Database.URL = "postgres://u:%zz@db/v" }},
		{"log.level", func(c *Config) { c.Log.Level = "loud" }},
		{"admin.password_hash", func(c *Config) { c.Admin.PasswordHash = "plaintext" }},
		{"admin.password_hash", func(c *Config) { c.Admin.PasswordHash = withCost(c.Admin.PasswordHash, 4) }},
		{"admin.password_hash", func(c *Config) { c.Admin.PasswordHash = withCost(c.Admin.PasswordHash, 15) }},
		{"admin.session_ttl", func(c *Config) { c.Admin.SessionTTL = 0 }},
		{"instagram.scopes", func(c *Config) { c.Instagram.Scopes = []string{"a,b"} }},
		{"instagram.token_url", func(c *Config) { c.Instagram.TokenURL = "/oauth" }},
		{"instagram.timeout", func(c *Config) { c.Instagram.Timeout = 0 }},
		{"instagram.media_hosts", func(c *Config) { c.Instagram.MediaHosts = []string{"*.fbcdn.net"} }},
		{"jobs.sync", func(c *Config) { c.Jobs.Sync = "every quarter hour" }},
		{"jobs.refresh_before", func(c *Config) { c.Jobs.RefreshBefore = Duration(59 * day) }},
		{"jobs.lease", func(c *Config) { c.Jobs.Lease = Duration(500 * time.Millisecond) }},
		{"alerts.webhook_url", func(c *Config) { c.Alerts.WebhookURL = "ftp://x" }},
		{"alerts.smtp.to", func(c *Config) { c.Alerts.SMTP.Host = "mail"; c.Alerts.SMTP.From = "a@b.c" }},
		{"alerts.database_after", func(c *Config) { c.Alerts.DatabaseAfter = Duration(time.Second) }},
		{"alerts.database_after", func(c *Config) { c.Alerts.DatabaseAfter = Duration(25 * time.Hour) }},
		{"widget.count", func(c *Config) { c.Widget.Count = 500 }},
		{"widget.allowed_origins", func(c *Config) { c.Widget.AllowedOrigins = []string{"https://x.com/path"} }},
		{"widget.frame_ancestors", func(c *Config) { c.Widget.FrameAncestors = []string{"x; script-src *"} }},
		{"widget.layout", func(c *Config) { c.Widget.Layout = "slideshow" }},
		{"widget.counts", func(c *Config) { c.Widget.Counts = "always" }},
		{"widget.aspect", func(c *Config) { c.Widget.Aspect = "16:9" }},
		{"widget.language", func(c *Config) { c.Widget.Language = "it" }},
		{"widget.columns_mobile", func(c *Config) { c.Widget.ColumnsMobile = 0 }},
		{"widget.media_types", func(c *Config) { c.Widget.MediaTypes = []string{"REELS"} }},
		{"widget.media_types", func(c *Config) { c.Widget.MediaTypes = nil }},
		{"widget.include_words", func(c *Config) { c.Widget.IncludeWords = []string{"two words"} }},
		{"widget.exclude_words", func(c *Config) { c.Widget.ExcludeWords = []string{""} }},
		{"widget.video_max_mb", func(c *Config) { c.Widget.VideoMaxMB = -1 }},
		{"widget.video_max_mb", func(c *Config) { c.Widget.VideoMaxMB = MaxVideoMB + 1 }},
		{"widget.cache_max_age", func(c *Config) { c.Widget.CacheMaxAge = 0 }},
		{"widget.cache_max_age", func(c *Config) { c.Widget.CacheMaxAge = Duration(1500 * time.Millisecond) }},
		{"widget.cache_max_age", func(c *Config) { c.Widget.CacheMaxAge = Duration(2 * time.Hour) }},
		{"widget.poll_every", func(c *Config) { c.Widget.PollEvery = Duration(10 * time.Millisecond) }},
		{"widget.poll_every", func(c *Config) { c.Widget.PollEvery = Duration(2 * time.Minute) }},
		{"widget.media_cache_mb", func(c *Config) { c.Widget.MediaCacheMB = -1 }},
		{"widget.media_cache_mb", func(c *Config) { c.Widget.MediaCacheMB = MaxMediaCacheMB + 1 }},
		{"widget.theme", func(c *Config) { c.Widget.Theme = "sepia" }},
		{"widget.accent_color", func(c *Config) { c.Widget.AccentColor = "blue" }},
		{"widget.text_color", func(c *Config) { c.Widget.TextColor = "#12345" }},
		{"widget.background_color", func(c *Config) { c.Widget.BackgroundColor = "#fff;}x{" }},
		{"widget.caption_length", func(c *Config) { c.Widget.CaptionLength = -1 }},
		{"widget.caption_length", func(c *Config) { c.Widget.CaptionLength = appearance.MaxCaptionLength + 1 }},
		{"widget.radius", func(c *Config) { c.Widget.Radius = -1 }},
		{"widget.gap", func(c *Config) { c.Widget.Gap = appearance.MaxGap + 1 }},
		{"metrics.allowed_networks", func(c *Config) { c.Metrics.AllowedNetworks = []string{"10.0.0.0/8", "localhost"} }},
		{"metrics.token", func(c *Config) { c.Metrics.Token = "short" }},
		{"metrics.token", func(c *Config) { c.Metrics.Token = "a long token with spaces in it" }},
	}
	for _, tc := range cases {
		t.Run(tc.key, func(t *testing.T) {
			t.Parallel()
			cfg := Default()
			cfg.Server.PublicURL = "https://gallery.example.com"
			cfg.Admin.PasswordHash = mustHash(t, "pw")
			cfg.Instagram.ClientID, cfg.Instagram.ClientSecret = "1", "s"
			if err := cfg.Validate(); err != nil {
				t.Fatalf("baseline invalid: %v", err)
			}
			tc.mutate(&cfg)
			if got := problemKeys(t, cfg.Validate()); !slices.Equal(got, []string{tc.key}) {
				t.Errorf("problems = %v, want [%s]", got, tc.key)
			}
		})
	}
}

func TestMediaHosts(t *testing.T) {
	if got := Default().Instagram.MediaHosts; !slices.Equal(got, []string{"cdninstagram.com", "fbcdn.net"}) {
		t.Errorf("default media_hosts = %v", got)
	}
	cfg, err := LoadEnv("", []string{"VITRINE_INSTAGRAM_MEDIA_HOSTS=fbcdn.net, 127.0.0.1:41234,[::1]:8080"})
	if err != nil {
		t.Fatal(err)
	}
	if got := cfg.Instagram.MediaHosts; !slices.Equal(got, []string{"fbcdn.net", "127.0.0.1:41234", "[::1]:8080"}) {
		t.Errorf("media_hosts from the environment = %v", got)
	}
	cfg.Demo = true
	if err := cfg.Validate(); err != nil {
		t.Errorf("valid media_hosts refused: %v", err)
	}

	for _, tc := range []struct {
		hosts []string
		want  string
	}{
		{nil, "instagram.media_hosts: at least one host is required"},
		{[]string{"https://scontent.cdninstagram.com"}, `instagram.media_hosts: "https://scontent.cdninstagram.com" has a scheme`},
		{[]string{"fbcdn.net/v/t51"}, `"fbcdn.net/v/t51" has a path`},
		{[]string{"*.fbcdn.net"}, `"*.fbcdn.net" no wildcards`},
		{[]string{".fbcdn.net"}, `".fbcdn.net" no wildcards or leading dot`},
		{[]string{"10.0.0.8"}, `"10.0.0.8" an IP address needs its port`},
		{[]string{"localhost:http"}, `"localhost:http" port must be a number`},
		{[]string{"fbcdn.net", "fb cdn.net"}, `"fb cdn.net" is not a host name`},
	} {
		cfg := Default()
		cfg.Demo = true
		cfg.Instagram.MediaHosts = tc.hosts
		err := cfg.Validate()
		if got := problemKeys(t, err); !slices.Equal(got, []string{"instagram.media_hosts"}) {
			t.Errorf("%q: problems = %v", tc.hosts, got)
		}
		if err != nil && !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: %v, want it to say %s", tc.hosts, err, tc.want)
		}
	}
}

func TestParseHTTPURL(t *testing.T) {
	for raw, want := range map[string]bool{
		"https://example.com":          true,
		"http://127.0.0.1:8080/path?q": true,
		"HTTPS://example.com":          true, // url.Parse lowers the scheme
		"":                             false,
		"example.com":                  false,
		"/oauth":                       false,
		"ftp://example.com":            false,
		"https://":                     false,
		"https:example.com":            false,
		"https://exa mple.com":         false,
	} {
		u, ok := parseHTTPURL(raw)
		if ok != want {
			t.Errorf("parseHTTPURL(%q) ok = %v, want %v", raw, ok, want)
		}
		if ok && u.Host == "" {
			t.Errorf("parseHTTPURL(%q) accepted a URL without host", raw)
		}
	}
}

func TestFrameAncestorsAcceptsCSPKeywords(t *testing.T) {
	cfg := Default()
	cfg.Demo = true
	cfg.Widget.FrameAncestors = []string{"'self'", "https://example.com"}
	if err := cfg.Validate(); err != nil {
		t.Errorf("'self' rejected: %v", err)
	}
	cfg.Widget.FrameAncestors = []string{"'self' https://evil.example"}
	if err := cfg.Validate(); err == nil {
		t.Error("two sources in one item accepted")
	}
}

func TestSecretKeyEncodings(t *testing.T) {
	for _, k := range []string{
		strings.Repeat("ab", 32),
		"q83vEjRWeJq83vEjRWeJq83vEjRWeJq83vEjRWeJq80=",
		"q83vEjRWeJq83vEjRWeJq83vEjRWeJq83vEjRWeJq80",
	} {
		if !validSecretKey(k) {
			t.Errorf("%q rejected", k)
		}
	}
}

func TestDerivedValues(t *testing.T) {
	cfg := Default()
	cfg.Server.PublicURL = "https://example.com/gallery/"
	if got := cfg.RedirectURI(); got != "https://example.com/gallery/admin/callback" {
		t.Errorf("RedirectURI = %s", got)
	}
	if !cfg.SecureCookies() {
		t.Error("https public_url should mean secure cookies")
	}
	cfg.Server.PublicURL = "http://127.0.0.1:8080"
	if cfg.SecureCookies() {
		t.Error("http public_url cannot use secure cookies")
	}
}

func FuzzLoad(f *testing.F) {
	example, _ := os.ReadFile(examplePath)
	f.Add(string(example))
	f.Add("server:\n  addr: x\n")
	f.Add("widget: [1, 2]\n")
	f.Add("admin:\n  session_ttl: 99999999999999999999d\n")
	f.Fuzz(func(t *testing.T, body string) {
		path := filepath.Join(t.TempDir(), "c.yaml")
		if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		cfg, err := LoadEnv(path, nil)
		if err != nil {
			return
		}
		_ = cfg.Validate()
	})
}

func asYAML(t *testing.T, cfg Config) string {
	t.Helper()
	out, err := yaml.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return string(out)
}
