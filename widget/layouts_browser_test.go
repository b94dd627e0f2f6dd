package widget

import (
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"vitrine/config"
	"vitrine/testkit"
)

// rootN is the shadow root of the n-th embed on the host page.
func rootN(n int) string {
	return fmt.Sprintf(`document.querySelectorAll('[data-vitrine-on]')[%d].shadowRoot`, n)
}

// Several galleries on one page, each with its own options on its element:
// the layouts, an aspect, a language, a media-type filter, and Load more.
// Each paints without layout shift; the screenshots are the README's.
func TestBrowserLayoutsAndOptions(t *testing.T) {
	testkit.SkipIfShort(t, "drives Chromium")
	ctx := browser(t)
	e := newEnv(t, func(e *env) {
		e.connect()
		posts := makePosts(24)
		e.replace(posts...)
		e.mirrorTinted(posts...)
	}, withConfig(func(c *config.Config) { c.Widget.Count = 6; c.Widget.Captions = false }))

	embeds := []string{
		`<div data-vitrine></div>`,
		`<div data-vitrine data-layout="carousel" data-columns="3"></div>`,
		`<div data-vitrine data-layout="masonry" data-aspect="original"></div>`,
		`<div data-vitrine data-layout="highlight" data-aspect="4:5"></div>`,
		`<div data-vitrine data-language="pt" data-media-types="CAROUSEL_ALBUM" data-captions="true"></div>`,
		`<div data-vitrine data-layout="bogus" data-aspect="7:3" data-columns="x"></div>`,
	}
	var body strings.Builder
	for i, div := range embeds {
		fmt.Fprintf(&body, `<h2 id="g%d">Gallery %d</h2>%s<script src="%s/widget.js" async></script>`, i, i, div, e.base)
	}
	host := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, hostPage, body.String())
	}))
	t.Cleanup(host.Close)

	var wt watcher
	wt.listen(t, ctx)
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(1200, 900), chromedp.Navigate(host.URL)); err != nil {
		t.Fatal(err)
	}
	wait(t, ctx, "six galleries", `document.querySelectorAll('[data-vitrine-on]').length === 6 && [...document.querySelectorAll('[data-vitrine-on]')].every(e => e.shadowRoot.querySelector('.vitrine-item'))`)

	// From here on nothing may move: every tile's box is known before its
	// image arrives. (An embed painting into its empty element moves the
	// host's content, as any script embed does; that is before this.)
	// Every gallery's and tile's box, in page coordinates, before and after
	// the images on screen have loaded. (Not the browser's layout-shift
	// entries: scrolling from gallery to gallery while another machine
	// load delays frames made them report moves that were not there.)
	const boxes = `JSON.stringify([...document.querySelectorAll('[data-vitrine-on]')].map(h => [h, ...h.shadowRoot.querySelectorAll('.vitrine-link')].map(e => { const r = e.getBoundingClientRect(); return [Math.round(r.left), Math.round(r.top + scrollY), Math.round(r.width), Math.round(r.height)] })))`
	before := eval[string](t, ctx, boxes)
	for n := range embeds {
		if err := chromedp.Do(ctx, chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`document.getElementById('g%d').scrollIntoView()`, n))); err != nil {
			t.Fatal(err)
		}
		// The images on screen: in the viewport and inside the grid's box
		// (a carousel clips the rest).
		wait(t, ctx, fmt.Sprintf("gallery %d's images", n), `(g => [...g.querySelectorAll('img')].filter(i => { const r = i.getBoundingClientRect(), b = g.getBoundingClientRect(); return r.top < innerHeight && r.bottom > 0 && r.left < b.right - 1 && r.right > b.left + 1 }).every(i => i.complete && i.naturalWidth > 0))(`+rootN(n)+`.querySelector('.vitrine-grid'))`)
	}
	if after := eval[string](t, ctx, boxes); after != before {
		t.Errorf("the galleries moved while their images loaded:\nbefore %s\nafter  %s", before, after)
	}

	attr := func(n int, js string) string { return eval[string](t, ctx, rootN(n)+js) }
	layout := func(n int) string { return attr(n, `.querySelector('.vitrine').dataset.layout`) }
	for n, want := range []string{"grid", "carousel", "masonry", "highlight", "grid", "grid"} {
		if got := layout(n); got != want {
			t.Errorf("gallery %d layout %q, want %q", n, got, want)
		}
	}
	// Carousel: one row that scrolls, and a Next button that moves it.
	if got := attr(1, `.querySelector('.vitrine-grid').scrollWidth > `+rootN(1)+`.querySelector('.vitrine-grid').clientWidth ? 'scrolls' : 'fits'`); got != "scrolls" {
		t.Error("the carousel does not scroll")
	}
	if err := chromedp.Do(ctx, chromedp.Evaluate[chromedp.Void](rootN(1)+`.querySelector('.vitrine-go-n').click()`)); err != nil {
		t.Fatal(err)
	}
	wait(t, ctx, "the carousel to move", rootN(1)+`.querySelector('.vitrine-grid').scrollLeft > 100`)
	// Masonry keeps each picture's shape; highlight makes the first large.
	if got := attr(2, `.querySelector('.vitrine-grid').style.columnCount || getComputedStyle(`+rootN(2)+`.querySelector('.vitrine-grid')).columnCount`); got != "3" {
		t.Errorf("masonry columns %q, want 3", got)
	}
	big := eval[float64](t, ctx, rootN(3)+`.querySelectorAll('.vitrine-item')[0].getBoundingClientRect().width / `+rootN(3)+`.querySelectorAll('.vitrine-item')[1].getBoundingClientRect().width`)
	if big < 1.9 || big > 2.2 {
		t.Errorf("the highlighted tile is %.2f× the others, want about 2", big)
	}
	if r := eval[float64](t, ctx, rootN(3)+`.querySelectorAll('.vitrine-link')[1].getBoundingClientRect().height / `+rootN(3)+`.querySelectorAll('.vitrine-link')[1].getBoundingClientRect().width`); r < 1.2 || r > 1.3 {
		t.Errorf("a 4:5 tile has height/width %.2f", r)
	}
	// Portuguese, carousels only.
	if got := attr(4, `.querySelector('.vitrine-follow').textContent + '|' + `+rootN(4)+`.querySelector('.vitrine').lang`); got != "Seguir|pt" {
		t.Errorf("Portuguese gallery says %q", got)
	}
	if got := attr(4, `.querySelectorAll('.vitrine-item:not([data-t=CAROUSEL_ALBUM])').length + ' of ' + `+rootN(4)+`.querySelectorAll('.vitrine-item').length`); !strings.HasPrefix(got, "0 of ") || got == "0 of 0" {
		t.Errorf("media-type filter left %s non-carousels", got)
	}
	// Bad values fall back to the defaults (and the language of the
	// gallery before is not this one's).
	if got := attr(5, `.querySelector('.vitrine').dataset.aspect + ' ' + getComputedStyle(`+rootN(5)+`.querySelector('.vitrine-grid')).gridTemplateColumns.split(' ').length + ' ' + `+rootN(5)+`.querySelector('.vitrine-follow').textContent`); got != "1x1 3 Follow" {
		t.Errorf("gallery with bad options: %q, want the defaults (1x1, 3 columns, English)", got)
	}

	// Load more: 6 posts, then 12, then 18; one request for the JSON.
	count := func() int { return eval[int](t, ctx, rootN(0)+`.querySelectorAll('.vitrine-item').length`) }
	if n := count(); n != 6 {
		t.Fatalf("%d posts before Load more, want widget.count=6", n)
	}
	dir := screenshotDir(t)
	if err := chromedp.Do(ctx, chromedp.Evaluate[chromedp.Void](`document.getElementById('g0').scrollIntoView()`)); err != nil {
		t.Fatal(err)
	}
	shot(t, ctx, dir, "layout-grid.png")
	for _, want := range []int{12, 18} {
		if err := chromedp.Do(ctx, chromedp.Evaluate[chromedp.Void](rootN(0)+`.querySelector('.vitrine-more').click()`)); err != nil {
			t.Fatal(err)
		}
		wait(t, ctx, fmt.Sprintf("%d posts", want), fmt.Sprintf(rootN(0)+`.querySelectorAll('.vitrine-item').length === %d`, want))
	}
	wait(t, ctx, "loaded posts' images", `[...`+rootN(0)+`.querySelectorAll('.vitrine-item img')].every(i => i.complete && i.naturalWidth > 0)`)
	// A loaded post opens in the lightbox like the first ones.
	if err := chromedp.Do(ctx, chromedp.Evaluate[chromedp.Void](rootN(0)+`.querySelectorAll('.vitrine-link')[12].click()`)); err != nil {
		t.Fatal(err)
	}
	wait(t, ctx, "the lightbox on a loaded post", rootN(0)+`.querySelector('.vitrine-lb').open && `+rootN(0)+`.querySelector('.vitrine-lb-img').currentSrc.includes('/`+makePosts(13)[12].ID+`/')`)
	if err := chromedp.Do(ctx, chromedp.Evaluate[chromedp.Void](rootN(0)+`.querySelector('.vitrine-lb').close()`)); err != nil {
		t.Fatal(err)
	}

	for n, name := range map[int]string{1: "layout-carousel.png", 2: "layout-masonry.png", 3: "layout-highlight.png", 4: "layout-portuguese.png"} {
		if err := chromedp.Do(ctx, chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`document.getElementById('g%d').scrollIntoView()`, n))); err != nil {
			t.Fatal(err)
		}
		shot(t, ctx, dir, name)
	}
	// The lightbox works from every layout, by keyboard.
	for n := range 4 {
		if err := chromedp.Do(ctx, chromedp.Evaluate[chromedp.Void](rootN(n)+`.querySelectorAll('.vitrine-link')[0].focus()`), chromedp.KeyEvent(kb.Enter)); err != nil {
			t.Fatal(err)
		}
		wait(t, ctx, fmt.Sprintf("gallery %d's lightbox", n), rootN(n)+`.querySelector('.vitrine-lb').open`)
		// The dialog's close event comes a task after Escape, and the
		// loader's handler then focuses this tile again. When the next
		// gallery's Enter came first, its lightbox was found closed and the
		// focus back here (about 1 run in 4). This listener runs after the
		// loader's.
		if err := chromedp.Do(ctx, chromedp.Evaluate[chromedp.Void](rootN(n)+`.querySelector('.vitrine-lb').addEventListener('close', () => window.closedGallery = `+strconv.Itoa(n)+`, {once: true})`), chromedp.KeyEvent(kb.Escape)); err != nil {
			t.Fatal(err)
		}
		// Closed, and the focus back on the tile.
		wait(t, ctx, fmt.Sprintf("gallery %d's lightbox to close", n), `window.closedGallery === `+strconv.Itoa(n)+` && !`+rootN(n)+`.querySelector('.vitrine-lb').open && `+rootN(n)+`.activeElement === `+rootN(n)+`.querySelectorAll('.vitrine-link')[0]`)
	}

	// Phone width: every layout, with widget.columns_mobile's two columns.
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(390, 844)); err != nil {
		t.Fatal(err)
	}
	wait(t, ctx, "two columns on a phone", `getComputedStyle(`+rootN(5)+`.querySelector('.vitrine-grid')).gridTemplateColumns.split(' ').length === 2`)
	for n, name := range map[int]string{0: "grid", 1: "carousel", 2: "masonry", 3: "highlight"} {
		if err := chromedp.Do(ctx, chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`document.getElementById('g%d').scrollIntoView()`, n))); err != nil {
			t.Fatal(err)
		}
		shot(t, ctx, dir, "layout-"+name+"-phone.png")
	}

	_, problems := wt.snapshot()
	for _, p := range problems {
		t.Errorf("browser: %s", p)
	}
}

// The /widget page (for iframes) takes the options in its query, and
// ?language= serves the words prepared in that language.
func TestBrowserPageQueryOptions(t *testing.T) {
	testkit.SkipIfShort(t, "drives Chromium")
	ctx := browser(t)
	e := newEnv(t, withSeed(12))
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(900, 700), chromedp.Navigate(e.base+"/widget?layout=carousel&language=de&columns=4")); err != nil {
		t.Fatal(err)
	}
	wait(t, ctx, "the page", `document.querySelector('.vitrine-item')`)
	got := eval[string](t, ctx, `document.documentElement.lang + ' ' + document.querySelector('.vitrine').dataset.layout + ' ' + document.querySelector('.vitrine-follow').textContent + ' ' + document.querySelector('.vitrine').style.getPropertyValue('--vitrine-columns')`)
	if got != "de carousel Folgen 4" {
		t.Errorf("page with ?layout=carousel&language=de&columns=4: %q", got)
	}
}

// Caption words per embed: each gallery loads the script the server
// filtered for it (data-include-words, data-exclude-words, on the element
// or the script, with a language too), and its Load more brings only
// posts that match. The /widget page takes the same words in its query.
func TestBrowserCaptionWordsPerEmbed(t *testing.T) {
	testkit.SkipIfShort(t, "drives Chromium")
	ctx := browser(t)
	posts := makePosts(24)
	e := newEnv(t, func(e *env) {
		e.connect()
		e.replace(posts...)
		e.mirrorTinted(posts...)
	}, withConfig(func(c *config.Config) { c.Widget.Count = 2 }))
	with := func(tag string) (ids []string) {
		for _, p := range posts {
			if strings.Contains(p.Caption, tag) {
				ids = append(ids, p.ID)
			}
		}
		return ids
	}
	handmade, openStudio := with("#handmade"), with("#openstudio")

	s := fmt.Sprintf(`<script src="%s/widget.js" async`, e.base)
	body := `<div data-vitrine data-include-words="handmade"></div>` + s + `></script>` +
		`<div data-vitrine data-exclude-words="#handmade #openstudio" data-language="pt"></div>` + s + `></script>` +
		`<div data-vitrine></div>` + s + `></script>` +
		`<section>` + s + ` data-include-words="OpenStudio"></script></section>`
	host := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, hostPage, body)
	}))
	t.Cleanup(host.Close)
	var wt watcher
	wt.listen(t, ctx)
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(1200, 900), chromedp.Navigate(host.URL)); err != nil {
		t.Fatal(err)
	}
	wait(t, ctx, "four galleries", `document.querySelectorAll('[data-vitrine-on]').length === 4 && [...document.querySelectorAll('[data-vitrine-on]')].every(e => e.shadowRoot && e.shadowRoot.querySelector('.vitrine-item'))`)
	shown := func(n int) []string {
		return eval[[]string](t, ctx, `[...`+rootN(n)+`.querySelectorAll('.vitrine-item img')].map(i => i.getAttribute('src').split('/media/')[1].split('/')[0])`)
	}
	// The galleries are in document order: the script-only embed (alone
	// in its section, or it could take a free element beside it) made its
	// element in place, before its script.
	if got := shown(0); !slices.Equal(got, handmade[:2]) {
		t.Errorf("include handmade: %v, want %v", got, handmade[:2])
	}
	for _, id := range shown(1) {
		if slices.Contains(handmade, id) || slices.Contains(openStudio, id) {
			t.Errorf("exclude #handmade #openstudio shows %s", id)
		}
	}
	if got := eval[string](t, ctx, rootN(1)+`.querySelector('.vitrine').lang`); got != "pt" {
		t.Errorf("the filtered Portuguese gallery's language is %q", got)
	}
	if got := shown(2); !slices.Equal(got, []string{posts[0].ID, posts[1].ID}) {
		t.Errorf("the gallery without words: %v, want the newest two", got)
	}
	if got := shown(3); !slices.Equal(got, openStudio[:2]) {
		t.Errorf("include OpenStudio on the script: %v, want %v", got, openStudio[:2])
	}

	// Load more in the handmade gallery: the other two, then no button.
	if err := chromedp.Do(ctx, chromedp.Evaluate[chromedp.Void](rootN(0)+`.querySelector('.vitrine-more').click()`)); err != nil {
		t.Fatal(err)
	}
	wait(t, ctx, "four handmade posts", rootN(0)+`.querySelectorAll('.vitrine-item').length === 4 && `+rootN(0)+`.querySelector('.vitrine-more').hidden`)
	if got := shown(0); !slices.Equal(got, handmade) {
		t.Errorf("after Load more: %v, want %v", got, handmade)
	}

	_, problems := wt.snapshot()
	for _, p := range problems {
		t.Errorf("browser: %s", p)
	}

	// The page for iframes.
	if err := chromedp.Do(ctx, chromedp.Navigate(e.base+"/widget?include_words=openstudio&layout=carousel")); err != nil {
		t.Fatal(err)
	}
	wait(t, ctx, "the filtered page", `document.querySelector('.vitrine-item')`)
	if got := eval[[]string](t, ctx, `[...document.querySelectorAll('.vitrine-item img')].map(i => i.getAttribute('src').split('/media/')[1].split('/')[0])`); !slices.Equal(got, openStudio[:2]) {
		t.Errorf("/widget?include_words=openstudio: %v, want %v", got, openStudio[:2])
	}
}

// Each tile loads the smallest file at least as wide as it is drawn (CSS
// px × device pixel ratio), wherever the embed sits: in a page's column at
// 1×, full width on a phone at 3×, and on the /widget page.
func TestBrowserImagesMatchTheirTiles(t *testing.T) {
	testkit.SkipIfShort(t, "drives Chromium")
	ctx := browser(t)
	e := newEnv(t, func(e *env) {
		e.connect()
		posts := makePosts(12)
		e.replace(posts...)
		e.mirrorTinted(posts...)
	})
	fragment := e.get("/widget?fragment=1").text(t)
	host := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		embed := `<div data-vitrine></div><script src="` + e.base + `/widget.js" async></script>`
		if r.URL.Path == "/included" { // as a server-side include puts it
			embed = fragment
		}
		fmt.Fprintf(w, hostPage, `<main style="max-width:600px;margin:auto">`+embed+`</main>`)
	}))
	t.Cleanup(host.Close)
	// For each image loaded: its drawn width × DPR and the width of the
	// file it chose (the srcset's widths are in its URLs).
	const loaded = `(root => [...root.querySelectorAll('.vitrine-item img')].filter(i => i.complete && i.naturalWidth > 0).map(i => [i.getBoundingClientRect().width * devicePixelRatio, +i.currentSrc.match(/\/(\d+)\.jpg$/)[1], ...[...i.srcset.matchAll(/ (\d+)w/g)].map(m => +m[1])]))`
	check := func(what, root string) {
		t.Helper()
		wait(t, ctx, what+": the first row", `(r => r && [...r.querySelectorAll('.vitrine-item img')].slice(0, 3).every(i => i.complete && i.naturalWidth > 0))(`+root+`)`)
		got := eval[[][]float64](t, ctx, loaded+`(`+root+`)`)
		if len(got) < 3 {
			t.Fatalf("%s: %d images loaded", what, len(got))
		}
		for n, g := range got {
			need, chose, offered := g[0], int(g[1]), g[2:]
			ideal := 0
			for _, w := range offered {
				if w >= need && (ideal == 0 || int(w) < ideal) {
					ideal = int(w)
				}
			}
			if ideal == 0 {
				ideal = int(offered[len(offered)-1])
			}
			if chose != ideal {
				t.Errorf("%s: image %d drawn at %.0f device px loaded the %d px file, want %d px", what, n, need, chose, ideal)
			}
		}
	}
	// No page may use another's files: Chromium draws a cached larger file
	// rather than fetch a smaller one, so one page's 640s would pass for the
	// next page's choice. Clearing the cache is not enough, as the
	// renderer's memory cache outlives it.
	if _, err := chromedp.Call(ctx, network.Enable, network.EnableParams{}); err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.Call(ctx, network.SetCacheDisabled, network.SetCacheDisabledParams{CacheDisabled: true}); err != nil {
		t.Fatal(err)
	}
	visit := func(what, url string, viewport chromedp.Action[chromedp.Void], root string) {
		t.Helper()
		if err := chromedp.Do(ctx, viewport, chromedp.Navigate(url)); err != nil {
			t.Fatal(err)
		}
		check(what, root)
	}
	const shadow = `document.querySelector('[data-vitrine-on]')?.shadowRoot`
	visit("a 600 px column at 1×", host.URL, chromedp.EmulateViewport(1280, 900), shadow)
	visit("a phone at 3×", host.URL+"/?phone", chromedp.EmulateViewport(390, 844, chromedp.EmulateScale(3), chromedp.EmulateMobile), shadow)
	visit("the /widget page at 1×", e.base+"/widget", chromedp.EmulateViewport(1280, 900), `document`)
	visit("the fragment included in a 600 px column at 1×", host.URL+"/included", chromedp.EmulateViewport(1280, 900), `document`)
}

// The recommended snippet reserves the gallery's height before the script
// runs: at every width, the space widget.css keeps for its element is
// exactly as high as the gallery that replaces it, so nothing below moves
// (CLS 0), for the layouts whose height is exact, with and without Load
// more.
func TestBrowserSnippetReservesTheGallery(t *testing.T) {
	testkit.SkipIfShort(t, "drives Chromium")
	ctx := browser(t)
	posts := makePosts(24)
	e := newEnv(t, func(e *env) {
		e.connect()
		e.replace(posts...)
		e.mirrorTinted(posts...)
	}, withConfig(func(c *config.Config) { c.Widget.Count = 12; c.Widget.MaxPosts = 24 }))
	// Each embed with its options, and the host page's own custom
	// properties on its section (which both the gallery and the reserved
	// space follow).
	cases := []struct {
		o     EmbedOptions
		style string
	}{
		{EmbedOptions{}, ""},
		{EmbedOptions{Layout: "carousel", Columns: 2}, ""},
		{EmbedOptions{Layout: "highlight", Count: 7, Language: "pt"}, ""},
		{EmbedOptions{Aspect: "4:5", Columns: 4, ColumnsMobile: 1, Count: 5}, ""},
		{EmbedOptions{Theme: "dark", Count: 9}, "--vitrine-columns:4;--vitrine-gap:10px;--vitrine-columns-mobile:3"},
		{EmbedOptions{Layout: "grid", Columns: 5}, "--vitrine-columns:2"},
		{EmbedOptions{Header: "false", Theme: "auto", Count: 8}, ""},
		// A gallery with a background keeps its tiles off its edges: the
		// dark theme, a background colour, and the page's own padding.
		{EmbedOptions{Theme: "dark", Layout: "highlight", Count: 10}, ""},
		{EmbedOptions{BackgroundColor: "#fde8d0", Columns: 2, ColumnsMobile: 1, Count: 6}, ""},
		{EmbedOptions{Theme: "dark", Count: 6}, "--vitrine-padding:20px"},
	}
	var body strings.Builder
	for i, c := range cases {
		// The twin is the element alone, claimed so that no script paints
		// it: what widget.css reserves for it.
		twin := strings.Replace(e.w.Element(c.o), "<div data-vitrine", `<div data-vitrine data-vitrine-on="held" class="twin"`, 1)
		fmt.Fprintf(&body, `<section style="width:var(--w);%s">%s<p id="below%d">below</p>%s</section>`, c.style, e.w.Snippet(c.o), i, twin)
	}
	host := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		page := strings.Replace(hostPage, "main{max-width:960px;", "main{--w:"+r.URL.Query().Get("w")+"px;max-width:none;", 1)
		fmt.Fprintf(w, page, `<script>window.__shifts=0;new PerformanceObserver(l=>l.getEntries().forEach(x=>{if(!x.hadRecentInput)window.__shifts+=x.value})).observe({type:'layout-shift',buffered:true})</script>`+body.String())
	}))
	t.Cleanup(host.Close)

	for _, width := range []int{1000, 600, 481, 480, 479, 330} {
		viewport := chromedp.EmulateViewport(int64(width)+48, 900)
		if width < 480 {
			viewport = chromedp.EmulateViewport(int64(width)+48, 844, chromedp.EmulateScale(3), chromedp.EmulateMobile)
		}
		if err := chromedp.Do(ctx, viewport, chromedp.Navigate(fmt.Sprintf("%s/?w=%d", host.URL, width))); err != nil {
			t.Fatal(err)
		}
		const painted = `[...document.querySelectorAll('[data-vitrine-on=""]')]`
		wait(t, ctx, fmt.Sprintf("%d px: the galleries", width), fmt.Sprintf(painted+`.length === %d && `+painted+`.every(e => e.shadowRoot && e.shadowRoot.querySelector('.vitrine-item'))`, len(cases)))
		got := eval[[][]float64](t, ctx, painted+`.map(e => [e.getBoundingClientRect().height, e.parentNode.querySelector('.twin').getBoundingClientRect().height, e.getBoundingClientRect().width, e.shadowRoot.querySelector('.vitrine-grid').getBoundingClientRect().left - e.getBoundingClientRect().left])`)
		for i, g := range got {
			if math.Abs(g[0]-g[1]) > 0.5 {
				t.Errorf("%d px, embed %+v %s: the gallery is %.2f px high, its reserved space %.2f (width %.1f)", width, cases[i].o, cases[i].style, g[0], g[1], g[2])
			}
			// The padding is there to be counted: a boxed gallery's tiles
			// stand off its edge by it.
			if c := cases[i].o; (c.Theme == "dark" || c.BackgroundColor != "") && g[3] < 12 {
				t.Errorf("%d px, embed %+v %s: its tiles start %.1f px inside its edge, want its padding", width, c, cases[i].style, g[3])
			}
			// The heights the dashboard and the iframe's fallback are
			// computed from are the stylesheet's.
			if go_ := e.w.ReservedHeight(cases[i].o, g[2]); cases[i].style == "" && math.Abs(go_-g[1]) > 0.5 {
				t.Errorf("%d px, embed %+v: ReservedHeight says %.2f px, widget.css reserves %.2f", width, cases[i].o, go_, g[1])
			}
		}
		if shifts := eval[float64](t, ctx, `window.__shifts`); shifts > 0 {
			t.Errorf("%d px: cumulative layout shift %.4f, want 0", width, shifts)
		}
	}
}
