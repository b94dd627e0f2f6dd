package main

import (
	"image"
	"math"
)

// plane is one channel of an image as floats, row after row.
type plane struct {
	w, h int
	px   []float64
}

// Channels of JPEG's YCbCr (BT.601, full range), as ycbcr returns them.
const (
	lumaY = iota
	chromaCb
	chromaCr
	channels
)

var channelNames = [channels]string{"Y", "Cb", "Cr"}

// ycbcr is the Y, Cb and Cr of JPEG's YCbCr (BT.601, full range) of each
// pixel, as image/jpeg converts RGB before it encodes: luma, the channel
// SSIM is usually computed on, and the two chroma channels the encoder
// stores at half the width and height (4:2:0) with their own table.
func ycbcr(img *image.RGBA) [channels]plane {
	b := img.Bounds()
	var out [channels]plane
	for c := range out {
		out[c] = plane{w: b.Dx(), h: b.Dy(), px: make([]float64, b.Dx()*b.Dy())}
	}
	for y := range b.Dy() {
		row := img.Pix[y*img.Stride:]
		for x := range b.Dx() {
			r, g, bl := float64(row[4*x]), float64(row[4*x+1]), float64(row[4*x+2])
			i := y*b.Dx() + x
			out[lumaY].px[i] = 0.299*r + 0.587*g + 0.114*bl
			out[chromaCb].px[i] = 128 - 0.168736*r - 0.331264*g + 0.5*bl
			out[chromaCr].px[i] = 128 + 0.5*r - 0.418688*g - 0.081312*bl
		}
	}
	return out
}

// areaDown scales p down by k (≥ 1), each output pixel the mean of the
// input area it covers: how an image drawn at k device pixels, or k file
// pixels, to the CSS pixel reaches an eye that resolves CSS pixels, so
// artifacts finer than a CSS pixel blur away.
func areaDown(p plane, k float64) plane {
	if k <= 1 {
		return p
	}
	ow, oh := max(1, int(math.Round(float64(p.w)/k))), max(1, int(math.Round(float64(p.h)/k)))
	tx, ty := areaTaps(p.w, ow), areaTaps(p.h, oh)
	tmp := make([]float64, p.h*ow) // rows first
	for y := range p.h {
		row := p.px[y*p.w:]
		for ox, ts := range tx {
			var v float64
			for _, t := range ts {
				v += t.w * row[t.i]
			}
			tmp[y*ow+ox] = v
		}
	}
	out := plane{w: ow, h: oh, px: make([]float64, ow*oh)}
	for oy, ts := range ty {
		for x := range ow {
			var v float64
			for _, t := range ts {
				v += t.w * tmp[t.i*ow+x]
			}
			out.px[oy*ow+x] = v
		}
	}
	return out
}

type tap struct {
	i int
	w float64
}

// areaTaps are, for each of m outputs spanning n inputs, the inputs it
// covers and the share of each.
func areaTaps(n, m int) [][]tap {
	taps := make([][]tap, m)
	scale := float64(n) / float64(m)
	for o := range taps {
		lo, hi := float64(o)*scale, float64(o+1)*scale
		for i := int(lo); i < n && float64(i) < hi; i++ {
			if w := math.Min(hi, float64(i+1)) - math.Max(lo, float64(i)); w > 1e-12 {
				taps[o] = append(taps[o], tap{i, w / scale})
			}
		}
	}
	return taps
}

// The standard SSIM constants: an 11×11 Gaussian window of σ 1.5, and
// C1 = (0.01·255)², C2 = (0.03·255)² (Wang et al., 2004).
const (
	window = 11
	sigma  = 1.5
	c1     = (0.01 * 255) * (0.01 * 255)
	c2     = (0.03 * 255) * (0.03 * 255)
)

// msWeights are the per-scale exponents of MS-SSIM (Wang, Simoncelli and
// Bovik, 2003), finest scale first.
var msWeights = []float64{0.0448, 0.2856, 0.3001, 0.2363, 0.1333}

var kernel = func() []float64 {
	k := make([]float64, window)
	var sum float64
	for i := range k {
		d := float64(i - window/2)
		k[i] = math.Exp(-d * d / (2 * sigma * sigma))
		sum += k[i]
	}
	for i := range k {
		k[i] /= sum
	}
	return k
}()

// blur filters p with the Gaussian window, keeping only the positions
// where the window fits (a "valid" convolution), separably.
func blur(p plane) plane {
	ow, oh := p.w-window+1, p.h-window+1
	tmp := make([]float64, ow*p.h)
	for y := range p.h {
		row := p.px[y*p.w:]
		for x := range ow {
			var s float64
			for i, k := range kernel {
				s += k * row[x+i]
			}
			tmp[y*ow+x] = s
		}
	}
	out := plane{w: ow, h: oh, px: make([]float64, ow*oh)}
	for y := range oh {
		for x := range ow {
			var s float64
			for i, k := range kernel {
				s += k * tmp[(y+i)*ow+x]
			}
			out.px[y*ow+x] = s
		}
	}
	return out
}

func product(a, b plane) plane {
	out := plane{w: a.w, h: a.h, px: make([]float64, len(a.px))}
	for i := range a.px {
		out.px[i] = a.px[i] * b.px[i]
	}
	return out
}

// halve is MS-SSIM's step to the next scale: 2×2 averages, a last odd
// row or column dropped.
func halve(p plane) plane {
	out := plane{w: p.w / 2, h: p.h / 2}
	out.px = make([]float64, out.w*out.h)
	for y := range out.h {
		a, b := p.px[2*y*p.w:], p.px[(2*y+1)*p.w:]
		for x := range out.w {
			out.px[y*out.w+x] = (a[2*x] + a[2*x+1] + b[2*x] + b[2*x+1]) / 4
		}
	}
	return out
}

// reference holds what SSIM needs of the undistorted image at each scale,
// computed once for all the qualities it is compared with.
type reference struct {
	scales []refScale
}

type refScale struct {
	x        plane
	mu, blx2 plane // blurred x and x²
}

// newReference prepares the MS-SSIM of ref: as many scales of
// msWeights as fit the window.
func newReference(ref plane) *reference {
	r := &reference{}
	x := ref
	for range msWeights {
		if x.w < window || x.h < window {
			break
		}
		r.scales = append(r.scales, refScale{x: x, mu: blur(x), blx2: blur(product(x, x))})
		x = halve(x)
	}
	return r
}

// ssimMeans returns the means over the window positions of the luminance
// term times the contrast-structure term (SSIM) and of the latter alone.
func (s refScale) ssimMeans(y plane) (ssim, cs float64) {
	muY, bly2, blxy := blur(y), blur(product(y, y)), blur(product(s.x, y))
	for i := range muY.px {
		mx, my := s.mu.px[i], muY.px[i]
		vx, vy, cov := s.blx2.px[i]-mx*mx, bly2.px[i]-my*my, blxy.px[i]-mx*my
		csi := (2*cov + c2) / (vx + vy + c2)
		cs += csi
		ssim += (2*mx*my + c1) / (mx*mx + my*my + c1) * csi
	}
	n := float64(len(muY.px))
	return ssim / n, cs / n
}

// scores returns the SSIM of y against the reference (its finest scale)
// and the multi-scale SSIM: the contrast-structure term at every scale and
// SSIM at the coarsest, each raised to its weight (the weights
// renormalised when fewer scales fit).
func (r *reference) scores(y plane) (ssim, msssim float64) {
	n := len(r.scales)
	var wsum float64
	for _, w := range msWeights[:n] {
		wsum += w
	}
	msssim = 1
	for i, s := range r.scales {
		si, cs := s.ssimMeans(y)
		if i == 0 {
			ssim = si
		}
		v := cs
		if i == n-1 {
			v = si
		}
		msssim *= math.Pow(math.Max(v, 0), msWeights[i]/wsum)
		y = halve(y)
	}
	return ssim, msssim
}
