package imaging

import (
	"bytes"
	"image"
	"image/color"
	"image/jpeg"
	"runtime"
	"sync"
	"testing"

	xwebp "golang.org/x/image/webp"
)

func TestEncodeWebPDecodesAtItsSizeAndIsSmallerOnASmoothPicture(t *testing.T) {
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

func TestRenderWebPMakesTheWidthsTheJPEGsHave(t *testing.T) {
	for _, size := range [][2]int{{1080, 1350}, {800, 600}, {200, 100}} {
		var src bytes.Buffer
		if err := jpeg.Encode(&src, photoLike(size[0], size[1]), &jpeg.Options{Quality: 90}); err != nil {
			t.Fatal(err)
		}
		rendered, err := Render(src.Bytes())
		if err != nil {
			t.Fatal(err)
		}
		widest := rendered.Variants[len(rendered.Variants)-1]
		var r Renderer
		var got []Variant
		err = r.RenderWebP(widest.JPEG, func(v Variant) error {
			cfg, err := xwebp.DecodeConfig(bytes.NewReader(v.WebP))
			if err != nil || cfg.Width != v.Width || cfg.Height != v.Height || v.JPEG != nil {
				t.Errorf("%dx%d: the %d px WebP decodes as %dx%d (%v)", size[0], size[1], v.Width, cfg.Width, cfg.Height, err)
			}
			got = append(got, v)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != len(rendered.Variants) {
			t.Fatalf("%dx%d: %d WebP widths for %d JPEG ones", size[0], size[1], len(got), len(rendered.Variants))
		}
		for i, v := range got {
			want := rendered.Variants[len(rendered.Variants)-1-i] // widest first
			if v.Width != want.Width || v.Height != want.Height {
				t.Errorf("%dx%d: WebP %dx%d where the JPEG is %dx%d", size[0], size[1], v.Width, v.Height, want.Width, want.Height)
			}
		}
	}
	var r Renderer
	if err := r.RenderWebP([]byte("RIFF\x00\x00\x00\x00WEBPVP8 "), func(Variant) error { return nil }); err == nil {
		t.Error("RenderWebP took a WebP file as its source")
	}
}

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

// The encoder's memory, tens of megabytes for a photograph, is mapped
// outside the Go heap on Linux: what an encode allocates there is the
// output and a few records, not the module's memory nor a converted copy
// of the pixels, which on the heap left the collector some 70 MB of
// garbage per image.
func TestEncodeWebPKeepsItsMemoryOffTheGoHeap(t *testing.T) {
	if wasmMemory == nil {
		t.Skip("the encoder's memory is the Go heap's on this platform")
	}
	img := photoLike(640, 800) // 2 MB of pixels: on the Go heap, some 13 MB of garbage
	var w bytes.Buffer
	if err := EncodeWebP(&w, img); err != nil { // compiles the module
		t.Fatal(err)
	}
	w.Grow(4 << 20)
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	w.Reset()
	if err := EncodeWebP(&w, img); err != nil {
		t.Fatal(err)
	}
	runtime.ReadMemStats(&after)
	if got := after.TotalAlloc - before.TotalAlloc; got > 1<<20 {
		t.Errorf("one 640 × 800 encode allocated %.1f MB on the Go heap, want under 1 MiB", float64(got)/1e6)
	}
	if _, err := xwebp.DecodeConfig(bytes.NewReader(w.Bytes())); err != nil {
		t.Errorf("the WebP made in mapped memory does not decode: %v", err)
	}
}

// Each encode is its own instance of the module: two at once both finish
// with their own image.
func TestEncodeWebPConcurrently(t *testing.T) {
	sizes := []int{320, 240}
	out := make([]bytes.Buffer, len(sizes))
	errs := make([]error, len(sizes))
	var wg sync.WaitGroup
	for i, s := range sizes {
		wg.Go(func() { errs[i] = EncodeWebP(&out[i], photoLike(s, s)) })
	}
	wg.Wait()
	for i, s := range sizes {
		cfg, err := xwebp.DecodeConfig(bytes.NewReader(out[i].Bytes()))
		if errs[i] != nil || err != nil || cfg.Width != s {
			t.Errorf("%d px: encode %v, decode %v as %d px", s, errs[i], err, cfg.Width)
		}
	}
}
