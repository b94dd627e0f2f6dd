package systemtest

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"vitrine/config"
	"vitrine/testkit"
	"vitrine/testkit/testvitrine"
)

// TestFaviconIsServed: /favicon.ico, which browsers ask every origin for,
// is an image, so no page's console shows a 404.
func TestFaviconIsServed(t *testing.T) {
	t.Parallel()
	v := testvitrine.New(t, testvitrine.Demo(), testvitrine.Posts(3), testvitrine.RealTime())
	resp, err := http.Get(v.URL + "/favicon.ico")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "image/svg+xml" || !bytes.Contains(body, []byte("<svg")) {
		t.Errorf("/favicon.ico: %d %q, %d B", resp.StatusCode, resp.Header.Get("Content-Type"), len(body))
	}
}

// TestDemoSiteIsCompressed: the sample site is sent gzip-compressed to a
// client that accepts it, and plain to one that does not.
func TestDemoSiteIsCompressed(t *testing.T) {
	t.Parallel()
	v := testvitrine.New(t, testvitrine.Demo(), testvitrine.Posts(3), testvitrine.RealTime())
	// Go's transport would ask for gzip itself and hide the answer's encoding.
	client := &http.Client{Transport: &http.Transport{DisableCompression: true}}
	get := func(acceptEncoding string) (*http.Response, []byte) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, v.URL+"/demo", nil)
		if acceptEncoding != "" {
			req.Header.Set("Accept-Encoding", acceptEncoding)
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp, body
	}

	resp, body := get("gzip, deflate, br, zstd")
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Encoding") != "gzip" {
		t.Fatalf("/demo with Accept-Encoding gzip: %d, Content-Encoding %q", resp.StatusCode, resp.Header.Get("Content-Encoding"))
	}
	if !strings.Contains(resp.Header.Get("Vary"), "Accept-Encoding") {
		t.Errorf("Vary %q does not name Accept-Encoding", resp.Header.Get("Vary"))
	}
	zr, err := gzip.NewReader(bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	page, err := io.ReadAll(zr)
	if err != nil || !bytes.Contains(page, []byte("Vitrine Studio")) {
		t.Fatalf("the gzip body does not decompress to the sample site (%v)", err)
	}
	t.Logf("/demo: %d B, %d B gzip", len(page), len(body))

	for _, ae := range []string{"", "identity", "gzip;q=0"} {
		resp, body := get(ae)
		if resp.Header.Get("Content-Encoding") != "" || !bytes.Contains(body, []byte("Vitrine Studio")) {
			t.Errorf("/demo with Accept-Encoding %q: Content-Encoding %q", ae, resp.Header.Get("Content-Encoding"))
		}
	}
}

// TestNoPageLogsAnError loads the pages a visitor or the owner opens in
// Chromium and fails on any response of 400 or more (the favicon among
// them) and any error the browser logs.
func TestNoPageLogsAnError(t *testing.T) {
	testkit.SkipIfShort(t, "drives Chromium")
	t.Parallel()
	v := testvitrine.New(t, testvitrine.Demo(), testvitrine.Posts(6), testvitrine.RealTime())
	v.ConnectAndSync(firstSyncPatience)
	ctx, cancel := context.WithTimeout(testkit.Chromium(t), 5*time.Minute) // a hung browser, not a pace
	defer cancel()
	var mu sync.Mutex
	var problems []string
	favicon := 0
	if err := chromedp.Listen(ctx, func(ev any) {
		mu.Lock()
		defer mu.Unlock()
		switch ev := ev.(type) {
		case *network.EventResponseReceived:
			if strings.HasSuffix(ev.Response.URL, "/favicon.ico") {
				favicon++
			}
			if ev.Response.Status >= 400 {
				problems = append(problems, fmt.Sprintf("%d %s", ev.Response.Status, ev.Response.URL))
			}
		case *log.EventEntryAdded:
			if ev.Entry.Level == log.EntryLevelError {
				problems = append(problems, "log: "+ev.Entry.Text+" "+ev.Entry.URL)
			}
		}
	}); err != nil {
		t.Fatal(err)
	}
	for _, page := range []string{"/widget", "/demo", "/admin/login"} {
		if err := chromedp.Do(ctx, chromedp.Navigate(v.URL+page)); err != nil {
			t.Fatal(err)
		}
		// Chromium asks for the icon after the first page's load event,
		// and keeps it for the origin.
		deadline := time.Now().Add(10 * time.Second)
		for {
			mu.Lock()
			asked := favicon > 0
			mu.Unlock()
			if asked || time.Now().After(deadline) {
				break
			}
			time.Sleep(50 * time.Millisecond)
		}
		time.Sleep(300 * time.Millisecond)
	}
	mu.Lock()
	defer mu.Unlock()
	for _, p := range problems {
		t.Errorf("browser: %s", p)
	}
	if favicon == 0 {
		t.Log("Chromium did not ask for /favicon.ico on any page")
	}
}

// TestMediaCacheOff: with widget.media_cache_mb 0 every image is read from
// disk, so one removed behind Vitrine's back is a 404 at once, not after
// the cache's next look at the disk.
func TestMediaCacheOff(t *testing.T) {
	t.Parallel()
	v := testvitrine.New(t, testvitrine.Demo(), testvitrine.Posts(3), testvitrine.RealTime(), testvitrine.Configure(func(c *config.Config) { c.Widget.MediaCacheMB = 0 }))
	v.ConnectAndSync(firstSyncPatience)
	_, body := v.Get("/widget.json")
	m := regexp.MustCompile(`/media/([0-9]+)/(640)\.jpg`).FindSubmatch(body)
	if m == nil {
		t.Fatalf("widget.json names no 640 px image:\n%s", body)
	}
	path := string(m[0])
	if resp, _ := v.Get(path); resp.StatusCode != http.StatusOK {
		t.Fatalf("%s: %d", path, resp.StatusCode)
	}
	if err := os.Remove(filepath.Join(v.Config.MediaDir(), string(m[1]), "640.jpg")); err != nil {
		t.Fatal(err)
	}
	if resp, _ := v.Get(path); resp.StatusCode != http.StatusNotFound {
		t.Errorf("%s after its file was removed: %d, want 404 with no memory cache", path, resp.StatusCode)
	}
}
