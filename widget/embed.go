package widget

import (
	"fmt"
	"html/template"
	"math"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"vitrine/appearance"
)

// The recommended JS embed reserves the gallery's height before its script
// runs, so nothing below it moves when it paints. Its snippet only links
// /widget.css: the server writes that stylesheet for the gallery it holds
// and the settings it runs with, so the snippet stays short and never needs
// copying again after a change. The stylesheet gives every element
// [data-vitrine] a ::before whose padding-top is the gallery's height as a
// function of the element's width (a percentage of padding is one of the
// width): rows of tiles (width − gaps) / columns high, plus the header and
// Load more, with the narrow layout's columns up to the breakpoint. The
// columns and the gap are the same custom properties the gallery reads, so
// a host page's --vitrine-columns or --vitrine-gap moves both; the
// embed's data- attributes select their own values among rules written for
// each. The height is exact for grid, carousel and highlight with square or
// 4:5 tiles and no captions, whose parts have fixed heights in the
// gallery's CSS (read by readMetrics); with the settings' original shapes
// or masonry it is computed from the pictures' shapes (to a pixel or two);
// with captions, a biography or a media-type filter it is the nearest
// estimate. A gallery
// with a background of its own (the dark theme, a background colour) has
// an inner padding, which the space takes too, and its tiles share the
// width inside it.

// metrics are the fixed sizes of the gallery's parts, read from its CSS so
// the reserved space follows the stylesheet.
type metrics struct {
	header     float64 // .vitrine-head's height
	more       float64 // .vitrine-more's height and vertical margins
	empty      float64 // .vitrine-empty's min-height
	narrow     float64 // the container query's max-width for columns_mobile
	padding    float64 // .vitrine's padding when it has a background of its own
	captionRow float64 // a caption of the lines it is clamped to, with its margins
	// From extras.css: the counts below a tile (one line and margins), and
	// the biography under the header without its text (its margins and
	// the followers' line) and one line of its text.
	countsRow, bio, bioLine float64
	bioSides                float64 // the biography's margins left and right
}

// readMetrics reads the fixed sizes out of the gallery's (minified) CSS
// and the details' (extras). A rule that lost its size is an error at
// start-up, not a wrong height.
func readMetrics(css, extras string) (metrics, error) {
	var m metrics
	var err error
	px := func(selector, property string, index int) float64 {
		if err != nil {
			return 0
		}
		var v float64
		v, err = cssPixels(css, selector, property, index)
		return v
	}
	m.header = px(".vitrine-head", "height", 0)
	m.more = px(".vitrine-more", "height", 0) + px(".vitrine-more", "margin", 0) + px(".vitrine-more", "margin", 2)
	m.empty = px(".vitrine-empty", "min-height", 0)
	lines := px(".vitrine-cap", "-webkit-line-clamp", 0)
	size := px(".vitrine-cap", "font-size", 0)
	margins := px(".vitrine-cap", "margin", 0) + px(".vitrine-cap", "margin", 2)
	font := cssDeclaration(css, ".vitrine", "font")
	lineHeight := 0.0
	if fm := regexp.MustCompile(`^\S+/([0-9.]+)\s`).FindStringSubmatch(font + " "); fm != nil {
		lineHeight, _ = strconv.ParseFloat(fm[1], 64)
	}
	if err == nil && lineHeight == 0 {
		err = fmt.Errorf(".vitrine's font %q has no unitless line-height", font)
	}
	m.captionRow = margins + lines*size*lineHeight
	xpx := func(selector, property string, index int) float64 {
		if err != nil {
			return 0
		}
		var v float64
		v, err = cssPixels(extras, selector, property, index)
		return v
	}
	m.countsRow = xpx(".vitrine-counts", "margin", 0) + xpx(".vitrine-counts", "margin", 2) + xpx(".vitrine-counts", "font-size", 0)*lineHeight
	m.bio = xpx(".vitrine-bio", "margin", 0) + xpx(".vitrine-bio", "margin", 2) + xpx(".vitrine-fol", "margin", 0) + xpx(".vitrine-fol", "font-size", 0)*lineHeight
	m.bioLine = xpx(".vitrine-bio", "font-size", 0) * lineHeight
	m.bioSides = 2 * xpx(".vitrine-bio", "margin", 1)
	for _, p := range regexp.MustCompile(`--_padding:\s*var\(--vitrine-padding,\s*([0-9.]+)px\)`).FindAllStringSubmatch(css, -1) {
		if v, _ := strconv.ParseFloat(p[1], 64); v > 0 {
			m.padding = v
		}
	}
	if m.padding == 0 && err == nil {
		err = fmt.Errorf("no --_padding: var(--vitrine-padding, …px) for a boxed gallery")
	}
	if n := regexp.MustCompile(`@container\s*\(max-width:\s*([0-9.]+)px\)`).FindStringSubmatch(css); n != nil {
		m.narrow, _ = strconv.ParseFloat(n[1], 64)
	} else if err == nil {
		err = fmt.Errorf("no @container (max-width: …px) query")
	}
	if err != nil {
		return m, fmt.Errorf("widget: the gallery's CSS: %w", err)
	}
	return m, nil
}

// cssDeclaration is property's value in the rule whose selector is exactly
// selector, "" when there is none.
func cssDeclaration(css, selector, property string) string {
	rule := regexp.MustCompile(`(?:^|[}\s])` + regexp.QuoteMeta(selector) + `\{([^}]*)\}`).FindStringSubmatch(css)
	if rule == nil {
		return ""
	}
	for _, d := range strings.Split(rule[1], ";") {
		if name, value, ok := strings.Cut(d, ":"); ok && strings.TrimSpace(name) == property {
			return strings.TrimSpace(value)
		}
	}
	return ""
}

// cssPixels is the index-th word of a declaration as a number of pixels
// ("62px" → 62; a unitless number as it is).
func cssPixels(css, selector, property string, index int) (float64, error) {
	words := strings.Fields(cssDeclaration(css, selector, property))
	if index >= len(words) {
		return 0, fmt.Errorf("%s has no %s (word %d)", selector, property, index+1)
	}
	v, err := strconv.ParseFloat(strings.TrimSuffix(words[index], "px"), 64)
	if err != nil {
		return 0, fmt.Errorf("%s's %s is %q, not pixels", selector, property, words[index])
	}
	return v, nil
}

// EmbedOptions are a JS embed's data- attributes that shape the gallery;
// zero values are the config's.
type EmbedOptions struct {
	Layout, Aspect, Language string
	Columns, ColumnsMobile   int
	Count                    int
	Theme                    string // light, dark, auto
	BackgroundColor          string // #rrggbb
	Captions, Header         string // "true", "false"
	LoadMore                 string // "true", "false"
}

// attributes are o as data- attributes, each with its leading space.
func (o EmbedOptions) attributes() string {
	var b strings.Builder
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
	attr("theme", o.Theme)
	attr("background-color", o.BackgroundColor)
	attr("captions", o.Captions)
	attr("header", o.Header)
	attr("load-more", o.LoadMore)
	return b.String()
}

// Snippet is the recommended JS embed with o's options: the stylesheet
// that reserves the gallery's space, the element, then the script.
func (w *Widget) Snippet(o EmbedOptions) string {
	base := template.HTMLEscapeString(w.base)
	return `<link rel="stylesheet" href="` + base + StylePath + `"><div data-vitrine` + o.attributes() + `></div><script src="` + base + ScriptPath + `" async></script>`
}

// Element is the embed's element alone, <div data-vitrine …></div>: what a
// page with the stylesheet and the script already in it adds.
func (w *Widget) Element(o EmbedOptions) string {
	return `<div data-vitrine` + o.attributes() + `></div>`
}

// frameWidth is the width the iframe's fixed height is measured at: where
// scripts are stripped the iframe keeps that height, a gallery a little
// narrower scrolls inside and a wider one leaves space below.
const frameWidth = 600

// SnippetIframe is the iframe embed: the /widget page, which tells its
// parent its height, and the few bytes that listen and size the iframe
// that sent it (from Vitrine's origin). Where a host strips the script,
// the iframe keeps the height the gallery has at frameWidth.
func (w *Widget) SnippetIframe() string {
	origin := "location.origin"
	if u, err := url.Parse(w.base); err == nil && u.Scheme != "" && u.Host != "" {
		origin = strconv.Quote(u.Scheme + "://" + u.Host)
	}
	return `<iframe src="` + template.HTMLEscapeString(w.base) + PagePath + `" title="Instagram posts" loading="lazy" style="width:100%;height:` + strconv.Itoa(w.FrameHeight()) + `px;border:0"></iframe>` +
		`<script>(function(f){addEventListener("message",function(e){var h=e.source==f.contentWindow&&e.origin==` + origin + `&&e.data&&e.data.vitrineHeight;h>0&&(f.style.height=h+"px")})})(document.currentScript.previousElementSibling)</script>`
}

// SnippetFragment is the server-side include of the bare fragment, as
// nginx's SSI writes it; other servers fetch the same path.
func (w *Widget) SnippetFragment() string {
	return `<!--# include virtual="` + PagePath + `?fragment=1" -->`
}

// pagePadding is the /widget page's padding around the gallery.
const pagePadding = 8

// FrameHeight is the /widget page's height at frameWidth, in whole pixels.
// The page's padding replaces the gallery's own.
func (w *Widget) FrameHeight() int {
	return int(math.Ceil(w.innerHeight(EmbedOptions{}, frameWidth-2*pagePadding) + 2*pagePadding))
}

// reserve is what the reserved height is computed from: the gallery's
// settings and what the current snapshot holds.
type reserve struct {
	m                      metrics
	layout, aspect         string
	columns, columnsMobile int
	gap                    float64
	posts                  int       // posts in the markup
	account                bool      // an account is connected: the header can show
	header                 bool      // the header is shown
	more                   bool      // Load more is in the markup: the JSON has more posts
	moreShown              bool      // and shown (not in a carousel)
	mean                   float64   // mean height/width of the posts' pictures
	shapes                 []float64 // each post's height/width, in the markup's order
	// byShape: the settings draw each picture in its own shape (masonry,
	// original), so the space is computed from the shapes at every column
	// count; an embed that alone asks for them gets the mean's estimate,
	// which keeps widget.css small for the galleries that don't.
	byShape    bool
	captions   bool   // captions shown
	theme      string // light, dark, auto
	boxed      bool   // a background colour is set
	anyCaption bool   // some post in the markup has one
	// The details: counts in the markup (not off), and below the tiles;
	// the biography in the markup, the characters of each of its lines,
	// and the lines its text is estimated to take where the width is
	// unknown (one a 60 characters of each of its lines, at most the three
	// it is clamped to).
	counts, countsBelow bool
	bio                 bool
	bioChars            []int
	bioLines            float64
}

// bioCharWidth is the mean width of a biography's character, in pixels:
// about 0.46 em of its 14 px, as measured in Chromium here, so a line
// takes ⌈characters × 6.5 px / its width⌉ lines. An estimate: the
// visitor's font differs, and the words wrap where they fall.
const bioCharWidth = 6.5

// reserveFor gathers the reserve of snapshot s (nil: none yet, the config
// file's settings).
func (w *Widget) reserveFor(s *snapshot) reserve {
	cfg := w.settings.Settings
	if s != nil {
		cfg = s.in.look
	}
	r := reserve{
		m:             w.metrics,
		layout:        choice(cfg.Layout, appearance.Layouts),
		aspect:        choice(cfg.Aspect, appearance.Aspects),
		columns:       min(max(cfg.Columns, 1), appearance.MaxColumns),
		columnsMobile: min(max(cfg.ColumnsMobile, 1), appearance.MaxColumnsMobile),
		gap:           float64(gapOf(cfg)),
		captions:      cfg.Captions,
		theme:         choice(cfg.Theme, appearance.Themes),
		boxed:         colorRE.MatchString(cfg.BackgroundColor),
		mean:          1,
	}
	if s == nil {
		return r
	}
	r.posts = len(s.view.Posts)
	r.more, r.moreShown = s.view.More, s.view.More && s.view.LoadMore
	r.account, r.header = s.view.Account != nil, s.view.Header
	r.mean = s.meanShape(r.posts)
	r.shapes = s.shapes(r.posts)
	r.byShape = r.layout == "masonry" || r.aspect == "original"
	for _, p := range s.view.Posts {
		r.anyCaption = r.anyCaption || p.Caption != ""
	}
	r.counts, r.countsBelow = s.view.Counts != "off", s.view.Counts == "below"
	if r.bio = s.view.Bio && r.account; r.bio && s.view.Account.Biography != "" {
		for line := range strings.Lines(s.view.Account.Biography) { // it keeps its line breaks
			chars := utf8.RuneCountInString(strings.TrimSpace(line))
			r.bioChars = append(r.bioChars, chars)
			r.bioLines += max(1, math.Ceil(float64(chars)/60))
		}
		r.bioLines = min(r.bioLines, 3)
	}
	return r
}

// headerHeight is the header's with the biography under it, as the
// markup shows them (0 without an account), where the gallery is width
// wide inside its padding (0: unknown).
func (r reserve) headerHeight(header, bio bool, width float64) float64 {
	if !header || !r.account {
		return 0
	}
	h := r.m.header
	if bio && r.bio {
		lines := r.bioLines
		if width > 0 && len(r.bioChars) > 0 {
			lines = 0
			for _, n := range r.bioChars {
				lines += max(1, math.Ceil(float64(n)*bioCharWidth/(width-r.m.bioSides)))
			}
			lines = min(lines, 3)
		}
		h += r.m.bio + lines*r.m.bioLine
	}
	return h
}

// bioCSS is the header's height with the biography, as CSS of the
// gallery's width inside its padding: each line of it takes
// ⌈characters × bioCharWidth / width⌉ lines, at most three in all.
func (r reserve) bioCSS() string {
	terms := make([]string, len(r.bioChars))
	for i, n := range r.bioChars {
		terms[i] = fmt.Sprintf("max(1,round(up,%d*%s/(100%% - 2*var(--vitrine-p) - %s),1))", n, px(bioCharWidth), px(r.m.bioSides))
	}
	return "calc(" + px(r.m.header+r.m.bio) + " + min(3," + strings.Join(terms, " + ") + ")*" + px(r.m.bioLine) + ")"
}

// padding is the gallery's inner padding with the theme an embed asks for
// ("" its own): none for a light one without a background colour. An
// auto theme is taken as light, as a visitor's light preference draws it.
func (r reserve) padding(theme string) float64 {
	if choice(theme, appearance.Themes) != theme {
		theme = r.theme
	}
	if r.boxed || theme == "dark" {
		return r.m.padding
	}
	return 0
}

// paddingOf is the padding of the gallery embedded with o.
func (r reserve) paddingOf(o EmbedOptions) float64 {
	if colorRE.MatchString(o.BackgroundColor) {
		return r.m.padding
	}
	return r.padding(o.Theme)
}

// ReservedHeight is the height, in CSS pixels, that the gallery embedded
// with options o takes at width (what /widget.css reserves there), for
// what the current snapshot holds.
func (w *Widget) ReservedHeight(o EmbedOptions, width float64) float64 {
	p := w.reserveFor(w.cur.Load()).paddingOf(o)
	return w.innerHeight(o, width-2*p) + 2*p
}

// innerHeight is the gallery's height inside its padding, width wide
// there.
func (w *Widget) innerHeight(o EmbedOptions, width float64) float64 {
	r := w.reserveFor(w.cur.Load())
	header := r.headerHeight(o.Header == "true" || o.Header != "false" && r.header, true, width)
	if r.posts == 0 {
		return header + r.m.empty
	}
	layout, aspect := r.layout, r.aspect
	if choice(o.Layout, appearance.Layouts) == o.Layout {
		layout = o.Layout
	}
	if choice(o.Aspect, appearance.Aspects) == o.Aspect {
		aspect = o.Aspect
	}
	columns, n := r.columns, r.posts
	if width <= r.m.narrow {
		columns = r.columnsMobile
		if o.ColumnsMobile > 0 {
			columns = min(o.ColumnsMobile, appearance.MaxColumnsMobile)
		}
	} else if o.Columns > 0 {
		columns = min(o.Columns, appearance.MaxColumns)
	}
	if o.Count > 0 {
		n = min(o.Count, n)
	}
	captions := r.captions
	if o.Captions == "true" || o.Captions == "false" {
		captions = o.Captions == "true"
	}
	narrow := width <= r.m.narrow
	ratio := map[string]float64{"1:1": 1, "4:5": 1.25, "original": r.originalRatio(columns, narrow)}[aspect]
	c := float64(columns)
	rows := math.Ceil(float64(n) / c)
	switch layout {
	case "carousel":
		rows = 1
	case "highlight":
		rows = math.Ceil((float64(n) + 3*min(1, c-1)) / c)
	case "masonry":
		rows, ratio = float64(n)/c, r.mean
		if r.byShape {
			k, sum := r.masonryColumn(columns, narrow)
			rows, ratio = float64(k), sum/float64(k)
		}
	}
	caption := 0.0
	if captions && r.anyCaption {
		caption = r.m.captionRow
	}
	if r.countsBelow {
		caption += r.m.countsRow
	}
	more, shown := 0.0, r.moreShown
	if o.LoadMore == "true" || o.LoadMore == "false" {
		shown = o.LoadMore == "true"
	}
	if r.more && shown && layout != "carousel" {
		more = r.m.more
	}
	return rows*(ratio*(width-(c-1)*r.gap)/c+caption) + (rows-1)*r.gap + more + header
}

// layoutValues are what a layout sets in the reservation: its rows and
// its tiles' height/width at the wide and narrow columns, and its fixed
// height (Load more, but in a carousel, when shown: --vitrine-l is 1),
// all CSS.
type layoutValues struct {
	rowsWide, rowsNarrow, ratioWide, ratioNarrow, fixed string
}

func (r reserve) layoutValues(layout string) layoutValues {
	v := layoutValues{ratioWide: "var(--vitrine-r)", ratioNarrow: "var(--vitrine-q)", fixed: "0px"}
	if r.more && layout != "carousel" {
		v.fixed = "calc(var(--vitrine-l)*" + px(r.m.more) + ")"
	}
	rows := func(columns string) string {
		switch layout {
		case "carousel":
			return "1"
		case "highlight": // the first post takes 2×2 from two columns up
			return "round(up,(var(--vitrine-n) + 3*min(1," + columns + " - 1))/" + columns + ",1)"
		}
		return "round(up,var(--vitrine-n)/" + columns + ",1)"
	}
	v.rowsWide, v.rowsNarrow = rows("var(--vitrine-c)"), rows("var(--vitrine-m)")
	if layout == "masonry" { // its tallest column, for the columns
		v.rowsWide, v.rowsNarrow, v.ratioWide, v.ratioNarrow = "var(--vitrine-kw)", "var(--vitrine-kn)", "var(--vitrine-sw)", "var(--vitrine-sn)"
	}
	return v
}

func (v layoutValues) declarations() string {
	return "--vitrine-rw:" + v.rowsWide + ";--vitrine-rn:" + v.rowsNarrow + ";--vitrine-tw:" + v.ratioWide + ";--vitrine-tn:" + v.ratioNarrow + ";--vitrine-f:" + v.fixed
}

// The widths the masonry's columns are balanced at, wide and narrow: its
// balance moves a little with the width, so it is an estimate elsewhere.
const masonryWide, masonryNarrow = 800, 360

// gridOriginal is the height/width that, times the rows, is the height of
// a grid of pictures in their own shapes at columns: each row is as high
// as its tallest picture.
func (r reserve) gridOriginal(columns int) float64 {
	if len(r.shapes) == 0 {
		return r.mean
	}
	sum, rows := 0.0, 0
	for i := 0; i < len(r.shapes); i += columns {
		sum += slices.Max(r.shapes[i:min(i+columns, len(r.shapes))])
		rows++
	}
	return sum / float64(rows)
}

// originalRatio is gridOriginal at columns where the settings draw the
// pictures' shapes, else at the settings' own columns (an estimate for an
// embed that asks for other columns).
func (r reserve) originalRatio(columns int, narrow bool) float64 {
	switch {
	case r.byShape:
		return r.gridOriginal(columns)
	case narrow:
		return r.gridOriginal(r.columnsMobile)
	}
	return r.gridOriginal(r.columns)
}

// masonryColumn is the masonry's tallest column at columns: its pictures
// and the sum of their heights/widths. The browser balances the columns:
// it fills them in order, each as high as the lowest height that fits
// every picture in (a picture is never split), gaps between them; that
// height is one of the sums of a run of pictures, the lowest that fits.
func (r reserve) masonryColumn(columns int, narrow bool) (k int, sum float64) {
	n := len(r.shapes)
	if n == 0 || n > 200 { // a mean, rather than a search over many runs
		return max(1, int(math.Ceil(float64(r.posts)/float64(columns)))), r.mean * math.Ceil(float64(r.posts)/float64(columns))
	}
	width := float64(masonryWide)
	if narrow {
		width = masonryNarrow
	}
	w := (width - float64(columns-1)*r.gap) / float64(columns)
	// fill puts the pictures in columns no higher than h: the columns it
	// takes and the tallest one's pictures and shapes' sum.
	fill := func(h float64) (cols, k int, sum float64) {
		cols = 1
		var height, colSum, tallest float64
		var colK int
		for _, s := range r.shapes {
			add := s * w
			if colK > 0 {
				add += r.gap
			}
			if colK > 0 && height+add > h+1e-6 {
				cols++
				height, colSum, colK, add = 0, 0, 0, s*w
			}
			height += add
			colSum += s
			colK++
			if height > tallest {
				tallest, k, sum = height, colK, colSum
			}
		}
		return cols, k, sum
	}
	var heights []float64
	for i := range r.shapes {
		h := -r.gap
		for j := i; j < n; j++ {
			h += r.shapes[j]*w + r.gap
			heights = append(heights, h)
		}
	}
	slices.Sort(heights)
	i, _ := slices.BinarySearchFunc(heights, 0.0, func(h, _ float64) int {
		if cols, _, _ := fill(h); cols <= columns {
			return 1
		}
		return -1
	})
	_, k, sum = fill(heights[min(i, len(heights)-1)])
	return k, sum
}

// reservationCSS is /widget.css: the space of every gallery element not yet
// painted, for snapshot s. Custom properties carry the values (named
// --vitrine-… for the host page's sake); the embed's data- attributes pick
// theirs among rules written for every value they may take.
func (w *Widget) reservationCSS(s *snapshot) string {
	r := w.reserveFor(s)
	var b strings.Builder
	b.WriteString("/* Vitrine: the space of each gallery until its script paints it. */\n")
	const pending = `[data-vitrine]:not([data-vitrine-on=""])::before`
	// The header's height with the biography, which data-header and
	// data-bio may change (no header: no biography either).
	fmt.Fprintf(&b, "[data-vitrine]{--vitrine-h:%s}\n[data-vitrine][data-header=true]{--vitrine-h:%s}\n", px(r.headerHeight(r.header, true, 0)), px(r.headerHeight(true, true, 0)))
	// Where CSS divides a length by a length, the biography's lines
	// follow the width; elsewhere they are the estimate above.
	if r.bio && r.account && len(r.bioChars) > 0 {
		b.WriteString("@supports (width:calc(1px / 1px * 1px)){")
		if r.header {
			fmt.Fprintf(&b, "[data-vitrine]{--vitrine-h:%s}", r.bioCSS())
		}
		fmt.Fprintf(&b, "[data-vitrine][data-header=true]{--vitrine-h:%s}}\n", r.bioCSS())
	}
	if r.bio {
		fmt.Fprintf(&b, "[data-vitrine][data-bio=false]{--vitrine-h:%s}\n[data-vitrine][data-header=true][data-bio=false]{--vitrine-h:%s}\n", px(r.headerHeight(r.header, false, 0)), px(r.headerHeight(true, false, 0)))
	}
	b.WriteString("[data-vitrine][data-header=false]{--vitrine-h:0px}\n")
	// The inner padding p of a gallery with a background of its own, as
	// the theme and background the embed asks for give it (the loader
	// takes only a #rrggbb colour; the page's --vitrine-padding wins).
	pad := func(p float64) string { return "{--vitrine-p:var(--vitrine-padding," + px(p) + ")}\n" }
	fmt.Fprintf(&b, "[data-vitrine]%s[data-vitrine][data-theme=light],[data-vitrine][data-theme=auto]%s[data-vitrine][data-theme=dark],[data-vitrine][data-background-color^=\"#\"]%s",
		pad(r.padding("")), pad(r.padding("light")), pad(r.m.padding))
	fmt.Fprintf(&b, "@media (prefers-color-scheme:dark){")
	if r.theme == "auto" {
		fmt.Fprintf(&b, "[data-vitrine]%s", strings.TrimSuffix(pad(r.m.padding), "\n"))
	}
	fmt.Fprintf(&b, "[data-vitrine][data-theme=auto]%s}\n", strings.TrimSuffix(pad(r.m.padding), "\n"))
	if r.posts == 0 {
		fmt.Fprintf(&b, "%s{content:\"\";display:block;padding-top:calc(var(--vitrine-h) + %s + 2*var(--vitrine-p))}\n", pending, px(r.m.empty))
		return b.String()
	}
	caption := "0px"
	if r.anyCaption {
		caption = px(r.m.captionRow)
	}
	shownCaption := "0px"
	if r.captions {
		shownCaption = caption
	}
	// The counts below each tile, which data-counts may move over it or
	// turn off (not on: a gallery without them has none to show).
	counts := "0px"
	if r.countsBelow {
		counts = px(r.m.countsRow)
	}
	// perColumn is what a column count's rule adds: the shapes' values,
	// when they depend on the columns.
	perColumn := func(decls string) string {
		if !r.byShape {
			return ""
		}
		return ";" + decls
	}
	// A ratio for the wide columns and one for the narrow: each picture's
	// own shape makes a grid's rows as high as their tallest, and the
	// masonry's tallest column the one to reserve (at the settings'
	// columns, and at each column count below).
	ratios := map[string]string{"1:1": "--vitrine-r:1;--vitrine-q:1", "4:5": "--vitrine-r:1.25;--vitrine-q:1.25", "original": "--vitrine-r:var(--vitrine-ow);--vitrine-q:var(--vitrine-on)"}
	wide := func(c int) string {
		if !r.byShape {
			return "--vitrine-ow:" + short(r.gridOriginal(r.columns)) + ";--vitrine-kw:calc(var(--vitrine-n)/var(--vitrine-c));--vitrine-sw:" + short(r.mean)
		}
		k, sum := r.masonryColumn(c, false)
		return fmt.Sprintf("--vitrine-ow:%s;--vitrine-kw:%d;--vitrine-sw:%s", short(r.gridOriginal(c)), k, short(sum/float64(k)))
	}
	narrow := func(c int) string {
		if !r.byShape {
			return "--vitrine-on:" + short(r.gridOriginal(r.columnsMobile)) + ";--vitrine-kn:calc(var(--vitrine-n)/var(--vitrine-m));--vitrine-sn:" + short(r.mean)
		}
		k, sum := r.masonryColumn(c, true)
		return fmt.Sprintf("--vitrine-on:%s;--vitrine-kn:%d;--vitrine-sn:%s", short(r.gridOriginal(c)), k, short(sum/float64(k)))
	}
	shown := 0
	if r.moreShown {
		shown = 1
	}
	fmt.Fprintf(&b, "[data-vitrine]{--vitrine-c:var(--vitrine-columns,%d);--vitrine-m:var(--vitrine-columns-mobile,%d);--vitrine-g:var(--vitrine-gap,%s);--vitrine-n:%d;%s;%s;%s;--vitrine-k:%s;--vitrine-o:%s;--vitrine-l:%d;%s}\n",
		r.columns, r.columnsMobile, px(r.gap), r.posts, ratios[r.aspect], wide(r.columns), narrow(r.columnsMobile), shownCaption, counts, shown, r.layoutValues(r.layout).declarations())
	// Load more, when the markup has it, shown or hidden by data-load-more.
	if r.more {
		b.WriteString("[data-vitrine][data-load-more=true]{--vitrine-l:1}\n[data-vitrine][data-load-more=false]{--vitrine-l:0}\n")
	}
	if r.counts {
		fmt.Fprintf(&b, "[data-vitrine][data-counts=below]{--vitrine-o:%s}\n[data-vitrine][data-counts=hover],[data-vitrine][data-counts=off]{--vitrine-o:0px}\n", px(r.m.countsRow))
	}
	for _, l := range appearance.Layouts {
		fmt.Fprintf(&b, "[data-vitrine][data-layout=%s]{%s}\n", l, r.layoutValues(l).declarations())
	}
	for _, a := range appearance.Aspects {
		fmt.Fprintf(&b, "[data-vitrine][data-aspect=%q]{%s}\n", a, ratios[a])
	}
	for c := 1; c <= appearance.MaxColumns; c++ {
		fmt.Fprintf(&b, "[data-vitrine][data-columns=\"%d\"]{--vitrine-c:%d%s}\n", c, c, perColumn(wide(c)))
	}
	for c := 1; c <= appearance.MaxColumnsMobile; c++ {
		fmt.Fprintf(&b, "[data-vitrine][data-columns-mobile=\"%d\"]{--vitrine-m:%d%s}\n", c, c, perColumn(narrow(c)))
	}
	for n := 1; n < r.posts; n++ {
		fmt.Fprintf(&b, "[data-vitrine][data-count=\"%d\"]{--vitrine-n:%d}\n", n, n)
	}
	fmt.Fprintf(&b, "[data-vitrine][data-captions=true]{--vitrine-k:%s}\n[data-vitrine][data-captions=false]{--vitrine-k:0px}\n", caption)
	// Rows R of tiles t·(W − (C−1)·gap)/C high, each with its caption k
	// and counts o, gaps between them, Load more f, the header h and the
	// padding p above and below; W is the width inside the padding.
	const inner = "(100% - 2*var(--vitrine-p))"
	height := func(rows, ratio, columns string) string {
		return "calc(var(" + rows + ")*(var(" + ratio + ")*(" + inner + " - (var(" + columns + ") - 1)*var(--vitrine-g))/var(" + columns + ") + var(--vitrine-k) + var(--vitrine-o)) + (var(" + rows + ") - 1)*var(--vitrine-g) + var(--vitrine-f) + var(--vitrine-h) + 2*var(--vitrine-p))"
	}
	// The narrow height up to the breakpoint (of the width inside the
	// padding, which the gallery's container query reads), the wide one
	// beyond it: each is kept by a clamp that is 0 on the other side of
	// the breakpoint (its ramp is crossed within a millionth of a pixel)
	// and huge on its own.
	edge := short(r.m.narrow+0.5) + "px"
	fmt.Fprintf(&b, "%s{content:\"\";display:block;padding-top:max(min(%s,clamp(0px,(%s - %s)*1000000,1000000px)),min(%s,clamp(0px,(%s - %s)*1000000,1000000px)))}\n",
		pending, height("--vitrine-rw", "--vitrine-tw", "--vitrine-c"), inner, edge, height("--vitrine-rn", "--vitrine-tn", "--vitrine-m"), edge, inner)
	return b.String()
}

// shapes are the height/width of the first n posts' images.
func (s *snapshot) shapes(n int) []float64 {
	var out []float64
	for _, p := range s.doc.Posts[:min(n, len(s.doc.Posts))] {
		if len(p.Images) > 0 && p.Images[0].Width > 0 {
			out = append(out, float64(p.Images[0].Height)/float64(p.Images[0].Width))
		}
	}
	return out
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

func px(v float64) string { return short(v) + "px" }

// short is v to 1/10000, without trailing zeros.
func short(v float64) string { return strconv.FormatFloat(math.Round(v*1e4)/1e4, 'f', -1, 64) }
