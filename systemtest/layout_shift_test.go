package systemtest

import (
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	cdpfetch "github.com/chromedp/cdproto/fetch"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"vitrine/testkit"
	"vitrine/testkit/testvitrine"
)

// The demo's sample site, where a JS embed sits above an iframe and more
// galleries, does not move while it loads, on a phone (Lighthouse's
// emulation: 412 × 823 at 1.75×, and 390 × 844 at 3×) and at desktop
// width: the snippets reserve each gallery's height before their scripts
// run. The shifts are counted from the first paint, by the browser's own
// layout-shift entries (what Lighthouse sums into CLS).
func TestE2ESampleSiteDoesNotShift(t *testing.T) {
	testkit.SkipIfShort(t, "drives Chromium")
	t.Parallel()
	v := testvitrine.New(t, testvitrine.Demo(), testvitrine.Posts(e2ePosts), testvitrine.RealTime())
	v.ConnectAndSync(firstSyncPatience)
	b := newBrowserStory(t, v.URL)
	const observe = `window.__shifts = []; new PerformanceObserver(l => l.getEntries().forEach(x => x.hadRecentInput || window.__shifts.push(x.value + ' ' + x.sources.map(s => s.node && (s.node.id || s.node.className || s.node.nodeName)).join(',')))).observe({type: 'layout-shift', buffered: true})`
	if _, err := chromedp.Call(b.ctx, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: observe}); err != nil {
		t.Fatal(err)
	}
	// widget.js arrives well after the page has painted, as on a phone's
	// network (on loopback it would come before the first paint, and
	// nothing could be seen to move).
	err := chromedp.Listen(b.ctx, func(ev any) {
		if ev, ok := ev.(*cdpfetch.EventRequestPaused); ok {
			go func() {
				time.Sleep(700 * time.Millisecond)
				_, _ = chromedp.Call(b.ctx, cdpfetch.ContinueRequest, cdpfetch.ContinueRequestParams{RequestID: ev.RequestID})
			}()
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.Call(b.ctx, cdpfetch.Enable, cdpfetch.EnableParams{Patterns: []*cdpfetch.RequestPattern{{URLPattern: "*/widget.js*"}}}); err != nil {
		t.Fatal(err)
	}
	for _, vp := range []struct {
		name          string
		width, height int64
		scale         float64
		mobile        bool
	}{
		{"Lighthouse's phone", 412, 823, 1.75, true},
		{"a phone at 3×", 390, 844, 3, true},
		{"a desktop", 1280, 900, 1, false},
	} {
		opts := []chromedp.EmulateViewportOption{chromedp.EmulateScale(vp.scale)}
		if vp.mobile {
			opts = append(opts, chromedp.EmulateMobile)
		}
		b.do(b.ctx, "open the sample site on "+vp.name, v.Logs, chromedp.EmulateViewport(vp.width, vp.height, opts...), chromedp.Navigate(v.URL+"/demo?"+vp.name))
		b.waitJS("every JS embed painted, its first row loaded", `document.querySelectorAll('[data-vitrine]').length > 0 && [...document.querySelectorAll('[data-vitrine]')].every(e => e.shadowRoot && [...e.shadowRoot.querySelectorAll('.vitrine-item img')].slice(0, 2).every(i => i.complete && i.naturalWidth > 0))`)
		// The iframe has told the page its height, which its snippet set.
		b.waitJS("the iframe sized to its gallery", `(f => f.contentDocument && f.contentDocument.querySelector('.vitrine-item') && Math.abs(f.getBoundingClientRect().height - f.contentDocument.documentElement.getBoundingClientRect().height) <= 2)(document.querySelector('[data-embed=iframe] iframe'))`)
		if shifts := evalJS[[]string](b, `window.__shifts`); len(shifts) > 0 {
			t.Errorf("%s: the page moved while it loaded: %v", vp.name, shifts)
		}
	}
	// The phone's view, for the eye (the screenshot waits for every
	// image, which the paused requests would hold up).
	if _, err := chromedp.Call(b.ctx, cdpfetch.Disable, cdp.Empty{}); err != nil {
		t.Fatal(err)
	}
	b.do(b.ctx, "the sample site on a phone", v.Logs, chromedp.EmulateViewport(390, 844, chromedp.EmulateScale(3), chromedp.EmulateMobile), chromedp.Navigate(v.URL+"/demo"))
	b.waitJS("the first embed", `(e => e && e.shadowRoot && e.shadowRoot.querySelector('.vitrine-item img'))(document.querySelector('[data-vitrine]'))`)
	b.shot(b.ctx, "e2e-sample-site-phone", false)
}
