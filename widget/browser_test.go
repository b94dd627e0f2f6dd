package widget

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"vitrine/config"
	"vitrine/testkit"
)

// hostPage is an unrelated site on another origin: its own fonts and
// colours, and a rule that would hide every image it can reach.
const hostPage = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><link rel="icon" href="data:,">
<meta name="viewport" content="width=device-width,initial-scale=1">
<title>Crumb &amp; Co. Bakery</title>
<style>img{display:none}
body{margin:0;background:#fbf7f1;color:#3b2f2f;font:17px/1.6 Georgia,serif}
main{max-width:960px;margin:0 auto;padding:32px 24px}
a{color:#c0392b} ul{list-style:square} *{box-sizing:content-box}
h1{font-size:40px;margin:0 0 4px}</style></head>
<body><main><h1>Crumb &amp; Co.</h1><p>Fresh bread every morning. Here is what came out of the oven lately:</p>
%s
<p style="margin-top:32px">Open Tuesday to Sunday, 7–14.</p></main></body></html>`

// The browser tests share the test binary's Chromium (testkit.Chromium).
func TestMain(m *testing.M) { testkit.Main(m) }

// browser opens a tab in headless Chromium (testkit.Chromium), bounded by
// 5 minutes: a bound for a hung browser, not for the test's pace (its
// steps wait on conditions, with limits of their own).
func browser(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(testkit.Chromium(t), 5*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// watcher records what the page requested and any console errors.
type watcher struct {
	mu       sync.Mutex
	images   []string
	problems []string
}

func (w *watcher) listen(t *testing.T, ctx context.Context) {
	err := chromedp.Listen(ctx, func(ev any) {
		w.mu.Lock()
		defer w.mu.Unlock()
		switch ev := ev.(type) {
		case *network.EventRequestWillBeSent:
			if ev.Type == network.ResourceTypeImage && !strings.HasPrefix(ev.Request.URL, "data:") {
				w.images = append(w.images, ev.Request.URL)
			}
		case *runtime.EventConsoleAPICalled:
			if ev.Type == runtime.ConsoleAPICalledTypeError || ev.Type == runtime.ConsoleAPICalledTypeWarning {
				w.problems = append(w.problems, fmt.Sprintf("console.%s %v", ev.Type, ev.Args))
			}
		case *runtime.EventExceptionThrown:
			w.problems = append(w.problems, fmt.Sprintf("exception: %s %s:%d", ev.ExceptionDetails.Text, ev.ExceptionDetails.URL, ev.ExceptionDetails.LineNumber))
		case *log.EventEntryAdded:
			if ev.Entry.Level == log.EntryLevelError || ev.Entry.Level == log.EntryLevelWarning {
				w.problems = append(w.problems, "log: "+ev.Entry.Text+" "+ev.Entry.URL)
			}
		}
	})
	if err != nil {
		t.Fatal(err)
	}
}

func (w *watcher) snapshot() (images, problems []string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]string(nil), w.images...), append([]string(nil), w.problems...)
}

func screenshotDir(t *testing.T) string {
	if d := os.Getenv("VITRINE_SCREENSHOTS"); d != "" {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		return d
	}
	return t.TempDir()
}

func shot(t *testing.T, ctx context.Context, dir, name string) {
	t.Helper()
	// Decoded images may be dropped off-screen; wait until they paint again.
	decoded := `Promise.all([...` + sr + `.querySelectorAll('img')].filter(i => i.currentSrc).map(i => i.decode().catch(() => 0))).then(() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r))))`
	if err := chromedp.Do(ctx, chromedp.Evaluate[chromedp.Void](decoded, chromedp.EvalAwaitPromise)); err != nil {
		t.Fatal(err)
	}
	png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot %s", path)
}

// sr is the widget's shadow root in the host page.
const sr = `document.querySelector('[data-vitrine-on]').shadowRoot`

func eval[T any](t *testing.T, ctx context.Context, js string) T {
	t.Helper()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](js))
	if err != nil {
		t.Fatalf("evaluate %s: %v", js, err)
	}
	return v
}

// wait polls the page until js is true. The minute is for a condition
// that never comes; a loaded machine under -race takes seconds for one
// that does (the layouts test as a whole takes over a minute there).
func wait(t *testing.T, ctx context.Context, what, js string) {
	t.Helper()
	if _, err := chromedp.Run(ctx, chromedp.Poll[chromedp.Void](js, chromedp.WithPollingTimeout(time.Minute))); err != nil {
		t.Fatalf("waiting for %s (%s): %v", what, js, err)
	}
}

func TestBrowserEmbedOnAnotherOrigin(t *testing.T) {
	testkit.SkipIfShort(t, "drives Chromium")
	ctx := browser(t)
	e := newEnv(t, func(e *env) {
		e.connect()
		posts := makePosts(12)
		posts[4].Caption = `Hostile? <img src=x onerror="document.title='pwned'"> stays text ✨`
		e.replace(posts...)
		e.mirrorTinted(posts...)
	}, withConfig(func(c *config.Config) { c.Widget.Captions = true }))

	host := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, hostPage, `<script src="`+e.base+`/widget.js" async></script>`)
	}))
	t.Cleanup(host.Close)
	if strings.TrimPrefix(host.URL, "http://") == strings.TrimPrefix(e.base, "http://") {
		t.Fatal("host and Vitrine share an origin")
	}

	var wt watcher
	wt.listen(t, ctx)
	t.Cleanup(func() {
		if t.Failed() {
			_, problems := wt.snapshot()
			t.Logf("browser problems: %q", problems)
		}
	})
	if err := chromedp.Do(ctx, chromedp.Navigate(host.URL)); err != nil {
		t.Fatal(err)
	}
	wait(t, ctx, "the gallery", `document.querySelector('[data-vitrine-on]') && `+sr+`.querySelectorAll('.vitrine-item img').length === 12`)
	// The host's img{display:none} doesn't reach into the shadow root.
	if n := eval[int](t, ctx, `[...`+sr+`.querySelectorAll('.vitrine-item img')].filter(i => i.getBoundingClientRect().width > 50).length`); n != 12 {
		t.Fatalf("%d of 12 images visible", n)
	}
	// Our styles don't leak out either: the host's paragraphs keep Georgia.
	if f := eval[string](t, ctx, `getComputedStyle(document.querySelector('main p')).fontFamily`); !strings.Contains(f, "Georgia") {
		t.Errorf("host font changed to %q", f)
	}
	cols := eval[int](t, ctx, `getComputedStyle(`+sr+`.querySelector('.vitrine-grid')).gridTemplateColumns.split(' ').length`)
	if cols != 3 {
		t.Errorf("%d columns at desktop width, want 3", cols)
	}
	// Every image loads (lazy ones after scrolling), without layout shift.
	shiftBefore := eval[float64](t, ctx, sr+`.querySelector('.vitrine-item:last-child').getBoundingClientRect().top + scrollY`)
	if err := chromedp.Do(ctx, chromedp.Evaluate[chromedp.Void](`window.scrollTo(0, document.body.scrollHeight)`)); err != nil {
		t.Fatal(err)
	}
	wait(t, ctx, "every image loaded", `[...`+sr+`.querySelectorAll('.vitrine-item img')].every(i => i.complete && i.naturalWidth > 0)`)
	if after := eval[float64](t, ctx, sr+`.querySelector('.vitrine-item:last-child').getBoundingClientRect().top + scrollY`); after != shiftBefore {
		t.Errorf("layout shifted while images loaded: %v → %v", shiftBefore, after)
	}
	// A hostile caption is text.
	if got := eval[string](t, ctx, sr+`.querySelector('.vitrine-item:nth-child(5) .vitrine-cap').textContent`); !strings.Contains(got, `<img src=x onerror=`) {
		t.Errorf("caption rendered as %q", got)
	}
	if n := eval[int](t, ctx, sr+`.querySelectorAll('img[src="x"]').length`); n != 0 || eval[string](t, ctx, `document.title`) == "pwned" {
		t.Error("a caption became markup")
	}
	if err := chromedp.Do(ctx, chromedp.Evaluate[chromedp.Void](`window.scrollTo(0, 0)`)); err != nil {
		t.Fatal(err)
	}
	dir := screenshotDir(t)
	shot(t, ctx, dir, "widget-desktop.png")

	// Lightbox: Enter opens, arrows move (through carousel items), Tab stays
	// inside, Esc closes and gives focus back.
	if err := chromedp.Do(ctx, chromedp.Evaluate[chromedp.Void](sr+`.querySelectorAll('.vitrine-link')[1].focus()`)); err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(ctx, chromedp.KeyEvent(kb.Enter)); err != nil {
		t.Fatal(err)
	}
	wait(t, ctx, "the lightbox", sr+`.querySelector('.vitrine-lb').open && `+sr+`.querySelector('.vitrine-lb-img').complete && `+sr+`.querySelector('.vitrine-lb-img').naturalWidth > 0`)
	if !eval[bool](t, ctx, sr+`.activeElement === `+sr+`.querySelector('.vitrine-lb')`) {
		t.Error("the open lightbox does not hold the focus")
	}
	if s := eval[string](t, ctx, sr+`.querySelector('.vitrine-lb-img').currentSrc`); !strings.HasPrefix(s, e.base+"/media/"+makePosts(2)[1].ID+"/") {
		t.Errorf("lightbox shows %q", s)
	}
	shot(t, ctx, dir, "widget-lightbox.png")
	if err := chromedp.Do(ctx, chromedp.KeyEvent(kb.ArrowRight)); err != nil { // post 2 is a carousel of 3
		t.Fatal(err)
	}
	wait(t, ctx, "the carousel", sr+`.querySelector('.vitrine-lb-n').textContent === '1 / 3'`)
	if err := chromedp.Do(ctx, chromedp.KeyEvent(kb.ArrowRight)); err != nil {
		t.Fatal(err)
	}
	wait(t, ctx, "the carousel's second item", sr+`.querySelector('.vitrine-lb-n').textContent === '2 / 3'`)
	wait(t, ctx, "the second item's image", sr+`.querySelector('.vitrine-lb-img').currentSrc.startsWith('`+e.base+"/media/"+makePosts(3)[2].Children[1].ID+"/')")
	for range 6 {
		if err := chromedp.Do(ctx, chromedp.KeyEvent(kb.Tab)); err != nil {
			t.Fatal(err)
		}
		if !eval[bool](t, ctx, `!!`+sr+`.activeElement && !!`+sr+`.activeElement.closest('.vitrine-lb')`) {
			t.Fatal("Tab left the open lightbox")
		}
	}
	if err := chromedp.Do(ctx, chromedp.KeyEvent(kb.Escape)); err != nil {
		t.Fatal(err)
	}
	wait(t, ctx, "the lightbox to close", `!`+sr+`.querySelector('.vitrine-lb').open`)
	if !eval[bool](t, ctx, sr+`.activeElement === `+sr+`.querySelectorAll('.vitrine-link')[1]`) {
		t.Error("focus did not return to the post")
	}

	// Narrow screen: fewer columns.
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(390, 844), chromedp.Evaluate[chromedp.Void](`window.scrollTo(0, 0)`)); err != nil {
		t.Fatal(err)
	}
	wait(t, ctx, "two columns", `getComputedStyle(`+sr+`.querySelector('.vitrine-grid')).gridTemplateColumns.split(' ').length === 2`)
	shot(t, ctx, dir, "widget-mobile.png")

	images, problems := wt.snapshot()
	if len(images) < 12 {
		t.Errorf("only %d image requests", len(images))
	}
	for _, u := range images {
		if !strings.HasPrefix(u, e.base+"/media/") {
			t.Errorf("image requested from elsewhere than Vitrine: %s", u)
		}
	}
	for _, p := range problems {
		t.Errorf("browser: %s", p)
	}
}
