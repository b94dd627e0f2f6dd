package admin_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/target"
	"github.com/chromedp/chromedp"

	"vitrine/admin"
	"vitrine/store"
	"vitrine/testkit"
)

// screenshotDir is $VITRINE_SCREENSHOTS (kept as a CI artifact) or a temp dir.
func screenshotDir(t *testing.T) string {
	t.Helper()
	if d := os.Getenv("VITRINE_SCREENSHOTS"); d != "" {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		return d
	}
	return t.TempDir()
}

// The browser test shares the test binary's Chromium (testkit.Chromium).
func TestMain(m *testing.M) { testkit.Main(m) }

// newBrowser opens a tab in headless Chromium for one test, bounded by
// timeout.
func newBrowser(t *testing.T, timeout time.Duration) context.Context {
	t.Helper()
	tctx, cancel := context.WithTimeout(testkit.Chromium(t), timeout)
	t.Cleanup(cancel)
	return tctx
}

type shooter struct {
	t   *testing.T
	dir string
}

// shot saves a full-page PNG of ctx's tab as name.png.
func (s shooter) shot(ctx context.Context, name string) {
	s.t.Helper()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		s.t.Fatalf("screenshot %s: %v", name, err)
	}
	p := filepath.Join(s.dir, name+".png")
	if err := os.WriteFile(p, png, 0o644); err != nil {
		s.t.Fatal(err)
	}
	s.t.Logf("screenshot: %s", p)
}

func css(s string) chromedp.CSS { return chromedp.CSS(s) }

// TestBrowserConnect is the admin's whole path in a real browser: sign in,
// click Generate, approve in the popup, the popup closes, and the dashboard
// shows the account without a manual reload.
func TestBrowserConnect(t *testing.T) {
	testkit.SkipIfShort(t, "drives Chromium")
	ctx := newBrowser(t, 5*time.Minute) // a hung browser, not a pace: each step waits on a condition
	v := newVitrine(t)
	shots := shooter{t, screenshotDir(t)}

	step := func(name string, steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(ctx, steps...); err != nil {
			t.Fatalf("%s: %v\nserver log:\n%s", name, err, v.Logs.String())
		}
	}

	step("open the login page",
		chromedp.Navigate(v.URL+"/admin"),
		chromedp.WaitVisible(css("#password")),
	)
	shots.shot(ctx, "login")
	step("wrong password",
		chromedp.SendKeys(css("#password"), "not it"),
		chromedp.Submit(css("#password")),
		chromedp.WaitVisible(css(".alert-bad")),
	)
	shots.shot(ctx, "login-wrong-password")
	step("sign in",
		chromedp.SendKeys(css("#password"), testPassword),
		chromedp.Submit(css("#password")),
		chromedp.WaitVisible(css(".empty a[data-popup]")),
	)
	shots.shot(ctx, "dashboard-empty")

	// Click Generate and attach to the popup it opens.
	popupID := chromedp.WaitNewTarget(ctx, func(info *target.Info) bool { return info.URL != "" })
	step("click Generate", chromedp.Click(css(".empty a[data-popup]")))
	var id target.ID
	select {
	case id = <-popupID:
	case <-ctx.Done():
		t.Fatal("no popup opened")
	}
	if id == "" {
		t.Fatal("no popup opened (target gone)")
	}
	popup, cancelPopup := chromedp.NewContext(ctx, chromedp.WithTargetID(id))
	defer cancelPopup()
	if err := chromedp.Do(popup, chromedp.WaitVisible(css(`button[value="approve"]`))); err != nil {
		t.Fatalf("consent page in the popup: %v", err)
	}
	name, err := chromedp.Run(popup, chromedp.Evaluate[string]("window.name"))
	if err != nil || name != admin.PopupName {
		t.Errorf("popup window.name = %q (%v), want %q", name, err, admin.PopupName)
	}
	shots.shot(popup, "popup-consent")
	gone, err := chromedp.Detached(popup)
	if err != nil {
		t.Fatal(err)
	}
	// The click starts the navigation that ends with the popup closing
	// itself, so the click's own result may be cut short.
	_ = chromedp.Do(popup, chromedp.Click(css(`button[value="approve"]`)))
	select {
	case <-gone:
	case <-ctx.Done():
		t.Fatalf("the popup did not close\nserver log:\n%s", v.Logs.String())
	}

	// The dashboard hears about it and shows the account.
	step("dashboard shows the account", chromedp.WaitVisible(css(".account-name")))
	user, err := chromedp.Run(ctx, chromedp.Text(css(".account-name")))
	if err != nil || !strings.Contains(user, "@vitrine.studio") {
		t.Fatalf("account name = %q, %v", user, err)
	}
	url, _ := chromedp.Run(ctx, chromedp.Location())
	if url != v.URL+"/admin" {
		t.Errorf("dashboard URL = %s", url)
	}
	if tok, ok := v.StoredToken(); !ok || tok.Username != "vitrine.studio" {
		t.Fatalf("token not stored: %v", ok)
	}
	step("posts are counted", chromedp.WaitVisible(css(".tile .big")))
	shots.shot(ctx, "dashboard-connected")

	// The disconnect confirm dialog.
	step("open the disconnect dialog",
		chromedp.Click(css("a[data-dialog]")),
		chromedp.WaitVisible(css("#disconnect-dialog .btn-danger")),
	)
	shots.shot(ctx, "dashboard-disconnect-dialog")
	step("cancel", chromedp.Click(css("[data-dialog-cancel]")), chromedp.WaitNotVisible(css("#disconnect-dialog")))

	// Re-auth needed: the banner appears live, without a reload.
	if _, err := v.Store.UpdateTokenStatus(context.Background(), store.StatusNeedsReauth, "password changed"); err != nil {
		t.Fatal(err)
	}
	step("banner appears", chromedp.WaitVisible(css(".banner")))
	shots.shot(ctx, "dashboard-needs-reauth")

	// Narrow screens.
	step("phone width", chromedp.EmulateViewport(390, 844), chromedp.Reload(), chromedp.WaitVisible(css(".banner")))
	shots.shot(ctx, "dashboard-needs-reauth-390")
	if _, err := v.Store.UpdateTokenStatus(context.Background(), store.StatusValid, ""); err != nil {
		t.Fatal(err)
	}
	step("banner goes", chromedp.WaitNotVisible(css(".banner")))
	shots.shot(ctx, "dashboard-connected-390")

	// A callback that can't be trusted: the error page.
	step("forged callback",
		chromedp.EmulateViewport(1280, 900),
		chromedp.Navigate(v.URL+"/admin/callback?code=AQBforged&state=forged"),
		chromedp.WaitVisible(css(".msg-icon")),
	)
	loc, _ := chromedp.Run(ctx, chromedp.Location())
	if strings.Contains(loc, "code=") {
		t.Errorf("the code stayed in the address bar: %s", loc)
	}
	shots.shot(ctx, "callback-error")

	step("signed out",
		chromedp.Navigate(v.URL+"/admin"),
		chromedp.Click(css(".topbar button[type=submit]")),
		chromedp.WaitVisible(css(".alert-info")),
	)
	step("phone width login", chromedp.EmulateViewport(390, 844))
	shots.shot(ctx, "login-390")
}
