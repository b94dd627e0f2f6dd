package imaging

import (
	"bytes"
	"fmt"
	"image"
	"math/rand/v2"
	"testing"

	"golang.org/x/image/draw"
)

// scaleRows must draw exactly what draw.CatmullRom does (the files the
// mirror wrote before, and bench/jpegquality's qualities, are of those
// pixels), from every kind of image it accepts, shrinking and growing,
// at odd sizes and offsets, and with a row buffer reused from a larger
// image.
func TestScaleRowsIsCatmullRom(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	noisy := func(b []byte) {
		for i := range b {
			b[i] = byte(rng.IntN(256))
		}
	}
	var sources []image.Image
	for _, r := range []image.YCbCrSubsampleRatio{image.YCbCrSubsampleRatio420, image.YCbCrSubsampleRatio444,
		image.YCbCrSubsampleRatio422, image.YCbCrSubsampleRatio440} {
		y := image.NewYCbCr(image.Rect(3, 5, 3+301, 5+377), r)
		noisy(y.Y)
		noisy(y.Cb)
		noisy(y.Cr)
		sources = append(sources, y)
	}
	g := image.NewGray(image.Rect(0, 0, 250, 310))
	noisy(g.Pix)
	rgba := image.NewRGBA(image.Rect(0, 0, 333, 280))
	noisy(rgba.Pix)
	for i := 3; i < len(rgba.Pix); i += 4 {
		rgba.Pix[i] = 0xff
	}
	sources = append(sources, g, rgba, rgba.SubImage(image.Rect(10, 20, 300, 250)))

	var rows [][4]float64
	for _, src := range sources {
		for _, size := range [][2]int{{240, 300}, {97, 61}, {320, 400}, {500, 620}, {1, 1}} {
			t.Run(fmt.Sprintf("%T %v to %dx%d", src, src.Bounds(), size[0], size[1]), func(t *testing.T) {
				if !scalableRows(src) {
					t.Fatal("not accepted")
				}
				want := image.NewRGBA(image.Rect(0, 0, size[0], size[1]))
				draw.CatmullRom.Scale(want, want.Bounds(), src, src.Bounds(), draw.Src, nil)
				got := image.NewRGBA(want.Rect)
				rows = scaleRows(got, src, rows)
				if !bytes.Equal(got.Pix, want.Pix) {
					t.Error("pixels differ from draw.CatmullRom's")
				}
			})
		}
	}
}

// The row buffer is a few rows, not the source's height.
func TestScaleRowsKeepsAFewRows(t *testing.T) {
	src := image.NewYCbCr(image.Rect(0, 0, 1080, 1350), image.YCbCrSubsampleRatio420)
	dst := image.NewRGBA(image.Rect(0, 0, 640, 800))
	rows := scaleRows(dst, src, nil)
	if n := len(rows) / 640; n > 8 {
		t.Errorf("%d rows of the horizontal pass kept, want at most 8", n)
	}
}
