package imaging

import (
	"image"
	"math"

	"golang.org/x/image/draw"
)

// draw.CatmullRom.Scale first scales every source row horizontally into a
// buffer of float64 pixels (32 bytes each) as tall as the source, then
// scales that buffer's columns: 27 MiB to draw a 1080×1350 photo at 640 px,
// 38 MiB of garbage for the three smaller widths of one image, which made
// most of the first sync's peak. scaleRows computes the same pixels, with
// the same arithmetic in the same order (a test compares them byte for
// byte), but keeps only the rows of the horizontal pass that the vertical
// pass still needs: a window of a few rows (rowWindow).

// weights are the Catmull-Rom contributions of the source columns (or
// rows) to each destination column (or row), computed as draw does.
type weights struct {
	spans    []span
	contribs []contrib
}

type span struct {
	i, j           int // contribs[i:j]
	invTotal       float64
	invTotalFFFF   float64
	firstCoord     int
	lastCoordAfter int // one past the last source coordinate used
}

type contrib struct {
	coord  int
	weight float64
}

func newWeights(dw, sw int) weights {
	q := draw.CatmullRom
	scale := float64(sw) / float64(dw)
	halfWidth, kernelArgScale := q.Support, 1.0
	if scale > 1 {
		halfWidth *= scale
		kernelArgScale = 1 / scale
	}
	w := weights{spans: make([]span, 0, dw), contribs: make([]contrib, 0, dw*(int(2*halfWidth)+2))}
	for x := range dw {
		center := float64((float64(x)+0.5)*scale) - 0.5
		lo := max(int(math.Floor(center-halfWidth)), 0)
		hi := int(math.Ceil(center + halfWidth))
		if hi > sw {
			hi = max(sw, lo)
		}
		total, first := 0.0, len(w.contribs)
		for coord := lo; coord < hi; coord++ {
			t := math.Abs((center - float64(coord)) * kernelArgScale)
			if t >= q.Support {
				continue
			}
			weight := q.At(t)
			if weight == 0 {
				continue
			}
			total += weight
			w.contribs = append(w.contribs, contrib{coord, weight})
		}
		total = 1 / total
		s := span{i: first, j: len(w.contribs), invTotal: total, invTotalFFFF: total / 0xffff}
		if s.j > s.i {
			s.firstCoord, s.lastCoordAfter = w.contribs[s.i].coord, w.contribs[s.j-1].coord+1
		}
		w.spans = append(w.spans, s)
	}
	return w
}

// rowWindow is the most rows of the horizontal pass one destination row
// needs.
func (w weights) rowWindow() int {
	n := 1
	for _, s := range w.spans {
		n = max(n, s.lastCoordAfter-s.firstCoord)
	}
	return n
}

// scalableRows reports whether scaleRows draws src itself: an opaque
// YCbCr (as JPEGs decode), gray or RGBA image (as the cascade draws). Other
// images are left to draw.CatmullRom.
func scalableRows(src image.Image) bool {
	switch src := src.(type) {
	case *image.YCbCr:
		switch src.SubsampleRatio {
		case image.YCbCrSubsampleRatio444, image.YCbCrSubsampleRatio422,
			image.YCbCrSubsampleRatio420, image.YCbCrSubsampleRatio440:
			return true
		}
	case *image.Gray:
		return true
	case *image.RGBA:
		return src.Opaque()
	}
	return false
}

// scaleRows draws src, which scalableRows accepts, onto all of dst as
// draw.CatmullRom.Scale(dst, dst.Bounds(), src, src.Bounds(), draw.Src,
// nil) does, with rows as its row buffer of the horizontal pass (grown
// when too small; the one used is returned, for the next call).
func scaleRows(dst *image.RGBA, src image.Image, rows [][4]float64) [][4]float64 {
	sb, db := src.Bounds(), dst.Bounds()
	dw, dh := db.Dx(), db.Dy()
	horizontal, vertical := newWeights(dw, sb.Dx()), newWeights(dh, sb.Dy())
	window := vertical.rowWindow()
	if cap(rows) < window*dw {
		rows = make([][4]float64, window*dw)
	}
	rows = rows[:window*dw]
	next := 0 // the next source row to scale horizontally
	for dy, s := range vertical.spans {
		for ; next < s.lastCoordAfter; next++ {
			slot := next % window
			scaleRowX(rows[slot*dw:(slot+1)*dw], src, sb, next, horizontal)
		}
		d := (db.Min.Y+dy-dst.Rect.Min.Y)*dst.Stride + (db.Min.X-dst.Rect.Min.X)*4
		for dx := range dw {
			var pr, pg, pb, pa float64
			for _, c := range vertical.contribs[s.i:s.j] {
				p := &rows[(c.coord%window)*dw+dx]
				pr += float64(p[0] * c.weight)
				pg += float64(p[1] * c.weight)
				pb += float64(p[2] * c.weight)
				pa += float64(p[3] * c.weight)
			}
			pr, pg, pb = min(pr, pa), min(pg, pa), min(pb, pa)
			dst.Pix[d+0] = uint8(ftou(pr*s.invTotal) >> 8)
			dst.Pix[d+1] = uint8(ftou(pg*s.invTotal) >> 8)
			dst.Pix[d+2] = uint8(ftou(pb*s.invTotal) >> 8)
			dst.Pix[d+3] = uint8(ftou(pa*s.invTotal) >> 8)
			d += 4
		}
	}
	return rows
}

// scaleRowX scales the source row y (counted from sb.Min.Y) into out.
func scaleRowX(out [][4]float64, src image.Image, sb image.Rectangle, y int, w weights) {
	sy := sb.Min.Y + y
	switch src := src.(type) {
	case *image.YCbCr:
		for x, s := range w.spans {
			var pr, pg, pb float64
			for _, c := range w.contribs[s.i:s.j] {
				sx := sb.Min.X + c.coord
				yy := int(src.Y[src.YOffset(sx, sy)]) * 0x10101
				ci := src.COffset(sx, sy)
				cb, cr := int(src.Cb[ci])-128, int(src.Cr[ci])-128
				r := clamp16((yy + 91881*cr) >> 8)
				g := clamp16((yy - 22554*cb - 46802*cr) >> 8)
				b := clamp16((yy + 116130*cb) >> 8)
				pr += float64(float64(r) * c.weight)
				pg += float64(float64(g) * c.weight)
				pb += float64(float64(b) * c.weight)
			}
			out[x] = [4]float64{pr * s.invTotalFFFF, pg * s.invTotalFFFF, pb * s.invTotalFFFF, 1}
		}
	case *image.Gray:
		row := (sy - src.Rect.Min.Y) * src.Stride
		for x, s := range w.spans {
			var pr float64
			for _, c := range w.contribs[s.i:s.j] {
				v := uint32(src.Pix[row+sb.Min.X+c.coord-src.Rect.Min.X]) * 0x101
				pr += float64(float64(v) * c.weight)
			}
			pr *= s.invTotalFFFF
			out[x] = [4]float64{pr, pr, pr, 1}
		}
	case *image.RGBA:
		row := (sy - src.Rect.Min.Y) * src.Stride
		for x, s := range w.spans {
			var pr, pg, pb, pa float64
			for _, c := range w.contribs[s.i:s.j] {
				pi := row + (sb.Min.X+c.coord-src.Rect.Min.X)*4
				pr += float64(float64(uint32(src.Pix[pi+0])*0x101) * c.weight)
				pg += float64(float64(uint32(src.Pix[pi+1])*0x101) * c.weight)
				pb += float64(float64(uint32(src.Pix[pi+2])*0x101) * c.weight)
				pa += float64(float64(uint32(src.Pix[pi+3])*0x101) * c.weight)
			}
			out[x] = [4]float64{pr * s.invTotalFFFF, pg * s.invTotalFFFF, pb * s.invTotalFFFF, pa * s.invTotalFFFF}
		}
	}
}

func clamp16(v int) int { return max(0, min(0xffff, v)) }

// ftou converts [0, 1] to [0, 0xffff], rounding as draw does.
func ftou(f float64) uint16 {
	i := int32(float64(0xffff*f) + 0.5)
	return uint16(max(0, min(0xffff, i)))
}
