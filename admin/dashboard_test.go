package admin

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"vitrine/appearance"
	"vitrine/jobs"
	"vitrine/store"
	"vitrine/templates"
)

func TestStatusJSON(t *testing.T) {
	e := newEnv(t)
	e.login()
	e.connect()
	tok, _ := e.token()
	e.jobs.mu.Lock()
	e.jobs.statuses = []jobs.Status{
		{Name: "validate", LastRun: testStart.Add(-time.Hour), NextRun: testStart.Add(time.Hour), LastOK: true, LastDuration: 120 * time.Millisecond},
		{Name: "sync", LastRun: testStart.Add(-5 * time.Minute), NextRun: testStart.Add(10 * time.Minute), LastOK: false, LastError: "Instagram unavailable"},
	}
	e.jobs.mu.Unlock()

	r := e.get("/admin/status.json")
	if r.StatusCode != http.StatusOK || !strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
		t.Fatalf("status.json = %d %s", r.StatusCode, r.Header.Get("Content-Type"))
	}
	if r.Header.Get("Cache-Control") != "no-store" {
		t.Error("status.json is cacheable")
	}
	// Never the token, never the secret: on the raw bytes, escaped or not.
	for _, secret := range []string{tok.AccessToken, e.fake.ClientSecret()} {
		for _, form := range []string{secret, strings.ReplaceAll(secret, "/", `\/`), jsonString(secret)} {
			if bytes.Contains([]byte(r.body), []byte(form)) {
				t.Fatalf("status.json contains a secret")
			}
		}
	}
	var s statusView
	if err := json.Unmarshal([]byte(r.body), &s); err != nil {
		t.Fatal(err)
	}
	if !s.Connected || s.State != "valid" || s.Account == nil || s.Account.Username != tok.Username ||
		s.ExpiresDays != 60 || s.Posts != 0 || len(s.Jobs) != 2 || !s.SyncAvailable {
		t.Errorf("status = %+v", s)
	}
	if s.SyncResult != "Failed: Instagram unavailable" || s.SyncTone != "bad" || s.LastSync.Text != "5 minutes ago" || s.NextSync.Text != "in 10 minutes" {
		t.Errorf("sync = %q %q %q %q", s.SyncResult, s.SyncTone, s.LastSync.Text, s.NextSync.Text)
	}
	if len(s.Events) == 0 || s.Events[0].Kind != "connected" {
		t.Errorf("events = %+v", s.Events)
	}
	e.clock.Advance(50 * 24 * time.Hour)
	e.login() // the session did not survive 50 days
	if err := json.Unmarshal([]byte(e.get("/admin/status.json").body), &s); err != nil || s.ExpiresIn != "in 10 days" {
		t.Errorf("50 days later: %q %v", s.ExpiresIn, err)
	}
}

func jsonString(s string) string {
	b, _ := json.Marshal(s)
	return strings.Trim(string(b), `"`)
}

func TestNeedsReauthBanner(t *testing.T) {
	e := newEnv(t)
	e.login()
	e.connect()
	if strings.Contains(e.get("/admin").body, `data-show="needs_reauth">`) {
		t.Error("banner visible while the token is valid")
	}
	if _, err := e.st.UpdateTokenStatus(context.Background(), store.StatusNeedsReauth, "password changed"); err != nil {
		t.Fatal(err)
	}
	dash := e.get("/admin")
	if !strings.Contains(dash.body, `data-show="needs_reauth">`) || !strings.Contains(dash.body, "password changed") ||
		!strings.Contains(dash.body, "Needs reconnecting") {
		t.Errorf("no banner:\n%.3000s", dash.body)
	}
	var s statusView
	if err := json.Unmarshal([]byte(e.get("/admin/status.json").body), &s); err != nil || !s.NeedsReauth || s.Tone != "bad" {
		t.Errorf("status = %+v %v", s, err)
	}
}

func TestStaticAssets(t *testing.T) {
	e := newEnv(t)
	for name, ctype := range map[string]string{"admin.css": "text/css", "admin.js": "text/javascript", "favicon.svg": "image/svg+xml"} {
		u, err := e.adm.assetURL(name)
		if err != nil {
			t.Fatal(err)
		}
		r := e.get(u)
		if r.StatusCode != http.StatusOK || !strings.HasPrefix(r.Header.Get("Content-Type"), ctype) ||
			!strings.Contains(r.Header.Get("Cache-Control"), "immutable") || r.Header.Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("%s: %d %s %s", name, r.StatusCode, r.Header.Get("Content-Type"), r.Header.Get("Cache-Control"))
		}
	}
	if r := e.get("/admin/static/nope.js"); r.StatusCode != http.StatusNotFound {
		t.Errorf("missing asset = %d", r.StatusCode)
	}
}

// TestTemplatesExecute runs every admin template with empty and full data
// so a template error is caught here, not by an admin.
func TestTemplatesExecute(t *testing.T) {
	e := newEnv(t)
	pg := page{Title: "T", Nonce: "n", CSRF: "c", SignedIn: true}
	full := statusView{
		Connected: true, State: "needs_reauth", StateLabel: "Needs reconnecting", Tone: "bad", Reason: "password changed", NeedsReauth: true,
		Account:   &accountView{Username: "u", Name: "N", Type: "Business account", PictureURL: "/admin/avatar?v=1", Initial: "U"},
		ExpiresIn: "in 3 days", Jobs: []jobView{{Name: "sync", Label: "Fetch posts"}}, Events: []eventView{{Message: "m", Level: "warn"}},
		SyncAvailable: true,
	}
	data := map[string][]any{
		"login.html": {loginView{}, loginView{page: pg, Error: "e", Notice: "n", LoginCSRF: "x"}},
		"dashboard.html": {dashboardView{}, dashboardView{page: pg, S: full, Flash: &flash{Tone: "ok", Title: "t"}},
			dashboardView{page: pg, S: full, Flash: &flash{Tone: "ok", Title: "t", Section: "posts"}, Posts: &postsView{MaxPins: 3, Pinned: 1, Hidden: 1,
				Posts: []postCard{{ID: "1", Caption: "c", Thumb: "/media/1/320.jpg", Pinned: true, Kind: "Album"}, {ID: "2", Hidden: true, Note: "n", Kind: "Photo"}, {ID: "3"}}}},
			dashboardView{page: pg, S: full, Posts: &postsView{MaxPins: 3}}},
		"appearance.html": {appearanceView{}, appearanceView{page: pg, Flash: &flash{Tone: "bad", Title: "t", Message: "m"}, Problems: 1, Customised: true,
			Skipped: []appearance.Problem{{Key: "k", Msg: "m"}}, PreviewURL: "/admin/appearance/preview?layout=grid", CacheAge: "60 seconds",
			Groups: []fieldGroup{{Name: "G", ID: "g", Fields: []field{
				{Key: "a", ID: "opt-a", Label: "A", Kind: "choice", Value: "x", Choices: []fieldChoice{{Value: "x", Label: "X", Selected: true}}, Error: "e"},
				{Key: "b", ID: "opt-b", Label: "B", Kind: "number", Value: "3", Min: 1, Max: 12, FileValue: "2"},
				{Key: "c", ID: "opt-c", Label: "C", Kind: "switch", Value: "true", Checked: true, Help: "h"},
				{Key: "d", ID: "opt-d", Label: "D", Kind: "colour", Value: ""},
				{Key: "e", ID: "opt-e", Label: "E", Kind: "words", Value: "#a b"},
				{Key: "f", ID: "opt-f", Label: "F", Kind: "subset", Value: "X", Choices: []fieldChoice{{Value: "X", Label: "x", Selected: true}, {Value: "Y", Label: "y"}}},
			}}}}},
		"message.html": {messageView{}, messageView{page: pg, Tone: "bad", Heading: "h", Step: "s", Popup: true, Result: "failed"},
			messageView{page: pg, Confirm: &confirmView{Action: "/a", Button: "b", Cancel: "/admin"}}},
	}
	pages := templates.AdminPages()
	if len(pages) != len(data) {
		t.Errorf("templates %v, test covers %d", pages, len(data))
	}
	for _, name := range pages {
		views, ok := data[name]
		if !ok {
			t.Errorf("no test data for %s", name)
		}
		for i, v := range views {
			var buf bytes.Buffer
			if err := e.adm.tmpl.ExecuteTemplate(&buf, name, v); err != nil {
				t.Errorf("%s #%d: %v", name, i, err)
			}
			if !strings.Contains(buf.String(), "</html>") {
				t.Errorf("%s #%d: incomplete page", name, i)
			}
		}
	}
}

// A job that found nothing to do (no account connected) is not a failure:
// the dashboard says it waits for a connection, and once one is made, that
// it has not run for it yet; a real failure stays red.
func TestJobWaitingForAConnectionIsNotAFailure(t *testing.T) {
	now := testStart
	waiting := jobs.Status{Name: jobs.JobSync, LastRun: now.Add(-time.Minute), Waiting: true,
		LastError: "no Instagram account connected", NextRun: now.Add(time.Minute)}
	if jv := viewJob(waiting, false, now); jv.Result != "Waiting for a connection" || jv.Tone != "muted" {
		t.Errorf("not connected: %q (%s)", jv.Result, jv.Tone)
	}
	if jv := viewJob(waiting, true, now); jv.Result != "Not run yet" || jv.Tone != "muted" || jv.LastRun.Text != "never" {
		t.Errorf("connected since: %q (%s), last run %q", jv.Result, jv.Tone, jv.LastRun.Text)
	}
	failed := jobs.Status{Name: jobs.JobSync, LastRun: now.Add(-time.Minute), LastError: "Instagram unavailable"}
	if jv := viewJob(failed, true, now); jv.Tone != "bad" || !strings.Contains(jv.Result, "Instagram unavailable") {
		t.Errorf("failure: %q (%s)", jv.Result, jv.Tone)
	}
}
