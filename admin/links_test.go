package admin_test

import (
	"context"
	"encoding/json"
	"html"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"vitrine/testkit"
	"vitrine/testkit/testvitrine"
)

func (v *vitrine) setLink(csrf, id, action, rawURL, label string, header ...string) testkit.Response {
	v.T.Helper()
	return v.client.Post("/admin/posts/"+id+"/link", url.Values{"csrf_token": {csrf}, "action": {action}, "url": {rawURL}, "label": {label}}, header...)
}

// linkOf is the post's link on record, "url|label", "" when none.
func (v *vitrine) linkOf(id string) string {
	v.T.Helper()
	ms, err := v.Store.Moderation(context.Background())
	if err != nil {
		v.T.Fatal(err)
	}
	for _, m := range ms {
		if m.PostID == id && m.HasLink() {
			return m.Link.URL + "|" + m.Link.Label
		}
	}
	return ""
}

// galleryLinks is each post's link in /widget.json as visitors get it:
// "url|label".
func (v *vitrine) galleryLinks() map[string]string {
	v.T.Helper()
	_, body := v.Get("/widget.json")
	var doc struct {
		Posts []struct {
			ID   string `json:"id"`
			Link *struct {
				URL   string `json:"url"`
				Label string `json:"label"`
			} `json:"link"`
		} `json:"posts"`
	}
	if err := json.Unmarshal(body, &doc); err != nil {
		v.T.Fatalf("/widget.json: %v", err)
	}
	out := map[string]string{}
	for _, p := range doc.Posts {
		if p.Link != nil {
			out[p.ID] = p.Link.URL + "|" + p.Link.Label
		}
	}
	return out
}

// card is the post's card in the dashboard's Posts section.
func (v *vitrine) card(id string) string {
	v.T.Helper()
	dash := v.client.Get("/admin").Text
	start := strings.Index(dash, `data-post="`+id+`"`)
	if start < 0 {
		v.T.Fatalf("no card for %s:\n%.3000s", id, dash)
	}
	card := dash[start:]
	return card[:strings.Index(card, "</li>")]
}

// The owner sets, changes and removes a post's link with the card's form;
// each change is saved, logged and in the gallery before the answer, and
// the card shows what is saved.
func TestPostLinkRoundTrip(t *testing.T) {
	v := newVitrine(t, testvitrine.Connected()) // the gallery shows the cached posts
	csrf := v.client.SignIn(testPassword)
	posts := v.CachePosts(3)
	id := posts[1].ID
	generation := v.generation()

	card := v.card(id)
	for _, s := range []string{`action="/admin/posts/` + id + `/link"`, `name="url"`, `name="label"`, `placeholder="Shop this"`,
		`name="csrf_token" value="` + csrf + `"`, "Add a link", `value="save"`} {
		if !strings.Contains(card, s) {
			t.Errorf("a card without a link lacks %q", s)
		}
	}
	if strings.Contains(card, `value="remove"`) {
		t.Error("a card without a link offers to remove one")
	}

	r := v.setLink(csrf, id, "save", "https://shop.example/mug?size=L&color=blue", "Buy the mug")
	if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/admin#post-"+id {
		t.Fatalf("save = %d %q, want 303 to the post:\n%.500s", r.StatusCode, r.Header.Get("Location"), r.Text)
	}
	if got := v.linkOf(id); got != "https://shop.example/mug?size=L&color=blue|Buy the mug" {
		t.Errorf("saved %q", got)
	}
	if n := v.generation() - generation; n != 1 {
		t.Errorf("the gallery changed %d times after saving, want 1", n)
	}
	// The gallery was rebuilt before the answer: visitors see it now.
	if got := v.galleryLinks(); len(got) != 1 || got[id] != "https://shop.example/mug?size=L&color=blue|Buy the mug" {
		t.Errorf("after saving visitors see links %v", got)
	}
	if dash := v.client.Get("/admin").Text; !strings.Contains(dash, "Link saved.") {
		t.Error("the dashboard does not say the link was saved")
	}
	card = v.card(id)
	for _, s := range []string{`value="https://shop.example/mug?size=L&amp;color=blue"`, `value="Buy the mug"`,
		`<span class="post-link-words">Buy the mug</span>`, `value="remove"`} {
		if !strings.Contains(card, s) {
			t.Errorf("the card with a link lacks %q", s)
		}
	}

	// The same again changes nothing and says so; JSON for the script.
	r = v.setLink(csrf, id, "save", "https://shop.example/mug?size=L&color=blue", "Buy the mug", "Accept", "application/json")
	var j struct {
		OK, Changed bool
		Message     string
	}
	if err := json.Unmarshal([]byte(r.Text), &j); err != nil || r.StatusCode != http.StatusOK || !j.OK || j.Changed || j.Message == "" {
		t.Errorf("the same link as JSON = %d %+v (%v)", r.StatusCode, j, err)
	}
	if n := v.generation() - generation; n != 1 {
		t.Errorf("the gallery changed %d times after an unchanged link, want 1", n)
	}

	r = v.setLink(csrf, id, "remove", "https://ignored.example/", "")
	if r.StatusCode != http.StatusSeeOther || v.linkOf(id) != "" {
		t.Fatalf("remove = %d, link now %q", r.StatusCode, v.linkOf(id))
	}
	if got := v.galleryLinks(); len(got) != 0 {
		t.Errorf("after removing visitors see links %v", got)
	}
	if dash := v.client.Get("/admin").Text; !strings.Contains(dash, "Link removed.") {
		t.Error("the dashboard does not say the link was removed")
	}
	if got := v.eventMessages(); len(got) != 2 || !strings.Contains(got[0], "https://shop.example/mug") {
		t.Errorf("activity log: %q", got)
	}
}

// A refused link changes nothing: the link saved stays, the dashboard says
// why next to the form, which still holds what was typed; as JSON, a 400
// naming the field. Never a 500.
func TestPostLinkRefused(t *testing.T) {
	v := newVitrine(t)
	csrf := v.client.SignIn(testPassword)
	id := v.CachePosts(2)[0].ID
	v.setLink(csrf, id, "save", "https://shop.example/ok", "")
	before := v.generation()

	for _, c := range []struct{ url, label, field, says string }{
		{"javascript:alert(document.cookie)", "Shop", "url", "Only web addresses starting with https:// or http://"},
		{`data:text/html,<script>alert("x")</script>`, "", "url", "Only web addresses"},
		{"shop.example/mug", "", "url", "Only web addresses"},
		{"https://user:secret@shop.example/", "", "url", "user name or password"},
		{"https://shop.example/new", strings.Repeat("Buy now ", 6), "label", "at most 40 characters"},
	} {
		r := v.setLink(csrf, id, "save", c.url, c.label)
		if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/admin#post-"+id {
			t.Fatalf("%q = %d %q", c.url, r.StatusCode, r.Header.Get("Location"))
		}
		if got := v.linkOf(id); got != "https://shop.example/ok|" {
			t.Fatalf("after refusing %q the link is %q", c.url, got)
		}
		dash := v.client.Get("/admin").Text
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
		if card := v.card(id); strings.Contains(card, `aria-invalid`) || !strings.Contains(card, `value="https://shop.example/ok"`) {
			t.Errorf("%q: the draft outlived its page", c.url)
		}

		r = v.setLink(csrf, id, "save", c.url, c.label, "Accept", "application/json")
		var j struct{ Error, Message, Field string }
		if err := json.Unmarshal([]byte(r.Text), &j); err != nil || r.StatusCode != http.StatusBadRequest ||
			j.Error != "Link not saved" || j.Field != c.field || !strings.Contains(j.Message, c.says) {
			t.Errorf("%q as JSON = %d %+v (%v)", c.url, r.StatusCode, j, err)
		}
	}
	if v.generation() != before {
		t.Error("a refused link changed the gallery")
	}

	// Unknown posts and actions are clear errors too.
	if r := v.setLink(csrf, "17999999999999999", "save", "https://shop.example/", ""); r.StatusCode != http.StatusNotFound {
		t.Errorf("an unknown post = %d, want 404", r.StatusCode)
	}
	if r := v.setLink(csrf, strings.Repeat("9", 200), "save", "https://shop.example/", ""); r.StatusCode != http.StatusNotFound {
		t.Errorf("an overlong id = %d, want 404", r.StatusCode)
	}
	if r := v.setLink(csrf, id, "promote", "https://shop.example/", ""); r.StatusCode != http.StatusBadRequest {
		t.Errorf("an unknown action = %d, want 400", r.StatusCode)
	}
	// A megabyte of address is refused, as a request too large or a link
	// too long, never a server error.
	huge := "https://shop.example/" + strings.Repeat("a", 1<<20)
	if r := v.setLink(csrf, id, "save", huge, ""); r.StatusCode >= 500 || r.StatusCode < 300 {
		t.Errorf("a megabyte of address = %d", r.StatusCode)
	}
	if got := v.linkOf(id); got != "https://shop.example/ok|" {
		t.Errorf("after the errors the link is %q", got)
	}
}

// Like every admin POST, the link's form needs the session's CSRF token.
func TestPostLinkNeedsCSRF(t *testing.T) {
	v := newVitrine(t)
	csrf := v.client.SignIn(testPassword)
	id := v.CachePosts(1)[0].ID
	for name, r := range map[string]testkit.Response{
		"no token":    v.client.Post("/admin/posts/"+id+"/link", url.Values{"action": {"save"}, "url": {"https://evil.example/"}}),
		"wrong token": v.setLink(csrf+"x", id, "save", "https://evil.example/", ""),
		"other site":  v.setLink(csrf, id, "save", "https://evil.example/", "", "Origin", "https://evil.example"),
	} {
		if r.StatusCode != http.StatusForbidden {
			t.Errorf("%s: %d, want 403", name, r.StatusCode)
		}
	}
	if got := v.linkOf(id); got != "" {
		t.Errorf("a forged request saved %q", got)
	}
	// Signed out, nothing either.
	if r := v.Browser().Post("/admin/posts/"+id+"/link", url.Values{"action": {"save"}, "url": {"https://evil.example/"}}); r.StatusCode < 300 {
		t.Errorf("signed out: %d", r.StatusCode)
	}
	if got := v.linkOf(id); got != "" {
		t.Errorf("a signed-out request saved %q", got)
	}
}
