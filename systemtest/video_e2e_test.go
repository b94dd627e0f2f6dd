package systemtest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"vitrine/testkit"
	"vitrine/testkit/testvitrine"
)

// TestE2EVisitorPlaysAVideo: a video post opened in the lightbox plays
// Vitrine's mirrored copy, muted, over its thumbnail; leaving the slide or
// the lightbox pauses it, the keys keep working, and the /widget page's
// own Content-Security-Policy lets it play too.
func TestE2EVisitorPlaysAVideo(t *testing.T) {
	testkit.SkipIfShort(t, "drives Chromium")
	t.Parallel()
	v := testvitrine.New(t, testvitrine.Demo(), testvitrine.Posts(e2ePosts), testvitrine.RealTime())
	v.ConnectAndSync(firstSyncPatience)

	// widget.json names the mirrored MP4 on Vitrine's origin.
	var doc struct {
		Posts []struct {
			ID, Type, Video string
		} `json:"posts"`
	}
	_, body := v.Get("/widget.json")
	if err := json.Unmarshal(body, &doc); err != nil {
		t.Fatal(err)
	}
	video := ""
	for _, p := range doc.Posts {
		if p.Type == "VIDEO" && video == "" {
			video = p.Video
		}
	}
	if !strings.HasPrefix(video, v.URL+"/media/") || !strings.HasSuffix(video, "/video.mp4") {
		t.Fatalf("widget.json's first VIDEO post has video %q, want the mirrored MP4:\n%s", video, body)
	}
	if resp, _ := v.Get(strings.TrimPrefix(video, v.URL), "Range", "bytes=0-99"); resp.StatusCode != http.StatusPartialContent || resp.Header.Get("Content-Type") != "video/mp4" {
		t.Fatalf("GET %s with a range: %d %s", video, resp.StatusCode, resp.Header.Get("Content-Type"))
	}

	b := newBrowserStory(t, v.URL)
	b.do(b.ctx, "open the sample site", v.Logs, chromedp.Navigate(v.URL+"/demo"))
	b.waitJS("the JS embed", `!!document.querySelector('[data-embed=js] [data-vitrine-on]') && `+sr+`.querySelectorAll('.vitrine-item img').length > 0`)
	playVideoInLightbox(t, b, v, sr, video, "e2e-visitor-video")

	// The /widget page (what the iframe shows) under its own strict CSP.
	b.do(b.ctx, "open /widget", v.Logs, chromedp.Navigate(v.URL+"/widget"))
	b.waitJS("the gallery", `document.querySelectorAll('.vitrine-item img').length > 0`)
	playVideoInLightbox(t, b, v, "document", video, "e2e-visitor-video-page")
}

// playVideoInLightbox opens the tile of the video at videoURL in the
// gallery under root (a JS expression: the document or the embed's
// shadow root) with a click and checks that it plays, pauses when left,
// plays again when come back to, and pauses when the lightbox closes.
func playVideoInLightbox(t *testing.T, b *browser, v *testvitrine.Vitrine, root, videoURL, shot string) {
	t.Helper()
	lb := root + `.querySelector('.vitrine-lb')`
	vid := root + `.querySelector('.vitrine-lb-vid')`
	img := root + `.querySelector('.vitrine-lb-img')`
	tile := fmt.Sprintf(`[...%s.querySelectorAll('.vitrine-link')].find(a => JSON.parse(a.dataset.s)[0][5] === 1)`, root)
	if !evalJS[bool](b, `!!`+tile) {
		t.Fatal("no tile has a playable video")
	}
	b.do(b.ctx, "click the video post", v.Logs,
		chromedp.Evaluate[chromedp.Void](tile+`.scrollIntoView({block: 'center'})`),
		chromedp.Click(chromedp.JSPath(tile)))
	b.waitJS("the video to play", fmt.Sprintf(`%s.open && !%s.hidden && %s.hidden && %s.readyState >= 2 && !%s.paused && %s.currentTime > 0.3`,
		lb, vid, img, vid, vid, vid))
	if got := evalJS[string](b, vid+`.currentSrc`); got != videoURL {
		t.Errorf("the lightbox plays %q, want %q", got, videoURL)
	}
	if !evalJS[bool](b, vid+`.muted && /\/media\/[0-9]+\/1080\.jpg$/.test(`+vid+`.poster) && `+vid+`.controls`) {
		t.Errorf("the video is not muted, with controls, over its thumbnail: muted %v, poster %q",
			evalJS[bool](b, vid+`.muted`), evalJS[string](b, vid+`.poster`))
	}
	b.do(b.ctx, "pause for the screenshot", v.Logs, chromedp.Evaluate[chromedp.Void](vid+`.pause()`))
	b.shot(b.ctx, shot, false)
	// The test's own play(): when the next step pauses it before it
	// starts (a loaded machine), its promise rejects, which is no fault.
	b.do(b.ctx, "play on", v.Logs, chromedp.Evaluate[chromedp.Void](vid+`.play().catch(() => 0)`))

	// Tab stays in the dialog, and reaches the video's controls.
	b.do(b.ctx, "focus the close button", v.Logs, chromedp.Evaluate[chromedp.Void](root+`.querySelector('.vitrine-lb-x').focus()`))
	b.do(b.ctx, "press Tab", v.Logs, chromedp.KeyEvent(kb.Tab))
	if !evalJS[bool](b, root+`.activeElement === `+vid) {
		t.Errorf("Tab from the last control went to %s, want the video", evalJS[string](b, root+`.activeElement && `+root+`.activeElement.className`))
	}

	// The next slide is another post (or item): the video pauses and hides,
	// and the keys still reach the dialog though the video had the focus.
	b.do(b.ctx, "press →", v.Logs, chromedp.KeyEvent(kb.ArrowRight))
	b.waitJS("the next slide", fmt.Sprintf(`%s.paused && %s.hidden && !%s.hidden && %s.complete && %s.naturalWidth > 0`, vid, vid, img, img, img))
	b.do(b.ctx, "press ←", v.Logs, chromedp.KeyEvent(kb.ArrowLeft))
	b.waitJS("the video again", fmt.Sprintf(`!%s.hidden && !%s.paused && %s.currentSrc === %q`, vid, vid, vid, videoURL))

	b.do(b.ctx, "press Esc", v.Logs, chromedp.KeyEvent(kb.Escape))
	b.waitJS("the lightbox to close, the video paused", fmt.Sprintf(`!%s.open && %s.paused`, lb, vid))
}
