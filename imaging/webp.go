package imaging

import (
	"bytes"
	"compress/gzip"
	"context"
	_ "embed" // the encoder's WebAssembly
	"errors"
	"fmt"
	"image"
	"io"
	"runtime/debug"
	"sync"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/experimental"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"
	"golang.org/x/image/draw"
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

// webpMethod is libwebp's effort (0–6): 4, its default; the qualities
// were chosen at it.
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

// EncodeWebP writes img as a lossy WebP at the quality for its width.
// The encoder is libwebp compiled to WebAssembly (libwebp/build.sh), run
// by wazero: no cgo, so the static release builds stay static, and the
// same bytes on every platform. Its first use compiles the module (a few
// hundred milliseconds); each call then runs in a new instance, closed
// when it returns. A panic inside it is returned as an error: the mirror
// must not die of one image.
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
	if err := encodeWebP(w, img, max(1, min(100, quality))); err != nil {
		return fmt.Errorf("webp encoder: %w", err)
	}
	return nil
}

//go:embed libwebp/webp.wasm.gz
var webpWasm []byte

// webpModule is the encoder compiled, once per process.
var webpModule = sync.OnceValues(func() (*webpRuntime, error) {
	ctx := context.Background()
	zr, err := gzip.NewReader(bytes.NewReader(webpWasm))
	if err != nil {
		return nil, err
	}
	code, err := io.ReadAll(zr)
	if err != nil {
		return nil, err
	}
	rt := wazero.NewRuntime(ctx)
	if _, err := wasi_snapshot_preview1.Instantiate(ctx, rt); err != nil {
		return nil, err
	}
	cm, err := rt.CompileModule(ctx, code)
	if err != nil {
		return nil, err
	}
	// Compiling leaves tens of megabytes of garbage, once per process:
	// handed back now, it is not there under the first encode's memory.
	debug.FreeOSMemory()
	return &webpRuntime{rt: rt, cm: cm}, nil
})

type webpRuntime struct {
	rt wazero.Runtime
	cm wazero.CompiledModule
}

// encodeWebP runs encode.c's encode on img in a new instance of the
// module. The pixels are drawn straight into the instance's memory, which
// encode frees once it has converted them, and that memory comes from
// wasmMemory: outside the Go heap where the platform allows, grown in
// place and returned to the system when the instance closes. On the Go
// heap every growth copied it, and the copies piled up as garbage to
// twice the live heap before the collector ran.
func encodeWebP(w io.Writer, img image.Image, quality int) error {
	wr, err := webpModule()
	if err != nil {
		return err
	}
	ctx := context.Background()
	if wasmMemory != nil {
		ctx = experimental.WithMemoryAllocator(ctx, wasmMemory)
	}
	mod, err := wr.rt.InstantiateModule(ctx, wr.cm, wazero.NewModuleConfig().WithName("").WithStartFunctions("_initialize"))
	if err != nil {
		return err
	}
	defer mod.Close(ctx)
	malloc, encode := mod.ExportedFunction("malloc"), mod.ExportedFunction("encode")
	if malloc == nil || encode == nil {
		return errors.New("the module exports no malloc or encode")
	}
	b := img.Bounds()
	width, height := b.Dx(), b.Dy()
	if width <= 0 || height <= 0 || width > 16383 || height > 16383 {
		return fmt.Errorf("%dx%d: WebP holds 1 to 16383 pixels a side", width, height)
	}
	n := 4 * width * height
	res, err := malloc.Call(ctx, uint64(n))
	if err != nil {
		return err
	}
	in := uint32(res[0])
	if in == 0 {
		return fmt.Errorf("out of memory for %d bytes", n)
	}
	pix, ok := mod.Memory().Read(in, uint32(n))
	if !ok {
		return errors.New("the input is outside the module's memory")
	}
	// The alpha byte is ignored (encode imports RGBX): opaque pictures.
	draw.Draw(&image.RGBA{Pix: pix, Stride: 4 * width, Rect: image.Rect(0, 0, width, height)},
		image.Rect(0, 0, width, height), img, b.Min, draw.Src)
	res, err = malloc.Call(ctx, 4) // a size_t, 32 bits in wasm32: the output's length
	if err != nil || res[0] == 0 {
		return fmt.Errorf("out of memory for the output's length: %v", err)
	}
	sizeAt := uint32(res[0])
	res, err = encode.Call(ctx, uint64(in), uint64(width), uint64(height), uint64(sizeAt), uint64(quality), webpMethod)
	if err != nil {
		return err
	}
	if res[0] == 0 {
		return errors.New("encode failed")
	}
	size, ok := mod.Memory().ReadUint32Le(sizeAt)
	if !ok {
		return errors.New("the output's length is outside the module's memory")
	}
	out, ok := mod.Memory().Read(uint32(res[0]), size)
	if !ok {
		return errors.New("the output is outside the module's memory")
	}
	_, err = w.Write(out) // before Close releases the memory
	return err
}

// isWebP reports whether data starts as a WebP file does: the mirror
// decodes what it downloads in WebP with x/image/webp, asked directly.
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
