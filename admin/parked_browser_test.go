package admin_test

import (
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestBrowserParkedConnection: the admin's dashboard is open when Generate
// is finished on a phone for another account. The phone's browser is told
// it waits; the dashboard asks "Connect @name?" without a manual reload,
// and Connect makes it the connection.
func TestBrowserParkedConnection(t *testing.T) {
	ctx := newBrowser(t, 90*time.Second)
	v := newVitrine(t)
	shots := shooter{t, screenshotDir(t)}
	v.connectOther()

	step := func(name string, steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(ctx, steps...); err != nil {
			t.Fatalf("%s: %v\nserver log:\n%s", name, err, v.Logs.String())
		}
	}
	step("sign in",
		chromedp.Navigate(v.URL+"/admin"),
		chromedp.WaitVisible(css("#password")),
		chromedp.SendKeys(css("#password"), testPassword),
		chromedp.Submit(css("#password")),
		chromedp.WaitVisible(css(".account-name")),
	)

	// Generate in another tab of the admin's browser, approved elsewhere.
	tab, cancelTab := chromedp.NewContext(ctx)
	if err := chromedp.Do(tab, chromedp.Navigate(v.URL+"/admin/generate"), chromedp.WaitVisible(css(`button[value="approve"]`))); err != nil {
		t.Fatalf("generate: %v", err)
	}
	loc, err := chromedp.Run(tab, chromedp.Location())
	cancelTab()
	if err != nil {
		t.Fatal(err)
	}
	back := v.decide(mustURL(t, loc), "approve")

	// The phone: a browser without the admin's cookie.
	phone, cancelPhone := chromedp.NewContext(ctx, chromedp.WithNewBrowserContext())
	defer cancelPhone()
	if err := chromedp.Do(phone, chromedp.EmulateViewport(390, 844), chromedp.Navigate(back.String()), chromedp.WaitVisible(css(".msg-icon"))); err != nil {
		t.Fatalf("the phone's callback: %v", err)
	}
	said, _ := chromedp.Run(phone, chromedp.Text(css("main, body")))
	if !strings.Contains(said, "Waiting for your confirmation") || !strings.Contains(said, "@vitrine.studio") {
		t.Errorf("the phone's page says:\n%s", said)
	}
	if phoneLoc, _ := chromedp.Run(phone, chromedp.Location()); strings.Contains(phoneLoc, "code=") {
		t.Errorf("the code stayed in the phone's address bar: %s", phoneLoc)
	}
	shots.shot(phone, "handoff-parked-390")

	// The open dashboard notices (status.json) and asks.
	step("the dashboard asks", chromedp.WaitVisible(css(".parked")))
	title, _ := chromedp.Run(ctx, chromedp.Text(css("#parked-title")))
	if title != "Connect @vitrine.studio?" {
		t.Errorf("the dashboard asks %q", title)
	}
	shots.shot(ctx, "dashboard-parked")
	step("phone width", chromedp.EmulateViewport(390, 844), chromedp.Reload(), chromedp.WaitVisible(css(".parked")))
	shots.shot(ctx, "dashboard-parked-390")

	step("Connect",
		chromedp.EmulateViewport(1280, 900),
		chromedp.Click(css(`.parked form[action="/admin/parked/confirm"] button`)),
		chromedp.WaitVisible(css(".flash")),
	)
	user, _ := chromedp.Run(ctx, chromedp.Text(css(".account-name")))
	flash, _ := chromedp.Run(ctx, chromedp.Text(css(".flash")))
	if !strings.Contains(user, "@vitrine.studio") || !strings.Contains(flash, "Instagram is connected") {
		t.Errorf("after Connect: account %q, notice %q", user, flash)
	}
	if n, _ := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll(".parked").length`)); n != 0 {
		t.Error("the dashboard still asks after Connect")
	}
	if tok, _ := v.StoredToken(); tok.Username != "vitrine.studio" {
		t.Errorf("connected %v", tok)
	}
	shots.shot(ctx, "dashboard-parked-confirmed")
}
