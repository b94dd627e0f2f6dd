package widget

import (
	"fmt"
	"html/template"
	"math"
	"strconv"
	"strings"

	"vitrine/appearance"
)

// The recommended JS embed reserves the gallery's height before its
// script runs, so nothing below it moves when it paints: its element holds
// a placeholder whose padding-top is the gallery's height as a function of
// the element's width (a percentage of padding is one of the width), with
// the narrow layout's columns under 480 px. The height is exact for the
// grid, carousel and highlight layouts with square or 4:5 tiles and no
// captions, because their parts have fixed heights (headerHeight,
// moreHeight in the CSS); with captions, original shapes or masonry it is
// the nearest estimate.

// The fixed heights the CSS gives the gallery's parts (widget.css).
const (
	headerHeight = 62  // .vitrine-head
	moreHeight   = 58  // .vitrine-more with its margins
	emptyHeight  = 180 // .vitrine-empty
	tileGap      = 4   // --vitrine-gap
	narrowWidth  = 480 // the container query's max-width for columns_mobile
)

// EmbedOptions are a JS embed's data- attributes that shape the gallery;
// zero values are the config's.
type EmbedOptions struct {
	Layout, Aspect, Language string
	Columns, ColumnsMobile   int
	Count                    int
}

// Snippet is the recommended JS embed with o's options: the element with
// its reserved space, then the script.
func (w *Widget) Snippet(o EmbedOptions) string {
	var b strings.Builder
	b.WriteString("<div data-vitrine")
	attr := func(name, value string) {
		if value != "" && value != "0" {
			fmt.Fprintf(&b, ` data-%s="%s"`, name, template.HTMLEscapeString(value))
		}
	}
	attr("layout", o.Layout)
	attr("aspect", o.Aspect)
	attr("columns", strconv.Itoa(o.Columns))
	attr("columns-mobile", strconv.Itoa(o.ColumnsMobile))
	attr("count", strconv.Itoa(o.Count))
	attr("language", o.Language)
	fmt.Fprintf(&b, `><div style="padding-top:%s"></div></div><script src="%s/widget.js" async></script>`, w.ReservedHeight(o), template.HTMLEscapeString(w.base))
	return b.String()
}

// ReservedHeight is the CSS length (for padding-top, whose percentages are
// of the width) the gallery with options o will take, for what the current
// snapshot holds.
func (w *Widget) ReservedHeight(o EmbedOptions) string {
	s := w.cur.Load()
	if s == nil {
		return px(emptyHeight)
	}
	cfg := s.in.look
	layout := choice(cfg.Layout, appearance.Layouts)
	if choice(o.Layout, appearance.Layouts) == o.Layout {
		layout = o.Layout
	}
	aspect := choice(cfg.Aspect, appearance.Aspects)
	if choice(o.Aspect, appearance.Aspects) == o.Aspect {
		aspect = o.Aspect
	}
	columns, narrowColumns, count := cfg.Columns, cfg.ColumnsMobile, cfg.Count
	if o.Columns > 0 {
		columns = min(o.Columns, appearance.MaxColumns)
	}
	if o.ColumnsMobile > 0 {
		narrowColumns = min(o.ColumnsMobile, appearance.MaxColumnsMobile)
	}
	if o.Count > 0 {
		count = min(o.Count, count)
	}
	columns, narrowColumns = max(columns, 1), max(narrowColumns, 1)

	// The markup holds widget.count posts, with Load more when the JSON
	// has more; an embed's count only hides some of them.
	fixed := 0.0
	posts := min(count, len(s.doc.Posts))
	more := cfg.LoadMore && len(s.doc.Posts) > cfg.Count && layout != "carousel"
	if s.doc.Account != nil {
		fixed += headerHeight
	}
	if posts == 0 {
		return px(fixed + emptyHeight)
	}
	if more {
		fixed += moreHeight
	}
	ratio := 1.0 // tile height / width
	switch {
	case aspect == "4:5" && layout != "masonry":
		ratio = 1.25
	case aspect == "original" || layout == "masonry":
		ratio = s.meanShape(posts)
	}
	// The grid's height at width W with c columns is rows·ratio·tile +
	// (rows−1)·gap, tile = (W − (c−1)·gap)/c: a·W + b.
	height := func(c int) (a, b float64) {
		rows := math.Ceil(float64(posts) / float64(c))
		switch {
		case layout == "carousel":
			rows = 1
		case layout == "highlight" && c >= 2:
			rows = math.Ceil(float64(posts+3) / float64(c)) // the first takes 2×2
		case layout == "masonry":
			rows = float64(posts) / float64(c)
		}
		return rows * ratio / float64(c), fixed + (rows-1)*tileGap - rows*ratio*float64(c-1)*tileGap/float64(c)
	}
	wideA, wideB := height(columns)
	narrowA, narrowB := height(narrowColumns)
	wide, narrow := lengthOf(wideA, wideB), lengthOf(narrowA, narrowB)
	if wideA == narrowA && wideB == narrowB {
		return wide
	}
	// The narrow height applies up to 480 px: a step made of min and max,
	// whose ramp is crossed within half a pixel of width; which of the two
	// forms depends on which height is the taller there.
	const step = "(480.5px - 100%) * 1000000"
	if narrowA*narrowWidth+narrowB >= wideA*narrowWidth+wideB {
		return "max(" + wide + ", min(" + narrow + ", calc(" + step + ")))"
	}
	return "min(" + wide + ", max(" + narrow + ", calc(-1 * " + step + ")))"
}

// meanShape is the mean height/width of the first n posts' images.
func (s *snapshot) meanShape(n int) float64 {
	sum, k := 0.0, 0
	for _, p := range s.doc.Posts[:min(n, len(s.doc.Posts))] {
		if len(p.Images) > 0 && p.Images[0].Width > 0 {
			sum += float64(p.Images[0].Height) / float64(p.Images[0].Width)
			k++
		}
	}
	if k == 0 {
		return 1
	}
	return sum / float64(k)
}

// lengthOf is a·(the width) + b px as CSS.
func lengthOf(a, b float64) string {
	return "calc(" + short(100*a) + "% + " + short(b) + "px)"
}

func px(v float64) string { return short(v) + "px" }

// short is v to 1/10000, without trailing zeros.
func short(v float64) string { return strconv.FormatFloat(math.Round(v*1e4)/1e4, 'f', -1, 64) }
