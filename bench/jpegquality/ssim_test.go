package main

import (
	"bytes"
	"image"
	"image/color"
	"image/jpeg"
	"math"
	"math/rand/v2"
	"testing"

	"golang.org/x/image/draw"
)

// texture is a deterministic image with edges and noise, so that JPEG has
// something to lose at every scale.
func texture(w, h int) *image.RGBA {
	rng := rand.New(rand.NewPCG(1, 2))
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			v := 128 + 60*math.Sin(float64(x)/7) + 40*math.Cos(float64(x+y)/13) + rng.NormFloat64()*12
			if (x/32+y/32)%2 == 0 {
				v -= 50
			}
			c := uint8(max(0, min(255, v)))
			img.SetRGBA(x, y, color.RGBA{c, uint8(255 - int(c)/2), c / 2, 255})
		}
	}
	return img
}

func roundTrip(t *testing.T, img *image.RGBA, q int) *image.RGBA {
	t.Helper()
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: q}); err != nil {
		t.Fatal(err)
	}
	dec, err := jpeg.Decode(&buf)
	if err != nil {
		t.Fatal(err)
	}
	out := image.NewRGBA(dec.Bounds())
	draw.Draw(out, out.Bounds(), dec, image.Point{}, draw.Src)
	return out
}

func TestSSIMOfAnImageWithItselfIsOne(t *testing.T) {
	y := luma(texture(240, 300))
	ref := newReference(y)
	if len(ref.scales) != len(msWeights) {
		t.Fatalf("%d scales for 240×300, want %d", len(ref.scales), len(msWeights))
	}
	if s, ms := ref.scores(y); math.Abs(s-1) > 1e-9 || math.Abs(ms-1) > 1e-9 {
		t.Errorf("SSIM %v, MS-SSIM %v of an image with itself, want 1", s, ms)
	}
}

// Both scores fall as JPEG quality falls, and viewed at 1.5 file pixels
// per CSS pixel the artifacts count for less than at the file's pixels.
func TestScoresFollowJPEGQuality(t *testing.T) {
	img := texture(320, 400)
	y := luma(img)
	ref, viewed := newReference(y), newReference(areaDown(y, 1.5))
	prevS, prevMS := 1.0, 1.0
	for _, q := range []int{95, 82, 60, 30} {
		d := luma(roundTrip(t, img, q))
		s, ms := ref.scores(d)
		_, v := viewed.scores(areaDown(d, 1.5))
		if s >= prevS || ms >= prevMS {
			t.Errorf("q%d: SSIM %.4f, MS-SSIM %.4f, not below the quality above's %.4f, %.4f", q, s, ms, prevS, prevMS)
		}
		if v <= ms {
			t.Errorf("q%d: viewed MS-SSIM %.4f not above the file's %.4f", q, v, ms)
		}
		prevS, prevMS = s, ms
	}
}

func TestAreaDownAverages(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   plane
		k    float64
		want plane
	}{
		{"by 2", plane{w: 4, h: 2, px: []float64{0, 2, 10, 10, 4, 6, 10, 30}}, 2, plane{w: 2, h: 1, px: []float64{3, 15}}},
		// Each output covers one and a half inputs.
		{"by 1.5", plane{w: 3, h: 1, px: []float64{0, 3, 6}}, 1.5, plane{w: 2, h: 1, px: []float64{1, 5}}},
		{"by 1", plane{w: 2, h: 1, px: []float64{7, 9}}, 1, plane{w: 2, h: 1, px: []float64{7, 9}}},
	} {
		got := areaDown(tc.in, tc.k)
		ok := got.w == tc.want.w && got.h == tc.want.h && len(got.px) == len(tc.want.px)
		for i := range got.px {
			ok = ok && math.Abs(got.px[i]-tc.want.px[i]) < 1e-9
		}
		if !ok {
			t.Errorf("%s: areaDown = %+v, want %+v", tc.name, got, tc.want)
		}
	}
}
