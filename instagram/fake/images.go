package fake

import (
	"bytes"
	"image"
	"image/jpeg"
	"math"
	"math/rand/v2"
)

// renderJPEG draws a deterministic picture for seed: a two-colour pastel
// gradient at a random angle with a few soft translucent discs, and a play
// button for video thumbnails. Real dimensions let mirror code test its
// resizing.
func renderJPEG(w, h int, seed uint64, play bool) []byte {
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	hue := rng.Float64() * 360
	c1 := hsl(hue, 0.45+rng.Float64()*0.2, 0.62+rng.Float64()*0.12)
	c2 := hsl(math.Mod(hue+40+rng.Float64()*80, 360), 0.5+rng.Float64()*0.2, 0.38+rng.Float64()*0.12)

	img := image.NewRGBA(image.Rect(0, 0, w, h))
	angle := rng.Float64() * math.Pi / 2
	dx, dy := math.Cos(angle), math.Sin(angle)
	span := dx*float64(w) + dy*float64(h)
	for y := 0; y < h; y++ {
		row := img.Pix[y*img.Stride:]
		for x := 0; x < w; x++ {
			t := (dx*float64(x) + dy*float64(y)) / span
			o := x * 4
			row[o+0] = lerp8(c1[0], c2[0], t)
			row[o+1] = lerp8(c1[1], c2[1], t)
			row[o+2] = lerp8(c1[2], c2[2], t)
			row[o+3] = 0xff
		}
	}
	m := float64(min(w, h))
	for range 3 + rng.IntN(3) {
		col := hsl(math.Mod(hue+180+rng.Float64()*60, 360), 0.55, 0.86)
		disc(img, rng.Float64()*float64(w), rng.Float64()*float64(h), m*(0.08+rng.Float64()*0.28), col, 0.22+rng.Float64()*0.25)
	}
	if play {
		cx, cy, r := float64(w)/2, float64(h)/2, m*0.09
		disc(img, cx, cy, r, [3]float64{0, 0, 0}, 0.35)
		triangle(img, cx, cy, r)
	}
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: 82}); err != nil {
		return nil // cannot happen writing to a bytes.Buffer
	}
	return buf.Bytes()
}

// disc blends a filled circle with a one-pixel anti-aliased edge.
func disc(img *image.RGBA, cx, cy, r float64, col [3]float64, alpha float64) {
	b := img.Bounds()
	x0, x1 := max(int(cx-r-1), 0), min(int(cx+r+2), b.Dx())
	y0, y1 := max(int(cy-r-1), 0), min(int(cy+r+2), b.Dy())
	for y := y0; y < y1; y++ {
		for x := x0; x < x1; x++ {
			d := math.Hypot(float64(x)+0.5-cx, float64(y)+0.5-cy)
			cover := math.Max(0, math.Min(1, r-d+0.5))
			if cover > 0 {
				blend(img, x, y, col, alpha*cover)
			}
		}
	}
}

// triangle draws a white right-pointing play triangle inside a disc of radius r.
func triangle(img *image.RGBA, cx, cy, r float64) {
	left, right, half := cx-r*0.35, cx+r*0.55, r*0.5
	b := img.Bounds()
	for y := max(int(cy-half), 0); y < min(int(cy+half+1), b.Dy()); y++ {
		for x := max(int(left), 0); x < min(int(right+1), b.Dx()); x++ {
			fx, fy := float64(x)+0.5, float64(y)+0.5
			if fx >= left && math.Abs(fy-cy) <= (right-fx)/(right-left)*half {
				blend(img, x, y, [3]float64{255, 255, 255}, 0.92)
			}
		}
	}
}

func blend(img *image.RGBA, x, y int, col [3]float64, a float64) {
	o := img.PixOffset(x, y)
	for i := range 3 {
		img.Pix[o+i] = uint8(math.Round(float64(img.Pix[o+i])*(1-a) + col[i]*a))
	}
}

func lerp8(a, b, t float64) uint8 {
	return uint8(math.Round(a + (b-a)*t))
}

// hsl converts hue (degrees), saturation and lightness (0..1) to 0..255 RGB.
func hsl(h, s, l float64) [3]float64 {
	c := (1 - math.Abs(2*l-1)) * s
	hp := h / 60
	x := c * (1 - math.Abs(math.Mod(hp, 2)-1))
	var r, g, b float64
	switch {
	case hp < 1:
		r, g = c, x
	case hp < 2:
		r, g = x, c
	case hp < 3:
		g, b = c, x
	case hp < 4:
		g, b = x, c
	case hp < 5:
		r, b = x, c
	default:
		r, b = c, x
	}
	m := l - c/2
	return [3]float64{(r + m) * 255, (g + m) * 255, (b + m) * 255}
}
