package imaging

import (
	"bytes"
	"fmt"
	"image"
	"io"

	"github.com/gen2brain/webp"
	xwebp "golang.org/x/image/webp"
)

// webpQualities is the WebP quality of each width, chosen with
// bench/jpegquality on real photographs (bench/RESULTS.md, "Modern formats
// per width"): for each width, the lowest quality at which the WebP files,
// scored as the file is usually drawn (MS-SSIM of luma and of chroma),
// match or beat the same photographs' JPEGs at JPEGQuality by the JPEG
// rule (median and lowest at least the JPEGs', at most one in ten below
// its own JPEG), and every higher quality does too. Held to that, WebP
// costs more bytes than the JPEG at every width (1.3× to 1.5× the
// corpus' bytes; matching medians alone, 1.0× to 1.3×) and takes some 20
// times as long to encode. Luma is what holds it back: below these
// qualities its chroma already beats the JPEG's, its luma does not.
var webpQualities = []struct{ upTo, quality int }{
	{240, 93},
	{320, 96},
	{640, 90},
	{1080, 95},
}

// webpMethod is libwebp's effort (0–6): 4, its default, is within a
// percent or two of 6's bytes at about half its time.
const webpMethod = 4

// WebPQuality is the quality a WebP variant width px wide is encoded at,
// chosen as JPEGQuality is.
func WebPQuality(width int) int {
	for _, q := range webpQualities {
		if width <= q.upTo {
			return q.quality
		}
	}
	return webpQualities[len(webpQualities)-1].quality
}

// EncodeWebP writes img as a lossy WebP at the quality for its width. The
// encoder is libwebp compiled to WebAssembly, run by wazero: no cgo, the
// same bytes on every platform. Its first use compiles the module (a few
// hundred milliseconds); each call then runs in its own instance, whose
// memory (some 3 × the RGBA pixels) is released when it returns. A panic
// inside it is returned as an error: the mirror's workers must not die of
// one image.
func EncodeWebP(w io.Writer, img image.Image) error {
	return EncodeWebPAt(w, img, WebPQuality(img.Bounds().Dx()))
}

// EncodeWebPAt is EncodeWebP at the given quality (1–100), for
// bench/jpegquality to measure.
func EncodeWebPAt(w io.Writer, img image.Image, quality int) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("webp encoder: %v", r)
		}
	}()
	if err := webp.Encode(w, img, webp.Options{Quality: quality, Method: webpMethod}); err != nil {
		return fmt.Errorf("webp encoder: %w", err)
	}
	return nil
}

// isWebP reports whether data starts as a WebP file does. Two packages
// register the format with image (x/image/webp, and the encoder's, which
// decodes in WebAssembly); the mirror decodes what it downloads with the
// former, in Go, by asking it directly.
func isWebP(data []byte) bool {
	return len(data) >= 12 && string(data[:4]) == "RIFF" && string(data[8:12]) == "WEBP"
}

// decodeConfig is image.DecodeConfig, with WebP always read by x/image/webp.
func decodeConfig(data []byte) (image.Config, string, error) {
	if isWebP(data) {
		cfg, err := xwebp.DecodeConfig(bytes.NewReader(data))
		return cfg, "webp", err
	}
	return image.DecodeConfig(bytes.NewReader(data))
}

// decode is image.Decode, with WebP always read by x/image/webp.
func decode(data []byte) (image.Image, string, error) {
	if isWebP(data) {
		img, err := xwebp.Decode(bytes.NewReader(data))
		return img, "webp", err
	}
	return image.Decode(bytes.NewReader(data))
}
