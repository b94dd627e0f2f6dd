package admin_test

import (
	"html"
	"math"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"vitrine/widget"
)

// The dashboard offers the three embeds, each with a copy button and a
// line on when to use it, and the heights they keep.
func TestDashboardOffersTheThreeEmbeds(t *testing.T) {
	v := newVitrine(t)
	v.ConnectAndSync(time.Minute)
	v.client.SignIn(testPassword)
	page := v.client.Get("/admin").Text
	w := v.Gallery
	for _, c := range []struct{ id, snippet, when string }{
		{"snippet-js", w.Snippet(widget.EmbedOptions{}), "For most sites"},
		{"snippet-html", w.SnippetIframe(), "Where a site builder takes an iframe"},
		{"snippet-fragment", w.SnippetFragment(), "For your own server"},
	} {
		for _, want := range []string{`data-copy="` + c.id + `"`, c.when} {
			if !strings.Contains(page, want) {
				t.Errorf("the dashboard lacks %s", want)
			}
		}
		// What the copy button copies: the code's text.
		code := regexp.MustCompile(`<code id="` + c.id + `">([^<]*)</code>`).FindStringSubmatch(page)
		if code == nil || html.UnescapeString(code[1]) != c.snippet {
			t.Errorf("%s is not the widget's snippet %s: %v", c.id, c.snippet, code)
		}
	}
	if js := w.Snippet(widget.EmbedOptions{}); len(js) > 200 || strings.Contains(js, "calc(") {
		t.Errorf("the JS snippet is no short, readable line: %s", js)
	}
	for _, want := range []string{
		"Keeps " + strconv.Itoa(int(math.Ceil(w.ReservedHeight(widget.EmbedOptions{}, 1000)))) + " px in a 1000 px column",
		"stays " + strconv.Itoa(w.FrameHeight()) + " px high",
	} {
		if !strings.Contains(page, want) {
			t.Errorf("the dashboard does not say %q", want)
		}
	}
}

// Saving a change that moves the space the embeds keep says so, and that
// only the iframe snippet needs copying again; a change that does not
// says nothing of it.
func TestAppearanceSaveSaysWhenTheHeightsChange(t *testing.T) {
	v := newVitrine(t)
	v.ConnectAndSync(time.Minute)
	csrf := v.client.SignIn(testPassword)
	frameBefore := v.Gallery.FrameHeight()

	s := v.Config.Widget.Settings.Clone()
	// (A dark theme or a background colour would move them: such a
	// gallery has an inner padding.)
	s.AccentColor = "#b4532a"
	if r := v.client.Post("/admin/appearance", appearanceForm(csrf, s)); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("save = %d", r.StatusCode)
	}
	if page := v.client.Get("/admin/appearance").Text; !strings.Contains(page, "Saved.") || strings.Contains(page, "now keeps") || strings.Contains(page, "copy the iframe snippet again") {
		t.Errorf("an accent colour, which keeps the heights, is said to move them:\n%.3000s", page)
	}

	s.Header = false // the connected account's header: 62 px less
	if r := v.client.Post("/admin/appearance", appearanceForm(csrf, s)); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("save = %d", r.StatusCode)
	}
	frameAfter := v.Gallery.FrameHeight()
	if frameAfter >= frameBefore {
		t.Fatalf("hiding the header left the iframe's height at %d (was %d)", frameAfter, frameBefore)
	}
	page := v.client.Get("/admin/appearance").Text
	for _, want := range []string{
		"The JavaScript embed now keeps",
		"its stylesheet follows by itself",
		"is now " + strconv.Itoa(frameAfter) + " px (was " + strconv.Itoa(frameBefore) + "): copy the iframe snippet again",
	} {
		if !strings.Contains(page, want) {
			t.Errorf("after hiding the header the page does not say %q", want)
		}
	}
}
