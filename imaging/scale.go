package imaging

import (
	"image"
	"image/color"
	"iter"
	"math"
	"slices"

	"golang.org/x/image/draw"
)

// Widths are the sizes every image is mirrored at, as JPEG and then as
// WebP (RenderWebP). An image narrower than a width is not
// upscaled: it gets the widths it covers, or its own width if it is
// narrower than the smallest. 240 serves the tiles of a gallery in a
// page's column (about 170–240 px at 1×), 320 and 640 wider tiles and
// dense screens, 1080 the lightbox.
var Widths = []int{240, 320, 640, 1080}

// ScaledVariant is one width of an image as the mirror draws it, before it
// is encoded.
type ScaledVariant struct {
	Width, Height int
	Image         image.Image
	// Source is set when Image is the source itself, not drawn again: the
	// mirror keeps a JPEG already at a target width as it is.
	Source bool
}

// ScaleVariants yields src at each width the mirror stores it at: the
// Widths it covers (never upscaled), or its own width when it is
// narrower than all of them. They come widest first, each scaled from the
// one before (scaleVariant): cheaper than scaling the source every time
// and just as sharp at these ratios. With keepSource, a target width
// equal to src's own is src itself (Source), and the next is scaled from
// it. Render encodes these, and bench/jpegquality measures them, so both
// see the same pixels.
func ScaleVariants(src image.Image, keepSource bool) iter.Seq[ScaledVariant] {
	return scaleVariants(src, keepSource, &scratch{})
}

// scaleVariants is ScaleVariants drawing into s's buffers: each variant's
// image is overwritten by the next call's.
func scaleVariants(src image.Image, keepSource bool, s *scratch) iter.Seq[ScaledVariant] {
	return func(yield func(ScaledVariant) bool) {
		b := src.Bounds()
		sw, sh := b.Dx(), b.Dy()
		cur := src
		for i, w := range slices.Backward(targetWidths(sw)) {
			h := variantHeight(sw, sh, w)
			v := ScaledVariant{Width: w, Height: h, Image: cur, Source: w == sw && keepSource}
			if !v.Source {
				dst := s.rgba(i, w, h)
				s.scaleInto(dst, cur)
				v.Image = dst
				cur = v.Image
			}
			if !yield(v) {
				return
			}
		}
	}
}

// scaleVariant draws src into a new w×h image as the mirror does for each
// variant before encoding it.
func scaleVariant(src image.Image, w, h int) *image.RGBA {
	dst := image.NewRGBA(image.Rect(0, 0, w, h))
	scaleVariantInto(dst, src, nil)
	return dst
}

// scaleInto draws src onto all of dst as scaleVariantInto does, with s's
// row buffer, telling s.hold of the buffer draw allocates for the images
// scaleRows leaves to it.
func (s *scratch) scaleInto(dst *image.RGBA, src image.Image) {
	if scalableRows(src) {
		s.rows = scaleRows(dst, src, s.rows)
		return
	}
	drawBuffer := 32 * int64(dst.Rect.Dx()) * int64(src.Bounds().Dy())
	if s.hold != nil {
		s.hold(drawBuffer)
		defer s.hold(-drawBuffer)
	}
	scaleVariantInto(dst, src, nil)
}

// scaleVariantInto draws src onto all of dst: Catmull-Rom, onto white
// where src is not opaque; rows is scaleRows' buffer, returned for the
// next call. draw.CatmullRom draws what scaleRows does not take (PNG's
// NRGBA, WebP's, images with transparency).
func scaleVariantInto(dst *image.RGBA, src image.Image, rows [][4]float64) [][4]float64 {
	if scalableRows(src) {
		return scaleRows(dst, src, rows)
	}
	op := draw.Src
	if o, ok := src.(interface{ Opaque() bool }); !ok || !o.Opaque() {
		draw.Draw(dst, dst.Bounds(), image.NewUniform(color.White), image.Point{}, draw.Src)
		op = draw.Over
	}
	draw.CatmullRom.Scale(dst, dst.Bounds(), src, src.Bounds(), op, nil)
	return rows
}

// scratch is what a Renderer keeps from one image to the next: the row
// buffer of scaleRows and the pixels of each width of the cascade.
type scratch struct {
	rows   [][4]float64
	pixels []*image.RGBA // by the index of their width in targetWidths
	// hold, when set, is told of the transient buffer of a scaling left
	// to draw (Renderer.Hold).
	hold func(delta int64)
}

// rgba is the cascade's i-th image, w×h, reusing the last one's pixels
// when they are large enough.
func (s *scratch) rgba(i, w, h int) *image.RGBA {
	for len(s.pixels) <= i {
		s.pixels = append(s.pixels, nil)
	}
	if p := s.pixels[i]; p != nil && cap(p.Pix) >= 4*w*h {
		p.Pix, p.Stride, p.Rect = p.Pix[:4*w*h], 4*w, image.Rect(0, 0, w, h)
		return p
	}
	s.pixels[i] = image.NewRGBA(image.Rect(0, 0, w, h))
	return s.pixels[i]
}

// bytes is the size of the buffers.
func (s *scratch) bytes() int64 {
	n := 32 * int64(cap(s.rows))
	for _, p := range s.pixels {
		if p != nil {
			n += int64(cap(p.Pix))
		}
	}
	return n
}

// variantHeight is the height of the variant tw wide of an image w×h.
func variantHeight(w, h, tw int) int {
	return max(1, int(math.Round(float64(h)*float64(tw)/float64(w))))
}

// targetWidths are the Widths an image of width w covers (never upscaled),
// or w itself when it is narrower than all of them.
func targetWidths(w int) []int {
	var out []int
	for _, t := range Widths {
		if t <= w {
			out = append(out, t)
		}
	}
	if len(out) == 0 {
		out = []int{w}
	}
	return out
}
