package admin_test

import (
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"vitrine/testkit"
)

// A post's link in a real browser, through the dashboard's script: a
// refused address is said in the Posts section and stays in the form as
// typed; a good one is saved and shown on the card; Remove removes it.
func TestBrowserPostLink(t *testing.T) {
	testkit.SkipIfShort(t, "drives Chromium")
	ctx := newBrowser(t, 5*time.Minute) // a hung browser, not a pace: each step waits on a condition
	v := newVitrine(t)
	posts := v.CachePosts(4)
	id := posts[1].ID
	card := `[data-post="` + id + `"] `
	shots := shooter{t, screenshotDir(t)}
	step := func(name string, steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(ctx, steps...); err != nil {
			t.Fatalf("%s: %v\nserver log:\n%s", name, err, v.Logs.String())
		}
	}
	value := func(js string) string {
		t.Helper()
		v, err := chromedp.Run(ctx, chromedp.Evaluate[string](js))
		if err != nil {
			t.Fatalf("%s: %v", js, err)
		}
		return v
	}

	step("sign in",
		chromedp.EmulateViewport(1100, 900),
		chromedp.Navigate(v.URL+"/admin"),
		chromedp.WaitVisible(css("#password")),
		chromedp.SendKeys(css("#password"), testPassword),
		chromedp.Submit(css("#password")),
		chromedp.WaitVisible(css(card+"details.post-link summary")),
	)
	step("a refused address",
		chromedp.Click(css(card+"details.post-link summary")),
		chromedp.WaitVisible(css(card+`input[name="url"]`)),
		chromedp.SendKeys(css(card+`input[name="url"]`), "javascript:alert(document.cookie)"),
		chromedp.SendKeys(css(card+`input[name="label"]`), "Buy the mug"),
		chromedp.Click(css(card+`button[value="save"]`)),
		chromedp.Poll[chromedp.Void](`document.querySelector('[data-posts-say]').textContent.includes('Link not saved')`, chromedp.WithPollingTimeout(time.Minute)),
	)
	if got := value(`document.querySelector('` + card + `input[name="url"]').value`); got != "javascript:alert(document.cookie)" {
		t.Errorf("the address typed is gone: %q", got)
	}
	if got := value(`document.querySelector('` + card + `input[name="label"]').value`); got != "Buy the mug" {
		t.Errorf("the label typed is gone: %q", got)
	}
	if got := value(`document.querySelector('` + card + `input[name="url"]').getAttribute('aria-invalid') || ''`); got != "true" {
		t.Error("the refused address is not marked")
	}
	if v.linkOf(id) != "" {
		t.Fatalf("a refused link was saved: %q", v.linkOf(id))
	}
	shots.shot(ctx, "dashboard-post-link-refused")

	step("a good address",
		chromedp.Evaluate[chromedp.Void](`document.querySelector('`+card+`input[name="url"]').value = ''`),
		chromedp.SendKeys(css(card+`input[name="url"]`), "https://shop.example/mug"),
		chromedp.Click(css(card+`button[value="save"]`)),
		chromedp.Poll[chromedp.Void](`(document.querySelector('`+card+`.post-link-words') || {}).textContent === 'Buy the mug'`, chromedp.WithPollingTimeout(time.Minute)),
	)
	if got := v.linkOf(id); got != "https://shop.example/mug|Buy the mug" {
		t.Errorf("saved %q", got)
	}
	if !strings.Contains(value(`document.querySelector('[data-posts-say]').textContent`), "Visitors see its button") {
		t.Error("the Posts section does not say the link was saved")
	}
	step("scroll to the posts", chromedp.Evaluate[chromedp.Void](`document.getElementById('posts').scrollIntoView()`))
	shots.shot(ctx, "dashboard-post-link")

	step("remove it",
		chromedp.Click(css(card+`button[value="remove"]`)),
		chromedp.Poll[chromedp.Void](`!document.querySelector('`+card+`.post-link-words')`, chromedp.WithPollingTimeout(time.Minute)),
	)
	if got := v.linkOf(id); got != "" {
		t.Errorf("after Remove: %q", got)
	}
}
