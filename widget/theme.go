package widget

import (
	"html/template"
	"strconv"
	"strings"

	"vitrine/appearance"
)

// The server's appearance settings reach the gallery as the fallbacks of
// the custom properties its CSS reads: the CSS reads each --vitrine-*
// property once, into a --_ property of .vitrine (--_accent:
// var(--vitrine-accent, #0074cc)), and settingsCSS repeats those
// declarations after it with the settings as fallbacks. Nothing declares a
// --vitrine-* property, so a host page's value, on the embed's element or
// any ancestor, inherits into the gallery and wins.

// settingsRule is the rule that follows the gallery's CSS with the
// settings look.
func settingsRule(look appearance.Settings) string {
	cfg := look
	var b strings.Builder
	read := func(private, public, value string) {
		b.WriteString("--_" + private + ":var(--vitrine-" + public + "," + value + ");")
	}
	read("columns", "columns", strconv.Itoa(min(max(cfg.Columns, 1), appearance.MaxColumns)))
	read("columns-mobile", "columns-mobile", strconv.Itoa(min(max(cfg.ColumnsMobile, 1), appearance.MaxColumnsMobile)))
	read("gap", "gap", strconv.Itoa(gapOf(look))+"px")
	read("radius", "radius", strconv.Itoa(min(max(cfg.Radius, 0), appearance.MaxRadius))+"px")
	// A colour that is not #rrggbb is the theme's: config validation says
	// so, and a bad value must never reach the CSS.
	for _, c := range [...][2]string{{"accent", cfg.AccentColor}, {"text", cfg.TextColor}, {"background", cfg.BackgroundColor}} {
		if colorRE.MatchString(c[1]) {
			read(c[0], c[0], strings.ToLower(c[1]))
		}
	}
	return ".vitrine{" + strings.TrimSuffix(b.String(), ";") + "}"
}

// gapOf is look's gap within its bounds, in pixels.
func gapOf(look appearance.Settings) int { return min(max(look.Gap, 0), appearance.MaxGap) }

// styled is v's CSS (with the extras' when it shows them) with the
// settings look, as the page, the fragment and widget.css carry it.
func (w *Widget) styled(v galleryView, look appearance.Settings) template.CSS {
	return template.CSS(w.style(v) + settingsRule(look))
}
