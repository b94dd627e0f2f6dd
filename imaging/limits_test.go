package imaging

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"runtime"
	"strings"
	"sync"
	"testing"

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
		if !tc.admit && !errors.Is(err, ErrTooLarge) {
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

// A WebP whose header claims the format's largest size is refused from
// the header alone, as a PNG bomb is.
func TestRenderRefusesWebPBombUndecoded(t *testing.T) {
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
	if _, err := Render(file); !errors.Is(err, ErrTooLarge) {
		t.Errorf("Render = %v, want refused as too large", err)
	}
}

// bomb is a decompression bomb: a 2 MB PNG of 6300×6300 16-bit RGBA
// pixels, under the 40 megapixels once allowed, that takes over 300 MB to
// decode.
var bomb = sync.OnceValue(func() []byte { return testkit.BlankPNG(6300, 6300, testkit.PNGRGBA, 16, nil) })

// Refusing the bomb reads its header only: decoding it would allocate
// over 300 MB.
func TestRenderRefusesBombUndecoded(t *testing.T) {
	data := bomb()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	_, err := Render(data)
	runtime.ReadMemStats(&after)
	if err == nil || !strings.Contains(err.Error(), "too large to decode") {
		t.Errorf("Render(bomb) = %v, want it refused as too large", err)
	}
	if n := after.TotalAlloc - before.TotalAlloc; n > 1<<20 {
		t.Errorf("refusing the bomb allocated %d MiB", n>>20)
	}
}

// BenchmarkRefuseBomb measures what refusing a decompression bomb costs.
func BenchmarkRefuseBomb(b *testing.B) {
	data := bomb()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Render(data); err == nil {
			b.Fatal("the bomb was decoded")
		}
	}
}
