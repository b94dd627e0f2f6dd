package feed

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"vitrine/instagram/fake"
	"vitrine/testkit"
)

// checkSize admits every size Instagram serves, whatever the format, and
// refuses by pixels or by bytes a pixel what would take too much memory.
func TestCheckSizeAdmitsInstagramRefusesBombs(t *testing.T) {
	for _, tc := range []struct {
		w, h   int
		format string
		model  color.Model
		admit  bool
	}{
		{1440, 1800, "jpeg", color.YCbCrModel, true},
		{1080, 1350, "jpeg", color.YCbCrModel, true},
		{1080, 1920, "jpeg", color.YCbCrModel, true},
		{1440, 2560, "jpeg", color.YCbCrModel, true},
		{1440, 754, "jpeg", color.YCbCrModel, true}, // landscape 1.91:1
		{1440, 1800, "jpeg", color.CMYKModel, true},
		{1440, 1440, "png", color.NRGBAModel, true},
		{1440, 1440, "png", color.RGBA64Model, true},
		{1440, 1800, "png", color.NRGBA64Model, true},
		{320, 320, "jpeg", color.GrayModel, true},

		{6300, 6300, "png", color.NRGBA64Model, false}, // the bomb
		{6300, 6300, "png", color.Palette{color.Black}, false},
		{4000, 4000, "jpeg", color.GrayModel, false},
		// Within the pixels, the bytes a pixel decide.
		{2500, 2500, "png", color.NRGBAModel, true},
		{2500, 2500, "png", color.NRGBA64Model, false},
		{2500, 2500, "png", color.Gray16Model, false}, // as NRGBA64 if the file has a transparent colour
		{2500, 2500, "jpeg", color.YCbCrModel, false},
		{2500, 2500, "png", color.Palette{color.Black}, true},
		// A sliver is decoded in whole blocks, and a tall one has tall variants.
		{1, 9_000_000, "jpeg", color.GrayModel, false},
		{1, 9_000_000, "png", color.NRGBAModel, false},
		// WebP, should the CDN answer it.
		{1440, 1800, "webp", color.YCbCrModel, true},
		{1440, 1440, "webp", color.NRGBAModel, true},
		{16383, 16383, "webp", color.NRGBAModel, false}, // the format's largest
		{3200, 3200, "webp", color.NRGBAModel, false},   // within the pixels, over the bytes
	} {
		name := fmt.Sprintf("%dx%d %s %T", tc.w, tc.h, tc.format, tc.model)
		err := checkSize(image.Config{ColorModel: tc.model, Width: tc.w, Height: tc.h}, tc.format)
		if tc.admit && err != nil {
			t.Errorf("%s refused: %v", name, err)
		}
		if !tc.admit && !errors.Is(err, errTooLarge) {
			t.Errorf("%s: %v, want refused as too large", name, err)
		}
	}
}

// decodeBytes is at least what image.Decode allocates, for every kind of
// file that can be made here, each of a size that makes the decoder's own
// state negligible. Gray with a transparent colour is what DecodeConfig's
// colour model understates fourfold, a sliver what counting pixels does.
func TestDecodeBytesCoverTheDecoder(t *testing.T) {
	encode := func(img image.Image, format string) []byte {
		var buf bytes.Buffer
		var err error
		if format == "png" {
			err = png.Encode(&buf, img)
		} else {
			err = jpeg.Encode(&buf, img, nil)
		}
		if err != nil {
			t.Fatal(err)
		}
		return buf.Bytes()
	}
	translucent := image.NewNRGBA(image.Rect(0, 0, 700, 500))
	for i := range translucent.Pix {
		translucent.Pix[i] = uint8(i)
	}
	samples := map[string][]byte{
		"YCbCr JPEG":               encode(gradient(700, 500), "jpeg"),
		"gray JPEG":                encode(image.NewGray(image.Rect(0, 0, 700, 500)), "jpeg"),
		"1×20000 JPEG":             encode(gradient(1, 20000), "jpeg"),
		"RGBA PNG":                 encode(gradient(700, 500), "png"),
		"NRGBA PNG":                encode(translucent, "png"),
		"paletted PNG":             encode(image.NewPaletted(image.Rect(0, 0, 700, 500), color.Palette{color.Black, color.White}), "png"),
		"16-bit RGBA PNG":          testkit.BlankPNG(700, 500, testkit.PNGRGBA, 16, nil),
		"gray PNG, transparent":    testkit.BlankPNG(700, 500, testkit.PNGGray, 8, []byte{0, 0}),
		"16-bit gray, transparent": testkit.BlankPNG(700, 500, testkit.PNGGray, 16, []byte{0, 0}),
		"16-bit gray+alpha PNG":    testkit.BlankPNG(700, 500, testkit.PNGGrayAlpha, 16, nil),
		"16-bit RGB PNG":           testkit.BlankPNG(700, 500, testkit.PNGRGB, 16, nil),
		"16-bit RGB, transparent":  testkit.BlankPNG(700, 500, testkit.PNGRGB, 16, []byte{0, 0, 0, 0, 0, 0}),
	}
	for name, data := range samples {
		cfg, format, err := image.DecodeConfig(bytes.NewReader(data))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		_, _, err = image.Decode(bytes.NewReader(data))
		runtime.ReadMemStats(&after)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if took, counted := after.TotalAlloc-before.TotalAlloc, decodeBytes(cfg, format); took > uint64(counted) {
			t.Errorf("%s: decoding took %d KiB, counted %d KiB", name, took>>10, counted>>10)
		}
	}
}

// smallImages is a connected harness with a small image for each download
// worker, and one more.
func smallImages(t *testing.T) *harness {
	h := newHarness(t, withPosts(-1))
	h.connect()
	for range h.feed.mirrorWorkers + 1 {
		h.f.AddPost(fake.Post{MediaType: fake.MediaImage, Width: 320, Height: 320})
	}
	return h
}

// decodeWatch holds every image the feed decodes until release is closed,
// and counts them.
type decodeWatch struct {
	inside, most, calls atomic.Int32
	release             chan struct{}
	open                func() // closes release, once
}

func watchDecodes(h *harness) *decodeWatch {
	w := &decodeWatch{release: make(chan struct{})}
	w.open = sync.OnceFunc(func() { close(w.release) })
	process := h.feed.process
	h.feed.process = func(data []byte) (processed, error) {
		w.calls.Add(1)
		n := w.inside.Add(1)
		for m := w.most.Load(); n > m && !w.most.CompareAndSwap(m, n); m = w.most.Load() {
		}
		<-w.release
		w.inside.Add(-1)
		return process(data)
	}
	return w
}

// waitFor waits until decoding images are held and waiting are waiting for
// a decode slot; it fails as soon as more than decoding are held at once.
func (w *decodeWatch) waitFor(t *testing.T, h *harness, decoding, waiting int32) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for w.inside.Load() != decoding || h.feed.decodeWaiting.Load() != waiting {
		if n := w.most.Load(); n > decoding {
			t.Fatalf("%d images decoded at once", n)
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d images decoding, %d waiting; want %d and %d", w.inside.Load(), h.feed.decodeWaiting.Load(), decoding, waiting)
		}
		time.Sleep(time.Millisecond)
	}
}

// backgroundSync is a sync run in another goroutine.
type backgroundSync struct {
	ended chan struct{}
	err   error
}

// syncInBackground starts a sync; before the harness closes, the decodes
// are released and the sync waited for.
func syncInBackground(t *testing.T, ctx context.Context, h *harness, w *decodeWatch) *backgroundSync {
	s := &backgroundSync{ended: make(chan struct{})}
	go func() {
		_, s.err = h.feed.Sync(ctx, nil)
		close(s.ended)
	}()
	t.Cleanup(func() {
		w.open()
		select {
		case <-s.ended:
		case <-time.After(30 * time.Second):
			t.Error("the sync did not end")
		}
	})
	return s
}

// wait returns what the sync returned.
func (s *backgroundSync) wait() error {
	<-s.ended
	return s.err
}

// Every download worker can hold a downloaded image, but only
// maxConcurrentDecodes are decoded at once; the others wait their turn.
func TestMirrorDecodesFewAtOnce(t *testing.T) {
	h := smallImages(t)
	w := watchDecodes(h)
	bg := syncInBackground(t, h.ctx, h, w)
	w.waitFor(t, h, maxConcurrentDecodes, int32(h.feed.mirrorWorkers-maxConcurrentDecodes))
	w.open()
	if err := bg.wait(); err != nil {
		t.Fatal(err)
	}
	if n := w.most.Load(); n != maxConcurrentDecodes {
		t.Errorf("%d images decoded at once, want %d", n, maxConcurrentDecodes)
	}
	checkMirrored(t, h)
}

// An image waiting for a decode slot is dropped, undecoded, when the sync
// is cancelled.
func TestMirrorStopsWaitingToDecodeWhenCancelled(t *testing.T) {
	h := smallImages(t)
	w := watchDecodes(h)
	ctx, cancel := context.WithCancel(h.ctx)
	defer cancel()
	bg := syncInBackground(t, ctx, h, w)
	w.waitFor(t, h, maxConcurrentDecodes, int32(h.feed.mirrorWorkers-maxConcurrentDecodes))
	cancel()
	w.waitFor(t, h, maxConcurrentDecodes, 0)
	w.open()
	if err := bg.wait(); !errors.Is(err, context.Canceled) {
		t.Errorf("sync = %v, want it cancelled", err)
	}
	if n := w.calls.Load(); n != maxConcurrentDecodes {
		t.Errorf("%d images decoded, want only the %d decoding when cancelled", n, maxConcurrentDecodes)
	}
}

// A WebP whose header claims the format's largest size is refused from
// the header alone, as a PNG bomb is.
func TestProcessImageRefusesWebPBombUndecoded(t *testing.T) {
	// RIFF "WEBP" with a lossless (VP8L) header: signature 0x2f, then
	// width-1 and height-1 in 14 bits each, little-endian. No pixels.
	bits := uint32(16383-1) | uint32(16383-1)<<14
	vp8l := []byte{0x2f, byte(bits), byte(bits >> 8), byte(bits >> 16), byte(bits >> 24)}
	chunk := append([]byte("VP8L\x05\x00\x00\x00"), append(vp8l, 0)...) // odd length: one pad byte
	body := append([]byte("WEBP"), chunk...)
	file := append([]byte("RIFF"), byte(len(body)), byte(len(body)>>8), 0, 0)
	file = append(file, body...)
	if cfg, format, err := image.DecodeConfig(bytes.NewReader(file)); err != nil || format != "webp" || cfg.Width != 16383 {
		t.Fatalf("the crafted header does not read as a 16383-wide WebP: %v %q %+v", err, format, cfg)
	}
	if _, err := processImage(file); !errors.Is(err, errTooLarge) {
		t.Errorf("processImage = %v, want refused as too large", err)
	}
}
