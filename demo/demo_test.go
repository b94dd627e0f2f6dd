package demo

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"slices"
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"

	"vitrine/alerts"
	"vitrine/config"
)

// TestConfigureComputesTheDemoFromTheLoadedConfig: the demo's settings
// come back as a new value that validates; the loaded one is left alone.
func TestConfigureComputesTheDemoFromTheLoadedConfig(t *testing.T) {
	loaded := config.Default()
	loaded.DataDir = "/var/lib/vitrine"
	loaded.SecretKey = "kept-out-of-the-demo"
	loaded.Server.Addr = "127.0.0.1:0"
	before := fmt.Sprintf("%+v", loaded)

	const publicURL = "http://127.0.0.1:41234"
	cfg, f, cleanup, err := Configure(loaded, publicURL, 7)
	if err != nil {
		t.Fatal(err)
	}
	defer cleanup()
	if got := fmt.Sprintf("%+v", loaded); got != before {
		t.Errorf("the loaded config changed:\n%s\nwas\n%s", got, before)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatalf("the demo config does not validate: %v", err)
	}
	if !cfg.Demo || cfg.Server.PublicURL != publicURL || cfg.SecretKey != "" {
		t.Errorf("demo %v, public URL %q, secret key %q", cfg.Demo, cfg.Server.PublicURL, cfg.SecretKey)
	}
	if cfg.DataDir == loaded.DataDir || !strings.Contains(cfg.DataDir, "vitrine-demo-") {
		t.Errorf("data dir %q, want a throw-away one", cfg.DataDir)
	}
	if err := bcrypt.CompareHashAndPassword([]byte(cfg.Admin.PasswordHash), []byte(Password)); err != nil {
		t.Errorf("the admin password is not %q: %v", Password, err)
	}
	if cfg.Jobs.Validate != "@every 1m" || cfg.Jobs.Sync != "@every 30s" {
		t.Errorf("jobs validate %q, sync %q", cfg.Jobs.Validate, cfg.Jobs.Sync)
	}
	if cfg.Instagram.ClientID != f.ClientID() || cfg.Instagram.ClientSecret != f.ClientSecret() {
		t.Error("the client does not use the fake's credentials")
	}
	for _, u := range []string{cfg.Instagram.AuthURL, cfg.Instagram.TokenURL, cfg.Instagram.GraphURL} {
		if !strings.HasPrefix(u, publicURL+FakePrefix) {
			t.Errorf("Instagram URL %q is not under %s%s", u, publicURL, FakePrefix)
		}
	}
	// The fake's CDN is this very server: listed exactly, so the images
	// mirror from loopback over http.
	if got := cfg.Instagram.MediaHosts; !slices.Equal(got, []string{"cdninstagram.com", "fbcdn.net", "127.0.0.1:41234"}) {
		t.Errorf("media hosts %v, want the defaults and the fake's 127.0.0.1:41234", got)
	}
	if n := len(f.Posts()); n != 7 {
		t.Errorf("the fake has %d posts, want 7", n)
	}

	cleanup()
	if _, err := os.Stat(cfg.DataDir); !os.IsNotExist(err) {
		t.Errorf("cleanup left the data dir: %v", err)
	}
}

func TestOutboxKeepsTheNewestAlertsFirst(t *testing.T) {
	o := NewOutbox("http://127.0.0.1:8080/", slog.New(slog.NewTextHandler(io.Discard, nil)))
	for i := range outboxSize + 5 {
		if err := o.Deliver(context.Background(), alerts.Alert{Subject: fmt.Sprint(i)}); err != nil {
			t.Fatal(err)
		}
	}
	got := o.Alerts()
	if len(got) != outboxSize {
		t.Fatalf("%d alerts kept, want %d", len(got), outboxSize)
	}
	if first, last := got[0].Subject, got[len(got)-1].Subject; first != fmt.Sprint(outboxSize+4) || last != "5" {
		t.Errorf("alerts run from %s to %s, want newest (%d) first and the oldest five dropped", first, last, outboxSize+4)
	}
}
