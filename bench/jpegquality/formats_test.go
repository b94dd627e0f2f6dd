package main

import (
	"bytes"
	"image"
	"image/color"
	"math"
	"slices"
	"testing"

	"vitrine/imaging"
)

// A modern format is held to each photograph's own JPEG of the width at
// the mirror's quality, not to the 240 px tiles nor to JPEGs at other
// qualities, by the JPEG rule: medians, lowest, a share below, and every
// higher quality passing.
func TestMatchJPEG(t *testing.T) {
	const width = 640
	jq := imaging.JPEGQuality(width)
	mk := func(format, photo string, w, q int, v float64) sample {
		return sample{photo: photo, format: format, width: w, quality: q, viewed: [channels]float64{v, v, v}}
	}
	photos := []string{"p0", "p1", "p2", "p3", "p4", "p5", "p6", "p7", "p8", "p9"}
	var jpegs, webps []sample
	for i, p := range photos {
		level := 0.990 + 0.0005*float64(i)
		jpegs = append(jpegs,
			mk("jpeg", p, width, jq, level),
			// Decoys a wrong level would be read from: the tiles, and
			// the same width at a higher quality.
			mk("jpeg", p, imaging.Widths[0], baseline, 0.999),
			mk("jpeg", p, width, jq+5, 0.999))
		// 60: every photograph a little under its JPEG.
		webps = append(webps, mk("webp", p, width, 60, level-0.001))
		// 70: all at their JPEG but p9, the best, under it: one of ten
		// below is allowed, and the median and lowest still match.
		v70 := level
		if i == 9 {
			v70 = level - 0.0004
		}
		webps = append(webps, mk("webp", p, width, 70, v70))
		// 75: two under their own JPEG, one more than allowed.
		v75 := level + 0.0002
		if i >= 8 {
			v75 = level - 0.0004
		}
		webps = append(webps, mk("webp", p, width, 75, v75))
		// 80: better everywhere.
		webps = append(webps, mk("webp", p, width, 80, level+0.001))
	}
	r := rule{channels: []int{lumaY, chromaCb, chromaCr}, below: 0.1}
	for _, tc := range []struct {
		qs     []int
		want   int
		wantOK bool
	}{
		{[]int{60, 70, 80}, 70, true},
		{[]int{60, 70, 75, 80}, 80, true}, // 70 passes, 75 above it does not
		{[]int{60}, 0, false},
	} {
		q, ok, level := matchJPEG(jpegs, webps, width, tc.qs, r)
		if q != tc.want || ok != tc.wantOK {
			t.Errorf("qualities %v: picks %d (%v), want %d (%v)", tc.qs, q, ok, tc.want, tc.wantOK)
		}
		if got := level["p3"][lumaY]; math.Abs(got-0.9915) > 1e-12 {
			t.Errorf("p3's level is %v, want its %d px JPEG's at %d, 0.9915", got, width, jq)
		}
	}
	// None allowed below: 70 fails, and so 80 alone is picked.
	if q, ok, _ := matchJPEG(jpegs, webps, width, []int{60, 70, 80}, rule{channels: r.channels, below: 0}); !ok || q != 80 {
		t.Errorf("below 0: picks %d (%v), want 80", q, ok)
	}
	// Matching the medians alone, 70 and 75 pass (their medians are at
	// least the JPEG's) and 60 does not.
	if q, ok, _ := matchJPEG(jpegs, webps, width, []int{60, 70, 75, 80}, rule{channels: r.channels, mediansOnly: true}); !ok || q != 70 {
		t.Errorf("medians only: picks %d (%v), want 70", q, ok)
	}
}

// The rule's other criteria: a worse lowest fails even when the median
// and the count below pass, unless only medians are asked for.
func TestRuleLowest(t *testing.T) {
	tgt := [channels]channelStats{}
	for c := range channels {
		tgt[c] = channelStats{median: 0.99, lowest: 0.95}
	}
	st := stats{n: 20}
	for c := range channels {
		st.viewed[c] = channelStats{median: 0.995, lowest: 0.949, belowTile: []string{"a", "b"}}
	}
	r := rule{channels: []int{lumaY, chromaCb, chromaCr}, below: 0.1}
	if got := r.fails(st, tgt); got != "Y lowest" {
		t.Errorf("fails: %q, want Y lowest", got)
	}
	st.viewed[lumaY].lowest = 0.96
	if got := r.fails(st, tgt); got != "Cb lowest" {
		t.Errorf("fails: %q, want Cb lowest", got)
	}
	if got := (rule{channels: r.channels, mediansOnly: true}).fails(st, tgt); got != "" {
		t.Errorf("medians only fails: %q, want a pass", got)
	}
	st.viewed[chromaCr].median = 0.98
	if got := (rule{channels: r.channels, mediansOnly: true}).fails(st, tgt); got != "Cr median" {
		t.Errorf("medians only fails: %q, want Cr median", got)
	}
}

func TestParseQualities(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []int
	}{
		{"82", []int{82}},
		{"90,60, 70", []int{60, 70, 90}},
		{"50-53", []int{50, 51, 52, 53}},
		{"40-65/5,66-68", []int{40, 45, 50, 55, 60, 65, 66, 67, 68}},
		{"30-42/5,40", []int{30, 35, 40}},
	} {
		got, err := parseQualities(tc.in)
		if err != nil || !slices.Equal(got, tc.want) {
			t.Errorf("parseQualities(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
		}
	}
	for _, bad := range []string{"", "0", "101", "90-80", "40-60/0", "40-x", "a,50"} {
		if got, err := parseQualities(bad); err == nil {
			t.Errorf("parseQualities(%q) = %v, want an error", bad, got)
		}
	}
}

func TestParseFormats(t *testing.T) {
	qs := map[string]string{"webp": "70-72", "avif": "50,60"}
	cs, err := parseFormats("webp, avif,jpeg,webp", qs)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, c := range cs {
		names = append(names, c.name)
	}
	if !slices.Equal(names, []string{"jpeg", "webp", "avif"}) {
		t.Errorf("formats %v, want jpeg first, then webp and avif once each", names)
	}
	if !slices.Equal(cs[1].qualities, []int{70, 71, 72}) || !slices.Equal(cs[2].qualities, []int{50, 60}) {
		t.Errorf("qualities %v and %v, want each format's own", cs[1].qualities, cs[2].qualities)
	}
	if _, err := parseFormats("webp,gif", qs); err == nil {
		t.Error("gif accepted")
	}
}

// WebP stores limited-range YCbCr: decoded through image.YCbCr as it
// comes, black would be 16 and white 235.
func TestDecodeWebPFullRange(t *testing.T) {
	for _, tc := range []struct {
		in   color.RGBA
		want [3]int
	}{
		{color.RGBA{0, 0, 0, 255}, [3]int{0, 0, 0}},
		{color.RGBA{255, 255, 255, 255}, [3]int{255, 255, 255}},
		{color.RGBA{128, 128, 128, 255}, [3]int{128, 128, 128}},
		{color.RGBA{200, 40, 40, 255}, [3]int{200, 40, 40}},
	} {
		img := image.NewRGBA(image.Rect(0, 0, 32, 32))
		for i := 0; i < len(img.Pix); i += 4 {
			copy(img.Pix[i:], []uint8{tc.in.R, tc.in.G, tc.in.B, tc.in.A})
		}
		var b bytes.Buffer
		if err := imaging.EncodeWebPAt(&b, img, 100); err != nil {
			t.Fatal(err)
		}
		dec, err := decodeWebP(&b)
		if err != nil {
			t.Fatal(err)
		}
		r, g, bl, _ := dec.At(16, 16).RGBA()
		got := [3]int{int(r >> 8), int(g >> 8), int(bl >> 8)}
		for i := range got {
			if d := got[i] - tc.want[i]; d < -4 || d > 4 {
				t.Errorf("%v decodes as %v, want %v within 4", tc.in, got, tc.want)
				break
			}
		}
	}
}

// perPhotograph takes each photograph's smallest file that scores at least
// its own JPEG on the rule's channels, and the JPEG where none smaller does.
func TestPerPhotographTakesEachPhotographsSmallestMatch(t *testing.T) {
	q := imaging.JPEGQuality(640)
	jpegs := []sample{
		{photo: "a", format: "jpeg", width: 640, quality: q, bytes: 100, viewed: [channels]float64{0.99, 0.98, 0.98}},
		{photo: "b", format: "jpeg", width: 640, quality: q, bytes: 100, viewed: [channels]float64{0.99, 0.98, 0.98}},
		{photo: "a", format: "jpeg", width: 640, quality: q - 10, bytes: 10, viewed: [channels]float64{0.5, 0.5, 0.5}},
	}
	others := []sample{
		{photo: "a", width: 640, quality: 50, bytes: 50, viewed: [channels]float64{0.98, 0.99, 0.99}}, // luma below
		{photo: "a", width: 640, quality: 60, bytes: 70, viewed: [channels]float64{0.99, 0.97, 0.99}}, // Cb below, not in the rule
		{photo: "a", width: 640, quality: 70, bytes: 90, viewed: [channels]float64{0.995, 0.99, 0.99}},
		{photo: "b", width: 640, quality: 90, bytes: 120, viewed: [channels]float64{1, 1, 1}}, // larger than its JPEG
		{photo: "b", width: 320, quality: 90, bytes: 1, viewed: [channels]float64{1, 1, 1}},   // another width
	}
	if got := perPhotograph(jpegs, others, 640, []int{lumaY, chromaCr}); got != (70.0+100)/200 {
		t.Errorf("luma and Cr: %v, want %v", got, (70.0+100)/200)
	}
	if got := perPhotograph(jpegs, others, 640, []int{lumaY, chromaCb, chromaCr}); got != (90.0+100)/200 {
		t.Errorf("every channel: %v, want %v", got, (90.0+100)/200)
	}
}
