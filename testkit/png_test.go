package testkit

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"testing"
)

// BlankPNG's files decode, with image/png, to the size and colour model
// asked for, every pixel zero; the sizes cover a stream shorter than one
// copy and remainders of every kind.
func TestBlankPNGDecodes(t *testing.T) {
	for _, tc := range []struct {
		colorType, depth byte
		trns             []byte
		want             color.Model
		alpha            uint32 // of every pixel
	}{
		{PNGGray, 8, nil, color.GrayModel, 0xffff},
		{PNGGray, 16, nil, color.Gray16Model, 0xffff},
		{PNGGray, 16, []byte{0, 0}, color.NRGBA64Model, 0}, // black is the transparent colour
		{PNGRGB, 8, nil, color.RGBAModel, 0xffff},
		{PNGGrayAlpha, 8, nil, color.NRGBAModel, 0},
		{PNGRGBA, 16, nil, color.NRGBA64Model, 0},
	} {
		for _, size := range [][2]int{{1, 1}, {3, 5}, {100, 37}, {257, 2}, {640, 480}} {
			name := fmt.Sprintf("type %d, %d-bit, tRNS %v, %dx%d", tc.colorType, tc.depth, tc.trns != nil, size[0], size[1])
			img, err := png.Decode(bytes.NewReader(BlankPNG(size[0], size[1], tc.colorType, tc.depth, tc.trns)))
			if err != nil {
				t.Errorf("%s: %v", name, err)
				continue
			}
			if img.Bounds() != image.Rect(0, 0, size[0], size[1]) || img.ColorModel() != tc.want {
				t.Errorf("%s: decoded %v in %T", name, img.Bounds(), img)
				continue
			}
			for y := range size[1] {
				for x := range size[0] {
					if r, g, b, a := img.At(x, y).RGBA(); r|g|b != 0 || a != tc.alpha {
						t.Fatalf("%s: pixel %d,%d is %v", name, x, y, img.At(x, y))
					}
				}
			}
		}
	}
}
