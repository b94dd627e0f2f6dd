package admin_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"vitrine/app"
	"vitrine/moderation"
	"vitrine/testkit"
	"vitrine/testkit/testvitrine"
)

func (v *vitrine) moderate(csrf, id, action string, header ...string) testkit.Response {
	v.T.Helper()
	return v.client.Post("/admin/posts/"+id, url.Values{"csrf_token": {csrf}, "action": {action}}, header...)
}

// decisions is the store's moderation as "id:hidden" / "id:pinned".
func (v *vitrine) decisions() []string {
	v.T.Helper()
	ms, err := v.Store.Moderation(context.Background())
	if err != nil {
		v.T.Fatal(err)
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

func (v *vitrine) eventMessages() []string {
	v.T.Helper()
	evs, err := v.Store.Events(context.Background(), 0)
	if err != nil {
		v.T.Fatal(err)
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

// generation is the store's count of changes the gallery shows.
func (v *vitrine) generation() int64 {
	v.T.Helper()
	n, err := v.Store.Generation(context.Background())
	if err != nil {
		v.T.Fatal(err)
	}
	return n
}

// gallery is what a visitor of /widget.json sees: each post's id, and
// whether it is pinned, in order.
func (v *vitrine) gallery() []string {
	v.T.Helper()
	_, body := v.Get("/widget.json")
	var doc struct {
		Posts []struct {
			ID     string `json:"id"`
			Pinned bool   `json:"pinned"`
		} `json:"posts"`
	}
	if err := json.Unmarshal(body, &doc); err != nil {
		v.T.Fatalf("/widget.json: %v", err)
	}
	var out []string
	for _, p := range doc.Posts {
		if p.Pinned {
			out = append(out, p.ID+":pinned")
		} else {
			out = append(out, p.ID)
		}
	}
	return out
}

func TestModeratePostRoundTrip(t *testing.T) {
	v := newVitrine(t, testvitrine.Connected())
	csrf := v.client.SignIn(testPassword)
	posts := v.CachePosts(3)
	id := posts[1].ID
	p0, p2 := posts[0].ID, posts[2].ID

	steps := []struct {
		action    string
		want      []string // decisions afterwards
		flash     string
		unchanged bool
		gallery   []string // what visitors see once the answer came
	}{
		{"hide", []string{id + ":hidden"}, "Post hidden.", false, []string{p0, p2}},
		{"hide", []string{id + ":hidden"}, "It was hidden already.", true, []string{p0, p2}},
		{"show", nil, "It is back in your gallery.", false, []string{p0, id, p2}},
		{"pin", []string{id + ":pinned"}, "It now comes first in your gallery.", false, []string{id + ":pinned", p0, p2}},
		{"unpin", nil, "It takes its place by date again.", false, []string{p0, id, p2}},
		{"unpin", nil, "It was not pinned.", true, []string{p0, id, p2}},
	}
	changes, generation := 0, v.generation()
	for _, s := range steps {
		r := v.moderate(csrf, id, s.action)
		if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/admin#posts" {
			t.Fatalf("%s = %d %q, want 303 to /admin#posts:\n%.500s", s.action, r.StatusCode, r.Header.Get("Location"), r.Text)
		}
		if got := v.decisions(); !slices.Equal(got, s.want) {
			t.Errorf("after %s: %v, want %v", s.action, got, s.want)
		}
		if !s.unchanged {
			changes++
		}
		if n := v.generation() - generation; n != int64(changes) {
			t.Errorf("after %s: the gallery changed %d times, want %d", s.action, n, changes)
		}
		// The gallery was rebuilt before the answer: visitors see it now.
		if got := v.gallery(); !slices.Equal(got, s.gallery) {
			t.Errorf("after %s visitors see %v, want %v", s.action, got, s.gallery)
		}
		// The notice shows in the Posts section, where the browser lands.
		dash := v.client.Get("/admin").Text
		section := dash[strings.Index(dash, `id="posts"`):]
		if !strings.Contains(section, s.flash) {
			t.Errorf("after %s the Posts section does not say %q", s.action, s.flash)
		}
	}
	caption := "(“Post number 1 from the studio #tag”)"
	want := []string{"Hid post " + id + " " + caption + ".", "Showed post " + id + " " + caption + ".",
		"Pinned post " + id + " " + caption + ".", "Unpinned post " + id + " " + caption + "."}
	if got := v.eventMessages(); !slices.Equal(got, want) {
		t.Errorf("audit log:\n%q\nwant\n%q", got, want)
	}

	// Scripts ask for JSON.
	r := v.moderate(csrf, id, "pin", "Accept", "application/json")
	var j struct {
		OK, Changed bool
		Message     string
		Post        struct {
			ID             string
			Hidden, Pinned bool
		}
	}
	if err := json.Unmarshal([]byte(r.Text), &j); err != nil || r.StatusCode != http.StatusOK ||
		!j.OK || !j.Changed || j.Post.ID != id || !j.Post.Pinned || j.Post.Hidden || j.Message == "" {
		t.Errorf("pin as JSON = %d %+v (%v)", r.StatusCode, j, err)
	}
}

// The Posts section lists the cached posts with their mirrored thumbnails,
// pinned first, hidden ones marked, and says how long a hidden post's
// images stay.
func TestDashboardPostsSection(t *testing.T) {
	v := newVitrine(t)
	csrf := v.client.SignIn(testPassword)
	if strings.Contains(v.client.Get("/admin").Text, `id="posts"`) {
		t.Error("a Posts section with nothing connected or cached")
	}
	posts := v.CachePosts(4)
	v.moderate(csrf, posts[2].ID, "pin")
	v.moderate(csrf, posts[3].ID, "pin")
	v.moderate(csrf, posts[0].ID, "hide")
	v.Clock.Advance(2 * 24 * time.Hour)
	csrf = v.client.SignIn(testPassword)
	dash := v.client.Get("/admin").Text
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
	v := newVitrine(t)
	csrf := v.client.SignIn(testPassword)
	id := v.CachePosts(1)[0].ID
	generation := v.generation()
	for name, r := range map[string]testkit.Response{
		"no token":    v.client.Post("/admin/posts/"+id, url.Values{"action": {"hide"}}),
		"wrong token": v.moderate(csrf+"x", id, "hide"),
		"other site":  v.moderate(csrf, id, "hide", "Origin", "https://evil.example"),
		"no session":  v.Browser().Post("/admin/posts/"+id, url.Values{"action": {"hide"}, "csrf_token": {csrf}}),
	} {
		if r.StatusCode != http.StatusForbidden {
			t.Errorf("%s: %d, want 403", name, r.StatusCode)
		}
	}
	if got := v.decisions(); len(got) != 0 || v.generation() != generation || len(v.eventMessages()) != 0 {
		t.Errorf("refused requests changed something: %v, %d changes, events %v", got, v.generation()-generation, v.eventMessages())
	}
	if r := v.moderate(csrf, id, "hide", "X-CSRF-Token", csrf); r.StatusCode != http.StatusSeeOther {
		t.Errorf("with the token: %d", r.StatusCode)
	}
}

func TestPinLimitRefusesAFourth(t *testing.T) {
	v := newVitrine(t)
	csrf := v.client.SignIn(testPassword)
	posts := v.CachePosts(5)
	generation := v.generation()
	for _, p := range posts[:moderation.MaxPinned] {
		if r := v.moderate(csrf, p.ID, "pin"); r.StatusCode != http.StatusSeeOther {
			t.Fatalf("pin %s = %d", p.ID, r.StatusCode)
		}
	}
	before := v.decisions()
	r := v.moderate(csrf, posts[3].ID, "pin")
	if r.StatusCode != http.StatusConflict || !strings.Contains(r.Text, "Only 3 posts can be pinned") ||
		!strings.Contains(r.Text, "Unpin one of the pinned posts first") {
		t.Errorf("a 4th pin = %d:\n%.1500s", r.StatusCode, r.Text)
	}
	r = v.moderate(csrf, posts[3].ID, "pin", "Accept", "application/json")
	var j struct{ Error, Message string }
	if err := json.Unmarshal([]byte(r.Text), &j); err != nil || r.StatusCode != http.StatusConflict || j.Error != "Only 3 posts can be pinned" {
		t.Errorf("a 4th pin as JSON = %d %q", r.StatusCode, r.Text)
	}
	if got := v.decisions(); !slices.Equal(got, before) || v.generation() != generation+moderation.MaxPinned {
		t.Errorf("the refused pin changed something: %v (was %v), %d changes", got, before, v.generation()-generation)
	}
	// Unpinning one makes room.
	v.moderate(csrf, posts[0].ID, "unpin")
	if r := v.moderate(csrf, posts[3].ID, "pin"); r.StatusCode != http.StatusSeeOther {
		t.Errorf("pin after unpinning one = %d", r.StatusCode)
	}
}

// An unknown post is a 404 and an unknown action a 400, as a page or as
// JSON; neither is ever a 500, and neither reflects what was sent.
func TestModerateRefusesUnknownPostsAndActions(t *testing.T) {
	v := newVitrine(t)
	csrf := v.client.SignIn(testPassword)
	id := v.CachePosts(1)[0].ID
	generation := v.generation()
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
			r := v.moderate(csrf, c.id, c.action, "Accept", accept)
			if r.StatusCode != c.status {
				t.Errorf("%.20s %q (%s) = %d, want %d", c.id, c.action, accept, r.StatusCode, c.status)
			}
			if strings.Contains(r.Text, "<script>") || (len(c.id) > 10 && strings.Contains(r.Text, c.id)) {
				t.Errorf("%.20s %q (%s) reflects the request:\n%.500s", c.id, c.action, accept, r.Text)
			}
		}
	}
	if got := v.decisions(); len(got) != 0 || v.generation() != generation {
		t.Errorf("refused requests changed something: %v, %d changes", got, v.generation()-generation)
	}
}

// A failed rebuild does not undo the change: it is saved and the admin is
// told the gallery catches up at the next sync.
func TestModerateWhenTheRebuildFails(t *testing.T) {
	v := newVitrine(t)
	b := serveAdmin(t, v, failingRebuild{v.App, errors.New("disk full")}, v.Jobs)
	csrf := b.SignIn(testPassword)
	id := v.CachePosts(2)[0].ID
	r := b.Post("/admin/posts/"+id, url.Values{"csrf_token": {csrf}, "action": {"hide"}}, "Accept", "application/json")
	if r.StatusCode != http.StatusOK || !strings.Contains(r.Text, "it will be after the next sync") {
		t.Errorf("hide with a failing rebuild = %d %s", r.StatusCode, r.Text)
	}
	if got := v.decisions(); !slices.Equal(got, []string{id + ":hidden"}) {
		t.Errorf("decisions %v", got)
	}
}

// failingRebuild is the app's operations, but for a gallery whose rebuild
// fails after the decision was saved: a fault the served app cannot be
// brought to, its rebuild reading the store the decision was just saved in.
type failingRebuild struct {
	*app.App
	err error
}

func (f failingRebuild) Moderate(ctx context.Context, postID string, action moderation.Action) (bool, error) {
	changed, err := f.App.Moderate(ctx, postID, action)
	if err == nil && changed {
		return true, fmt.Errorf("%w: %w", moderation.ErrNotShownYet, f.err)
	}
	return changed, err
}

// Shown again after its images were deleted, a post needs them back: a
// sync starts.
func TestShowingAPostWhoseImagesWentStartsASync(t *testing.T) {
	v := newVitrine(t, testvitrine.Connected())
	csrf := v.client.SignIn(testPassword)
	id := v.CachePosts(2)[0].ID
	v.moderate(csrf, id, "hide")
	if n := v.Fake.CallsTo("/me/media"); n != 0 {
		t.Fatalf("a sync read the feed %d times after hiding", n)
	}
	if err := v.Store.DeleteImages(context.Background(), []string{id}); err != nil { // as the mirror does a week later
		t.Fatal(err)
	}
	if !strings.Contains(v.client.Get("/admin").Text, "Hidden just now · images deleted") {
		t.Error("the Posts section does not say the images went")
	}
	r := v.moderate(csrf, id, "show", "Accept", "application/json")
	if !strings.Contains(r.Text, "once a sync has fetched them again") {
		t.Errorf("show after the images went: answer %s", r.Text)
	}
	v.syncRuns(1)
}

// A hidden post's pictures are no longer public, but the owner still sees
// what they hid: the Posts section shows its thumbnail from an admin
// route, to the signed-in owner only.
func TestHiddenPostsThumbnailIsTheOwnersOnly(t *testing.T) {
	v := newVitrine(t)
	csrf := v.client.SignIn(testPassword)
	posts := v.CachePosts(2)
	hidden, shown := posts[0].ID, posts[1].ID
	v.moderate(csrf, hidden, "hide")

	dash := v.client.Get("/admin").Text
	thumb := "/admin/posts/" + hidden + "/thumb"
	for _, s := range []string{`<img src="` + thumb + `"`, `<img src="/media/` + shown + `/320.jpg"`} {
		if !strings.Contains(dash, s) {
			t.Errorf("the Posts section lacks %q", s)
		}
	}
	if r := v.client.Get("/media/" + hidden + "/320.jpg"); r.StatusCode != http.StatusNotFound {
		t.Errorf("the hidden post's public picture: %d, want 404", r.StatusCode)
	}
	want, err := os.ReadFile(filepath.Join(v.Config.MediaDir(), hidden, "320.jpg"))
	if err != nil {
		t.Fatal(err)
	}
	r := v.client.Get(thumb)
	if r.StatusCode != http.StatusOK || r.Text != string(want) || r.Header.Get("Content-Type") != "image/jpeg" ||
		!strings.HasPrefix(r.Header.Get("Cache-Control"), "private") {
		t.Errorf("the thumbnail, signed in: %d, %d bytes (want %d), %q, %q", r.StatusCode, len(r.Text), len(want),
			r.Header.Get("Content-Type"), r.Header.Get("Cache-Control"))
	}
	if r := v.client.Get(thumb, "Range", "bytes=0-0,2-2"); r.StatusCode != http.StatusOK || r.Text != string(want) {
		t.Errorf("the thumbnail with two ranges: %d, %d bytes; want the whole file", r.StatusCode, len(r.Text))
	}
	if r := v.client.Get("/admin/posts/17890000000009999/thumb"); r.StatusCode != http.StatusNotFound {
		t.Errorf("the thumbnail of a post never mirrored: %d, want 404", r.StatusCode)
	}
	if r := v.Browser().Get(thumb); r.StatusCode == http.StatusOK || r.Text == string(want) {
		t.Errorf("the thumbnail, signed out: %d", r.StatusCode)
	}
}
