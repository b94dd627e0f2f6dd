package imaging

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"image"
	"image/jpeg"
	"image/png"
	"slices"
	"sync"
	"testing"
)

// quantTables returns the quantization tables of a baseline JPEG's DQT
// segments, by table id, as stored (zigzag order).
func quantTables(data []byte) (map[int][64]uint16, error) {
	if len(data) < 4 || data[0] != 0xFF || data[1] != 0xD8 {
		return nil, errors.New("not a JPEG")
	}
	tables := map[int][64]uint16{}
	for i := 2; i+4 <= len(data); {
		if data[i] != 0xFF {
			return nil, fmt.Errorf("no marker at byte %d", i)
		}
		marker := data[i+1]
		if marker == 0xDA { // start of scan: the tables are all before it
			return tables, nil
		}
		n := int(binary.BigEndian.Uint16(data[i+2:]))
		if n < 2 || i+2+n > len(data) {
			return nil, fmt.Errorf("segment %#x at byte %d runs past the end", marker, i)
		}
		if marker == 0xDB {
			seg := data[i+4 : i+2+n]
			for len(seg) > 0 {
				precision, id := seg[0]>>4, int(seg[0]&0x0F)
				var t [64]uint16
				size := 1 + 64
				if precision == 1 {
					size = 1 + 128
				}
				if len(seg) < size {
					return nil, errors.New("short DQT segment")
				}
				for k := range t {
					if precision == 1 {
						t[k] = binary.BigEndian.Uint16(seg[1+2*k:])
					} else {
						t[k] = uint16(seg[1+k])
					}
				}
				tables[id] = t
				seg = seg[size:]
			}
		}
		i += 2 + n
	}
	return nil, errors.New("no start of scan")
}

// encoderTables are the tables image/jpeg writes at each quality, 1 to
// 100, read back from a file it encoded.
var encoderTables = sync.OnceValues(func() (map[int]map[int][64]uint16, error) {
	out := map[int]map[int][64]uint16{}
	img := image.NewRGBA(image.Rect(0, 0, 8, 8))
	for q := 1; q <= 100; q++ {
		var buf bytes.Buffer
		if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: q}); err != nil {
			return nil, err
		}
		t, err := quantTables(buf.Bytes())
		if err != nil {
			return nil, err
		}
		out[q] = t
	}
	return out, nil
})

// encodedQuality is the quality image/jpeg encoded data at, told by its
// quantization tables: the one quality whose luma and chroma tables they
// are, or an error when there is none or more than one.
func encodedQuality(data []byte) (int, error) {
	got, err := quantTables(data)
	if err != nil {
		return 0, err
	}
	all, err := encoderTables()
	if err != nil {
		return 0, err
	}
	var match []int
	for q := 1; q <= 100; q++ {
		if got[0] == all[q][0] && got[1] == all[q][1] {
			match = append(match, q)
		}
	}
	if len(match) != 1 {
		return 0, fmt.Errorf("the tables match qualities %v", match)
	}
	return match[0], nil
}

// The qualities chosen with bench/jpegquality (bench/RESULTS.md): before,
// every width was encoded at 82.
var wantQuality = map[int]int{240: 82, 320: 86, 640: 74, 1080: 83}

func TestEncodedQualityReadsTheTables(t *testing.T) {
	for _, q := range []int{50, 74, 82, 83, 86, 95} {
		var buf bytes.Buffer
		if err := jpeg.Encode(&buf, gradient(64, 48), &jpeg.Options{Quality: q}); err != nil {
			t.Fatal(err)
		}
		if got, err := encodedQuality(buf.Bytes()); err != nil || got != q {
			t.Errorf("a file encoded at %d reads as %d (%v)", q, got, err)
		}
	}
	if _, err := encodedQuality([]byte("GIF89a")); err == nil {
		t.Error("a GIF read as a JPEG")
	}
}

// Every variant is encoded at its width's quality. The source is
// Instagram's widest, 1440 px, so that every width is re-encoded (a
// 1080 px JPEG is kept as Instagram served it).
func TestRenderEncodesEachWidthAtItsQuality(t *testing.T) {
	var instagram bytes.Buffer
	if err := jpeg.Encode(&instagram, gradient(1440, 1800), &jpeg.Options{Quality: 90}); err != nil {
		t.Fatal(err)
	}
	r, err := Render(instagram.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	var widths []int
	for _, v := range r.Variants {
		widths = append(widths, v.Width)
		q, err := encodedQuality(v.JPEG)
		if err != nil {
			t.Errorf("%d px: %v", v.Width, err)
			continue
		}
		if q != wantQuality[v.Width] || q != JPEGQuality(v.Width) {
			t.Errorf("%d px is encoded at quality %d, want %d", v.Width, q, wantQuality[v.Width])
		}
	}
	if !slices.Equal(widths, Widths) {
		t.Errorf("variants %v, want %v", widths, Widths)
	}
}

// A JPEG already at a width is kept byte for byte, whatever its quality;
// an image narrower than every width gets the narrowest width's quality.
func TestRenderQualityOfKeptAndNarrowImages(t *testing.T) {
	var instagram bytes.Buffer
	if err := jpeg.Encode(&instagram, gradient(1080, 1350), &jpeg.Options{Quality: 90}); err != nil {
		t.Fatal(err)
	}
	r, err := Render(instagram.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range r.Variants {
		q, err := encodedQuality(v.JPEG)
		if v.Width == 1080 {
			if !bytes.Equal(v.JPEG, instagram.Bytes()) {
				t.Errorf("the 1080 px JPEG was re-encoded (at %d, %v)", q, err)
			}
			continue
		}
		if err != nil || q != wantQuality[v.Width] {
			t.Errorf("%d px from a 1080 px JPEG: quality %d (%v), want %d", v.Width, q, err, wantQuality[v.Width])
		}
	}

	var small bytes.Buffer
	if err := png.Encode(&small, gradient(200, 100)); err != nil {
		t.Fatal(err)
	}
	r, err = Render(small.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Variants) != 1 || r.Variants[0].Width != 200 {
		t.Fatalf("a 200 px PNG gave %d variants", len(r.Variants))
	}
	if q, err := encodedQuality(r.Variants[0].JPEG); err != nil || q != wantQuality[240] {
		t.Errorf("a 200 px image: quality %d (%v), want 240's, %d", q, err, wantQuality[240])
	}
}
