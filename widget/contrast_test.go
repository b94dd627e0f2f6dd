package widget

import (
	"io/fs"
	"math"
	"regexp"
	"strconv"
	"testing"

	"vitrine/templates"
)

// TestFollowButtonContrast: the Follow button's text against its
// background, at rest and hovered, meets WCAG AA for normal text (4.5:1),
// computed from the colours in the default theme's CSS.
func TestFollowButtonContrast(t *testing.T) {
	css, err := fs.ReadFile(templates.Widget(), "widget.css")
	if err != nil {
		t.Fatal(err)
	}
	text := cssColour(t, string(css), `.vitrine-follow`, "color")
	for _, sel := range []string{`.vitrine-follow`, `.vitrine-follow:hover`} {
		bg := cssColour(t, string(css), sel, "background")
		ratio := contrastRatio(text, bg)
		t.Logf("%s: text #%06x on #%06x: %.2f:1", sel, text, bg, ratio)
		if ratio < 4.5 {
			t.Errorf("%s: text #%06x on #%06x is %.2f:1, under WCAG AA's 4.5:1", sel, text, bg, ratio)
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

// cssColour is the #rrggbb (or #rgb) value of property in the rule whose
// selector is exactly sel.
func cssColour(t *testing.T, css, sel, property string) uint32 {
	t.Helper()
	rule := regexp.MustCompile(`(?:^|[}\s])` + regexp.QuoteMeta(sel) + `\{([^}]*)\}`).FindStringSubmatch(css)
	if rule == nil {
		t.Fatalf("no rule %s in widget.css", sel)
	}
	m := regexp.MustCompile(`(?:^|;)` + property + `:#([0-9a-fA-F]{6}|[0-9a-fA-F]{3})(?:;|$)`).FindStringSubmatch(rule[1])
	if m == nil {
		t.Fatalf("%s has no %s:#hex in %q", sel, property, rule[1])
	}
	hex := m[1]
	if len(hex) == 3 {
		hex = string([]byte{hex[0], hex[0], hex[1], hex[1], hex[2], hex[2]})
	}
	v, _ := strconv.ParseUint(hex, 16, 32)
	return uint32(v)
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
