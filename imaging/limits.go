package imaging

import (
	"errors"
	"fmt"
	"image"
	"image/color"
	"strings"
)

// An image is refused from its header, before it is decoded, when it is
// far larger than any Instagram serves: at most 1440 px wide, 1440×1800 for
// a portrait photo, 1080×1920 for a reel's cover (2.6 and 2.1 megapixels).
// A 100 KB file can hold 40 megapixels of 16-bit pixels, 300 MB decoded,
// so memory is bounded as well as size.
const (
	// maxImagePixels bounds the work of decoding and resizing: over four
	// times the largest Instagram image.
	maxImagePixels = 12_000_000
	// MaxDecodeBytes bounds the memory Render may take for one image,
	// counted at its worst (renderBytes): 46 MiB for a 1440×1800 JPEG,
	// 38 MiB for a 1440×1440 16-bit PNG, 64 MiB for a 1440×2560 JPEG (a
	// 9:16 cover at full width, should Instagram serve one). A caller
	// bounds its total by how many images it renders at once.
	MaxDecodeBytes = 80 << 20
)

// ErrTooLarge is an image refused from its header: over maxImagePixels,
// or it would take over MaxDecodeBytes.
var ErrTooLarge = errors.New("too large to decode")

// checkSize refuses, with ErrTooLarge, an image whose header says it is
// over maxImagePixels or would take over MaxDecodeBytes.
func checkSize(cfg image.Config, format string) error {
	w, h := int64(cfg.Width), int64(cfg.Height)
	if w <= 0 || h <= 0 {
		return fmt.Errorf("image %d×%d is empty", w, h)
	}
	depth := "8-bit"
	switch cfg.ColorModel {
	case color.Gray16Model, color.RGBA64Model, color.NRGBA64Model:
		depth = "16-bit"
	}
	what := fmt.Sprintf("image %d×%d %s %s", w, h, depth, strings.ToUpper(format))
	if w*h > maxImagePixels {
		return fmt.Errorf("%s is %w: %.1f megapixels, over the limit of %d", what, ErrTooLarge,
			float64(w*h)/1e6, maxImagePixels/1_000_000)
	}
	if n := renderBytes(cfg, format); n > MaxDecodeBytes {
		return fmt.Errorf("%s is %w: it may take %d MiB, over the limit of %d", what, ErrTooLarge,
			n>>20, MaxDecodeBytes>>20)
	}
	return nil
}

// renderBytes is the most that decoding an image with this header and
// rendering its variants may allocate.
func renderBytes(cfg image.Config, format string) int64 {
	return decodeBytes(cfg, format) + variantBytes(cfg.Width, cfg.Height)
}

// decodeBytes is the most that image.Decode may allocate for an image with
// this header. What the header leaves open counts at its worst:
//
//   - PNG: the decoder's image for the colour model, except that gray may
//     turn out to have a transparent colour (a tRNS chunk after the
//     header) and is then decoded as NRGBA, or NRGBA64 at 16 bits; and an
//     interlaced file is decoded pass by pass beside the whole image, so
//     all of it counts twice.
//   - JPEG: the planes allocated in whole blocks of up to 32×16 pixels
//     (MCUs), every one at full resolution as if not subsampled, and, in a
//     progressive file, every DCT coefficient kept beside them (4 bytes a
//     sample); an RGB or CMYK file is then converted into a further
//     4-byte-a-pixel image. 15 bytes a pixel for the usual YCbCr.
//   - WebP: lossy files decode to YCbCr with an alpha plane, in whole
//     16×16 macroblocks; lossless ones to NRGBA beside the decoder's own
//     ARGB pixels. 8 bytes a pixel covers either.
func decodeBytes(cfg image.Config, format string) int64 {
	w, h := int64(cfg.Width), int64(cfg.Height)
	if format == "webp" {
		return 8 * roundUp(w, 16) * roundUp(h, 16)
	}
	if format == "png" {
		perPixel := int64(8)
		if _, ok := cfg.ColorModel.(color.Palette); ok {
			perPixel = 1
		} else if cfg.ColorModel == color.GrayModel || cfg.ColorModel == color.RGBAModel || cfg.ColorModel == color.NRGBAModel {
			perPixel = 4
		}
		return 2 * perPixel * w * h
	}
	planes, converted := int64(4), int64(4) // CMYK, and anything unexpected
	switch cfg.ColorModel {
	case color.GrayModel:
		planes, converted = 1, 0
	case color.YCbCrModel:
		planes, converted = 3, 0
	case color.RGBAModel:
		planes = 3
	}
	blocks := roundUp(w, 32) * roundUp(h, 32)
	const coefficient = 4 // bytes, in a progressive file
	return blocks*planes*(1+coefficient) + converted*w*h
}

func roundUp(n, to int64) int64 { return (n + to - 1) / to * to }

// variantBytes is what the scaling cascade holds for the pixels of an
// image w wide and h high: an RGBA image for each variant.
func variantBytes(w, h int) int64 {
	var n int64
	for _, tw := range targetWidths(w) {
		n += 4 * int64(tw) * int64(variantHeight(w, h, tw))
	}
	return n
}
