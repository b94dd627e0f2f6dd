package admin

import (
	"html"
	"math"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"vitrine/widget"
)

// withGalleryEmbeds gives the admin the embeds of the env's gallery, as
// the server does.
func withGalleryEmbeds() envOption {
	return func(o *envOptions) {
		o.embeds = func(e *env) Embeds {
			w, opts := e.widget(), widget.EmbedOptions{}
			return Embeds{
				JS: w.Snippet(opts), Iframe: w.SnippetIframe(), Fragment: w.SnippetFragment(),
				ReservedPhone:   int(math.Ceil(w.ReservedHeight(opts, 360))),
				ReservedDesktop: int(math.Ceil(w.ReservedHeight(opts, 1000))),
				FrameHeight:     w.FrameHeight(),
			}
		}
	}
}

// The dashboard offers the three embeds, each with a copy button and a
// line on when to use it, and the heights they keep.
func TestDashboardOffersTheThreeEmbeds(t *testing.T) {
	e := newEnv(t, withGalleryEmbeds())
	e.login()
	e.connect()
	w := e.widget()
	if err := w.Rebuild(t.Context()); err != nil { // the account connected since
		t.Fatal(err)
	}
	page := e.get("/admin").body
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
	if len(w.Snippet(widget.EmbedOptions{})) > 200 || strings.Contains(w.Snippet(widget.EmbedOptions{}), "calc(") {
		t.Errorf("the JS snippet is no short, readable line: %s", w.Snippet(widget.EmbedOptions{}))
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
	e := newEnv(t, withGalleryEmbeds())
	csrf := e.login()
	e.connect()
	w := e.widget()
	if err := w.Rebuild(t.Context()); err != nil { // the account connected since
		t.Fatal(err)
	}
	frameBefore := w.FrameHeight()

	s := e.cfg.Widget.Settings.Clone()
	s.Theme = "dark"
	if r := e.post("/admin/appearance", appearanceForm(csrf, s)); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("save = %d", r.StatusCode)
	}
	if page := e.get("/admin/appearance").body; !strings.Contains(page, "Saved.") || strings.Contains(page, "now keeps") || strings.Contains(page, "copy the iframe snippet again") {
		t.Errorf("a theme, which keeps the heights, is said to move them:\n%.3000s", page)
	}

	s.Header = false // the connected account's header: 62 px less
	if r := e.post("/admin/appearance", appearanceForm(csrf, s)); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("save = %d", r.StatusCode)
	}
	frameAfter := w.FrameHeight()
	if frameAfter >= frameBefore {
		t.Fatalf("hiding the header left the iframe's height at %d (was %d)", frameAfter, frameBefore)
	}
	page := e.get("/admin/appearance").body
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
