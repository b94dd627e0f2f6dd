package admin_test

import (
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"vitrine/testkit"
)

// TestBrowserAppearance is the owner on the Appearance page in Chromium:
// a layout chosen with the keyboard and a colour typed show in the preview
// before anything is saved, the phone width narrows it, and Save keeps them.
func TestBrowserAppearance(t *testing.T) {
	testkit.SkipIfShort(t, "drives Chromium")
	ctx := newBrowser(t, 3*time.Minute)
	v := newVitrine(t)
	shots := shooter{t, screenshotDir(t)}
	step := func(name string, steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(ctx, steps...); err != nil {
			t.Fatalf("%s: %v\nserver log:\n%s", name, err, v.Logs.String())
		}
	}
	// The frame's document while it loads the next preview may be blank:
	// each step waits for the one it expects.
	const preview = `document.querySelector("iframe[data-preview]").contentDocument?`
	wait := func(what, js string) {
		t.Helper()
		if _, err := chromedp.Run(ctx, chromedp.Poll[bool](js, chromedp.WithPollingTimeout(time.Minute), chromedp.WithPollingInterval(50*time.Millisecond))); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}

	step("sign in and open the page",
		chromedp.Navigate(v.URL+"/admin/login"),
		chromedp.WaitVisible(css("#password")),
		chromedp.SendKeys(css("#password"), testPassword),
		chromedp.Submit(css("#password")),
		chromedp.WaitVisible(css(".account, .empty")),
		chromedp.Navigate(v.URL+"/admin/appearance"),
		chromedp.WaitVisible(css("#opt-layout")),
	)
	wait("the preview shows the saved grid", preview+`.querySelector(".vitrine")?.dataset.layout == "grid"`)

	// The keyboard alone picks the next layout: carousel.
	step("choose a layout with the keyboard", chromedp.SendKeys(css("#opt-layout"), "c")) // type-ahead: Carousel
	if v, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.querySelector("#opt-layout").value`)); v != "carousel" {
		t.Fatalf("typing c on the layout select chose %q", v)
	}
	wait("the preview follows the layout", preview+`.querySelector(".vitrine")?.dataset.layout == "carousel"`)
	step("pick German", chromedp.SetValue(css("#opt-language"), "de"),
		chromedp.Evaluate[chromedp.Void](`document.querySelector("#opt-language").dispatchEvent(new Event("change", {bubbles: true}))`))
	wait("the preview speaks German", preview+`.documentElement?.lang == "de"`)
	if saved := v.savedSettings(); len(saved) != 0 {
		t.Errorf("previewing saved %v", saved)
	}
	if unsaved, _ := chromedp.Run(ctx, chromedp.Evaluate[bool](`!document.querySelector("[data-unsaved]").hidden`)); !unsaved {
		t.Error("the page does not say the changes are unsaved")
	}

	step("phone width", chromedp.Click(css(`[data-preview-width="phone"]`)))
	wait("the preview is phone-wide", `document.querySelector("iframe[data-preview]").getBoundingClientRect().width <= 376`)
	if pressed, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.querySelector('[data-preview-width="phone"]').getAttribute("aria-pressed")`)); pressed != "true" {
		t.Errorf("the Phone button's aria-pressed = %q", pressed)
	}
	shots.shot(ctx, "appearance-preview-phone")

	step("save", chromedp.Click(css(`.appearance-actions button[type="submit"]`)), chromedp.WaitVisible(css(".alert-ok")))
	saved := v.savedSettings()
	if saved["layout"] != "carousel" || saved["language"] != "de" || len(saved) != 2 {
		t.Errorf("saved %v, want layout carousel and language de", saved)
	}
	wait("the saved page previews what was saved", preview+`.querySelector(".vitrine")?.dataset.layout == "carousel"`)
	shots.shot(ctx, "appearance-saved")
}
