package admin

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"vitrine/moderation"
	"vitrine/store"
)

// seedPosts caches n posts, newest first, and a mirrored 320 px copy of
// each, as a sync would.
func (e *env) seedPosts(n int) []store.Post {
	e.t.Helper()
	ctx := context.Background()
	posts := make([]store.Post, n)
	for i := range posts {
		posts[i] = store.Post{ID: fmt.Sprintf("1789000000000%04d", i), MediaType: "IMAGE",
			Caption:   fmt.Sprintf("Post number %d from the studio #tag", i),
			Permalink: fmt.Sprintf("https://www.instagram.com/p/P%d/", i), MediaURL: "https://cdn.example/x.jpg",
			Timestamp: testStart.Add(-time.Duration(i) * time.Hour)}
	}
	if _, err := e.st.ReplacePosts(ctx, posts); err != nil {
		e.t.Fatal(err)
	}
	for _, p := range posts {
		err := e.st.SaveImage(ctx, store.Image{MediaID: p.ID, PostID: p.ID, Width: 1080, Height: 1080, Color: "#123456",
			Variants: []store.ImageVariant{{Width: 320, Height: 320, Bytes: 1, Path: p.ID + "/320.jpg"},
				{Width: 640, Height: 640, Bytes: 1, Path: p.ID + "/640.jpg"}}})
		if err != nil {
			e.t.Fatal(err)
		}
	}
	return posts
}

func (e *env) moderate(csrf, id, action string, header ...string) response {
	e.t.Helper()
	return e.post("/admin/posts/"+id, url.Values{"csrf_token": {csrf}, "action": {action}}, header...)
}

// decisions is the store's moderation as "id:hidden" / "id:pinned".
func (e *env) decisions() []string {
	e.t.Helper()
	ms, err := e.st.Moderation(context.Background())
	if err != nil {
		e.t.Fatal(err)
	}
	var out []string
	for _, m := range ms {
		if m.Hidden() {
			out = append(out, m.PostID+":hidden")
		}
		if m.Pinned() {
			out = append(out, m.PostID+":pinned")
		}
	}
	return out
}

func (e *env) eventMessages() []string {
	e.t.Helper()
	evs, err := e.st.Events(context.Background(), 0)
	if err != nil {
		e.t.Fatal(err)
	}
	var out []string
	for _, ev := range evs {
		if ev.Kind == "moderation" {
			out = append(out, ev.Message)
		}
	}
	slices.Reverse(out) // oldest first
	return out
}

func TestModeratePostRoundTrip(t *testing.T) {
	e := newEnv(t)
	csrf := e.login()
	posts := e.seedPosts(3)
	id := posts[1].ID

	steps := []struct {
		action    string
		want      []string // decisions afterwards
		flash     string
		unchanged bool
	}{
		{"hide", []string{id + ":hidden"}, "Post hidden.", false},
		{"hide", []string{id + ":hidden"}, "It was hidden already.", true},
		{"show", nil, "It is back in your gallery.", false},
		{"pin", []string{id + ":pinned"}, "It now comes first in your gallery.", false},
		{"unpin", nil, "It takes its place by date again.", false},
		{"unpin", nil, "It was not pinned.", true},
	}
	rebuilds := 0
	for _, s := range steps {
		r := e.moderate(csrf, id, s.action)
		if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/admin#posts" {
			t.Fatalf("%s = %d %q, want 303 to /admin#posts:\n%.500s", s.action, r.StatusCode, r.Header.Get("Location"), r.body)
		}
		if got := e.decisions(); !slices.Equal(got, s.want) {
			t.Errorf("after %s: %v, want %v", s.action, got, s.want)
		}
		if !s.unchanged {
			rebuilds++
		}
		if n := int(e.rebuilds.Load()); n != rebuilds {
			t.Errorf("after %s: the gallery was rebuilt %d times, want %d", s.action, n, rebuilds)
		}
		// The notice shows in the Posts section, where the browser lands.
		dash := e.get("/admin").body
		section := dash[strings.Index(dash, `id="posts"`):]
		if !strings.Contains(section, s.flash) {
			t.Errorf("after %s the Posts section does not say %q", s.action, s.flash)
		}
	}
	caption := "(“Post number 1 from the studio #tag”)"
	want := []string{"Hid post " + id + " " + caption + ".", "Showed post " + id + " " + caption + ".",
		"Pinned post " + id + " " + caption + ".", "Unpinned post " + id + " " + caption + "."}
	if got := e.eventMessages(); !slices.Equal(got, want) {
		t.Errorf("audit log:\n%q\nwant\n%q", got, want)
	}

	// Scripts ask for JSON.
	r := e.moderate(csrf, id, "pin", "Accept", "application/json")
	var j struct {
		OK, Changed bool
		Message     string
		Post        struct {
			ID             string
			Hidden, Pinned bool
		}
	}
	if err := json.Unmarshal([]byte(r.body), &j); err != nil || r.StatusCode != http.StatusOK ||
		!j.OK || !j.Changed || j.Post.ID != id || !j.Post.Pinned || j.Post.Hidden || j.Message == "" {
		t.Errorf("pin as JSON = %d %+v (%v)", r.StatusCode, j, err)
	}
}

// The Posts section lists the cached posts with their mirrored thumbnails,
// pinned first, hidden ones marked, and says how long a hidden post's
// images stay.
func TestDashboardPostsSection(t *testing.T) {
	e := newEnv(t)
	csrf := e.login()
	if strings.Contains(e.get("/admin").body, `id="posts"`) {
		t.Error("a Posts section with nothing connected or cached")
	}
	posts := e.seedPosts(4)
	e.moderate(csrf, posts[2].ID, "pin")
	e.moderate(csrf, posts[3].ID, "pin")
	e.moderate(csrf, posts[0].ID, "hide")
	e.clock.Advance(2 * 24 * time.Hour)
	csrf = e.login()
	dash := e.get("/admin").body
	start := strings.Index(dash, `id="posts"`)
	if start < 0 {
		t.Fatalf("no Posts section:\n%.3000s", dash)
	}
	section := dash[start:]
	var order []string
	for _, part := range strings.Split(section, `data-post="`)[1:] {
		order = append(order, part[:strings.Index(part, `"`)])
	}
	if want := []string{posts[3].ID, posts[2].ID, posts[0].ID, posts[1].ID}; !slices.Equal(order, want) {
		t.Errorf("posts listed %v, want %v (pinned first, the last pinned first)", order, want)
	}
	mustHave := []string{
		`<img src="/media/` + posts[1].ID + `/320.jpg"`,
		`action="/admin/posts/` + posts[1].ID + `"`, `name="csrf_token" value="` + csrf + `"`,
		`value="unpin"`, `value="show"`, `value="pin"`, `value="hide"`,
		"<strong>2</strong> of 3 pinned", "<strong>1</strong> hidden",
		"Hidden 2 days ago · images deleted in 5 days",
	}
	for _, s := range mustHave {
		if !strings.Contains(section, s) {
			t.Errorf("the Posts section lacks %q", s)
		}
	}
}

// Every admin POST needs the session's CSRF token: without it, with
// another one, or sent from another site, nothing changes.
func TestModeratePostNeedsCSRF(t *testing.T) {
	e := newEnv(t)
	csrf := e.login()
	id := e.seedPosts(1)[0].ID
	for name, r := range map[string]response{
		"no token":    e.post("/admin/posts/"+id, url.Values{"action": {"hide"}}),
		"wrong token": e.moderate(csrf+"x", id, "hide"),
		"other site":  e.moderate(csrf, id, "hide", "Origin", "https://evil.example"),
		"no session":  e.postWith(e.newClient(), "/admin/posts/"+id, url.Values{"action": {"hide"}, "csrf_token": {csrf}}),
	} {
		if r.StatusCode != http.StatusForbidden {
			t.Errorf("%s: %d, want 403", name, r.StatusCode)
		}
	}
	if got := e.decisions(); len(got) != 0 || e.rebuilds.Load() != 0 || len(e.eventMessages()) != 0 {
		t.Errorf("refused requests changed something: %v, %d rebuilds, events %v", got, e.rebuilds.Load(), e.eventMessages())
	}
	if r := e.moderate(csrf, id, "hide", "X-CSRF-Token", csrf); r.StatusCode != http.StatusSeeOther {
		t.Errorf("with the token: %d", r.StatusCode)
	}
}

func TestPinLimitRefusesAFourth(t *testing.T) {
	e := newEnv(t)
	csrf := e.login()
	posts := e.seedPosts(5)
	for _, p := range posts[:moderation.MaxPinned] {
		if r := e.moderate(csrf, p.ID, "pin"); r.StatusCode != http.StatusSeeOther {
			t.Fatalf("pin %s = %d", p.ID, r.StatusCode)
		}
	}
	before := e.decisions()
	r := e.moderate(csrf, posts[3].ID, "pin")
	if r.StatusCode != http.StatusConflict || !strings.Contains(r.body, "Only 3 posts can be pinned") ||
		!strings.Contains(r.body, "Unpin one of the pinned posts first") {
		t.Errorf("a 4th pin = %d:\n%.1500s", r.StatusCode, r.body)
	}
	r = e.moderate(csrf, posts[3].ID, "pin", "Accept", "application/json")
	var j struct{ Error, Message string }
	if err := json.Unmarshal([]byte(r.body), &j); err != nil || r.StatusCode != http.StatusConflict || j.Error != "Only 3 posts can be pinned" {
		t.Errorf("a 4th pin as JSON = %d %q", r.StatusCode, r.body)
	}
	if got := e.decisions(); !slices.Equal(got, before) || e.rebuilds.Load() != moderation.MaxPinned {
		t.Errorf("the refused pin changed something: %v (was %v), %d rebuilds", got, before, e.rebuilds.Load())
	}
	// Unpinning one makes room.
	e.moderate(csrf, posts[0].ID, "unpin")
	if r := e.moderate(csrf, posts[3].ID, "pin"); r.StatusCode != http.StatusSeeOther {
		t.Errorf("pin after unpinning one = %d", r.StatusCode)
	}
}

// An unknown post is a 404 and an unknown action a 400, as a page or as
// JSON; neither is ever a 500, and neither reflects what was sent.
func TestModerateRefusesUnknownPostsAndActions(t *testing.T) {
	e := newEnv(t)
	csrf := e.login()
	id := e.seedPosts(1)[0].ID
	cases := []struct {
		id, action string
		status     int
	}{
		{"17890000000009999", "hide", http.StatusNotFound},
		{"not-a-post", "pin", http.StatusNotFound},
		{strings.Repeat("9", 5000), "show", http.StatusNotFound},
		{"%3Cscript%3E", "unpin", http.StatusNotFound},
		{id, "delete", http.StatusBadRequest},
		{id, "", http.StatusBadRequest},
		{id, "HIDE", http.StatusBadRequest},
		{id, "<script>alert(1)</script>", http.StatusBadRequest},
		{"17890000000009999", "nuke", http.StatusBadRequest},
	}
	for _, c := range cases {
		for _, accept := range []string{"text/html", "application/json"} {
			r := e.moderate(csrf, c.id, c.action, "Accept", accept)
			if r.StatusCode != c.status {
				t.Errorf("%.20s %q (%s) = %d, want %d", c.id, c.action, accept, r.StatusCode, c.status)
			}
			if strings.Contains(r.body, "<script>") || (len(c.id) > 10 && strings.Contains(r.body, c.id)) {
				t.Errorf("%.20s %q (%s) reflects the request:\n%.500s", c.id, c.action, accept, r.body)
			}
		}
	}
	if got := e.decisions(); len(got) != 0 || e.rebuilds.Load() != 0 {
		t.Errorf("refused requests changed something: %v, %d rebuilds", got, e.rebuilds.Load())
	}
}

// A failed rebuild does not undo the change: it is saved and the admin is
// told the gallery catches up at the next sync.
func TestModerateWhenTheRebuildFails(t *testing.T) {
	e := newEnv(t)
	csrf := e.login()
	id := e.seedPosts(2)[0].ID
	fail := errors.New("disk full")
	e.rebuildErr.Store(&fail)
	r := e.moderate(csrf, id, "hide", "Accept", "application/json")
	if r.StatusCode != http.StatusOK || !strings.Contains(r.body, "it will be after the next sync") {
		t.Errorf("hide with a failing rebuild = %d %s", r.StatusCode, r.body)
	}
	if got := e.decisions(); !slices.Equal(got, []string{id + ":hidden"}) {
		t.Errorf("decisions %v", got)
	}
}

// Shown again after its images were deleted, a post needs them back: a
// sync starts.
func TestShowingAPostWhoseImagesWentStartsASync(t *testing.T) {
	e := newEnv(t)
	csrf := e.login()
	id := e.seedPosts(2)[0].ID
	e.moderate(csrf, id, "hide")
	if _, runs := e.jobs.calls(); len(runs) != 0 {
		t.Fatalf("jobs run by hiding: %v", runs)
	}
	if err := e.st.DeleteImages(context.Background(), []string{id}); err != nil { // as the mirror does a week later
		t.Fatal(err)
	}
	if !strings.Contains(e.get("/admin").body, "Hidden just now · images deleted") {
		t.Error("the Posts section does not say the images went")
	}
	r := e.moderate(csrf, id, "show", "Accept", "application/json")
	if _, runs := e.jobs.calls(); !slices.Equal(runs, []string{"sync"}) || !strings.Contains(r.body, "once a sync has fetched them again") {
		t.Errorf("show after the images went: runs %v, answer %s", runs, r.body)
	}
}

func TestHiddenNote(t *testing.T) {
	now := testStart
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
