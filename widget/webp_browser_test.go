package widget

import (
	"bytes"
	"fmt"
	"image/jpeg"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/chromedp/chromedp"

	"vitrine/config"
	"vitrine/imaging"
	"vitrine/testkit"
)

// sampleWebPs are sampleJPEG's pictures as real WebP files, by size and
// tint, encoded once.
var sampleWebPs struct {
	sync.Mutex
	m map[[3]int][]byte
}

// writeWebPTint writes the WebP twin of writeJPEGTint's picture.
func writeWebPTint(t testing.TB, path string, w, h, tint int) string {
	t.Helper()
	sampleWebPs.Lock()
	defer sampleWebPs.Unlock()
	key := [3]int{w, h, tint % len(palettes)}
	data, ok := sampleWebPs.m[key]
	if !ok {
		src, err := sampleJPEG(w, h, tint)
		if err != nil {
			t.Fatal(err)
		}
		img, err := jpeg.Decode(bytes.NewReader(src))
		if err != nil {
			t.Fatal(err)
		}
		var buf bytes.Buffer
		if err := imaging.EncodeWebP(&buf, img); err != nil {
			t.Fatal(err)
		}
		if sampleWebPs.m == nil {
			sampleWebPs.m = map[[3]int][]byte{}
		}
		data = buf.Bytes()
		sampleWebPs.m[key] = data
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// Chromium draws every tile, the lightbox and the tiles Load more adds from
// their WebP, at the width it would have taken in JPEG; a post whose WebP
// is not made yet draws its JPEG.
func TestBrowserDrawsWebPWhereEveryWidthHasOne(t *testing.T) {
	testkit.SkipIfShort(t, "drives Chromium")
	ctx := browser(t)
	posts := makePosts(20)
	jpegOnly := posts[2].ID
	e := newEnv(t, func(e *env) {
		e.connect()
		e.replace(posts...)
		e.mirrorTinted(posts...)
		ims := e.src.imagesCopy()
		for _, im := range ims {
			if im.MediaID != jpegOnly {
				path := writeWebPTint(t, filepath.Join(e.dir, "media", im.MediaID, fmt.Sprintf("%d.webp", im.Width)), im.Width, im.Height, 0)
				ims = append(ims, MirroredFile{MediaID: im.MediaID, Width: im.Width, Height: im.Height, Color: im.Color, Path: path, WebP: true})
			}
		}
		e.src.setImages(ims)
	}, withConfig(func(c *config.Config) { c.Widget.Count, c.Widget.MaxPosts, c.Widget.LoadMore = 12, 20, true }))

	host := hostServer(t, "", `<script src="`+e.base+`/widget.js" async></script>`)
	if err := chromedp.Do(ctx, chromedp.Navigate(host.URL)); err != nil {
		t.Fatal(err)
	}
	wait(t, ctx, "the gallery", `document.querySelector('[data-vitrine-on]') && `+sr+`.querySelectorAll('.vitrine-item img').length === 12`)
	// Each poll brings the first tile not loaded yet into view: lazy
	// images load as a reader scrolls to them.
	loaded := `(() => { const todo = [...` + sr + `.querySelectorAll('.vitrine-item img')].find(i => !(i.complete && i.naturalWidth > 0));
		todo && todo.scrollIntoView(); return !todo })()`
	wait(t, ctx, "every tile loaded", loaded)
	// Each tile: what it drew, and the width its JPEG srcset alone would
	// give at the same sizes.
	drawn := `[...` + sr + `.querySelectorAll('.vitrine-item img')].map(i => {
		const s = i.parentNode.tagName == 'PICTURE' && i.parentNode.querySelector('source');
		return i.currentSrc.split('/').slice(-2).join('/') + ' ' + (s ? s.sizes == i.sizes : '-');
	})`
	for _, tile := range eval[[]string](t, ctx, drawn) {
		file, sameSizes, _ := strings.Cut(tile, " ")
		id := strings.Split(file, "/")[0]
		switch {
		case id == jpegOnly:
			if !strings.HasSuffix(file, ".jpg") || sameSizes != "-" {
				t.Errorf("the post without WebP drew %s (source: %s)", file, sameSizes)
			}
		case !strings.HasSuffix(file, ".webp") || sameSizes != "true":
			t.Errorf("a tile drew %s; its <source> has the <img>'s sizes: %s", file, sameSizes)
		}
	}

	if err := chromedp.Do(ctx, chromedp.Evaluate[chromedp.Void](sr+`.querySelector('.vitrine-link').click()`)); err != nil {
		t.Fatal(err)
	}
	wait(t, ctx, "the lightbox's picture", sr+`.querySelector('.vitrine-lb-img').complete && `+sr+`.querySelector('.vitrine-lb-img').naturalWidth > 0`)
	if src := eval[string](t, ctx, sr+`.querySelector('.vitrine-lb-img').currentSrc`); !strings.HasSuffix(src, ".webp") {
		t.Errorf("the lightbox drew %s", src)
	}
	if err := chromedp.Do(ctx, chromedp.Evaluate[chromedp.Void](sr+`.querySelector('.vitrine-lb').close(); `+sr+`.querySelector('.vitrine-more').click()`)); err != nil {
		t.Fatal(err)
	}
	wait(t, ctx, "Load more's tiles", sr+`.querySelectorAll('.vitrine-item img').length === 20`)
	wait(t, ctx, "every tile loaded", loaded)
	for _, tile := range eval[[]string](t, ctx, drawn)[12:] {
		if file, sameSizes, _ := strings.Cut(tile, " "); !strings.HasSuffix(file, ".webp") || sameSizes != "true" {
			t.Errorf("a tile Load more added drew %s; its <source> has the <img>'s sizes: %s", file, sameSizes)
		}
	}
}
