package admin_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"vitrine/admin"
	"vitrine/jobs"
	"vitrine/store"
)

func TestStatusJSON(t *testing.T) {
	v := newVitrine(t)
	v.client.SignIn(testPassword)
	v.connect()
	v.syncRuns(1)
	tok, _ := v.StoredToken()
	// The token checked, then a sync that Instagram fails, five minutes ago
	// (so the 60-day token has 59 days and some left).
	ctx := context.Background()
	if err := v.Jobs.RunNow(ctx, jobs.JobValidate); err != nil {
		t.Fatal(err)
	}
	v.feed.fail(true)
	if err := v.Jobs.RunNow(ctx, jobs.JobSync); err == nil {
		t.Fatal("the sync did not fail")
	}
	v.feed.fail(false)
	v.Clock.Advance(5 * time.Minute)

	r := v.client.Get("/admin/status.json")
	if r.StatusCode != http.StatusOK || !strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
		t.Fatalf("status.json = %d %s", r.StatusCode, r.Header.Get("Content-Type"))
	}
	if r.Header.Get("Cache-Control") != "no-store" {
		t.Error("status.json is cacheable")
	}
	// Never the token, never the secret: on the raw bytes, escaped or not.
	for _, secret := range []string{tok.AccessToken, v.Fake.ClientSecret()} {
		for _, form := range []string{secret, strings.ReplaceAll(secret, "/", `\/`), jsonString(secret)} {
			if bytes.Contains([]byte(r.Text), []byte(form)) {
				t.Fatalf("status.json contains a secret")
			}
		}
	}
	var s admin.StatusView
	if err := json.Unmarshal([]byte(r.Text), &s); err != nil {
		t.Fatal(err)
	}
	if !s.Connected || s.State != "valid" || s.Account == nil || s.Account.Username != tok.Username ||
		s.ExpiresDays != 59 || s.Posts != 1 || len(s.Jobs) != 3 || !s.SyncAvailable {
		t.Errorf("status = %+v", s)
	}
	if !strings.HasPrefix(s.SyncResult, "Failed: ") || !strings.Contains(s.SyncResult, "unavailable") || s.SyncTone != "bad" || s.LastSync.Text != "5 minutes ago" || s.NextSync.Text != "in 10 minutes" {
		t.Errorf("sync = %q %q %q %q", s.SyncResult, s.SyncTone, s.LastSync.Text, s.NextSync.Text)
	}
	if !slices.ContainsFunc(s.Events, func(e admin.EventView) bool { return e.Kind == "connected" }) {
		t.Errorf("events = %+v", s.Events)
	}
	v.Clock.Advance(50 * 24 * time.Hour)
	v.client.SignIn(testPassword) // the session did not survive 50 days
	if err := json.Unmarshal([]byte(v.client.Get("/admin/status.json").Text), &s); err != nil || s.ExpiresIn != "in 9 days" {
		t.Errorf("50 days later: %q %v", s.ExpiresIn, err)
	}
}

func jsonString(s string) string {
	b, _ := json.Marshal(s)
	return strings.Trim(string(b), `"`)
}

func TestNeedsReauthBanner(t *testing.T) {
	v := newVitrine(t)
	v.client.SignIn(testPassword)
	v.connect()
	if strings.Contains(v.client.Get("/admin").Text, `data-show="needs_reauth">`) {
		t.Error("banner visible while the token is valid")
	}
	if _, err := v.Store.UpdateTokenStatus(context.Background(), store.StatusNeedsReauth, "password changed"); err != nil {
		t.Fatal(err)
	}
	dash := v.client.Get("/admin")
	if !strings.Contains(dash.Text, `data-show="needs_reauth">`) || !strings.Contains(dash.Text, "password changed") ||
		!strings.Contains(dash.Text, "Needs reconnecting") {
		t.Errorf("no banner:\n%.3000s", dash.Text)
	}
	var s admin.StatusView
	if err := json.Unmarshal([]byte(v.client.Get("/admin/status.json").Text), &s); err != nil || !s.NeedsReauth || s.Tone != "bad" {
		t.Errorf("status = %+v %v", s, err)
	}
}

func TestStaticAssets(t *testing.T) {
	v := newVitrine(t)
	for name, ctype := range map[string]string{"admin.css": "text/css", "admin.js": "text/javascript", "favicon.svg": "image/svg+xml"} {
		u, err := v.Server.Admin.AssetURL(name)
		if err != nil {
			t.Fatal(err)
		}
		r := v.client.Get(u)
		if r.StatusCode != http.StatusOK || !strings.HasPrefix(r.Header.Get("Content-Type"), ctype) ||
			!strings.Contains(r.Header.Get("Cache-Control"), "immutable") || r.Header.Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("%s: %d %s %s", name, r.StatusCode, r.Header.Get("Content-Type"), r.Header.Get("Cache-Control"))
		}
	}
	if r := v.client.Get("/admin/static/nope.js"); r.StatusCode != http.StatusNotFound {
		t.Errorf("missing asset = %d", r.StatusCode)
	}
}
