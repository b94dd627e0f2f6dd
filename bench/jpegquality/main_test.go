package main

import (
	"math"
	"testing"
)

// The rule compares a width with the tiles of the photographs that have
// it, allows a share of them below their own tile, and picks the lowest
// quality from which every higher one passes.
func TestPick(t *testing.T) {
	s := func(photo string, width, q int, v float64) sample {
		return sample{photo: photo, width: width, quality: q, viewed: [channels]float64{v, v, v}}
	}
	// c has no 640 px file and the best tile: compared over all three,
	// the median tile would be b's 0.995, which 640 never reaches.
	samples := []sample{
		s("a", 240, 82, 0.990), s("b", 240, 82, 0.995), s("c", 240, 82, 0.999),
		s("a", 640, 60, 0.989), s("b", 640, 60, 0.999), // a under the lowest tile
		s("a", 640, 70, 0.991), s("b", 640, 70, 0.9945), // b under its own tile
		s("a", 640, 80, 0.996), s("b", 640, 80, 0.997),
	}
	tl := tiles(samples)
	if got := target(samples, 640, tl)[lumaY]; math.Abs(got.median-0.9925) > 1e-12 || got.lowest != 0.990 {
		t.Errorf("640's target: median %v, lowest %v; want a's and b's tiles, 0.9925 and 0.990", got.median, got.lowest)
	}
	for _, tc := range []struct {
		below float64
		qs    []int
		want  int
	}{
		{0.5, []int{60, 70, 80}, 70}, // one of two may be below its tile
		{0, []int{60, 70, 80}, 80},
		{0.5, []int{60, 70, 75, 80}, 80}, // 70 passes, but 75 does not
	} {
		in := samples
		if len(tc.qs) == 4 {
			in = append(append([]sample(nil), samples...), s("a", 640, 75, 0.98), s("b", 640, 75, 0.999))
		}
		r := rule{channels: []int{lumaY, chromaCb, chromaCr}, below: tc.below}
		if q, ok := pick(in, 640, tc.qs, tiles(in), r); !ok || q != tc.want {
			t.Errorf("below %v, qualities %v: picks %d (%v), want %d", tc.below, tc.qs, q, ok, tc.want)
		}
	}
	// Closer than tie is not lower: a grey photograph's chroma.
	if under(0.9999999, 1) || !under(0.99998, 1) {
		t.Error("under does not allow for rounding")
	}
}
