package imaging

import (
	"bytes"
	"image"
	"image/color"
	"image/jpeg"
	"testing"

	xwebp "golang.org/x/image/webp"
)

func TestEncodeWebPDecodesAtItsSizeAndBeatsJPEG(t *testing.T) {
	img := photoLike(640, 800)
	var w, j bytes.Buffer
	if err := EncodeWebP(&w, img); err != nil {
		t.Fatal(err)
	}
	if err := jpeg.Encode(&j, img, &jpeg.Options{Quality: JPEGQuality(640)}); err != nil {
		t.Fatal(err)
	}
	if !isWebP(w.Bytes()) {
		t.Fatalf("not a WebP file: % x", w.Bytes()[:min(16, w.Len())])
	}
	cfg, err := xwebp.DecodeConfig(bytes.NewReader(w.Bytes()))
	if err != nil || cfg.Width != 640 || cfg.Height != 800 {
		t.Fatalf("decodes as %dx%d (%v), want 640x800", cfg.Width, cfg.Height, err)
	}
	if w.Len() >= j.Len() {
		t.Errorf("WebP %d B, JPEG %d B: the WebP is no smaller", w.Len(), j.Len())
	}
}

func TestDecodeReadsWebPInGo(t *testing.T) {
	var w bytes.Buffer
	if err := EncodeWebP(&w, photoLike(320, 320)); err != nil {
		t.Fatal(err)
	}
	img, format, err := decode(w.Bytes())
	if err != nil || format != "webp" || img.Bounds().Dx() != 320 {
		t.Fatalf("decode: %v %q %v", img.Bounds(), format, err)
	}
}

// photoLike is a smooth gradient with fine deterministic noise and a few
// hard edges: what a photograph gives an encoder to do, unlike a plain
// gradient.
func photoLike(w, h int) *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	seed := uint32(7)
	for y := range h {
		for x := range w {
			seed = seed*1664525 + 1013904223
			n := int(seed>>30) - 2
			edge := 0
			if (x/40+y/40)%2 == 0 {
				edge = 40
			}
			img.Set(x, y, color.RGBA{clamp8(x*255/w + n + edge), clamp8(y*255/h + n), clamp8(128 + n - edge), 255})
		}
	}
	return img
}

func clamp8(v int) uint8 { return uint8(max(0, min(255, v))) }

// EncodeWebP encodes at its width's quality from webpQualities: the same
// bytes as EncodeWebPAt at WebPQuality, which is not what a width with
// another quality gets.
func TestEncodeWebPUsesItsWidthsQuality(t *testing.T) {
	if got, want := WebPQuality(100), webpQualities[0].quality; got != want {
		t.Errorf("WebPQuality(100) = %d, want the narrowest width's %d", got, want)
	}
	if got, want := WebPQuality(1440), webpQualities[len(webpQualities)-1].quality; got != want {
		t.Errorf("WebPQuality(1440) = %d, want the widest width's %d", got, want)
	}
	img := photoLike(320, 320)
	var got, at, other bytes.Buffer
	if err := EncodeWebP(&got, img); err != nil {
		t.Fatal(err)
	}
	if err := EncodeWebPAt(&at, img, WebPQuality(320)); err != nil {
		t.Fatal(err)
	}
	if err := EncodeWebPAt(&other, img, WebPQuality(320)-10); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got.Bytes(), at.Bytes()) || bytes.Equal(got.Bytes(), other.Bytes()) {
		t.Errorf("EncodeWebP gave %d bytes; at WebPQuality(320) %d, ten below %d", got.Len(), at.Len(), other.Len())
	}
}
