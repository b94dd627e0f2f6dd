package widget

import (
	"strconv"
	"strings"

	"vitrine/config"
)

// The server's appearance settings reach the gallery as the fallbacks of
// the custom properties its CSS reads: the CSS reads each --vitrine-*
// property once, into a --_ property of .vitrine (--_accent:
// var(--vitrine-accent, #0074cc)), and settingsCSS repeats those
// declarations after it with the settings as fallbacks. Nothing declares a
// --vitrine-* property, so a host page's value, on the embed's element or
// any ancestor, inherits into the gallery and wins.

// settingsRule is the rule that follows the gallery's CSS with w's
// settings.
func (w *Widget) settingsRule() string {
	cfg := w.settings
	var b strings.Builder
	read := func(private, public, value string) {
		b.WriteString("--_" + private + ":var(--vitrine-" + public + "," + value + ");")
	}
	read("columns", "columns", strconv.Itoa(min(max(cfg.Columns, 1), 12)))
	read("columns-mobile", "columns-mobile", strconv.Itoa(min(max(cfg.ColumnsMobile, 1), 6)))
	read("gap", "gap", strconv.Itoa(w.gap())+"px")
	read("radius", "radius", strconv.Itoa(min(max(cfg.Radius, 0), 40))+"px")
	// A colour that is not #rrggbb is the theme's: config validation says
	// so, and a bad value must never reach the CSS.
	for _, c := range [...][2]string{{"accent", cfg.AccentColor}, {"text", cfg.TextColor}, {"background", cfg.BackgroundColor}} {
		if colorRE.MatchString(c[1]) {
			read(c[0], c[0], strings.ToLower(c[1]))
		}
	}
	return ".vitrine{" + strings.TrimSuffix(b.String(), ";") + "}"
}

// gap is widget.gap within its bounds, in pixels.
func (w *Widget) gap() int { return min(max(w.settings.Gap, 0), 40) }

// theme is widget.theme, light when it is none of the themes.
func (w *Widget) theme() string { return choice(w.settings.Theme, config.Themes) }

// styled is the gallery's CSS with the settings, as the page, the fragment
// and widget.css carry it.
func (w *Widget) styled() string { return w.css + w.settingsCSS }
