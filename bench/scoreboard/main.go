// Command scoreboard measures what a visitor's browser downloads from a
// running Vitrine: for each page and viewport it loads the page in headless
// Chromium, scrolls to the bottom so every lazy image loads, and prints one
// tab-separated line per page and viewport (bench/scoreboard.sh makes the
// table):
//
//	page viewport requests bytes image_requests image_bytes ideal_bytes drawn widget_js_requests jpeg_bytes webp_requests
//
// image_bytes are the bodies of the /media/ images (JPEG or WebP) the
// browser fetched; ideal_bytes, for every image drawn, those of the
// smallest variant in the srcset it drew from (its <picture>'s WebP
// <source> when it drew a WebP) at least as wide as its drawn CSS width
// times the device pixel ratio (each file counted once, as the browser
// fetches it once); jpeg_bytes, those of the JPEG of each fetched image's
// width: what the same tiles weigh without WebP; webp_requests, how many
// of the fetched images were WebP.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
)

type viewport struct {
	name          string
	width, height int64
	scale         float64
	mobile        bool
}

var viewports = []viewport{
	{name: "1280×900 DPR 1", width: 1280, height: 900, scale: 1},
	{name: "390×844 DPR 3", width: 390, height: 844, scale: 3, mobile: true},
}

func main() {
	base := flag.String("url", "", "Vitrine's base URL, e.g. http://127.0.0.1:18080")
	chrome := flag.String("chrome", "/usr/bin/chromium", "the Chromium to drive")
	pages := flag.String("pages", "/widget,/demo", "comma-separated paths to measure")
	verbose := flag.Bool("v", false, "list every drawn image on stderr")
	flag.Parse()
	if *base == "" {
		fmt.Fprintln(os.Stderr, "scoreboard: -url is required")
		os.Exit(2)
	}
	for _, page := range strings.Split(*pages, ",") {
		for _, vp := range viewports {
			r, err := measure(*chrome, strings.TrimRight(*base, "/")+page, vp, *verbose)
			if err != nil {
				fmt.Fprintf(os.Stderr, "scoreboard: %s at %s: %v\n", page, vp.name, err)
				os.Exit(1)
			}
			fmt.Printf("%s\t%s\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%d\n", page, vp.name, r.requests, r.bytes,
				r.imageRequests, r.imageBytes, r.idealBytes, r.drawn, r.widgetJSRequests, r.jpegBytes, r.webpRequests)
		}
	}
}

type result struct {
	requests, imageRequests, drawn int
	bytes, imageBytes, idealBytes  int64
	widgetJSRequests               int
	jpegBytes                      int64
	webpRequests                   int

	mu            sync.Mutex
	requestURLs   map[network.RequestID]string
	transfer      map[network.RequestID]int64 // headers included
	contentLength map[network.RequestID]int64
	inFlight      map[network.RequestID]bool
	lastEvent     time.Time
}

type drawnImage struct {
	Src    string  `json:"src"`
	Srcset string  `json:"srcset"`
	Width  float64 `json:"width"`
	DPR    float64 `json:"dpr"`
}

// mediaFile matches a mirrored variant's path, /media/{id}/{width}.jpg
// or .webp.
var mediaFile = regexp.MustCompile(`/media/[^/]+/([0-9]+)\.(jpg|webp)$`)

func measure(chrome, pageURL string, vp viewport, verbose bool) (*result, error) {
	dir, err := os.MkdirTemp("", "vitrine-scoreboard-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chrome),
		chromedp.NoSandbox,
		chromedp.Flag("headless", "new"),
		chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("no-first-run", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(dir),
	)
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancelAlloc()
	ctx, cancel := chromedp.NewContext(alloc)
	defer cancel()
	ctx, cancelTimeout := context.WithTimeout(ctx, 90*time.Second)
	defer cancelTimeout()

	r := &result{
		requestURLs: map[network.RequestID]string{},
		transfer:    map[network.RequestID]int64{}, contentLength: map[network.RequestID]int64{},
		inFlight: map[network.RequestID]bool{}, lastEvent: time.Now(),
	}
	err = chromedp.Listen(ctx, func(ev any) {
		r.mu.Lock()
		defer r.mu.Unlock()
		switch e := ev.(type) {
		case *network.EventRequestWillBeSent:
			if strings.HasPrefix(e.Request.URL, "data:") {
				return
			}
			if _, seen := r.requestURLs[e.RequestID]; !seen {
				r.requests++
			}
			r.requestURLs[e.RequestID] = e.Request.URL // a redirect keeps the ID
			r.inFlight[e.RequestID] = true
		case *network.EventResponseReceived:
			if n, err := strconv.ParseInt(headerValue(e.Response.Headers, "Content-Length"), 10, 64); err == nil {
				r.contentLength[e.RequestID] = n
			}
		case *network.EventLoadingFinished:
			r.transfer[e.RequestID] = int64(e.EncodedDataLength)
			delete(r.inFlight, e.RequestID)
		case *network.EventLoadingFailed:
			delete(r.inFlight, e.RequestID)
		default:
			return
		}
		r.lastEvent = time.Now()
	})
	if err != nil {
		return nil, err
	}

	err = chromedp.Do(ctx,
		chromedp.EmulateViewport(vp.width, vp.height, chromedp.EmulateScale(vp.scale), mobileIf(vp.mobile)),
		chromedp.Navigate(pageURL),
	)
	if err == nil {
		err = r.quiet(ctx, 500*time.Millisecond)
	}
	if err == nil {
		err = scrollThrough(ctx)
	}
	if err == nil {
		err = r.quiet(ctx, time.Second)
	}
	var drawn []drawnImage
	if err == nil {
		drawn, err = chromedp.Run(ctx, chromedp.Evaluate[[]drawnImage](collectDrawn))
	}
	if err != nil {
		return nil, err
	}

	r.mu.Lock()
	defer r.mu.Unlock()
	fetched := map[string]bool{}
	for id, u := range r.requestURLs {
		r.bytes += r.transfer[id]
		path := u
		if pu, err := url.Parse(u); err == nil {
			path = pu.Path
		}
		if path == "/widget.js" {
			r.widgetJSRequests++
		}
		// An image the page shows twice comes from the browser's cache
		// the second time (the profile starts empty): count it once.
		if mediaFile.MatchString(path) && !fetched[u] {
			fetched[u] = true
			r.imageRequests++
			n, ok := r.contentLength[id]
			if !ok {
				n = r.transfer[id]
			}
			r.imageBytes += n
			jpeg := n
			if jpegURL, ok := strings.CutSuffix(u, ".webp"); ok {
				r.webpRequests++
				if jpeg, err = bodySize(jpegURL + ".jpg"); err != nil {
					return nil, err
				}
			}
			r.jpegBytes += jpeg
		}
	}
	ideal := map[string]bool{}
	for _, d := range drawn {
		if d.Srcset == "" || !mediaFile.MatchString(urlPath(d.Src)) {
			continue
		}
		r.drawn++
		best := pick(d)
		ideal[best] = true
		if verbose {
			fmt.Fprintf(os.Stderr, "%s %s: drawn %.0f px × %g → needs %s, got %s\n", pageURL, vp.name, d.Width, d.DPR, urlPath(best), urlPath(d.Src))
		}
	}
	for u := range ideal {
		n, err := bodySize(u)
		if err != nil {
			return nil, err
		}
		r.idealBytes += n
	}
	return r, nil
}

func mobileIf(m bool) chromedp.EmulateViewportOption {
	if m {
		return chromedp.EmulateMobile
	}
	return func(*emulation.SetDeviceMetricsOverrideParams, *emulation.SetTouchEmulationEnabledParams) {}
}

func headerValue(h network.Headers, name string) string {
	for k, v := range h {
		if strings.EqualFold(k, name) {
			s, _ := v.(string)
			return s
		}
	}
	return ""
}

// quiet waits until no request is in flight and nothing happened on the
// network for idle, up to 20 seconds.
func (r *result) quiet(ctx context.Context, idle time.Duration) error {
	until := time.Now().Add(20 * time.Second)
	for time.Now().Before(until) {
		r.mu.Lock()
		done := len(r.inFlight) == 0 && time.Since(r.lastEvent) >= idle
		r.mu.Unlock()
		if done {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
	return errors.New("the network did not settle in 20 s")
}

// scrollThrough scrolls down by most of a screen at a time to the bottom,
// as a visitor reading the whole page would, so lazy images load.
func scrollThrough(ctx context.Context) error {
	for range 100 {
		atBottom, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`(() => {
			window.scrollBy(0, Math.round(innerHeight * 0.8));
			return Math.ceil(scrollY + innerHeight) >= document.documentElement.scrollHeight;
		})()`))
		if err != nil {
			return err
		}
		time.Sleep(300 * time.Millisecond)
		if atBottom {
			return nil
		}
	}
	return nil
}

// collectDrawn lists every loaded image with a width on the page, in open
// shadow roots (the JS embed) and same-origin iframes (the iframe embed).
const collectDrawn = `(() => {
	const out = [];
	const walk = (root, dpr) => {
		for (const el of root.querySelectorAll('*')) {
			if (el.shadowRoot) walk(el.shadowRoot, dpr);
			if (el.tagName === 'IFRAME') {
				try { if (el.contentDocument) walk(el.contentDocument, dpr); } catch (e) {}
			}
			if (el.tagName !== 'IMG' || !el.complete || !el.naturalWidth || !el.currentSrc) continue;
			const w = el.getBoundingClientRect().width;
			// A WebP drawn came from its <picture>'s <source>.
			const source = el.parentNode.tagName === 'PICTURE' && el.currentSrc.endsWith('.webp') && el.parentNode.querySelector('source');
			if (w > 0) out.push({src: el.currentSrc, srcset: (source || el).getAttribute('srcset') || '', width: w, dpr});
		}
	};
	walk(document, devicePixelRatio);
	return out;
})()`

// pick is the smallest variant in d's srcset at least as wide as d is
// drawn in device pixels, or the widest when none is.
func pick(d drawnImage) string {
	type candidate struct {
		url   string
		width int
	}
	var cs []candidate
	for _, part := range strings.Split(d.Srcset, ",") {
		f := strings.Fields(part)
		if len(f) != 2 || !strings.HasSuffix(f[1], "w") {
			continue
		}
		w, err := strconv.Atoi(strings.TrimSuffix(f[1], "w"))
		if err != nil {
			continue
		}
		u, err := url.Parse(d.Src)
		if err != nil {
			continue
		}
		ref, err := u.Parse(f[0])
		if err != nil {
			continue
		}
		cs = append(cs, candidate{ref.String(), w})
	}
	if len(cs) == 0 {
		return d.Src
	}
	slices.SortFunc(cs, func(a, b candidate) int { return a.width - b.width })
	need := d.Width * d.DPR
	for _, c := range cs {
		if float64(c.width) >= need-0.5 { // sub-pixel layout widths
			return c.url
		}
	}
	return cs[len(cs)-1].url
}

func urlPath(u string) string {
	if pu, err := url.Parse(u); err == nil {
		return pu.Path
	}
	return u
}

func bodySize(u string) (int64, error) {
	resp, err := http.Get(u)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("%s: HTTP %d", u, resp.StatusCode)
	}
	return io.Copy(io.Discard, resp.Body)
}
