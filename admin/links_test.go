package admin

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"html"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"vitrine/moderation"
	"vitrine/store"
)

// SetPostLink checks and saves the link as the app does, logs it, then
// counts the gallery's rebuild (which fails with rebuildErr when set).
func (o operations) SetPostLink(ctx context.Context, postID, rawURL, label string) (bool, error) {
	var link store.Link
	if strings.TrimSpace(rawURL) != "" {
		var err error
		if link, err = moderation.CheckLink(rawURL, label); err != nil {
			return false, err
		}
	}
	changed, err := o.e.st.SetPostLink(ctx, postID, link)
	if err != nil || !changed {
		return changed, err
	}
	if err := o.e.st.AddEvent(ctx, "moderation", store.LevelInfo, "Linked post "+postID+" to "+cmp.Or(link.URL, "nothing")); err != nil {
		return true, err
	}
	o.e.rebuilds.Add(1)
	if err := o.e.rebuildErr.Load(); err != nil {
		return true, fmt.Errorf("%w: %w", moderation.ErrNotShownYet, *err)
	}
	return true, nil
}

func (e *env) setLink(csrf, id, action, rawURL, label string, header ...string) response {
	e.t.Helper()
	return e.post("/admin/posts/"+id+"/link", url.Values{"csrf_token": {csrf}, "action": {action}, "url": {rawURL}, "label": {label}}, header...)
}

// linkOf is the post's link on record, "url|label", "" when none.
func (e *env) linkOf(id string) string {
	e.t.Helper()
	ms, err := e.st.Moderation(context.Background())
	if err != nil {
		e.t.Fatal(err)
	}
	for _, m := range ms {
		if m.PostID == id && m.HasLink() {
			return m.Link.URL + "|" + m.Link.Label
		}
	}
	return ""
}

// card is the post's card in the dashboard's Posts section.
func (e *env) card(id string) string {
	e.t.Helper()
	dash := e.get("/admin").body
	start := strings.Index(dash, `data-post="`+id+`"`)
	if start < 0 {
		e.t.Fatalf("no card for %s:\n%.3000s", id, dash)
	}
	card := dash[start:]
	return card[:strings.Index(card, "</li>")]
}

// The owner sets, changes and removes a post's link with the card's form;
// each change is saved, logged and rebuilds the gallery, and the card
// shows what is saved.
func TestPostLinkRoundTrip(t *testing.T) {
	e := newEnv(t)
	csrf := e.login()
	posts := e.seedPosts(3)
	id := posts[1].ID

	card := e.card(id)
	for _, s := range []string{`action="/admin/posts/` + id + `/link"`, `name="url"`, `name="label"`, `placeholder="Shop this"`,
		`name="csrf_token" value="` + csrf + `"`, "Add a link", `value="save"`} {
		if !strings.Contains(card, s) {
			t.Errorf("a card without a link lacks %q", s)
		}
	}
	if strings.Contains(card, `value="remove"`) {
		t.Error("a card without a link offers to remove one")
	}

	r := e.setLink(csrf, id, "save", "https://shop.example/mug?size=L&color=blue", "Buy the mug")
	if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/admin#post-"+id {
		t.Fatalf("save = %d %q, want 303 to the post:\n%.500s", r.StatusCode, r.Header.Get("Location"), r.body)
	}
	if got := e.linkOf(id); got != "https://shop.example/mug?size=L&color=blue|Buy the mug" {
		t.Errorf("saved %q", got)
	}
	if n := e.rebuilds.Load(); n != 1 {
		t.Errorf("%d rebuilds after saving, want 1", n)
	}
	if dash := e.get("/admin").body; !strings.Contains(dash, "Link saved.") {
		t.Error("the dashboard does not say the link was saved")
	}
	card = e.card(id)
	for _, s := range []string{`value="https://shop.example/mug?size=L&amp;color=blue"`, `value="Buy the mug"`,
		`<span class="post-link-words">Buy the mug</span>`, `value="remove"`} {
		if !strings.Contains(card, s) {
			t.Errorf("the card with a link lacks %q", s)
		}
	}

	// The same again changes nothing and says so; JSON for the script.
	r = e.setLink(csrf, id, "save", "https://shop.example/mug?size=L&color=blue", "Buy the mug", "Accept", "application/json")
	var j struct {
		OK, Changed bool
		Message     string
	}
	if err := json.Unmarshal([]byte(r.body), &j); err != nil || r.StatusCode != http.StatusOK || !j.OK || j.Changed || j.Message == "" {
		t.Errorf("the same link as JSON = %d %+v (%v)", r.StatusCode, j, err)
	}
	if n := e.rebuilds.Load(); n != 1 {
		t.Errorf("%d rebuilds after an unchanged link, want 1", n)
	}

	r = e.setLink(csrf, id, "remove", "https://ignored.example/", "")
	if r.StatusCode != http.StatusSeeOther || e.linkOf(id) != "" {
		t.Fatalf("remove = %d, link now %q", r.StatusCode, e.linkOf(id))
	}
	if dash := e.get("/admin").body; !strings.Contains(dash, "Link removed.") {
		t.Error("the dashboard does not say the link was removed")
	}
	if got := e.eventMessages(); len(got) != 2 || !strings.Contains(got[0], "https://shop.example/mug") {
		t.Errorf("activity log: %q", got)
	}
}

// A refused link changes nothing: the link saved stays, the dashboard says
// why next to the form, which still holds what was typed; as JSON, a 400
// naming the field. Never a 500.
func TestPostLinkRefused(t *testing.T) {
	e := newEnv(t)
	csrf := e.login()
	id := e.seedPosts(2)[0].ID
	e.setLink(csrf, id, "save", "https://shop.example/ok", "")
	before := e.rebuilds.Load()

	for _, c := range []struct{ url, label, field, says string }{
		{"javascript:alert(document.cookie)", "Shop", "url", "Only web addresses starting with https:// or http://"},
		{`data:text/html,<script>alert("x")</script>`, "", "url", "Only web addresses"},
		{"shop.example/mug", "", "url", "Only web addresses"},
		{"https://user:secret@shop.example/", "", "url", "user name or password"},
		{"https://shop.example/new", strings.Repeat("Buy now ", 6), "label", "at most 40 characters"},
	} {
		r := e.setLink(csrf, id, "save", c.url, c.label)
		if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/admin#post-"+id {
			t.Fatalf("%q = %d %q", c.url, r.StatusCode, r.Header.Get("Location"))
		}
		if got := e.linkOf(id); got != "https://shop.example/ok|" {
			t.Fatalf("after refusing %q the link is %q", c.url, got)
		}
		dash := e.get("/admin").body
		section := dash[strings.Index(dash, `id="posts"`):]
		if !strings.Contains(section, "Link not saved.") || !strings.Contains(html.UnescapeString(section), c.says) {
			t.Errorf("%q: the Posts section does not say why (%q)", c.url, c.says)
		}
		card := dash[strings.Index(dash, `data-post="`+id+`"`):]
		card = card[:strings.Index(card, "</li>")]
		if !strings.Contains(card, `<details class="post-link" open>`) ||
			!strings.Contains(card, `value="`+html.EscapeString(strings.TrimSpace(c.url))+`"`) ||
			!strings.Contains(card, `id="post-`+id+`-`+c.field+`"`) ||
			!strings.Contains(card, `aria-invalid="true" aria-describedby="post-`+id+`-err"`) ||
			!strings.Contains(html.UnescapeString(card), c.says) {
			t.Errorf("%q: the form does not hold what was typed, marked:\n%s", c.url, card)
		}
		if strings.Count(card, `aria-invalid`) != 1 || !strings.Contains(card[strings.Index(card, `id="post-`+id+`-`+c.field+`"`):], `aria-invalid`) {
			t.Errorf("%q: not the %s field marked", c.url, c.field)
		}
		// Once shown, the draft goes: the next page shows what is saved.
		if card := e.card(id); strings.Contains(card, `aria-invalid`) || !strings.Contains(card, `value="https://shop.example/ok"`) {
			t.Errorf("%q: the draft outlived its page", c.url)
		}

		r = e.setLink(csrf, id, "save", c.url, c.label, "Accept", "application/json")
		var j struct{ Error, Message, Field string }
		if err := json.Unmarshal([]byte(r.body), &j); err != nil || r.StatusCode != http.StatusBadRequest ||
			j.Error != "Link not saved" || j.Field != c.field || !strings.Contains(j.Message, c.says) {
			t.Errorf("%q as JSON = %d %+v (%v)", c.url, r.StatusCode, j, err)
		}
	}
	if e.rebuilds.Load() != before {
		t.Error("a refused link rebuilt the gallery")
	}

	// Unknown posts and actions are clear errors too.
	if r := e.setLink(csrf, "17999999999999999", "save", "https://shop.example/", ""); r.StatusCode != http.StatusNotFound {
		t.Errorf("an unknown post = %d, want 404", r.StatusCode)
	}
	if r := e.setLink(csrf, strings.Repeat("9", 200), "save", "https://shop.example/", ""); r.StatusCode != http.StatusNotFound {
		t.Errorf("an overlong id = %d, want 404", r.StatusCode)
	}
	if r := e.setLink(csrf, id, "promote", "https://shop.example/", ""); r.StatusCode != http.StatusBadRequest {
		t.Errorf("an unknown action = %d, want 400", r.StatusCode)
	}
	// A megabyte of address is refused, as a request too large or a link
	// too long, never a server error.
	huge := "https://shop.example/" + strings.Repeat("a", 1<<20)
	if r := e.setLink(csrf, id, "save", huge, ""); r.StatusCode >= 500 || r.StatusCode < 300 {
		t.Errorf("a megabyte of address = %d", r.StatusCode)
	}
	if got := e.linkOf(id); got != "https://shop.example/ok|" {
		t.Errorf("after the errors the link is %q", got)
	}
}

// Like every admin POST, the link's form needs the session's CSRF token.
func TestPostLinkNeedsCSRF(t *testing.T) {
	e := newEnv(t)
	csrf := e.login()
	id := e.seedPosts(1)[0].ID
	for name, r := range map[string]response{
		"no token":    e.post("/admin/posts/"+id+"/link", url.Values{"action": {"save"}, "url": {"https://evil.example/"}}),
		"wrong token": e.setLink(csrf+"x", id, "save", "https://evil.example/", ""),
		"other site":  e.setLink(csrf, id, "save", "https://evil.example/", "", "Origin", "https://evil.example"),
	} {
		if r.StatusCode != http.StatusForbidden {
			t.Errorf("%s: %d, want 403", name, r.StatusCode)
		}
	}
	if got := e.linkOf(id); got != "" {
		t.Errorf("a forged request saved %q", got)
	}
	// Signed out, nothing either.
	other := e.newClient()
	if r := e.postWith(other, "/admin/posts/"+id+"/link", url.Values{"action": {"save"}, "url": {"https://evil.example/"}}); r.StatusCode < 300 {
		t.Errorf("signed out: %d", r.StatusCode)
	}
	if got := e.linkOf(id); got != "" {
		t.Errorf("a signed-out request saved %q", got)
	}
}
