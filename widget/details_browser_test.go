package widget

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"vitrine/config"
	"vitrine/store"
	"vitrine/testkit"
)

// The details in a real browser, embedded on another origin: the tiles
// show their counts (none where Instagram withheld them), the header the
// biography, and the viewer a post's link as its button, for the posts
// of the first page and for those Load more brings.
func TestBrowserCountsBioAndShopButton(t *testing.T) {
	testkit.SkipIfShort(t, "drives Chromium")
	ctx := browser(t)
	posts := detailedPosts(9)
	e := newEnv(t, func(e *env) {
		withDetails(9)(e)
		e.mirrorTinted(posts...)
		e.link(posts[0].ID, store.Link{URL: "https://shop.example/print", Label: "Buy the print"})
		e.link(posts[7].ID, store.Link{URL: "https://shop.example/late"}) // beyond the first page
	}, withConfig(func(c *config.Config) {
		c.Widget.Count, c.Widget.Counts, c.Widget.Bio = 6, "below", true
	}))
	host := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, hostPage, `<script src="`+e.base+`/widget.js" async></script>`)
	}))
	t.Cleanup(host.Close)

	var wt watcher
	wt.listen(t, ctx)
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(1000, 1100), chromedp.Navigate(host.URL)); err != nil {
		t.Fatal(err)
	}
	wait(t, ctx, "the gallery", `document.querySelector('[data-vitrine-on]') && `+sr+`.querySelectorAll('.vitrine-item img').length === 6`)

	// visible is the text of what is drawn of el, "" when nothing is.
	visible := func(el string) string {
		t.Helper()
		return eval[string](t, ctx, `(() => { const el = `+el+`; if (!el) return ''; const r = el.getBoundingClientRect(), s = getComputedStyle(el);
			return r.width > 0 && r.height > 0 && s.visibility != 'hidden' && s.opacity > 0 ? el.innerText.replace(/\s+/g, ' ').trim() : '' })()`)
	}
	tile := func(i int, part string) string {
		return sr + `.querySelectorAll('.vitrine-item')[` + itoa(i) + `].querySelector('.vitrine-` + part + `')`
	}
	if got := visible(tile(0, "counts")); got != "Likes: 1,200 Comments: 0" {
		t.Errorf("first tile's counts show %q", got)
	}
	if got := visible(tile(1, "counts")); got != "Comments: 3" {
		t.Errorf("withheld likes: the tile shows %q, want only its comments", got)
	}
	if got := visible(tile(3, "counts")); got != "" {
		t.Errorf("both counts withheld: the tile shows %q, want nothing", got)
	}
	if got := visible(sr + `.querySelector('.vitrine-bio')`); got != "Prints & dyes <b>by hand</b> Lisbon 12,345 followers" {
		t.Errorf("the header's biography shows %q", got)
	}
	if got := visible(tile(0, "shop")); got != "" {
		t.Errorf("the link shows on the tile (%q) without shop_link_on_tile", got)
	}
	dir := screenshotDir(t)
	shot(t, ctx, dir, "widget-counts-bio.png")

	// The viewer: the first post's link is its button; the next post has
	// none, so neither has the viewer.
	button := sr + `.querySelector('.vitrine-lb-shop')`
	if err := chromedp.Do(ctx, chromedp.Evaluate[chromedp.Void](sr+`.querySelectorAll('.vitrine-link')[0].click()`)); err != nil {
		t.Fatal(err)
	}
	wait(t, ctx, "the lightbox", sr+`.querySelector('.vitrine-lb').open && `+sr+`.querySelector('.vitrine-lb-img').complete`)
	if got := visible(button); got != "Buy the print" || eval[string](t, ctx, button+`.href`) != "https://shop.example/print" {
		t.Errorf("the viewer's button: %q → %s", got, eval[string](t, ctx, button+`.href`))
	}
	if eval[string](t, ctx, button+`.target`) != "_blank" || !strings.Contains(eval[string](t, ctx, button+`.rel`), "noopener") {
		t.Error("the shop button does not open a new tab without an opener")
	}
	shot(t, ctx, dir, "widget-lightbox-shop.png")
	if err := chromedp.Do(ctx, chromedp.KeyEvent(kb.ArrowRight)); err != nil {
		t.Fatal(err)
	}
	wait(t, ctx, "the next post", sr+`.querySelector('.vitrine-lb-img').currentSrc.includes('/`+posts[1].ID+`/')`)
	if got := visible(button); got != "" {
		t.Errorf("a post without a link: the viewer shows %q", got)
	}
	if err := chromedp.Do(ctx, chromedp.KeyEvent(kb.Escape)); err != nil {
		t.Fatal(err)
	}
	wait(t, ctx, "the lightbox to close", `!`+sr+`.querySelector('.vitrine-lb').open`)

	// Load more: the new tiles have their own counts and links.
	if err := chromedp.Do(ctx, chromedp.Evaluate[chromedp.Void](sr+`.querySelector('.vitrine-more').click()`)); err != nil {
		t.Fatal(err)
	}
	wait(t, ctx, "the next page", sr+`.querySelectorAll('.vitrine-item').length === 9`)
	if got := visible(tile(7, "counts")); got != "Likes: 1,207 Comments: 21" {
		t.Errorf("a loaded tile's counts show %q", got)
	}
	if got := visible(tile(6, "counts")); got != "Likes: 1,206 Comments: 18" {
		t.Errorf("a loaded tile's counts show %q", got)
	}
	if err := chromedp.Do(ctx, chromedp.Evaluate[chromedp.Void](sr+`.querySelectorAll('.vitrine-link')[7].click()`)); err != nil {
		t.Fatal(err)
	}
	wait(t, ctx, "the loaded post in the lightbox", sr+`.querySelector('.vitrine-lb').open && `+sr+`.querySelector('.vitrine-lb-img').currentSrc.includes('/`+posts[7].ID+`/')`)
	if got := visible(button); got != "Shop this" || eval[string](t, ctx, button+`.href`) != "https://shop.example/late" {
		t.Errorf("a loaded post's button: %q → %s", got, eval[string](t, ctx, button+`.href`))
	}
	if err := chromedp.Do(ctx, chromedp.KeyEvent(kb.ArrowRight)); err != nil {
		t.Fatal(err)
	}
	wait(t, ctx, "the last post", sr+`.querySelector('.vitrine-lb-img').currentSrc.includes('/`+posts[8].ID+`/')`)
	if got := visible(button); got != "" {
		t.Errorf("a loaded post without a link: the viewer shows %q", got)
	}

	// Counts on hover: drawn only over the tile pointed at; the link on
	// the tile when the owner wants it there.
	hover := newEnv(t, func(e *env) {
		withDetails(3)(e)
		e.mirrorTinted(posts[:3]...)
		e.link(posts[0].ID, store.Link{URL: "https://shop.example/print", Label: "Buy the print"})
	}, withConfig(func(c *config.Config) { c.Widget.Counts, c.Widget.ShopLinkOnTile = "hover", true }))
	page := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, hostPage, `<script src="`+hover.base+`/widget.js" async></script>`)
	}))
	t.Cleanup(page.Close)
	if err := chromedp.Do(ctx, chromedp.Navigate(page.URL)); err != nil {
		t.Fatal(err)
	}
	wait(t, ctx, "the hover gallery", `document.querySelector('[data-vitrine-on]') && `+sr+`.querySelectorAll('.vitrine-item img').length === 3`)
	wait(t, ctx, "no counts before pointing", `getComputedStyle(`+tile(0, "counts")+`).opacity === '0'`)
	if got := visible(tile(0, "shop")); got != "Buy the print" {
		t.Errorf("the link on the tile shows %q", got)
	}
	if got := visible(tile(1, "shop")); got != "" {
		t.Errorf("a tile without a link shows %q", got)
	}
	x := eval[float64](t, ctx, `(() => { const r = `+tile(0, "link")+`.getBoundingClientRect(); return r.left + r.width / 2 })()`)
	y := eval[float64](t, ctx, `(() => { const r = `+tile(0, "link")+`.getBoundingClientRect(); return r.top + r.height / 2 })()`)
	if err := chromedp.Do(ctx, chromedp.MouseEvent("mouseMoved", x, y)); err != nil {
		t.Fatal(err)
	}
	wait(t, ctx, "the counts over the tile pointed at", `getComputedStyle(`+tile(0, "counts")+`).opacity === '1' && getComputedStyle(`+tile(1, "counts")+`).opacity === '0'`)
	if got := visible(tile(0, "counts")); got != "Likes: 1,200 Comments: 0" {
		t.Errorf("the hovered tile's counts show %q", got)
	}
	shot(t, ctx, dir, "widget-counts-hover.png")

	// A touch screen has no pointer to hover with: there every tile shows
	// its counts.
	touch := func(on bool) {
		t.Helper()
		if _, err := chromedp.Call(ctx, emulation.SetTouchEmulationEnabled, emulation.SetTouchEmulationEnabledParams{Enabled: on, MaxTouchPoints: 1}); err != nil {
			t.Fatal(err)
		}
	}
	touch(true)
	wait(t, ctx, "the counts on every tile of a touch screen", `getComputedStyle(`+tile(1, "counts")+`).opacity === '1' && getComputedStyle(`+tile(2, "counts")+`).opacity === '1'`)
	touch(false)

	// An embed turns off details the gallery carries.
	quiet := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, hostPage, `<div data-vitrine data-counts="off" data-bio="false"></div><script src="`+e.base+`/widget.js" async></script>`)
	}))
	t.Cleanup(quiet.Close)
	if err := chromedp.Do(ctx, chromedp.Navigate(quiet.URL)); err != nil {
		t.Fatal(err)
	}
	wait(t, ctx, "the embed with its own options", `document.querySelector('[data-vitrine-on]') && `+sr+`.querySelectorAll('.vitrine-item img').length === 6`)
	if got := visible(tile(0, "counts")) + visible(sr+`.querySelector('.vitrine-bio')`); got != "" {
		t.Errorf("data-counts=off and data-bio=false still show %q", got)
	}

	_, problems := wt.snapshot()
	for _, p := range problems {
		t.Errorf("browser: %s", p)
	}
}
