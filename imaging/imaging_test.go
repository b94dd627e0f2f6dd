package imaging

import (
	"bytes"
	"image"
	"image/color"
	"image/jpeg"
	"slices"
	"testing"
)

func TestRenderNeverUpscales(t *testing.T) {
	for _, tc := range []struct {
		w, h int
		want []int
	}{
		{1080, 1350, []int{240, 320, 640, 1080}},
		{800, 600, []int{240, 320, 640}},
		{300, 300, []int{240}},
		{200, 100, []int{200}},
		{1100, 300, []int{240, 320, 640, 1080}},
	} {
		img := gradient(tc.w, tc.h)
		var buf bytes.Buffer
		if err := jpeg.Encode(&buf, img, nil); err != nil {
			t.Fatal(err)
		}
		r, err := Render(buf.Bytes())
		if err != nil {
			t.Fatal(err)
		}
		var got []int
		for _, v := range r.Variants {
			got = append(got, v.Width)
			cfg, err := jpeg.DecodeConfig(bytes.NewReader(v.JPEG))
			if err != nil || cfg.Width != v.Width || cfg.Height != v.Height {
				t.Errorf("%dx%d → %dx%d decodes as %dx%d (%v)", tc.w, tc.h, v.Width, v.Height, cfg.Width, cfg.Height, err)
			}
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("%dx%d: widths %v, want %v", tc.w, tc.h, got, tc.want)
		}
	}
}

func TestDominantColor(t *testing.T) {
	img := image.NewRGBA(image.Rect(0, 0, 100, 100))
	for y := range 100 {
		for x := range 100 {
			c := color.RGBA{200, 30, 30, 255}
			if x < 20 {
				c = color.RGBA{10, 10, 250, 255}
			}
			img.Set(x, y, c)
		}
	}
	if got := dominantColor(img); got != "#c81e1e" {
		t.Errorf("dominant colour %s, want #c81e1e", got)
	}
}

func gradient(w, h int) *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			img.Set(x, y, color.RGBA{uint8(x * 255 / w), uint8(y * 255 / h), 128, 255})
		}
	}
	return img
}

func BenchmarkRender(b *testing.B) {
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, gradient(1080, 1350), &jpeg.Options{Quality: 90}); err != nil {
		b.Fatal(err)
	}
	data := buf.Bytes()
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Render(data); err != nil {
			b.Fatal(err)
		}
	}
}
