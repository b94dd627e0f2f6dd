package widget

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"vitrine/config"
	"vitrine/testkit"
)

// hostServer serves body in the bakery's page (hostPage), on its own
// origin, at "/"; head goes into the page's head.
func hostServer(t *testing.T, head, body string) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, strings.Replace(hostPage, "</head>", head+"</head>", 1), body)
	}))
	t.Cleanup(srv.Close)
	return srv
}

// frameEval evaluates js in the document of the page's child frame at url
// (another origin of the same site, so in the same process), in an
// isolated world that shares its DOM, and decodes the JSON of the result
// into T.
func frameEval[T any](t *testing.T, ctx context.Context, url, js string) T {
	t.Helper()
	var frame *cdp.Frame
	for range 600 { // a lazy frame is made as it nears the screen
		tree, err := chromedp.Call(ctx, page.GetFrameTree, cdp.Empty{})
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range tree.FrameTree.ChildFrames {
			if c.Frame.URL == url {
				frame = c.Frame
			}
		}
		if frame != nil {
			break
		}
		if err := chromedp.Do(ctx, chromedp.Sleep(100*time.Millisecond)); err != nil {
			t.Fatal(err)
		}
	}
	if frame == nil {
		t.Fatalf("no frame at %s", url)
	}
	world, err := chromedp.Call(ctx, page.CreateIsolatedWorld, page.CreateIsolatedWorldParams{FrameID: frame.ID, WorldName: "test"})
	if err != nil {
		t.Fatal(err)
	}
	yes := true
	res, err := chromedp.Call(ctx, runtime.Evaluate, runtime.EvaluateParams{Expression: "JSON.stringify(" + js + ")", ContextID: world.ExecutionContextID, ReturnByValue: &yes})
	if err != nil || res.ExceptionDetails != nil {
		t.Fatalf("evaluate %s in %s: %v %+v", js, url, err, res.ExceptionDetails)
	}
	var s string
	var v T
	if err := json.Unmarshal(res.Result.Value, &s); err != nil {
		t.Fatalf("%s: %v", js, err)
	}
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		t.Fatalf("%s = %s: %v", js, s, err)
	}
	return v
}

// The iframe embed is as high as the gallery in it at every width, also
// when the page is resized and after Load more, so it never scrolls
// inside: the /widget page tells its parent its height, and the snippet's
// listener sizes the iframe that sent it and no other. Where a host strips
// the script, the iframe keeps the snippet's fixed height. (Chromium
// renders a cross-origin frame only once it is on screen, so a frame
// further down tells its height as it comes into view, when what its size
// moves is still below the screen: each is scrolled to before it is
// measured.)
func TestBrowserIframeSizesItself(t *testing.T) {
	testkit.SkipIfShort(t, "drives Chromium")
	ctx := browser(t)
	posts := makePosts(24)
	e := newEnv(t, func(e *env) {
		e.connect()
		e.replace(posts...)
		e.mirrorTinted(posts...)
	}, withConfig(func(c *config.Config) { c.Widget.Count = 12; c.Widget.MaxPosts = 24 }))
	snippet := e.w.SnippetIframe()
	listener := snippet[strings.Index(snippet, "<script>"):]
	frame := snippet[:strings.Index(snippet, "<script>")]
	oneColumn := strings.Replace(snippet, `/widget"`, `/widget?columns=1&columns_mobile=1"`, 1)
	stripped := strings.Replace(frame, `/widget"`, `/widget?stripped"`, 1)
	// A frame of another origin that claims a height: no snippet heeds it.
	rogue := `<iframe srcdoc="<script>setInterval(() => parent.postMessage({vitrineHeight: 5}, '*'), 50)</script>" style="height:80px"></iframe>`
	host := hostServer(t, "", snippet+`<p id="below">below</p>`+oneColumn+rogue+stripped)
	if !strings.Contains(snippet, `e.origin=="`+e.base+`"`) || !strings.Contains(listener, "e.source==f.contentWindow") {
		t.Fatalf("the listener does not check who sent the height: %s", listener)
	}

	iframeHeight := func(src string) float64 {
		return eval[float64](t, ctx, `document.querySelector('iframe[src="`+e.base+src+`"]').getBoundingClientRect().height`)
	}
	contentHeight := func(src string) float64 {
		return frameEval[float64](t, ctx, e.base+src, `document.documentElement.getBoundingClientRect().height`)
	}
	sized := func(what, src string) {
		t.Helper()
		if err := chromedp.Do(ctx, chromedp.Evaluate[chromedp.Void](`document.querySelector('iframe[src="`+e.base+src+`"]').scrollIntoView()`)); err != nil {
			t.Fatal(err)
		}
		var frameH, contentH float64
		for range 600 { // the frame's ResizeObserver, a message and a layout away
			frameH, contentH = iframeHeight(src), contentHeight(src)
			if math.Abs(frameH-contentH) <= 2 && frameEval[bool](t, ctx, e.base+src, `!!document.querySelector('.vitrine-item img')`) {
				break
			}
			if err := chromedp.Do(ctx, chromedp.Sleep(100*time.Millisecond)); err != nil {
				t.Fatal(err)
			}
		}
		if math.Abs(frameH-contentH) > 2 {
			t.Errorf("%s: the iframe %s is %.1f px high, its content %.1f", what, src, frameH, contentH)
		}
		if scrolls := frameEval[bool](t, ctx, e.base+src, `document.documentElement.scrollHeight > innerHeight + 1`); scrolls {
			t.Errorf("%s: the iframe %s scrolls inside", what, src)
		}
		t.Logf("%s: iframe %s %.0f px wide, %.1f px high, its content %.1f px", what, src, eval[float64](t, ctx, `document.querySelector('iframe[src="`+e.base+src+`"]').getBoundingClientRect().width`), frameH, contentH)
	}
	for _, width := range []int64{360, 800, 1280} {
		if err := chromedp.Do(ctx, chromedp.EmulateViewport(width, 900), chromedp.Navigate(host.URL)); err != nil {
			t.Fatal(err)
		}
		sized(fmt.Sprintf("%d px", width), "/widget")
		sized(fmt.Sprintf("%d px, one column", width), "/widget?columns=1&columns_mobile=1")
	}
	// The page resized under it, without a reload.
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(600, 900)); err != nil {
		t.Fatal(err)
	}
	sized("resized to 600 px", "/widget")
	// Load more: twelve more posts, and the iframe grows with them.
	before := iframeHeight("/widget")
	frameEval[bool](t, ctx, e.base+"/widget", `(document.querySelector('.vitrine-more').click(), true)`)
	for range 600 {
		if frameEval[int](t, ctx, e.base+"/widget", `document.querySelectorAll('.vitrine-item').length`) == 24 {
			break
		}
		if err := chromedp.Do(ctx, chromedp.Sleep(100*time.Millisecond)); err != nil {
			t.Fatal(err)
		}
	}
	sized("after Load more", "/widget")
	if after := iframeHeight("/widget"); after < before*1.5 {
		t.Errorf("after Load more the iframe is %.0f px high, before %.0f", after, before)
	}
	// The frame whose script was stripped keeps the snippet's height.
	if got := iframeHeight("/widget?stripped"); math.Abs(got-float64(e.w.FrameHeight())) > 0.5 {
		t.Errorf("without its script the iframe is %.1f px high, want the snippet's %d", got, e.w.FrameHeight())
	}
}

// Single-page apps: a gallery element added after the page has loaded is
// painted (the first script watches the document), one added inside other
// markup too, one asking for another language loads that script, and
// Vitrine.render paints any element. The script is in the head, as an app
// would load it once.
func TestBrowserGalleryAddedLater(t *testing.T) {
	testkit.SkipIfShort(t, "drives Chromium")
	ctx := browser(t)
	e := newEnv(t, withSeed(12))
	head := `<link rel="stylesheet" href="` + e.base + StylePath + `"><script src="` + e.base + ScriptPath + `" async></script>`
	host := hostServer(t, head, `<div id="app"></div>`)
	if err := chromedp.Do(ctx, chromedp.Navigate(host.URL)); err != nil {
		t.Fatal(err)
	}
	wait(t, ctx, "the script", `window.Vitrine && typeof Vitrine.render === 'function' && document.readyState === 'complete'`)
	if n := eval[int](t, ctx, `document.querySelectorAll('[data-vitrine-on]').length`); n != 0 {
		t.Fatalf("%d galleries before any element, and the script in the head made one", n)
	}
	painted := func(sel string) string {
		return `(e => e && e.getAttribute('data-vitrine-on') === '' && e.shadowRoot && e.shadowRoot.querySelectorAll('.vitrine-item').length === 12)(document.querySelector('` + sel + `'))`
	}
	// As a framework adds an element: alone, then inside a component's markup.
	if err := chromedp.Do(ctx, chromedp.Evaluate[chromedp.Void](`const a = document.createElement('div'); a.id = 'added'; a.setAttribute('data-vitrine', ''); document.getElementById('app').appendChild(a)`)); err != nil {
		t.Fatal(err)
	}
	wait(t, ctx, "the element added", painted("#added"))
	if err := chromedp.Do(ctx, chromedp.Evaluate[chromedp.Void](`document.getElementById('app').insertAdjacentHTML('beforeend', '<section><h2>Ours</h2><div id="nested" data-vitrine data-language="pt" data-layout="carousel"></div></section>')`)); err != nil {
		t.Fatal(err)
	}
	wait(t, ctx, "the element inside other markup, in Portuguese", painted("#nested")+` && document.querySelector('#nested').shadowRoot.querySelector('.vitrine').lang === 'pt' && document.querySelector('#nested').shadowRoot.querySelector('.vitrine').dataset.layout === 'carousel'`)
	// Vitrine.render: any element, even without the attribute; once.
	if err := chromedp.Do(ctx, chromedp.Evaluate[chromedp.Void](`const r = document.createElement('aside'); r.id = 'rendered'; document.getElementById('app').appendChild(r); Vitrine.render(r); Vitrine.render(r)`)); err != nil {
		t.Fatal(err)
	}
	wait(t, ctx, "Vitrine.render", painted("#rendered"))
	// A removed and re-added element keeps its gallery; nothing is painted twice.
	if err := chromedp.Do(ctx, chromedp.Evaluate[chromedp.Void](`const n = document.getElementById('added'); n.remove(); document.body.appendChild(n)`)); err != nil {
		t.Fatal(err)
	}
	wait(t, ctx, "the moved element", painted("#added"))
	if n := eval[int](t, ctx, `document.querySelectorAll('[data-vitrine-on]').length`); n != 3 {
		t.Errorf("%d galleries, want 3", n)
	}
}

// A host page styles the gallery through the documented custom properties
// (on the element or an ancestor) and ::part(); the server's colours give
// way to them.
func TestBrowserHostStylesTheGallery(t *testing.T) {
	testkit.SkipIfShort(t, "drives Chromium")
	ctx := browser(t)
	e := newEnv(t, withSeed(12), withConfig(func(c *config.Config) {
		c.Widget.AccentColor, c.Widget.Radius, c.Widget.Count = "#2b6a3a", 0, 6
	}))
	style := `<style>
body{--vitrine-text:#3b2f2f;--vitrine-font:Georgia,serif}
#styled{--vitrine-accent:#b4532a;--vitrine-radius:12px;--vitrine-background:#fbf7f1;--vitrine-gap:9px}
#styled::part(follow){text-transform:uppercase;border-radius:0}
#styled::part(tile){outline:2px solid rgb(1, 2, 3)}
#styled::part(header){padding-left:7px}
</style>`
	snippet := e.w.Snippet(EmbedOptions{})
	// The same options as data- attributes, which the embed's own element
	// carries: they win over the page's.
	attributes := `<div style="--vitrine-accent:#000" data-vitrine data-accent-color="#225588" data-text-color="#101010" data-background-color="#eeeeee" data-radius="10" data-gap="0" data-follow-button="false"></div><div data-vitrine data-header="false" data-radius="99" data-accent-color="red"></div>`
	host := hostServer(t, style, strings.Replace(snippet, "<div data-vitrine", `<div id="styled" data-vitrine`, 1)+snippet+attributes)
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(1200, 900), chromedp.Navigate(host.URL)); err != nil {
		t.Fatal(err)
	}
	wait(t, ctx, "four galleries", `[...document.querySelectorAll('[data-vitrine-on=""]')].filter(e => e.shadowRoot.querySelector('.vitrine-follow')).length === 4`)
	computed := func(n int, sel, property string) string {
		return eval[string](t, ctx, fmt.Sprintf(`getComputedStyle(%s.querySelector('%s')).getPropertyValue('%s')`, rootN(n), sel, property))
	}
	for _, c := range []struct {
		n                   int
		sel, property, want string
	}{
		{0, ".vitrine-follow", "background-color", "rgb(180, 83, 42)"},
		{0, ".vitrine-follow", "text-transform", "uppercase"},
		{0, ".vitrine-follow", "border-top-left-radius", "0px"},
		{0, ".vitrine-link", "border-top-left-radius", "12px"},
		{0, ".vitrine-link", "outline-color", "rgb(1, 2, 3)"},
		{0, ".vitrine-head", "padding-left", "7px"},
		{0, ".vitrine", "background-color", "rgb(251, 247, 241)"},
		{0, ".vitrine", "color", "rgb(59, 47, 47)"},
		{0, ".vitrine-grid", "row-gap", "9px"},
		{0, ".vitrine", "font-family", "Georgia, serif"},
		// The gallery without the element's own values: the ancestor's
		// text and font, the server's accent and radius.
		{1, ".vitrine-follow", "background-color", "rgb(43, 106, 58)"},
		{1, ".vitrine-follow", "text-transform", "none"},
		{1, ".vitrine-link", "border-top-left-radius", "0px"},
		{1, ".vitrine", "color", "rgb(59, 47, 47)"},
		{1, ".vitrine", "font-family", "Georgia, serif"},
		{1, ".vitrine-grid", "row-gap", "4px"},
		// data- attributes.
		{2, ".vitrine-follow", "display", "none"},
		{2, ".vitrine-more", "border-top-color", "rgb(34, 85, 136)"},
		{2, ".vitrine", "color", "rgb(16, 16, 16)"},
		{2, ".vitrine", "background-color", "rgb(238, 238, 238)"},
		{2, ".vitrine-link", "border-top-left-radius", "10px"},
		{2, ".vitrine-more", "border-top-left-radius", "22px"},
		{2, ".vitrine-grid", "row-gap", "0px"},
		{3, ".vitrine-head", "display", "none"},
		// Values the table does not allow leave the server's.
		{3, ".vitrine-link", "border-top-left-radius", "0px"},
		{3, ".vitrine-more", "border-top-color", "rgb(43, 106, 58)"},
	} {
		if got := computed(c.n, c.sel, c.property); got != c.want {
			t.Errorf("gallery %d: %s's %s is %q, want %q", c.n, c.sel, c.property, got, c.want)
		}
	}
}

// The themes: dark by the embed's data-theme (and widget.theme), auto
// following the visitor's prefers-color-scheme. Screenshots of both for
// the README.
func TestBrowserThemes(t *testing.T) {
	testkit.SkipIfShort(t, "drives Chromium")
	ctx := browser(t)
	e := newEnv(t, func(e *env) {
		e.connect()
		posts := makePosts(12)
		e.replace(posts...)
		e.mirrorTinted(posts...)
	}, withConfig(func(c *config.Config) { c.Widget.Count = 4; c.Widget.MaxPosts = 12 }))
	var body strings.Builder
	body.WriteString(`<div style="display:grid;grid-template-columns:1fr 1fr;gap:24px">`)
	for _, theme := range []string{"light", "dark", "auto"} {
		fmt.Fprintf(&body, `<section><h2>%s</h2>%s</section>`, theme, e.w.Snippet(EmbedOptions{Theme: theme}))
	}
	body.WriteString(`</div>`)
	host := hostServer(t, "", body.String())
	// Each gallery's background, text and muted text as the visitor sees
	// them, drawn on the host page's background, as sRGB bytes (a canvas
	// composites them; a color-mix() computes to color(srgb …)).
	colours := func() []string {
		return eval[[]string](t, ctx, `(() => {
			const c = document.createElement('canvas').getContext('2d', {willReadFrequently: true}),
				paint = (...layers) => { layers.forEach(v => { c.fillStyle = v; c.fillRect(0, 0, 1, 1) }); const d = c.getImageData(0, 0, 1, 1).data; return 'rgb(' + d[0] + ', ' + d[1] + ', ' + d[2] + ')' },
				page = getComputedStyle(document.body).backgroundColor;
			return [...document.querySelectorAll('[data-vitrine-on]')].map(h => h.shadowRoot.querySelector('.vitrine')).map(g => {
				const bg = getComputedStyle(g).backgroundColor;
				return [paint(page, bg), paint(page, bg, getComputedStyle(g).color), paint(page, bg, getComputedStyle(g.querySelector('.vitrine-user')).color)].join(' ')
			})
		})()`)
	}
	// What the contrast test computes from the CSS, on the host's #fbf7f1.
	src, err := os.ReadFile(filepath.FromSlash(cssSourcePath))
	if err != nil {
		t.Fatal(err)
	}
	css, err := minifyCSS(string(src))
	if err != nil {
		t.Fatal(err)
	}
	expected := func(dark bool) string {
		c, page := themeColours{css: css, dark: dark}, rgba{0xfb, 0xf7, 0xf1, 1}
		bg := c.of(t, "var(--_background)").over(page)
		var out []string
		for _, v := range []rgba{bg, c.of(t, "var(--_text)").over(bg), c.of(t, "var(--_muted)").over(bg)} {
			n := v.rgb()
			out = append(out, fmt.Sprintf("rgb(%d, %d, %d)", n>>16, n>>8&0xff, n&0xff))
		}
		return strings.Join(out, " ")
	}
	light, dark := expected(false), expected(true)
	dir := screenshotDir(t)
	for _, scheme := range []string{"light", "dark"} {
		if _, err := chromedp.Call(ctx, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{Features: []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: scheme}}}); err != nil {
			t.Fatal(err)
		}
		if err := chromedp.Do(ctx, chromedp.EmulateViewport(1100, 740), chromedp.Navigate(host.URL)); err != nil {
			t.Fatal(err)
		}
		wait(t, ctx, "three galleries", `[...document.querySelectorAll('[data-vitrine-on=""]')].filter(e => e.shadowRoot.querySelector('.vitrine-item')).length === 3`)
		want := []string{light, dark, map[string]string{"light": light, "dark": dark}[scheme]}
		// Within a unit a channel: the canvas keeps alpha in a byte.
		if got := colours(); !sameColours(got, want) {
			t.Errorf("prefers-color-scheme %s: light, dark, auto galleries are %q, want %q", scheme, got, want)
		}
		if scheme == "light" {
			if err := chromedp.Do(ctx, chromedp.Evaluate[chromedp.Void](`document.querySelector('h2').scrollIntoView()`)); err != nil {
				t.Fatal(err)
			}
			shot(t, ctx, dir, "themes.png")
		}
	}
	// widget.theme sets the gallery's own.
	d := newEnv(t, withSeed(3), withConfig(func(c *config.Config) { c.Widget.Theme = "dark" }))
	mustContain(t, "widget.js", d.get("/widget.js").text(t), `data-theme=\"dark\"`)
}

// The tiles carry captions cut to widget.caption_length; the lightbox shows
// the whole caption, from widget.json.
func TestBrowserLightboxShowsWholeCaption(t *testing.T) {
	testkit.SkipIfShort(t, "drives Chromium")
	ctx := browser(t)
	posts := longCaptionPosts(6)
	e := newEnv(t, func(e *env) {
		e.connect()
		e.replace(posts...)
		e.mirror(posts...)
	}, withConfig(func(c *config.Config) { c.Widget.Captions, c.Widget.CaptionLength = true, 80 }))
	host := hostServer(t, "", e.w.Snippet(EmbedOptions{}))
	if err := chromedp.Do(ctx, chromedp.Navigate(host.URL)); err != nil {
		t.Fatal(err)
	}
	wait(t, ctx, "the gallery", sr+` && `+sr+`.querySelectorAll('.vitrine-cap').length === 6`)
	if cut := eval[string](t, ctx, sr+`.querySelectorAll('.vitrine-cap')[1].textContent`); len([]rune(cut)) > 81 || !strings.HasSuffix(cut, "…") || !strings.HasPrefix(posts[1].Caption, strings.TrimSuffix(cut, "…")) {
		t.Errorf("the tile's caption is %q, want the caption cut to about 80 characters", cut)
	}
	if err := chromedp.Do(ctx, chromedp.Evaluate[chromedp.Void](sr+`.querySelectorAll('.vitrine-link')[1].click()`)); err != nil {
		t.Fatal(err)
	}
	wait(t, ctx, "the whole caption in the lightbox", sr+`.querySelector('.vitrine-lb').open && `+sr+`.querySelector('.vitrine-lb-cap').textContent.length === 2200`)
	if got := eval[string](t, ctx, sr+`.querySelector('.vitrine-lb-cap').textContent`); got != posts[1].Caption {
		t.Errorf("the lightbox shows %.60q…, want the post's caption", got)
	}
}

// sameColours reports whether two lists of "rgb(r, g, b) …" strings name
// the same colours within one unit a channel.
func sameColours(a, b []string) bool {
	numbers := func(s []string) []int {
		var out []int
		for _, f := range strings.FieldsFunc(strings.Join(s, " "), func(r rune) bool { return r < '0' || r > '9' }) {
			n, _ := strconv.Atoi(f)
			out = append(out, n)
		}
		return out
	}
	x, y := numbers(a), numbers(b)
	if len(x) != len(y) || len(x) == 0 {
		return false
	}
	for i := range x {
		if x[i]-y[i] > 1 || y[i]-x[i] > 1 {
			return false
		}
	}
	return true
}

// The details the gallery shows take their space in widget.css too: the
// counts below the tiles, the biography under the header (as the embed's
// data-counts, data-bio and data-header leave them), so nothing moves
// when the gallery paints.
func TestBrowserSnippetReservesTheDetails(t *testing.T) {
	testkit.SkipIfShort(t, "drives Chromium")
	ctx := browser(t)
	e := newEnv(t, withDetails(12), withConfig(func(c *config.Config) {
		c.Widget.Counts, c.Widget.Bio, c.Widget.Count = "below", true, 9
	}))
	embeds := []EmbedOptions{{}, {Header: "false"}, {Columns: 2}}
	var body strings.Builder
	extra := []string{"", ` data-counts="hover"`, ` data-bio="false"`}
	for i, o := range append(embeds, EmbedOptions{}, EmbedOptions{}) {
		attrs := ""
		if i >= len(embeds) {
			attrs = extra[i-len(embeds)+1]
		}
		el := strings.Replace(e.w.Element(o), "<div data-vitrine", "<div data-vitrine"+attrs, 1)
		twin := strings.Replace(el, "<div data-vitrine", `<div data-vitrine data-vitrine-on="held" class="twin"`, 1)
		fmt.Fprintf(&body, `<section>%s<script src="%s" async></script><p>below</p>%s</section>`, el, e.base+ScriptPath, twin)
	}
	host := hostServer(t, `<link rel="stylesheet" href="`+e.base+StylePath+`">`, body.String())
	const painted = `[...document.querySelectorAll('[data-vitrine-on=""]')]`
	for _, width := range []int64{1100, 420} {
		if err := chromedp.Do(ctx, chromedp.EmulateViewport(width, 900), chromedp.Navigate(host.URL)); err != nil {
			t.Fatal(err)
		}
		wait(t, ctx, "five galleries", painted+`.length === 5 && `+painted+`.every(e => e.shadowRoot.querySelector('.vitrine-item'))`)
		got := eval[[][]float64](t, ctx, painted+`.map(e => [e.getBoundingClientRect().height, e.parentNode.querySelector('.twin').getBoundingClientRect().height])`)
		for i, g := range got {
			if math.Abs(g[0]-g[1]) > 0.5 {
				t.Errorf("%d px, gallery %d: %.2f px high, its reserved space %.2f", width, i, g[0], g[1])
			}
		}
	}
}
