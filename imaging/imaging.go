// Package imaging turns a downloaded picture into what the mirror stores
// of it: JPEG files at a few widths (Widths), each at its own quality
// (JPEGQuality), the WebP of each width made from them later
// (RenderWebP, WebPQuality), and a dominant colour to show while a file
// loads. It
// refuses, from the header alone, an image too large to decode safely
// (ErrTooLarge), so a hostile or broken upstream cannot exhaust memory.
//
// ScaleVariants is the one scaling cascade: Render encodes what it yields,
// and bench/jpegquality measures it, so both see the same pixels.
package imaging

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	_ "image/png" // Instagram serves JPEG; PNG costs nothing to accept
	"slices"

	"golang.org/x/image/draw"
)

// Rendered is an image as the mirror stores it.
type Rendered struct {
	Width, Height int // the source's
	// Color is the dominant colour, "#rrggbb": a flat placeholder while
	// a file loads.
	Color    string
	Variants []Variant // ascending width
}

// Variant is one width of a Rendered image, encoded as JPEG (Render) or
// as WebP (RenderWebP).
type Variant struct {
	Width, Height int
	JPEG          []byte
	WebP          []byte
}

// Render decodes data, a JPEG, PNG or WebP file, and renders its JPEG
// variants and its dominant colour. An image too large for the limits is
// refused with ErrTooLarge from its header, without decoding it. A JPEG
// already at one of Widths is kept byte for byte at that width. It holds
// every variant at once; the mirror renders with a Renderer instead.
func Render(data []byte) (Rendered, error) {
	var r Renderer
	var variants []Variant
	out, err := r.Render(data, func(v Variant) error {
		v.JPEG = bytes.Clone(v.JPEG)
		variants = append(variants, v)
		return nil
	})
	if err != nil {
		return Rendered{}, err
	}
	slices.Reverse(variants) // narrowest first
	out.Variants = variants
	return out, nil
}

// Renderer renders images one after the other, keeping its buffers (the
// scaling's rows, each width's pixels, the JPEG being encoded) for the
// next image, and hands each variant to its caller as soon as it is
// encoded: what it holds is one image's worth, whatever the number of
// images, where rendering each afresh left tens of megabytes of garbage
// per photograph for the collector. Not safe for concurrent use; the zero
// value is ready.
type Renderer struct {
	// Hold, when set, is told each change of the bytes the renderer
	// holds: the decoded pixels while an image is rendered (the decoder's
	// own transient state aside), and its buffers as they grow or are
	// released.
	Hold func(delta int64)

	scratch scratch
	encoded bytes.Buffer
	held    int64 // the buffers' bytes told to Hold
}

// Render decodes data as the package's Render does, then calls write with
// each variant, widest first, as soon as it is encoded. The JPEG bytes
// are the renderer's (or data itself, for a source kept as it is) and are
// reused for the next variant: write must not keep them. The Rendered
// returned has no Variants.
func (r *Renderer) Render(data []byte, write func(Variant) error) (Rendered, error) {
	cfg, format, err := decodeConfig(data)
	if err != nil {
		return Rendered{}, fmt.Errorf("not a JPEG, PNG or WebP image: %w", err)
	}
	if format != "jpeg" && format != "png" && format != "webp" {
		return Rendered{}, fmt.Errorf("a %s image: only JPEG, PNG and WebP are mirrored", format)
	}
	if err := checkSize(cfg, format); err != nil {
		return Rendered{}, err
	}
	src, _, err := decode(data)
	if err != nil {
		return Rendered{}, fmt.Errorf("decode %s: %w", format, err)
	}
	r.scratch.hold = r.hold
	decoded := pixelBytes(src)
	r.hold(decoded)
	defer r.hold(-decoded)
	b := src.Bounds()
	out := Rendered{Width: b.Dx(), Height: b.Dy(), Color: dominantColor(src)}
	for v := range scaleVariants(src, format == "jpeg", &r.scratch) {
		encoded := data
		if !v.Source {
			r.encoded.Reset()
			if err := jpeg.Encode(&r.encoded, v.Image, &jpeg.Options{Quality: JPEGQuality(v.Width)}); err != nil {
				return Rendered{}, fmt.Errorf("encode %dpx: %w", v.Width, err)
			}
			encoded = r.encoded.Bytes()
		}
		r.holdBuffers()
		if err := write(Variant{Width: v.Width, Height: v.Height, JPEG: encoded}); err != nil {
			return Rendered{}, err
		}
	}
	return out, nil
}

// RenderWebP decodes data, the widest JPEG the mirror keeps of an image,
// and calls write with a WebP of each width the mirror keeps of it (those
// data's width covers, as Render's), widest first, as soon as each is
// encoded; the bytes are reused for the next. This is how WebP is added
// to images mirrored as JPEG: from the mirror's own widest file, which
// for Instagram's 1080 px posts is Instagram's file byte for byte, so the
// narrower widths are drawn from the same pixels as their JPEGs.
func (r *Renderer) RenderWebP(data []byte, write func(Variant) error) error {
	cfg, format, err := decodeConfig(data)
	if err != nil {
		return fmt.Errorf("not an image: %w", err)
	}
	if format != "jpeg" {
		return fmt.Errorf("a %s file: WebP is made from the mirror's JPEG", format)
	}
	if err := checkSize(cfg, format); err != nil {
		return err
	}
	src, _, err := decode(data)
	if err != nil {
		return fmt.Errorf("decode %s: %w", format, err)
	}
	r.scratch.hold = r.hold
	decoded := pixelBytes(src)
	r.hold(decoded)
	defer r.hold(-decoded)
	for v := range scaleVariants(src, true, &r.scratch) {
		r.encoded.Reset()
		if err := EncodeWebP(&r.encoded, v.Image); err != nil {
			return fmt.Errorf("encode %dpx: %w", v.Width, err)
		}
		r.holdBuffers()
		if err := write(Variant{Width: v.Width, Height: v.Height, WebP: r.encoded.Bytes()}); err != nil {
			return err
		}
	}
	return nil
}

// Release drops the renderer's buffers, for the collector to take once
// the images are rendered; the renderer remains usable.
func (r *Renderer) Release() {
	r.scratch = scratch{}
	r.encoded = bytes.Buffer{}
	r.holdBuffers()
}

func (r *Renderer) hold(n int64) {
	if r.Hold != nil && n != 0 {
		r.Hold(n)
	}
}

// holdBuffers tells Hold how much the buffers grew (or shrank) since last
// told.
func (r *Renderer) holdBuffers() {
	now := r.scratch.bytes() + int64(r.encoded.Cap())
	r.hold(now - r.held)
	r.held = now
}

// pixelBytes is the size of img's pixel arrays.
func pixelBytes(img image.Image) int64 {
	switch img := img.(type) {
	case *image.YCbCr:
		return int64(cap(img.Y) + cap(img.Cb) + cap(img.Cr))
	case *image.NYCbCrA:
		return int64(cap(img.Y) + cap(img.Cb) + cap(img.Cr) + cap(img.A))
	case *image.Gray:
		return int64(cap(img.Pix))
	case *image.Gray16:
		return int64(cap(img.Pix))
	case *image.RGBA:
		return int64(cap(img.Pix))
	case *image.RGBA64:
		return int64(cap(img.Pix))
	case *image.NRGBA:
		return int64(cap(img.Pix))
	case *image.NRGBA64:
		return int64(cap(img.Pix))
	case *image.Paletted:
		return int64(cap(img.Pix))
	case *image.CMYK:
		return int64(cap(img.Pix))
	}
	b := img.Bounds()
	return 8 * int64(b.Dx()) * int64(b.Dy()) // at its widest
}

// dominantColor is the mean of the most common colour bucket (4 bits per
// channel) of a 24×24 thumbnail: a flat placeholder close to what the eye
// notices first, cheaper and less muddy than the plain average.
func dominantColor(img image.Image) string {
	const n = 24
	small := image.NewRGBA(image.Rect(0, 0, n, n))
	draw.Draw(small, small.Bounds(), image.NewUniform(color.White), image.Point{}, draw.Src)
	draw.ApproxBiLinear.Scale(small, small.Bounds(), img, img.Bounds(), draw.Over, nil)
	var counts [4096]int
	var sums [4096][3]int
	for i := 0; i+3 < len(small.Pix); i += 4 {
		r, g, b := int(small.Pix[i]), int(small.Pix[i+1]), int(small.Pix[i+2])
		k := (r>>4)<<8 | (g>>4)<<4 | b>>4
		counts[k]++
		sums[k][0] += r
		sums[k][1] += g
		sums[k][2] += b
	}
	best := 0
	for k := range counts {
		if counts[k] > counts[best] {
			best = k
		}
	}
	c := counts[best]
	if c == 0 {
		return "#808080"
	}
	return fmt.Sprintf("#%02x%02x%02x", sums[best][0]/c, sums[best][1]/c, sums[best][2]/c)
}
