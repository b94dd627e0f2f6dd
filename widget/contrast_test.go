package widget

import (
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestThemeContrast: every text of the gallery against what it sits on,
// in both built-in themes, at rest and hovered, meets WCAG AA for normal
// text (4.5:1). The colours are computed from the readable CSS as a
// browser would: each theme takes its side of light-dark(), the muted
// colours are color-mix()es of the text and the background, and the host
// page sets none of the --vitrine-* properties. The light theme's
// background is transparent, for light pages: it is measured over white.
func TestThemeContrast(t *testing.T) {
	src, err := os.ReadFile(filepath.FromSlash(cssSourcePath))
	if err != nil {
		t.Fatal(err)
	}
	css, err := minifyCSS(string(src)) // one rule a selector, as cssDeclaration reads
	if err != nil {
		t.Fatal(err)
	}
	// The details' (counts, biography, links) CSS follows it.
	extras, err := os.ReadFile(filepath.FromSlash("../templates/widget/extras.css"))
	if err != nil {
		t.Fatal(err)
	}
	css += compactCSS(string(extras))
	// The text and the background of each pair, each a rule and a
	// property; text in a rule without a background is on the gallery's.
	pairs := []struct{ text, background [2]string }{
		{[2]string{".vitrine", "color"}, [2]string{".vitrine", "background"}},
		{[2]string{".vitrine-user", "color"}, [2]string{".vitrine", "background"}},
		{[2]string{".vitrine-follow", "color"}, [2]string{".vitrine-follow", "background"}},
		{[2]string{".vitrine-follow", "color"}, [2]string{".vitrine-follow:hover", "background"}},
		{[2]string{".vitrine-more", "color"}, [2]string{".vitrine-more", "background"}},
		{[2]string{".vitrine-more", "color"}, [2]string{".vitrine-more:hover", "background"}},
		{[2]string{".vitrine-empty", "color"}, [2]string{".vitrine-empty", "background"}},
		{[2]string{".vitrine-fol", "color"}, [2]string{".vitrine", "background"}},
	}
	page := rgba{255, 255, 255, 1}
	for _, dark := range []bool{false, true} {
		theme := map[bool]string{false: "light", true: "dark"}[dark]
		colours := themeColours{css: css, dark: dark}
		for _, p := range pairs {
			// Every background here is on the gallery's, which is on the page.
			under := colours.of(t, cssDeclaration(css, ".vitrine", "background")).over(page)
			bg := colours.of(t, cssDeclaration(css, p.background[0], p.background[1])).over(under)
			fg := colours.of(t, cssDeclaration(css, p.text[0], p.text[1])).over(bg)
			ratio := contrastRatio(fg.rgb(), bg.rgb())
			t.Logf("%s: %s %s #%06x on %s %s #%06x: %.2f:1", theme, p.text[0], p.text[1], fg.rgb(), p.background[0], p.background[1], bg.rgb(), ratio)
			if ratio < 4.5 {
				t.Errorf("%s theme: %s's text #%06x on %s's #%06x is %.2f:1, under WCAG AA's 4.5:1", theme, p.text[0], fg.rgb(), p.background[0], bg.rgb(), ratio)
			}
		}
	}
}

// TestContrastRatioMatchesWCAG checks the formula on known pairs.
func TestContrastRatioMatchesWCAG(t *testing.T) {
	for _, c := range []struct {
		a, b uint32
		want float64
	}{
		{0xffffff, 0x000000, 21},
		{0xffffff, 0xffffff, 1},
		{0xffffff, 0x767676, 4.54}, // the lightest grey that passes on white
		{0xffffff, 0x0095f6, 3.17}, // the old Follow blue
	} {
		if got := contrastRatio(c.a, c.b); math.Abs(got-c.want) > 0.01 {
			t.Errorf("#%06x on #%06x: %.3f, want %.2f", c.a, c.b, got, c.want)
		}
	}
}

// TestThemeColoursEvaluate checks the evaluator on values worked out by
// hand (color-mix of colours in srgb mixes each channel, weighted by
// alpha).
func TestThemeColoursEvaluate(t *testing.T) {
	css := `.vitrine{--_a:var(--vitrine-x, light-dark(#262626, #f2f2f2));--_b:light-dark(#fff,#121212)}`
	white := rgba{255, 255, 255, 1}
	for _, c := range []struct {
		v    string
		dark bool
		want uint32
	}{
		{"#fff", false, 0xffffff},
		{"var(--_a)", false, 0x262626},
		{"var(--_a)", true, 0xf2f2f2},
		{"color-mix(in srgb, var(--_a) 68%, var(--_b))", false, 0x6b6b6b},
		{"color-mix(in srgb,#0074cc 85%,#000)", false, 0x0063ad},
		{"color-mix(in srgb, #262626 68%, transparent)", false, 0x6b6b6b}, // over white
		{"transparent", false, 0xffffff},
	} {
		if got := (themeColours{css: css, dark: c.dark}).of(t, c.v).over(white).rgb(); got != c.want {
			t.Errorf("%s (dark %v) = #%06x, want #%06x", c.v, c.dark, got, c.want)
		}
	}
}

// rgba is a colour with straight alpha, its channels 0–255.
type rgba struct{ r, g, b, a float64 }

// over is c drawn over an opaque colour.
func (c rgba) over(under rgba) rgba {
	mix := func(x, y float64) float64 { return x*c.a + y*(1-c.a) }
	return rgba{mix(c.r, under.r), mix(c.g, under.g), mix(c.b, under.b), 1}
}

// rgb is an opaque c as 0xrrggbb.
func (c rgba) rgb() uint32 {
	b := func(v float64) uint32 { return uint32(math.Round(min(max(v, 0), 255))) }
	return b(c.r)<<16 | b(c.g)<<8 | b(c.b)
}

// themeColours evaluates the colour values the gallery's CSS uses, in one
// theme: #hex, transparent, light-dark(), color-mix(in srgb, …), and var()
// of the gallery's own --_ properties (declared on .vitrine) or, for a
// --vitrine-* property a host page would set, its fallback.
type themeColours struct {
	css  string
	dark bool
}

func (c themeColours) of(t *testing.T, v string) rgba {
	t.Helper()
	v = strings.TrimSpace(v)
	name, args, ok := cssFunction(v)
	switch {
	case v == "transparent":
		return rgba{}
	case strings.HasPrefix(v, "#"):
		h := strings.TrimPrefix(v, "#")
		if len(h) == 3 {
			h = string([]byte{h[0], h[0], h[1], h[1], h[2], h[2]})
		}
		n, err := strconv.ParseUint(h, 16, 32)
		if err != nil || len(h) != 6 {
			t.Fatalf("colour %q", v)
		}
		return rgba{float64(n >> 16 & 0xff), float64(n >> 8 & 0xff), float64(n & 0xff), 1}
	case ok && name == "light-dark" && len(args) == 2:
		if c.dark {
			return c.of(t, args[1])
		}
		return c.of(t, args[0])
	case ok && name == "var" && strings.HasPrefix(args[0], "--vitrine-") && len(args) > 1:
		return c.of(t, strings.Join(args[1:], ","))
	case ok && name == "var" && strings.HasPrefix(args[0], "--_"):
		decl := cssDeclaration(c.css, ".vitrine", args[0])
		if decl == "" {
			t.Fatalf("no %s on .vitrine", args[0])
		}
		return c.of(t, decl)
	case ok && name == "color-mix" && len(args) == 3 && args[0] == "in srgb":
		a, b := args[1], args[2]
		share := 0.5
		if i := strings.LastIndexByte(a, ' '); i > 0 && strings.HasSuffix(a, "%") {
			p, err := strconv.ParseFloat(strings.TrimSuffix(a[i+1:], "%"), 64)
			if err != nil {
				t.Fatalf("color-mix share in %q", v)
			}
			a, share = a[:i], p/100
		}
		x, y := c.of(t, a), c.of(t, b)
		// Premultiplied by alpha, as CSS Color 5 mixes.
		out := rgba{a: share*x.a + (1-share)*y.a}
		if out.a == 0 {
			return out
		}
		ch := func(p, q float64) float64 { return (share*p*x.a + (1-share)*q*y.a) / out.a }
		out.r, out.g, out.b = ch(x.r, y.r), ch(x.g, y.g), ch(x.b, y.b)
		return out
	}
	t.Fatalf("cannot evaluate the colour %q", v)
	return rgba{}
}

// cssFunction splits "name(a, b(c, d))" into name and its top-level
// arguments.
func cssFunction(v string) (name string, args []string, ok bool) {
	open := strings.IndexByte(v, '(')
	if open <= 0 || !strings.HasSuffix(v, ")") {
		return "", nil, false
	}
	depth, from := 0, open+1
	for i := open + 1; i < len(v)-1; i++ {
		switch v[i] {
		case '(':
			depth++
		case ')':
			depth--
		case ',':
			if depth == 0 {
				args = append(args, strings.TrimSpace(v[from:i]))
				from = i + 1
			}
		}
	}
	return v[:open], append(args, strings.TrimSpace(v[from:len(v)-1])), true
}

// contrastRatio is WCAG 2's (L1 + 0.05) / (L2 + 0.05) of two sRGB colours.
func contrastRatio(a, b uint32) float64 {
	la, lb := relativeLuminance(a), relativeLuminance(b)
	if la < lb {
		la, lb = lb, la
	}
	return (la + 0.05) / (lb + 0.05)
}

func relativeLuminance(rgb uint32) float64 {
	channel := func(v uint32) float64 {
		c := float64(v&0xff) / 255
		if c <= 0.04045 {
			return c / 12.92
		}
		return math.Pow((c+0.055)/1.055, 2.4)
	}
	return 0.2126*channel(rgb>>16) + 0.7152*channel(rgb>>8) + 0.0722*channel(rgb)
}
