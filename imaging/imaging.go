// Package imaging turns a downloaded picture into what the mirror stores
// of it: JPEG files at a few widths (Widths), each at its own quality
// (JPEGQuality), and a dominant colour to show while a file loads. It
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
	_ "golang.org/x/image/webp" // should the CDN answer WebP: decoded, then stored as JPEG
)

// Rendered is an image as the mirror stores it.
type Rendered struct {
	Width, Height int // the source's
	// Color is the dominant colour, "#rrggbb": a flat placeholder while
	// a file loads.
	Color    string
	Variants []Variant // ascending width
}

// Variant is one width of a Rendered image, encoded as JPEG.
type Variant struct {
	Width, Height int
	JPEG          []byte
}

// Render decodes data, a JPEG, PNG or WebP file, and renders its JPEG
// variants and its dominant colour. An image too large for the limits is
// refused with ErrTooLarge from its header, without decoding it. A JPEG
// already at one of Widths is kept byte for byte at that width.
func Render(data []byte) (Rendered, error) {
	cfg, format, err := image.DecodeConfig(bytes.NewReader(data))
	if err != nil {
		return Rendered{}, fmt.Errorf("not a JPEG, PNG or WebP image: %w", err)
	}
	if format != "jpeg" && format != "png" && format != "webp" {
		return Rendered{}, fmt.Errorf("a %s image: only JPEG, PNG and WebP are mirrored", format)
	}
	if err := checkSize(cfg, format); err != nil {
		return Rendered{}, err
	}
	src, _, err := image.Decode(bytes.NewReader(data))
	if err != nil {
		return Rendered{}, fmt.Errorf("decode %s: %w", format, err)
	}
	b := src.Bounds()
	r := Rendered{Width: b.Dx(), Height: b.Dy(), Color: dominantColor(src)}
	r.Variants, err = encodeVariants(src, data, format)
	return r, err
}

// encodeVariants encodes each of ScaleVariants as JPEG at its width's
// quality. A JPEG already at a target width is kept as is.
func encodeVariants(src image.Image, data []byte, format string) ([]Variant, error) {
	var out []Variant
	for v := range ScaleVariants(src, format == "jpeg") {
		if v.Source {
			out = append(out, Variant{Width: v.Width, Height: v.Height, JPEG: data})
			continue
		}
		var buf bytes.Buffer
		if err := jpeg.Encode(&buf, v.Image, &jpeg.Options{Quality: JPEGQuality(v.Width)}); err != nil {
			return nil, fmt.Errorf("encode %dpx: %w", v.Width, err)
		}
		out = append(out, Variant{Width: v.Width, Height: v.Height, JPEG: buf.Bytes()})
	}
	slices.Reverse(out) // narrowest first
	return out, nil
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
