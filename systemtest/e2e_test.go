package systemtest

// End-to-end stories in a real Chromium, one per kind of user: the site
// admin connecting Instagram, ops being alerted when the token dies, and a
// visitor looking at the gallery on someone's website. Each runs a whole
// Vitrine in -demo mode (the fake Instagram mounted on the same server) and
// saves screenshots; `go test ./systemtest -run E2E -update` also rewrites the
// README's pictures in the repository's docs/.

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/cdproto/target"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"vitrine/alerts"
	"vitrine/config"
	"vitrine/jobs"
	"vitrine/store"
	"vitrine/testkit"
	"vitrine/testkit/testvitrine"
)

// e2ePosts is the fake account's size in the stories: more than the
// widget's 12, few enough that mirroring under -race stays quick.
const e2ePosts = 15

var updateDocs = flag.Bool("update", false, "rewrite the README screenshots in ../docs/")

// docsDir holds the README's pictures: the repository's docs/, one level
// up from this package, where `go test` runs.
var docsDir = filepath.Join("..", "docs")

// screenshotsDir is $VITRINE_SCREENSHOTS, read before the tests clear
// VITRINE_* from their environment; empty: a temp dir per test.
var screenshotsDir = os.Getenv("VITRINE_SCREENSHOTS")

// browser is one headless Chromium tab for a story (testkit.Chromium).
type browser struct {
	t    *testing.T
	ctx  context.Context
	dir  string // where every screenshot goes
	base string // the app's URL

	mu       sync.Mutex
	images   []string // image requests seen
	problems []string // console errors, exceptions
}

func newBrowserStory(t *testing.T, base string) *browser {
	t.Helper()
	ctx := testkit.Chromium(t)
	// A bound for a hung browser, not for the story's pace: every step
	// waits on a condition, with a limit of its own.
	tctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	t.Cleanup(cancel)
	// The screenshots (some are the README's) have no scrollbar.
	if _, err := chromedp.Call(tctx, emulation.SetScrollbarsHidden, emulation.SetScrollbarsHiddenParams{Hidden: true}); err != nil {
		t.Fatal(err)
	}

	b := &browser{t: t, ctx: tctx, base: base, dir: t.TempDir()}
	if d := screenshotsDir; d != "" {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		b.dir = d
	}
	b.listen(tctx)
	t.Cleanup(func() {
		b.mu.Lock()
		defer b.mu.Unlock()
		for _, p := range b.problems {
			t.Errorf("browser: %s", p)
		}
	})
	return b
}

// listen records image requests and console errors of the tab at ctx.
func (b *browser) listen(ctx context.Context) {
	err := chromedp.Listen(ctx, func(ev any) {
		b.mu.Lock()
		defer b.mu.Unlock()
		switch ev := ev.(type) {
		case *network.EventRequestWillBeSent:
			if ev.Type == network.ResourceTypeImage && !strings.HasPrefix(ev.Request.URL, "data:") {
				b.images = append(b.images, ev.Request.URL)
			}
		case *runtime.EventConsoleAPICalled:
			if ev.Type == runtime.ConsoleAPICalledTypeError {
				b.problems = append(b.problems, fmt.Sprintf("console.error %v", ev.Args))
			}
		case *runtime.EventExceptionThrown:
			b.problems = append(b.problems, fmt.Sprintf("exception: %s %s:%d", ev.ExceptionDetails.Text, ev.ExceptionDetails.URL, ev.ExceptionDetails.LineNumber))
		}
	})
	if err != nil {
		b.t.Fatal(err)
	}
}

// do runs browser steps in ctx and fails the story with the server log.
func (b *browser) do(ctx context.Context, what string, logs *testkit.LogBuffer, steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	if err := chromedp.Do(ctx, steps...); err != nil {
		b.t.Fatalf("%s: %v\nserver log:\n%s", what, err, logs.String())
	}
}

// waitJS polls a JavaScript condition in the main tab, for up to a minute
// (for a condition that never comes; under -race on a loaded machine one
// that does can take tens of seconds).
// A poll that spans a navigation (a form's POST and redirect) is cut off
// with the old page; it starts again on the new one.
func (b *browser) waitJS(what, js string) {
	b.t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		_, err := chromedp.Run(b.ctx, chromedp.Poll[chromedp.Void](js, chromedp.WithPollingTimeout(time.Until(deadline))))
		if err == nil {
			return
		}
		// A form post reloads the page under the poll: its JS context
		// goes away, which Chrome words in several ways.
		msg := err.Error()
		navigated := strings.Contains(msg, "navigated or closed") || strings.Contains(msg, "context was destroyed") ||
			strings.Contains(msg, "Cannot find context with specified id")
		if !navigated || time.Now().After(deadline) {
			b.t.Fatalf("waiting for %s (%s): %v", what, js, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func evalJS[T any](b *browser, js string) T {
	b.t.Helper()
	v, err := chromedp.Run(b.ctx, chromedp.Evaluate[T](js))
	if err != nil {
		b.t.Fatalf("evaluate %s: %v", js, err)
	}
	return v
}

// shot saves the tab at ctx as name.png; readme shots are also written to
// docs/ when the tests run with -update. Images are decoded first so none
// is caught half painted.
func (b *browser) shot(ctx context.Context, name string, readme bool) {
	b.t.Helper()
	settle := `Promise.all([...document.images].filter(i => i.currentSrc).map(i => i.decode().catch(() => 0)))` +
		`.then(() => document.fonts.ready).then(() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r))))`
	if err := chromedp.Do(ctx, chromedp.Evaluate[chromedp.Void](settle, chromedp.EvalAwaitPromise)); err != nil {
		b.t.Fatalf("screenshot %s: %v", name, err)
	}
	png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err != nil {
		b.t.Fatalf("screenshot %s: %v", name, err)
	}
	p := filepath.Join(b.dir, name+".png")
	if err := os.WriteFile(p, png, 0o644); err != nil {
		b.t.Fatal(err)
	}
	b.t.Logf("screenshot: %s", p)
	if readme && *updateDocs {
		if err := os.MkdirAll(docsDir, 0o755); err != nil {
			b.t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(docsDir, name+".png"), png, 0o644); err != nil {
			b.t.Fatal(err)
		}
	}
}

// signIn logs in to /admin with the demo password.
func (b *browser) signIn(logs *testkit.LogBuffer) {
	b.t.Helper()
	b.do(b.ctx, "sign in", logs,
		chromedp.Navigate(b.base+"/admin"),
		chromedp.WaitVisible(chromedp.CSS("#password")),
		chromedp.SendKeys(chromedp.CSS("#password"), testPassword),
		chromedp.Submit(chromedp.CSS("#password")),
		chromedp.WaitVisible(chromedp.CSS("[data-dashboard] main")),
	)
}

// popup clicks the link at sel, which opens Instagram's authorize page in
// a popup, and returns the popup's context once that page shows.
func (b *browser) popup(sel string, logs *testkit.LogBuffer) context.Context {
	b.t.Helper()
	opened := chromedp.WaitNewTarget(b.ctx, func(info *target.Info) bool { return info.URL != "" })
	b.do(b.ctx, "click "+sel, logs, chromedp.Click(chromedp.CSS(sel)))
	var id target.ID
	select {
	case id = <-opened:
	case <-b.ctx.Done():
		b.t.Fatal("no popup opened")
	}
	popup, cancel := chromedp.NewContext(b.ctx, chromedp.WithTargetID(id))
	b.t.Cleanup(cancel)
	b.do(popup, "the authorize page in the popup", logs, chromedp.WaitVisible(chromedp.CSS(`button[value="approve"]`)))
	return popup
}

// approve clicks Allow in the popup and waits until the popup has closed
// itself.
func (b *browser) approve(popup context.Context, logs *testkit.LogBuffer) {
	b.t.Helper()
	gone, err := chromedp.Detached(popup)
	if err != nil {
		b.t.Fatal(err)
	}
	// The click starts the navigation that ends with the popup closing,
	// so the click's own result may be cut short.
	_ = chromedp.Do(popup, chromedp.Click(chromedp.CSS(`button[value="approve"]`)))
	select {
	case <-gone:
	case <-b.ctx.Done():
		b.t.Fatalf("the popup did not close\nserver log:\n%s", logs.String())
	}
}

// TestE2EAdminConnectsAndSyncs: sign in, Generate, approve in the popup,
// the popup closes, the dashboard shows the account and its posts; a new
// post plus Sync now updates the count; declining changes nothing.
func TestE2EAdminConnectsAndSyncs(t *testing.T) {
	testkit.SkipIfShort(t, "drives Chromium")
	t.Parallel()
	v := testvitrine.New(t, testvitrine.Demo(), testvitrine.Posts(e2ePosts), testvitrine.RealTime())
	b := newBrowserStory(t, v.URL)

	b.signIn(v.Logs)
	b.do(b.ctx, "the empty dashboard", v.Logs, chromedp.WaitVisible(chromedp.CSS(".empty a[data-popup]")))
	b.shot(b.ctx, "e2e-admin-empty", false)

	popup := b.popup(".empty a[data-popup]", v.Logs)
	b.shot(popup, "authorize", true)
	b.approve(popup, v.Logs)

	b.do(b.ctx, "the dashboard shows the account", v.Logs, chromedp.WaitVisible(chromedp.CSS(".account-name")))
	if user := evalJS[string](b, `document.querySelector('.account-name').textContent`); !strings.Contains(user, "@vitrine.studio") {
		t.Fatalf("account shown: %q", user)
	}
	want := len(v.Fake.MediaIDs())
	b.waitJS("the first sync's posts", fmt.Sprintf(`document.querySelector('[data-bind=posts]').textContent.trim() === '%d'`, want))
	if tok, err := v.Store.Token(context.Background()); err != nil || tok.Username != "vitrine.studio" || tok.Status != store.StatusValid {
		t.Fatalf("stored token: %v %v", tok, err)
	}
	// The first sync goes on mirroring images after the count shows; Sync
	// now before it ends would answer "already running".
	waitJobIdle(t, v, jobs.JobSync)
	b.waitJS("the sync's result", `document.querySelector('[data-bind="last_sync.text"]').textContent.trim() !== 'never'`)
	b.do(b.ctx, "top of the page", v.Logs, chromedp.Evaluate[chromedp.Void](`window.scrollTo(0, 0)`))
	b.shot(b.ctx, "dashboard", true)

	// Something new on Instagram, then Sync now.
	b.do(b.ctx, "post on Instagram", v.Logs, chromedp.Click(chromedp.CSS(`[data-demo-action="post"]`)))
	b.waitJS("the post's flash", `!!document.querySelector('.flash') && document.querySelector('.flash').textContent.includes('new post')`)
	b.do(b.ctx, "sync now", v.Logs, chromedp.Click(chromedp.CSS(`form[data-async="sync"] button`)))
	b.waitJS("the toast", `!document.querySelector('[data-toast]').hidden`)
	if toast := evalJS[string](b, `document.querySelector('[data-toast]').textContent`); !strings.Contains(toast, "Fetching posts now") {
		t.Fatalf("Sync now says %q", toast)
	}
	b.waitJS("the new count", fmt.Sprintf(`document.querySelector('[data-bind=posts]').textContent.trim() === '%d'`, want+1))
	// The sync runs in the background; the gallery follows once its
	// images are mirrored.
	waitJobIdle(t, v, jobs.JobSync)
	var doc struct {
		Posts []struct{ Caption string } `json:"posts"`
	}
	_, body := v.Get("/widget.json")
	if err := json.Unmarshal(body, &doc); err != nil || len(doc.Posts) == 0 || !strings.Contains(doc.Posts[0].Caption, "fresh from the kiln") {
		t.Fatalf("the gallery does not lead with the new post: %v\n%.300s", err, body)
	}

	// A month later the refresh job renews the token; "Skip ahead" ages it
	// here and at the fake instead of waiting.
	before, err := v.Store.Token(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	b.do(b.ctx, "skip ahead 31 days", v.Logs, chromedp.Click(chromedp.CSS(`[data-demo-action="age"]`)))
	// The page before the click has a flash too: wait for the new one.
	b.waitJS("the refresh's flash", `!!document.querySelector('.flash') && document.querySelector('.flash').textContent.includes('new 60-day token')`)
	if got := evalJS[string](b, `document.querySelector('[data-bind="last_refresh.text"]').textContent`); got != "just now" {
		t.Errorf("Refreshed %q, want just now", got)
	}
	after, err := v.Store.Token(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if after.AccessToken == before.AccessToken || time.Until(after.ExpiresAt) < 59*24*time.Hour || after.LastRefreshedAt.IsZero() {
		t.Errorf("after the refresh: new token %v, expires in %v, refreshed at %v",
			after.AccessToken != before.AccessToken, time.Until(after.ExpiresAt).Round(time.Hour), after.LastRefreshedAt)
	}

	// Declining on Instagram: a friendly word in the popup, nothing changed.
	popup = b.popup(`.account-side a[data-popup]`, v.Logs)
	b.do(popup, "decline", v.Logs,
		chromedp.Click(chromedp.CSS(`button[value="deny"]`)),
		chromedp.WaitVisible(chromedp.CSS("[data-close-window]")),
	)
	if msg := evalPopup[string](t, popup, `document.querySelector('main').textContent`); !strings.Contains(msg, "You declined the connection") || !strings.Contains(msg, "nothing changed") {
		t.Errorf("decline page says: %q", msg)
	}
	b.shot(popup, "e2e-admin-declined", false)
	if tok, err := v.Store.Token(context.Background()); err != nil || tok.Username != "vitrine.studio" || tok.Status != store.StatusValid {
		t.Errorf("declining changed the token: %v %v", tok, err)
	}
	if got := evalJS[string](b, `document.querySelector('.account-name').textContent`); !strings.Contains(got, "@vitrine.studio") {
		t.Errorf("after declining the dashboard shows %q", got)
	}
}

// waitJobIdle waits until the job has run and is not running.
func waitJobIdle(t *testing.T, v *testvitrine.Vitrine, name string) {
	t.Helper()
	deadline := time.Now().Add(firstSyncPatience) // mirroring is rate-limited
	for time.Now().Before(deadline) {
		for _, st := range v.Jobs.Statuses() {
			if st.Name == name && !st.Running && !st.LastRun.IsZero() {
				return
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("job %s still running or never ran", name)
}

func evalPopup[T any](t *testing.T, ctx context.Context, js string) T {
	t.Helper()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](js))
	if err != nil {
		t.Fatalf("evaluate %s: %v", js, err)
	}
	return v
}

// hookReceiver is ops' webhook endpoint: it keeps every alert it gets.
type hookReceiver struct {
	srv *httptest.Server
	mu  sync.Mutex
	got []alerts.Alert
}

func newHookReceiver(t *testing.T) *hookReceiver {
	h := &hookReceiver{}
	h.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var a alerts.Alert
		body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		if r.Method != http.MethodPost || r.Header.Get("X-Vitrine-Signature") == "" || json.Unmarshal(body, &a) != nil {
			http.Error(w, "bad alert", http.StatusBadRequest)
			return
		}
		h.mu.Lock()
		h.got = append(h.got, a)
		h.mu.Unlock()
	}))
	t.Cleanup(h.srv.Close)
	return h
}

// kinds are the kinds of the alerts received, in order.
func (h *hookReceiver) kinds() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []string
	for _, a := range h.got {
		out = append(out, a.Kind)
	}
	return out
}

func (h *hookReceiver) count(kind string) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	n := 0
	for _, a := range h.got {
		if a.Kind == kind {
			n++
		}
	}
	return n
}

// waitCount waits until kind has arrived want times, then has the app's
// alerts work out once more what ops are owed, as the next job run would:
// they were told already, so nothing more goes out and the count stays
// want. That question, not a pause for a late duplicate, is what catches a
// second alert; it returns once the webhook has answered (or was never
// called), and the alerts are worked out one at a time, so any run that
// began before it has finished too.
func (h *hookReceiver) waitCount(t *testing.T, v *testvitrine.Vitrine, kind string, want int) {
	t.Helper()
	testkit.Eventually(t, fmt.Sprintf("%d %q alerts at the webhook", want, kind), func() bool { return h.count(kind) >= want })
	v.Alerts.Evaluate(context.Background())
	if got := h.count(kind); got != want {
		t.Fatalf("webhook received %d %q alerts, want %d", got, kind, want)
	}
}

// TestE2EOpsAlertedOnceAndResolved: the token is revoked on Instagram,
// validate notices, the dashboard shows the re-auth banner, ops get one
// alert (webhook and the demo outbox); reconnecting clears the banner and
// sends one "resolved".
func TestE2EOpsAlertedOnceAndResolved(t *testing.T) {
	testkit.SkipIfShort(t, "drives Chromium")
	t.Parallel()
	hook := newHookReceiver(t)
	v := testvitrine.New(t, testvitrine.Demo(), testvitrine.Posts(e2ePosts), testvitrine.RealTime(), testvitrine.Configure(func(c *config.Config) {
		c.Alerts.WebhookURL = hook.srv.URL + "/hooks/vitrine"
		c.Alerts.WebhookSecret = "shared-secret"
	}))
	v.ConnectAndSync(firstSyncPatience)
	b := newBrowserStory(t, v.URL)
	b.signIn(v.Logs)
	b.do(b.ctx, "a healthy dashboard", v.Logs, chromedp.WaitVisible(chromedp.CSS(".account-name")), chromedp.WaitNotVisible(chromedp.CSS(".banner")))

	// Revoke at the fake; the demo switch runs validate at once.
	b.do(b.ctx, "revoke the token", v.Logs,
		chromedp.Click(chromedp.CSS(`[data-demo-action="revoke"]`)),
		chromedp.WaitVisible(chromedp.CSS(".banner")),
	)
	banner := evalJS[string](b, `document.querySelector('.banner').textContent`)
	if !strings.Contains(banner, "Instagram needs you to reconnect") || !strings.Contains(banner, "Reason:") {
		t.Errorf("banner says %q", banner)
	}
	if tok, _ := v.Store.Token(context.Background()); tok.Status != store.StatusNeedsReauth {
		t.Fatalf("token status %q after revocation", tok.Status)
	}
	b.do(b.ctx, "top of the page", v.Logs, chromedp.Evaluate[chromedp.Void](`window.scrollTo(0, 0)`))
	b.shot(b.ctx, "dashboard-needs-reauth", true)
	hook.waitCount(t, v, alerts.AlertNeedsReauth, 1)

	// Validate again: still broken, but ops were told already.
	if err := v.Jobs.RunNow(context.Background(), jobs.JobValidate); err == nil {
		t.Error("validate succeeded with a revoked token")
	}
	hook.waitCount(t, v, alerts.AlertNeedsReauth, 1)

	// The demo outbox shows the same alert.
	b.do(b.ctx, "the outbox", v.Logs,
		chromedp.Navigate(v.URL+"/demo/outbox"),
		chromedp.WaitVisible(chromedp.CSS(`li[data-kind="needs_reauth"]`)),
	)
	b.shot(b.ctx, "e2e-ops-outbox", false)

	// Reconnect from the banner.
	b.do(b.ctx, "back to the dashboard", v.Logs, chromedp.Navigate(v.URL+"/admin"), chromedp.WaitVisible(chromedp.CSS(".banner")))
	popup := b.popup(".banner a[data-popup]", v.Logs)
	b.approve(popup, v.Logs)
	b.do(b.ctx, "the banner goes", v.Logs, chromedp.WaitNotVisible(chromedp.CSS(".banner")))
	b.waitJS("Reconnect is no longer the primary action", `document.querySelector('.account-side [data-primary-when]').classList.contains('btn-secondary')`)
	hook.waitCount(t, v, alerts.AlertResolved, 1)
	hook.waitCount(t, v, alerts.AlertNeedsReauth, 1)
	if tok, _ := v.Store.Token(context.Background()); tok.Status != store.StatusValid {
		t.Errorf("token status %q after reconnecting", tok.Status)
	}
	b.shot(b.ctx, "e2e-ops-resolved", false)
	for _, secret := range []string{v.Config.Instagram.ClientSecret, "shared-secret"} {
		if strings.Contains(v.Logs.String(), secret) {
			t.Errorf("the log contains a secret (%q)", secret)
		}
	}
}

// sr is the JS embed's shadow root on the sample site.
const sr = `document.querySelector('[data-embed=js] [data-vitrine-on]').shadowRoot`

// TestE2EVisitorSeesTheGallery: the sample site shows the gallery three
// ways, every image from Vitrine's origin; the lightbox works from the
// keyboard; with Instagram down the gallery still shows.
func TestE2EVisitorSeesTheGallery(t *testing.T) {
	testkit.SkipIfShort(t, "drives Chromium")
	t.Parallel()
	v := testvitrine.New(t, testvitrine.Demo(), testvitrine.Posts(e2ePosts), testvitrine.RealTime())
	v.ConnectAndSync(firstSyncPatience)
	b := newBrowserStory(t, v.URL)
	count := v.Config.Widget.Count

	b.do(b.ctx, "open the sample site", v.Logs, chromedp.Navigate(v.URL+"/demo"))
	b.waitJS("the JS embed", fmt.Sprintf(`!!document.querySelector('[data-embed=js] [data-vitrine-on]') && %s.querySelectorAll('.vitrine-item img').length === %d`, sr, count))
	b.waitJS("the iframe", fmt.Sprintf(`(d => d && d.querySelectorAll('.vitrine-item img').length === %d)(document.querySelector('[data-embed=iframe] iframe').contentDocument)`, count))
	if n := evalJS[int](b, `document.querySelectorAll('[data-embed=fragment] .vitrine-item img').length`); n != count {
		t.Errorf("the server-side fragment shows %d posts, want %d", n, count)
	}
	b.shot(b.ctx, "demo-site", true)

	// Scroll everything into view so lazy images load, then check origins.
	b.do(b.ctx, "scroll", v.Logs, chromedp.Evaluate[chromedp.Void](`window.scrollTo(0, document.body.scrollHeight)`))
	b.waitJS("every embed image loaded", `[...`+sr+`.querySelectorAll('.vitrine-item img')].every(i => i.complete && i.naturalWidth > 0)`)
	b.do(b.ctx, "scroll back", v.Logs, chromedp.Evaluate[chromedp.Void](`window.scrollTo(0, 0)`))
	b.mu.Lock()
	images := append([]string(nil), b.images...)
	b.mu.Unlock()
	if len(images) < count {
		t.Errorf("only %d image requests", len(images))
	}
	for _, u := range images {
		if !strings.HasPrefix(u, v.URL+"/media/") {
			t.Errorf("an image came from elsewhere than Vitrine: %s", u)
		}
	}

	// The lightbox, from the keyboard.
	b.do(b.ctx, "focus a post", v.Logs, chromedp.Evaluate[chromedp.Void](sr+`.querySelectorAll('.vitrine-link')[0].focus()`))
	b.do(b.ctx, "press Enter", v.Logs, chromedp.KeyEvent(kb.Enter))
	b.waitJS("the lightbox", sr+`.querySelector('.vitrine-lb').open && `+sr+`.querySelector('.vitrine-lb-img').complete && `+sr+`.querySelector('.vitrine-lb-img').naturalWidth > 0`)
	b.shot(b.ctx, "demo-lightbox", true)
	b.do(b.ctx, "press Esc", v.Logs, chromedp.KeyEvent(kb.Escape))
	b.waitJS("the lightbox to close", `!`+sr+`.querySelector('.vitrine-lb').open`)

	// Instagram goes down: the sync fails, the gallery stays.
	var doc struct {
		Stale bool       `json:"stale"`
		Posts []struct{} `json:"posts"`
	}
	_, body := v.Get("/widget.json")
	if err := json.Unmarshal(body, &doc); err != nil || doc.Stale || len(doc.Posts) < count {
		t.Fatalf("before the outage widget.json has stale=%v and %d posts (%v)", doc.Stale, len(doc.Posts), err)
	}
	before := len(doc.Posts)
	v.Fake.FailFor(5*time.Minute, http.StatusServiceUnavailable) // as the demo's "Break Instagram"
	if err := v.Jobs.RunNow(context.Background(), jobs.JobSync); err == nil {
		t.Fatal("sync succeeded while Instagram was down")
	}
	doc.Posts = nil
	_, body = v.Get("/widget.json")
	if err := json.Unmarshal(body, &doc); err != nil || !doc.Stale || len(doc.Posts) != before {
		t.Fatalf("during the outage widget.json has stale=%v and %d posts (%v)", doc.Stale, len(doc.Posts), err)
	}
	b.do(b.ctx, "reload during the outage", v.Logs, chromedp.Reload())
	b.waitJS("the gallery during the outage", fmt.Sprintf(`!!document.querySelector('[data-embed=js] [data-vitrine-on]') && %s.querySelectorAll('.vitrine-item img').length === %d && [...%s.querySelectorAll('.vitrine-item img')].slice(0, 3).every(i => i.complete && i.naturalWidth > 0)`, sr, count, sr))
	b.shot(b.ctx, "e2e-visitor-outage", false)
}
