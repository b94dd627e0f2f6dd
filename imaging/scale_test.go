package imaging

import (
	"bytes"
	"fmt"
	"image"
	"slices"
	"testing"
)

// ScaleVariants is the cascade Render encodes and
// bench/jpegquality measures: widest first, each width from the one
// before, a source at a target width kept only when asked.
func TestScaleVariantsCascade(t *testing.T) {
	src := gradient(1440, 1800)
	var got []string
	var prev image.Image = src
	for v := range ScaleVariants(src, false) {
		got = append(got, fmt.Sprintf("%dx%d", v.Width, v.Height))
		if v.Source || v.Image == image.Image(src) || v.Image.Bounds() != image.Rect(0, 0, v.Width, v.Height) {
			t.Errorf("%d px: a %v image, source %v", v.Width, v.Image.Bounds(), v.Source)
		}
		if want := scaleVariant(prev, v.Width, v.Height); !bytes.Equal(want.Pix, v.Image.(*image.RGBA).Pix) {
			t.Errorf("%d px is not scaled from the width before", v.Width)
		}
		prev = v.Image
	}
	if want := []string{"1080x1350", "640x800", "320x400", "240x300"}; !slices.Equal(got, want) {
		t.Errorf("variants %v, want %v", got, want)
	}

	at1080 := gradient(1080, 1080)
	var first ScaledVariant
	for v := range ScaleVariants(at1080, true) {
		first = v
		break
	}
	if !first.Source || first.Image != image.Image(at1080) || first.Width != 1080 {
		t.Errorf("with keepSource, the 1080 px variant of a 1080 px source is %+v", first)
	}
	for v := range ScaleVariants(at1080, false) {
		if v.Source {
			t.Errorf("without keepSource, %d px is the source", v.Width)
		}
	}

	var narrow []int
	for v := range ScaleVariants(gradient(200, 100), true) {
		narrow = append(narrow, v.Width, v.Height)
		if !v.Source {
			t.Error("a 200 px source at its own width is not kept")
		}
	}
	if !slices.Equal(narrow, []int{200, 100}) {
		t.Errorf("a 200×100 source gives %v, want its own width", narrow)
	}
}
