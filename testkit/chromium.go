package testkit

import (
	"context"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// Chromium starts a headless Chromium for one test, with a fresh profile,
// and returns its context; it closes when the test ends. The context has no
// deadline (one on the first action would bound the browser's life): bound
// the test's steps with context.WithTimeout. extra adds options, such as
// chromedp.Flag("hide-scrollbars", true).
//
// Without a Chromium the test skips, except in CI (CI set), where .ci/run
// installs one and a missing browser is a failure. The flags suit a
// container: no sandbox as root, no GPU, and nothing that reaches out to
// the network on its own (QUIC, component updates, sync, background
// requests).
func Chromium(t testing.TB, extra ...chromedp.ExecAllocatorOption) context.Context {
	t.Helper()
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
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 900),
	)
	opts = append(opts, extra...)
	// A start can fail when the machine is busy (Chromium gives up waiting
	// for its own DevTools socket); the next attempt usually succeeds.
	var err error
	for attempt := 1; attempt <= 3; attempt++ {
		alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
		ctx, cancelCtx := chromedp.NewContext(alloc)
		if err = chromedp.Do(ctx); err == nil {
			t.Cleanup(cancelAlloc)
			t.Cleanup(cancelCtx)
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
