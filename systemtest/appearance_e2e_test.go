package systemtest

import (
	"fmt"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"vitrine/config"
	"vitrine/testkit"
	"vitrine/testkit/testvitrine"
)

// TestE2EOwnerShapesTheGallery is the site owner on the Appearance page:
// they change the layout, the counts, the language, the accent colour and
// the Follow button, watch the preview
// follow before saving, save, and the sample site's three embeds (the JS
// one, the iframe and the server-side fragment), already open in another
// visit, show it on the next load, with no restart and no snippet copied
// again.
func TestE2EOwnerShapesTheGallery(t *testing.T) {
	testkit.SkipIfShort(t, "drives Chromium")
	t.Parallel()
	v := testvitrine.New(t, testvitrine.Demo(), testvitrine.Posts(e2ePosts), testvitrine.RealTime(),
		testvitrine.Configure(func(c *config.Config) {
			// Browsers may keep the gallery this long; the story need not
			// wait out the default minute.
			c.Widget.CacheMaxAge = config.Duration(time.Second)
		}))
	v.ConnectAndSync(firstSyncPatience)
	b := newBrowserStory(t, v.URL)

	// A visitor's view before: the grid, in English, without counts.
	embeds := func(js string) string {
		return fmt.Sprintf(`(g => !!g(%s) && !!g(document.querySelector('[data-embed=iframe] iframe').contentDocument) && !!g(document.querySelector('[data-embed=fragment]')))(%s)`,
			sr, js)
	}
	// accent is the gallery's accent colour as its CSS resolved it; follows
	// whether its Follow button shows.
	const accent = `getComputedStyle(g).getPropertyValue('--_accent').trim()`
	const follows = `(f => !!f && getComputedStyle(f).display !== 'none')(r.querySelector('.vitrine-follow'))`
	isGrid := `r => { const g = r && r.querySelector('.vitrine'); return g && g.dataset.layout === 'grid' && !r.querySelector('.vitrine-counts') && ` + accent + ` !== '#b00060' && ` + follows + ` }`
	b.do(b.ctx, "open the sample site", v.Logs, chromedp.Navigate(v.URL+"/demo"))
	b.waitJS("every embed in the grid", `!!document.querySelector('[data-embed=js] [data-vitrine-on]') && `+embeds(isGrid))

	b.signIn(v.Logs)
	b.do(b.ctx, "open the Appearance page", v.Logs, chromedp.Navigate(v.URL+"/admin/appearance"), chromedp.WaitVisible(chromedp.CSS("#opt-layout")))
	const preview = `document.querySelector("iframe[data-preview]").contentDocument?`
	b.waitJS("the preview shows the grid", preview+`.querySelector(".vitrine")?.dataset.layout === "grid"`)
	choose := func(id, value string) {
		b.do(b.ctx, "choose "+value, v.Logs, chromedp.SetValue(chromedp.CSS(id), value),
			chromedp.Evaluate[chromedp.Void](`document.querySelector("`+id+`").dispatchEvent(new Event("change", {bubbles: true}))`))
	}
	choose("#opt-layout", "carousel")
	choose("#opt-counts", "below")
	choose("#opt-language", "de")
	b.do(b.ctx, "type an accent colour", v.Logs, chromedp.SendKeys(chromedp.CSS("#opt-accent_color"), "#b00060"))
	b.do(b.ctx, "switch the Follow button off", v.Logs, chromedp.Click(chromedp.CSS("#opt-follow_button")))
	b.waitJS("the preview follows every change", `(r => { const g = r?.querySelector(".vitrine"); return !!g && g.dataset.layout === "carousel" && !!r.querySelector(".vitrine-counts") && g.lang === "de" && `+
		accent+` === "#b00060" && !`+follows+` })(document.querySelector("iframe[data-preview]").contentDocument)`)
	if saved, err := v.Store.GallerySettings(b.ctx); err != nil || len(saved) != 0 {
		t.Fatalf("before Save the database keeps %v (%v)", saved, err)
	}
	b.shot(b.ctx, "appearance", true)

	b.do(b.ctx, "save", v.Logs, chromedp.Click(chromedp.CSS(`.appearance-actions button[type="submit"]`)), chromedp.WaitVisible(chromedp.CSS(".alert-ok")))

	// The visitor comes back once the gallery's cache age has passed.
	time.Sleep(1100 * time.Millisecond)
	isShaped := `r => { const g = r && r.querySelector('.vitrine'); return g && g.dataset.layout === 'carousel' && g.lang === 'de' && !!r.querySelector('.vitrine-counts') && ` + accent + ` === '#b00060' && !` + follows + ` }`
	b.do(b.ctx, "open the sample site again", v.Logs, chromedp.Navigate(v.URL+"/demo"))
	b.waitJS("every embed shaped as saved", `!!document.querySelector('[data-embed=js] [data-vitrine-on]') && `+embeds(isShaped))
	b.shot(b.ctx, "demo-site-shaped", false)
}
