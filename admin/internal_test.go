package admin

// The tests of the admin's own pieces, below its pages: the words of its
// views and its templates. The pages are tested from outside (admin_test),
// served by a whole Vitrine.

import (
	"bytes"
	"html/template"
	"strings"
	"testing"
	"time"

	"vitrine/appearance"
	"vitrine/buildinfo"
	"vitrine/jobs"
	"vitrine/templates"
)

// templatesOnly is an Admin with only its templates, parsed as New parses
// them: enough to execute them.
func templatesOnly(t *testing.T) *Admin {
	t.Helper()
	a := &Admin{}
	if err := a.loadStatic(); err != nil {
		t.Fatal(err)
	}
	var err error
	if a.tmpl, err = templates.Admin(template.FuncMap{"asset": a.assetURL, "version": buildinfo.Get}); err != nil {
		t.Fatal(err)
	}
	return a
}

// TestTemplatesExecute runs every admin template with empty and full data
// so a template error is caught here, not by an admin.
func TestTemplatesExecute(t *testing.T) {
	adm := templatesOnly(t)
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
		"appearance.html": {appearanceView{}, appearanceView{page: pg, Flash: &flash{Tone: "bad", Title: "t", Message: "m"}, Customised: true,
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
			if err := adm.tmpl.ExecuteTemplate(&buf, name, v); err != nil {
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
	now := time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)
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

func TestHiddenNote(t *testing.T) {
	now := time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		ago      time.Duration
		mirrored bool
		want     string
	}{
		{0, true, "Hidden just now · images deleted in 7 days"},
		{2 * 24 * time.Hour, true, "Hidden 2 days ago · images deleted in 5 days"},
		{6*24*time.Hour + 20*time.Hour, true, "Hidden 6 days ago · images deleted in 4 hours"},
		{8 * 24 * time.Hour, true, "Hidden 8 days ago · images deleted at the next sync"},
		{8 * 24 * time.Hour, false, "Hidden 8 days ago · images deleted"},
	} {
		if got := hiddenNote(now.Add(-c.ago), now, c.mirrored); got != c.want {
			t.Errorf("hidden %v ago (mirrored %v): %q, want %q", c.ago, c.mirrored, got, c.want)
		}
	}
}
