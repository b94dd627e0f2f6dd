package widget

import (
	"context"
	"strings"
	"testing"

	"vitrine/config"
	"vitrine/store"
)

func intp(n int) *int { return &n }

// detailedPosts are n posts with counts (the second's likes withheld, the
// fourth's both), for the tests of the gallery's details.
func detailedPosts(n int) []store.Post {
	posts := makePosts(n)
	for i := range posts {
		posts[i].LikeCount, posts[i].CommentsCount = intp(1200+i), intp(i*3)
	}
	posts[1].LikeCount = nil
	if n > 3 {
		posts[3].LikeCount, posts[3].CommentsCount = nil, nil
	}
	return posts
}

// withDetails saves a token with a biography and followers, posts with
// counts and their images, before the widget starts.
func withDetails(n int) envOption {
	return func(e *env) {
		err := e.st.SaveToken(context.Background(), store.Token{
			AccessToken: "IGQ-secret", UserID: "17841400000000001", Username: "studio.lumen", Name: "Studio Lumen",
			Biography: "Prints & dyes <b>by hand</b>\nLisbon", FollowersCount: 12345, ExpiresAt: testNow.AddDate(0, 0, 50),
		})
		if err != nil {
			e.t.Fatal(err)
		}
		posts := detailedPosts(n)
		e.replace(posts...)
		e.mirror(posts...)
	}
}

func (e *env) link(postID string, l store.Link) {
	e.t.Helper()
	if _, err := e.st.SetPostLink(context.Background(), postID, l); err != nil {
		e.t.Fatal(err)
	}
}

// /widget.json carries the counts (a withheld one left out, a zero kept),
// the owner's links (their label in the gallery's words when the owner
// gave none) and the account's biography and followers, whatever the
// gallery's display options say.
func TestJSONCountsLinksAndBio(t *testing.T) {
	e := newEnv(t, withDetails(5), withConfig(func(c *config.Config) { c.Widget.Language = "pt" }))
	posts := detailedPosts(5)
	e.link(posts[0].ID, store.Link{URL: "https://shop.example/print", Label: "Buy the print"})
	e.link(posts[2].ID, store.Link{URL: "https://shop.example/dyes"})
	// One the rules refuse (stored by an older release, or by hand): not served.
	e.link(posts[4].ID, store.Link{URL: "javascript:alert(1)"})
	e.rebuild()

	body := e.get("/widget.json").text(t)
	doc := decodeJSON(t, body)
	if a := doc.Account; a == nil || a.Biography != "Prints & dyes <b>by hand</b>\nLisbon" || a.Followers != 12345 {
		t.Errorf("account %+v", doc.Account)
	}
	got := map[string]string{}
	for _, p := range doc.Posts {
		s := countOf(p.LikeCount) + "/" + countOf(p.CommentsCount)
		if p.Link != nil {
			s += " " + p.Link.URL + "|" + p.Link.Label
		}
		got[p.ID] = s
	}
	want := map[string]string{
		posts[0].ID: "1200/0 https://shop.example/print|Buy the print",
		posts[1].ID: "none/3",
		posts[2].ID: "1202/6 https://shop.example/dyes|Comprar",
		posts[3].ID: "none/none",
		posts[4].ID: "1204/12",
	}
	for id, w := range want {
		if got[id] != w {
			t.Errorf("post %s: %q, want %q", id, got[id], w)
		}
	}
	mustNotContain(t, "widget.json", body, "javascript:", `"like_count":null`)
}

func countOf(n *int) string {
	if n == nil {
		return "none"
	}
	return itoa(*n)
}

// With the defaults (counts off, no biography, no links) the gallery
// carries none of the details: no markup, no style, no script. The size
// budget holds for that reason.
func TestDetailsOffCostNothing(t *testing.T) {
	e := newEnv(t, withDetails(6))
	js := e.get("/widget.js").text(t)
	loader, _ := splitJS(t, js)
	if loader != e.w.js || strings.Contains(e.get(StylePath).text(t), ".vitrine-counts") {
		t.Error("a gallery without details got the extras' loader or style")
	}
	for what, s := range map[string]string{"widget.js": js, "page": e.get("/widget").text(t), "fragment": e.get("/widget?fragment=1").text(t)} {
		mustNotContain(t, what, s, "vitrine-counts", "vitrine-bio", "vitrine-shop", "lb-shop", "data-counts", "data-shop-link-on-tile", "12,345", "Lisbon")
	}
	if strings.Contains(e.w.js, "lb-shop") || !strings.Contains(e.w.jsExtras, "lb-shop") {
		t.Error("the extras are not only in the extras' loader")
	}
}

// Counts shown: every tile has its counts (part="counts"), the numbers
// grouped as the language writes them, a withheld count hidden, and a
// post with none shows none.
func TestCountsOnTiles(t *testing.T) {
	for _, mode := range []string{"hover", "below"} {
		t.Run(mode, func(t *testing.T) {
			e := newEnv(t, withDetails(4), withConfig(func(c *config.Config) { c.Widget.Counts = mode; c.Widget.Language = "de" }))
			js := e.get("/widget.js").text(t)
			loader, data := splitJS(t, js)
			if loader != e.w.jsExtras || !strings.Contains(e.get(StylePath).text(t), e.w.cssExtras) {
				t.Fatal("a gallery with counts lacks the extras' loader or style")
			}
			h := data.H
			mustContain(t, "markup", h, ` data-counts="`+mode+`"`,
				`<p class="vitrine-counts" part="counts"><span class="vitrine-likes"><span class="vitrine-sr">Gefällt mir: </span><b>1.200</b></span><span class="vitrine-comments"><span class="vitrine-sr">Kommentare: </span><b>0</b></span></p>`,
				`<span class="vitrine-likes" hidden><span class="vitrine-sr">Gefällt mir: </span><b></b></span><span class="vitrine-comments"><span class="vitrine-sr">Kommentare: </span><b>3</b></span>`,
				`<p class="vitrine-counts" part="counts" hidden>`)
			if n := strings.Count(h, `class="vitrine-counts"`); n != 4 {
				t.Errorf("%d tiles with counts, want 4", n)
			}
			mustNotContain(t, "markup", h, "vitrine-bio", "vitrine-shop", "lb-shop")
			page := markupOf(e.get("/widget?language=en").text(t))
			mustContain(t, "English page", page, "<b>1,200</b>", `<span class="vitrine-sr">Likes: </span>`)
		})
	}
}

// The biography (escaped, as text) and the followers, in the gallery's
// language, under the header.
func TestBioInTheHeader(t *testing.T) {
	e := newEnv(t, withDetails(2), withConfig(func(c *config.Config) { c.Widget.Bio = true; c.Widget.Language = "fr" }))
	h := jsMarkup(t, e.get("/widget.js").text(t))
	mustContain(t, "markup", h, `</header><div class="vitrine-bio" part="bio"><p class="vitrine-bio-t" dir="auto">Prints &amp; dyes &lt;b&gt;by hand&lt;/b&gt;
Lisbon</p><p class="vitrine-fol">12`+"\u202f"+`345 abonnés</p></div>`)
	mustNotContain(t, "markup", h, "<b>by hand</b>", "vitrine-counts")
}

// A post's link: on its tile (hidden unless the owner wants it there),
// a hidden stand-in on the others, and the viewer's button.
func TestShopLinks(t *testing.T) {
	e := newEnv(t, withDetails(3))
	posts := detailedPosts(3)
	e.link(posts[1].ID, store.Link{URL: "https://shop.example/a?b=1&c=2", Label: `Buy "this" <now>`})
	e.rebuild()
	h := jsMarkup(t, e.get("/widget.js").text(t))
	mustContain(t, "markup", h,
		`<a class="vitrine-shop" part="shop" href="https://shop.example/a?b=1&amp;c=2" target="_blank" rel="noopener">Buy &#34;this&#34; &lt;now&gt;</a>`,
		`<a class="vitrine-shop" part="shop" hidden></a>`,
		`<a class="vitrine-lb-shop" part="shop-button" target="_blank" rel="noopener" hidden></a>`)
	if n := strings.Count(h, `class="vitrine-shop"`); n != 3 {
		t.Errorf("%d tiles with a link element, want 3", n)
	}
	mustNotContain(t, "markup", h, `data-shop-link-on-tile`, "vitrine-counts")

	e2 := newEnv(t, withDetails(3), withConfig(func(c *config.Config) { c.Widget.ShopLinkOnTile = true }))
	e2.link(posts[0].ID, store.Link{URL: "https://shop.example/x"})
	e2.rebuild()
	h = jsMarkup(t, e2.get("/widget.js").text(t))
	mustContain(t, "markup on tiles", h, ` data-shop-link-on-tile="true"`, `href="https://shop.example/x" target="_blank" rel="noopener">Shop this</a>`)

	// Removing the last link takes the extras away again.
	e2.link(posts[0].ID, store.Link{})
	e2.rebuild()
	if loader, _ := splitJS(t, e2.get("/widget.js").text(t)); loader != e2.w.js {
		t.Error("a gallery whose links were all removed still gets the extras' loader")
	}
}

// The owner's saved settings (the Appearance page's) turn the details on
// at the next rebuild, and the preview shows them before they are saved.
func TestSavedSettingsShowTheDetails(t *testing.T) {
	e := newEnv(t, withDetails(3))
	if h := jsMarkup(t, e.get("/widget.js").text(t)); strings.Contains(h, "vitrine-counts") || strings.Contains(h, "vitrine-bio") {
		t.Fatal("details shown before any setting asks for them")
	}
	look := e.cfg.Widget.Settings.Clone()
	look.Counts, look.Bio = "hover", true
	page, _, err := e.w.Preview(look)
	if err != nil {
		t.Fatal(err)
	}
	mustContain(t, "the preview", string(page), ` data-counts="hover"`, `class="vitrine-bio"`, ".vitrine-counts{", "lb-shop")
	if err := e.st.SaveGallerySettings(context.Background(), map[string]string{"counts": "below", "bio": "true"}); err != nil {
		t.Fatal(err)
	}
	e.rebuild()
	loader, data := splitJS(t, e.get("/widget.js").text(t))
	if loader != e.w.jsExtras || !strings.Contains(e.get(StylePath).text(t), e.w.cssExtras) {
		t.Error("saved details did not bring their loader and style")
	}
	mustContain(t, "markup after saving", data.H, ` data-counts="below"`, `class="vitrine-bio"`, "<b>1,200</b>")
}

// Every option of the details on stays within the budget of a gallery
// with every option on.
func TestSizeBudgetWithDetails(t *testing.T) {
	e := newEnv(t, withDetails(30), withConfig(func(c *config.Config) {
		w := &c.Widget
		w.Captions, w.Layout, w.Language, w.Counts, w.Bio, w.ShopLinkOnTile = true, "highlight", "pt", "below", true, true
	}))
	for i, p := range detailedPosts(30) {
		if i%2 == 0 {
			e.link(p.ID, store.Link{URL: "https://shop.example/p/" + p.ID, Label: "Ver na loja"})
		}
	}
	e.rebuild()
	r := e.get("/widget.js", "Accept-Encoding", "gzip")
	t.Logf("widget.js with counts, biography and links, 12 of 30 posts: %d B gz (budget %d)", len(r.body), embedBudgetFully)
	if len(r.body) > embedBudgetFully {
		t.Errorf("widget.js with the details is %d B gz, over %d", len(r.body), embedBudgetFully)
	}
	mustContain(t, "measured embed", r.text(t), "vitrine-counts", "vitrine-bio", "lb-shop", "vitrine-more")
}
