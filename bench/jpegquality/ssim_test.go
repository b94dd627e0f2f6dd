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
	y := ycbcr(texture(240, 300))[lumaY]
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
	y := ycbcr(img)[lumaY]
	ref, viewed := newReference(y), newReference(areaDown(y, 1.5))
	prevS, prevMS := 1.0, 1.0
	for _, q := range []int{95, 82, 60, 30} {
		d := ycbcr(roundTrip(t, img, q))[lumaY]
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

// fixedPair is a 67×53 pattern and a darker, noisier copy of it, defined
// by integer formulas so that another implementation can build the same
// pair.
func fixedPair() (x, y plane) {
	const w, h = 67, 53
	x = plane{w: w, h: h, px: make([]float64, w*h)}
	y = plane{w: w, h: h, px: make([]float64, w*h)}
	for i := range h {
		for j := range w {
			xv := (3*j*j + 7*i + (i*j%23)*4) % 256
			yv := max(0, min(255, 9*xv/10+10+((5*i+3*j)%13-6)*6))
			x.px[i*w+j], y.px[i*w+j] = float64(xv), float64(yv)
		}
	}
	return x, y
}

// The scores of fixedPair match values computed independently, with
// scikit-image 0.19.3, SciPy 1.10.1 and NumPy 1.24.2 (Debian 12's
// python3-skimage), from the same formulas:
//
//	i, j = np.mgrid[0:53, 0:67]
//	x = (3*j*j + 7*i + ((i*j) % 23)*4) % 256
//	y = np.clip(9*x//10 + 10 + (((5*i + 3*j) % 13) - 6)*6, 0, 255)
//
// SSIM: skimage.metrics.structural_similarity(x, y, gaussian_weights=True,
// sigma=1.5, use_sample_covariance=False, data_range=255), as float64.
// MS-SSIM (scikit-image has none): at each of the 3 scales that fit the
// 11-pixel window (67×53, 33×26, 16×13; each the 2×2 means of the one
// before, a last odd row or column dropped), the mean contrast-structure
// term over the positions where the window fits, with
// scipy.ndimage.gaussian_filter(σ 1.5, truncate 3.5) and the same
// constants, and structural_similarity at the coarsest, combined with
// the first three weights renormalised: 0.934599677339, 0.977101707335,
// 0.987775839691.
func TestSSIMMatchesScikitImage(t *testing.T) {
	const wantSSIM, wantMSSSIM = 0.934162446536, 0.979069096977
	x, y := fixedPair()
	ref := newReference(x)
	if len(ref.scales) != 3 {
		t.Fatalf("%d scales for 67×53, want 3", len(ref.scales))
	}
	s, ms := ref.scores(y)
	if math.Abs(s-wantSSIM) > 1e-9 || math.Abs(ms-wantMSSSIM) > 1e-9 {
		t.Errorf("SSIM %.12f, MS-SSIM %.12f; scikit-image gives %.12f, %.12f", s, ms, wantSSIM, wantMSSSIM)
	}
}

// ycbcr converts as image/jpeg's encoder does (color.RGBToYCbCr, which
// rounds to integers), and a grey pixel has no chroma.
func TestYCbCrIsJPEGs(t *testing.T) {
	img := texture(40, 30)
	img.SetRGBA(0, 0, color.RGBA{77, 77, 77, 255})
	ps := ycbcr(img)
	if cb, cr := ps[chromaCb].px[0], ps[chromaCr].px[0]; math.Abs(cb-128) > 1e-9 || math.Abs(cr-128) > 1e-9 {
		t.Errorf("grey: Cb %v, Cr %v, want 128", cb, cr)
	}
	for i := 0; i < len(img.Pix); i += 4 {
		y, cb, cr := color.RGBToYCbCr(img.Pix[i], img.Pix[i+1], img.Pix[i+2])
		for c, want := range []uint8{y, cb, cr} {
			if got := ps[c].px[i/4]; math.Abs(got-float64(want)) > 1 {
				t.Fatalf("pixel %d: %s %.2f, image/color gives %d", i/4, channelNames[c], got, want)
			}
		}
	}
}
