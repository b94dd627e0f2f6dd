package testkit

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// Chromium opens a tab for one test in the test binary's headless Chromium
// and returns its context; the tab closes when the test ends. The browser
// starts with the first test that asks for it and serves every later one
// (Main stops it), each test in a browser context of its own: a fresh
// profile as far as pages can tell (cookies, storage, cache), without a
// browser start per test. The context has no deadline (one on the first
// action would bound the tab's life): bound the test's steps with
// context.WithTimeout.
//
// Browser tests belong to the full tier: with -short the test is skipped
// (SkipIfShort). Without a Chromium it is skipped too, except in CI (CI
// set), where .ci/run installs one and a missing browser is a failure. The
// flags suit a container: no sandbox as root, no GPU, and nothing that
// reaches out to the network on its own (QUIC, component updates, sync,
// background requests).
func Chromium(t testing.TB) context.Context {
	t.Helper()
	SkipIfShort(t, "drives Chromium")
	if !mainRuns {
		t.Fatal("testkit.Chromium shares one browser per test binary and needs the package's tests to run under testkit.Main: func TestMain(m *testing.M) { testkit.Main(m) }")
	}
	browser := sharedChromium(t)
	ctx, cancel := chromedp.NewContext(browser, chromedp.WithNewBrowserContext())
	if err := chromedp.Do(ctx); err != nil {
		cancel()
		t.Fatalf("open a tab in Chromium: %v", err)
	}
	t.Cleanup(cancel)
	return ctx
}

// chromium is the test binary's browser: ctx is its first tab's context,
// which no test uses but to open its own; cancel stops the browser.
var chromium struct {
	mu     sync.Mutex
	ctx    context.Context
	cancel func()
}

// sharedChromium returns the browser's context, starting the browser if
// there is none yet or the last one has gone (crashed).
func sharedChromium(t testing.TB) context.Context {
	t.Helper()
	chromium.mu.Lock()
	defer chromium.mu.Unlock()
	if chromium.ctx != nil && chromium.ctx.Err() == nil {
		return chromium.ctx
	}
	path := ""
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			path = p
			break
		}
	}
	if path == "" {
		if os.Getenv("CI") != "" {
			t.Fatal("no Chromium found (chromium, chromium-browser, google-chrome) and CI is set")
		}
		t.Skip("no Chromium found; install it to run the browser tests")
	}
	// No UserDataDir: chromedp makes a temporary profile directory and
	// removes it when the browser stops.
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.NoSandbox,
		chromedp.Headless,
		chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("no-first-run", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.WindowSize(1280, 900),
	)
	// A start can fail when the machine is busy (Chromium gives up waiting
	// for its own DevTools socket); the next attempt usually succeeds.
	var err error
	for attempt := 1; attempt <= 3; attempt++ {
		alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
		ctx, cancelCtx := chromedp.NewContext(alloc)
		if err = chromedp.Do(ctx); err == nil {
			chromium.ctx = ctx
			chromium.cancel = func() {
				cancelCtx()
				cancelAlloc()
			}
			return ctx
		}
		cancelCtx()
		cancelAlloc()
		t.Logf("start Chromium, attempt %d: %v", attempt, err)
		time.Sleep(time.Duration(attempt) * time.Second)
	}
	t.Fatalf("start Chromium: %v", err)
	return nil
}

// stopChromium stops the browser, if one started, and waits (up to 10 s)
// until it has exited and its profile directory is gone.
func stopChromium() error {
	chromium.mu.Lock()
	defer chromium.mu.Unlock()
	if chromium.ctx == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(chromium.ctx, 10*time.Second)
	defer cancel()
	err := chromedp.Cancel(ctx)
	chromium.cancel()
	chromium.ctx = nil
	if errors.Is(err, context.Canceled) {
		err = nil
	}
	return err
}
