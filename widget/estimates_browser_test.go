package widget

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"vitrine/config"
	"vitrine/store"
	"vitrine/testkit"
)

// shapes are the height/width of the demo's pictures: landscape 16:9,
// square, portrait 9:16 and 4:5, in its order.
var shapes = []float64{0.5625, 0.5625, 1, 1.7778, 1, 0.5625, 0.5625, 1.7778, 1.25, 1, 1.25, 1}

// mirrorShaped mirrors each post's picture in its own shape (shapes, in
// turn), as real files, for the layouts that draw each picture's shape.
func (e *env) mirrorShaped(posts ...store.Post) {
	var ims []MirroredFile
	for i, p := range posts {
		ids := []string{p.ID}
		for _, c := range p.Children {
			ids = append(ids, c.ID)
		}
		for j, id := range ids {
			for _, w := range widths {
				h := int(math.Round(float64(w) * shapes[(i+j)%len(shapes)]))
				path := writeJPEGTint(e.t, filepath.Join(e.dir, "media", id, fmt.Sprintf("%d.jpg", w)), w, h, i+j)
				ims = append(ims, MirroredFile{MediaID: id, Width: w, Height: h, Color: "#888888", Path: path})
			}
		}
	}
	e.src.setImages(ims)
}

// Where the reserved space is computed from the pictures' own shapes
// (the settings' masonry, or grid of original shapes) it is the gallery's
// height to a pixel or two (the pictures' heights are rounded to whole pixels, the
// masonry's balance is found at two widths); where it is an estimate (a
// biography, whose lines the server cannot measure; the shapes' mean
// where only an embed asks for them), it is within two of its lines, or a
// tenth of the height. At a phone's, a tablet's
// and a desktop's width; the test logs each difference and the page's
// layout shift, the numbers the README gives.
func TestBrowserReservedEstimates(t *testing.T) {
	testkit.SkipIfShort(t, "drives Chromium")
	ctx := browser(t)
	posts := makePosts(24)
	cases := []struct {
		name           string
		layout, aspect string // the settings'
		o              EmbedOptions
		bio            string
		within         float64 // pixels; 0: a tenth of the height
	}{
		{"masonry", "masonry", "1:1", EmbedOptions{}, "", 2},
		{"masonry in 4 columns", "masonry", "1:1", EmbedOptions{Columns: 4, ColumnsMobile: 1}, "", 2},
		{"original shapes", "grid", "original", EmbedOptions{}, "", 2},
		// Asked for by an embed alone, the shapes' mean.
		{"masonry asked by an embed", "grid", "1:1", EmbedOptions{Layout: "masonry"}, "", 0},
		{"original shapes asked by an embed", "grid", "1:1", EmbedOptions{Aspect: "original", Columns: 4}, "", 0},
		{"a two-line biography", "grid", "1:1", EmbedOptions{}, "Ceramics & light ✨ Handmade in Lisbon, fired in a wood kiln by the river; commissions open.\nStudio visits by appointment.", 41},
		{"a short biography", "grid", "1:1", EmbedOptions{}, "Ceramics & light ✨ Handmade in Lisbon.", 41},
	}
	for _, c := range cases {
		e := newEnv(t, func(e *env) {
			e.replace(posts...)
			e.mirrorShaped(posts...)
			err := e.st.SaveToken(context.Background(), store.Token{
				AccessToken: "IGQ-secret", UserID: "17841400000000001", Username: "studio.lumen", Name: "Studio Lumen",
				Biography: c.bio, FollowersCount: 1284, ExpiresAt: testNow.AddDate(0, 0, 50),
			})
			if err != nil {
				t.Fatal(err)
			}
		}, withConfig(func(cfg *config.Config) {
			cfg.Widget.Count, cfg.Widget.MaxPosts, cfg.Widget.Bio, cfg.Widget.Layout, cfg.Widget.Aspect = 12, 24, c.bio != "", c.layout, c.aspect
		}))
		twin := strings.Replace(e.w.Element(c.o), "<div data-vitrine", `<div data-vitrine data-vitrine-on="held" class="twin"`, 1)
		body := `<script>window.__shifts=0;new PerformanceObserver(l=>l.getEntries().forEach(x=>{if(!x.hadRecentInput)window.__shifts+=x.value})).observe({type:'layout-shift',buffered:true})</script>` +
			e.w.Snippet(c.o) + `<p id="below">Open Tuesday to Sunday.</p>` + twin
		host := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			fmt.Fprintf(w, strings.Replace(hostPage, "main{max-width:960px;", "main{max-width:none;", 1), body)
		}))
		for _, width := range []int64{360, 800, 1280} {
			viewport := chromedp.EmulateViewport(width, 900)
			if width < 480 {
				viewport = chromedp.EmulateViewport(width, 640, chromedp.EmulateScale(3), chromedp.EmulateMobile)
			}
			if err := chromedp.Do(ctx, viewport, chromedp.Navigate(host.URL)); err != nil {
				t.Fatal(err)
			}
			const painted = `document.querySelector('[data-vitrine-on=""]')`
			wait(t, ctx, c.name, painted+` && [...`+painted+`.shadowRoot.querySelectorAll('.vitrine-item img')].every(i => i.complete || i.loading == 'lazy')`)
			// The images are in (or lazy, drawn in the shape their width and
			// height give until they come): two frames later what they move has moved
			// and the shifts are reported.
			eval[bool](t, ctx, `window.__settled = false, requestAnimationFrame(() => requestAnimationFrame(() => setTimeout(() => window.__settled = true))), true`)
			wait(t, ctx, "two frames", `window.__settled`)
			got := eval[[]float64](t, ctx, `[`+painted+`.getBoundingClientRect().height, document.querySelector('.twin').getBoundingClientRect().height, window.__shifts]`)
			diff := got[1] - got[0]
			t.Logf("%s at %d px: drawn %.1f px, reserved %.1f (%+.1f, %+.1f%%), CLS %.4f", c.name, width, got[0], got[1], diff, 100*diff/got[0], got[2])
			// A pixel a thousand besides, for the pictures' heights, each
			// rounded to the device's pixels.
			within := c.within + got[0]/1000
			if c.within == 0 {
				within = got[0] / 10
			}
			if math.Abs(diff) > within {
				t.Errorf("%s at %d px: the gallery is %.1f px high, its reserved space %.1f", c.name, width, got[0], got[1])
			}
		}
		host.Close()
	}
}
