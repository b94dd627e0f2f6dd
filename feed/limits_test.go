package feed

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"runtime"
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
