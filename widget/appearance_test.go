package widget

import (
	"context"
	"strings"
	"testing"

	"vitrine/config"
)

// The owner's saved settings (the Appearance page's) apply over the config
// file's at the next rebuild, on every asset: no restart.
func TestSavedSettingsApplyAtTheNextRebuild(t *testing.T) {
	e := newEnv(t, withSeed(12), withConfig(func(c *config.Config) { c.Widget.Count = 6 }))
	page := e.get("/widget").text(t)
	mustContain(t, "/widget before a save", page, `data-layout="grid"`, `part="more" type="button">Load more`)
	if n := len(shownIDs(page)); n != 6 {
		t.Fatalf("/widget shows %d posts before a save, want the file's 6", n)
	}

	err := e.st.SaveGallerySettings(context.Background(), map[string]string{"layout": "masonry", "count": "4", "load_more": "false"})
	if err != nil {
		t.Fatal(err)
	}
	e.rebuild()
	for _, path := range []string{"/widget", "/widget?fragment=1", "/widget.js"} {
		// In widget.js the markup is a JSON string: its quotes escaped.
		body := strings.ReplaceAll(e.get(path).text(t), `\"`, `"`)
		mustContain(t, path, body, `data-layout="masonry"`)
		// Load more stays in the markup, hidden, for an embed that shows
		// it (data-load-more="true").
		mustContain(t, path, body, `part="more" type="button" hidden>Load more`)
		if n := len(shownIDs(body)); n != 4 {
			t.Errorf("%s shows %d posts after saving count 4", path, n)
		}
	}
	if n := strings.Count(e.get("/widget.json").text(t), `"permalink"`); n != 12 {
		t.Errorf("/widget.json lists %d posts; the gallery's count does not shorten it", n)
	}
}

// A saved setting this version does not accept (another version wrote it)
// is left out; the others still apply.
func TestSavedSettingsThisVersionRefusesAreLeftOut(t *testing.T) {
	e := newEnv(t, withSeed(4))
	err := e.st.SaveGallerySettings(context.Background(), map[string]string{"layout": "mosaic", "aspect": "4:5", "sparkle": "on"})
	if err != nil {
		t.Fatal(err)
	}
	e.rebuild()
	mustContain(t, "/widget", e.get("/widget").text(t), `data-layout="grid"`, `data-aspect="4x5"`)
}

// The preview shows settings before they are saved, and changes nothing a
// visitor gets.
func TestPreviewShowsUnsavedSettingsOnly(t *testing.T) {
	e := newEnv(t, withSeed(12))
	before := e.get("/widget").text(t)
	look := e.cfg.Widget.Settings.Clone()
	look.Layout, look.Count, look.IncludeWords = "carousel", 12, []string{"#handmade"}
	page, csp, err := e.w.Preview(look)
	if err != nil {
		t.Fatal(err)
	}
	mustContain(t, "the preview", string(page), `data-layout="carousel"`)
	var want []string
	for _, p := range makePosts(12) {
		if strings.Contains(p.Caption, "#handmade") {
			want = append(want, p.ID)
		}
	}
	if got := shownIDs(string(page)); strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("the preview shows %v, want the #handmade posts %v", got, want)
	}
	mustContain(t, "the preview's policy", csp, "frame-ancestors 'self'", "script-src 'sha256-")
	if after := e.get("/widget").text(t); after != before {
		t.Error("previewing changed what /widget serves")
	}
}
