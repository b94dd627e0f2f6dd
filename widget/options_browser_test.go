package widget

import (
	"context"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"vitrine/appearance"
	"vitrine/config"
	"vitrine/store"
	"vitrine/testkit"
)

// otherValue is a value of option o other than its value in s, one that
// changes what the test gallery shows (it has more posts than it shows,
// of every type, with captions, counts, a biography and a link). "" for the words
// filters, whose effect depends on the captions (their own tests).
func otherValue(t *testing.T, o appearance.Option, s appearance.Settings) string {
	t.Helper()
	cur := o.Text(s)
	switch o.Kind {
	case appearance.Choice, appearance.Subset:
		for _, v := range o.Values {
			if v != cur {
				return v // a subset of one type
			}
		}
	case appearance.Number:
		for _, v := range []int{o.Min, o.Min + 1, o.Max} {
			if strconv.Itoa(v) != cur {
				return strconv.Itoa(v)
			}
		}
	case appearance.Switch:
		return strconv.FormatBool(cur != "true")
	case appearance.Colour:
		if cur != "#5a2d82" {
			return "#5a2d82"
		}
		return "#1f6f4a"
	case appearance.Words:
		return ""
	}
	t.Fatalf("option %s: no value other than %q to try", o.Key, cur)
	return ""
}

// signature is what a gallery looks like, as JS over the element e whose
// painted gallery is root: every element's class, box (relative to e),
// colours, corners and display, at the width it is drawn (an element not
// drawn has no box: its position is the viewport's corner).
const signature = `((e, root) => { const h = e.getBoundingClientRect(); return [h.height, ...[...root.querySelectorAll('.vitrine, .vitrine *')].map(x => { const r = x.getBoundingClientRect(), s = getComputedStyle(x);
	return [x.getAttribute('class'), ...(r.width || r.height ? [Math.round(r.x - h.x), Math.round(r.y - h.y), Math.round(r.width), Math.round(r.height)] : []), s.color, s.backgroundColor, s.borderTopLeftRadius, s.display, s.visibility].join() })].join('|') })`

// Every option of the table that an embed sets with a data- attribute, or
// the /widget page with its query, takes effect: set to a value other than
// the server's, the gallery drawn differs from the one without it, at a
// wide or a narrow width. The cases come from the options table, so an
// option added to it that the loader (or the server, for those it
// applies) ignores fails here.
func TestBrowserEveryOptionTakesEffect(t *testing.T) {
	testkit.SkipIfShort(t, "drives Chromium")
	ctx := browser(t)
	posts := detailedPosts(24)
	e := newEnv(t, func(e *env) {
		withDetails(24)(e)
		e.mirrorTinted(posts...)
		e.link(posts[0].ID, store.Link{URL: "https://shop.example/print"})
	}, withConfig(func(c *config.Config) {
		c.Widget.Count, c.Widget.MaxPosts, c.Widget.Counts, c.Widget.Bio, c.Widget.Captions = 12, 24, "below", true, true
	}))
	settings := e.cfg.Widget.Settings

	type trial struct {
		o     appearance.Option
		value string
	}
	var trials []trial
	attrs := map[string]string{}
	for _, o := range appearance.Options {
		if o.Attr == "" && o.Query == "" {
			continue
		}
		v := otherValue(t, o, settings)
		if v == "" {
			continue
		}
		trials = append(trials, trial{o, v})
		if o.Attr != "" {
			attrs[o.Key] = fmt.Sprintf(`data-%s="%s"`, o.Attr, v)
		}
	}
	if len(trials) < 15 {
		t.Fatalf("only %d options to try", len(trials))
	}
	looks := embedLooks(t, ctx, e, attrs)
	for _, tr := range trials {
		if tr.o.Attr == "" {
			continue
		}
		look, ok := looks[tr.o.Key]
		if !ok {
			t.Errorf("data-%s=%q: its embed did not paint", tr.o.Attr, tr.value)
		} else if look == looks[""] {
			t.Errorf("data-%s=%q (the server's is %q) changes nothing the embed draws: the loader ignores it", tr.o.Attr, tr.value, tr.o.Text(settings))
		}
	}

	// The options that only narrow (the table's Narrows) cannot show what
	// the settings leave out: with them off, an embed asking for them
	// draws the gallery without them, as the table and the README say.
	// Load more, off in the settings, an embed can still show.
	off := newEnv(t, func(e *env) {
		withDetails(24)(e)
		e.mirrorTinted(posts...)
	}, withConfig(func(c *config.Config) {
		c.Widget.Count, c.Widget.MaxPosts, c.Widget.Counts, c.Widget.Bio, c.Widget.LoadMore = 12, 24, "off", false, false
	}))
	narrowing := map[string]string{}
	for _, o := range appearance.Options {
		if o.Narrows {
			narrowing[o.Key] = fmt.Sprintf(`data-%s="%s"`, o.Attr, otherValue(t, o, off.cfg.Widget.Settings))
		}
	}
	if len(narrowing) == 0 {
		t.Fatal("no option of the table narrows")
	}
	offLooks := embedLooks(t, ctx, off, mergeAttrs(narrowing, map[string]string{"load_more": `data-load-more="true"`}))
	if offLooks["load_more"] == offLooks[""] {
		t.Error(`data-load-more="true" shows nothing where the settings turn Load more off`)
	}
	for key, attr := range narrowing {
		if offLooks[key] != offLooks[""] {
			t.Errorf("%s shows what the settings leave out: the options table says %s only narrows", attr, key)
		}
	}

	// The /widget page (the iframe) takes the same options from its query.
	page := func(query string) string {
		t.Helper()
		var look string
		for _, width := range []int64{1000, 420} {
			if err := chromedp.Do(ctx, chromedp.EmulateViewport(width, 900), chromedp.Navigate(e.base+PagePath+query)); err != nil {
				t.Fatal(err)
			}
			wait(t, ctx, PagePath+query, `document.querySelector('.vitrine-item')`)
			look += fmt.Sprintf("@%d:%s\n", width, eval[string](t, ctx, signature+`(document.body, document)`))
		}
		return look
	}
	plain := page("")
	for _, tr := range trials {
		if tr.o.Query == "" {
			continue
		}
		if page("?"+tr.o.Query+"="+url.QueryEscape(tr.value)) == plain {
			t.Errorf("/widget?%s=%s (the server's is %q) changes nothing the page draws", tr.o.Query, tr.value, tr.o.Text(settings))
		}
	}
}

// embedLooks paints, on one host page, the gallery of e as a plain embed
// (key "") and as one embed for each of attrs (its data- attribute), and
// returns each one's signature at a wide and a narrow width.
func embedLooks(t *testing.T, ctx context.Context, e *env, attrs map[string]string) map[string]string {
	t.Helper()
	var body strings.Builder
	fmt.Fprintf(&body, `<div data-vitrine id="o-"></div><script src="%s" async></script>`, e.base+ScriptPath)
	for key, attr := range attrs {
		fmt.Fprintf(&body, `<div data-vitrine id="o-%s" %s></div><script src="%s" async></script>`, key, attr, e.base+ScriptPath)
	}
	host := hostServer(t, `<link rel="stylesheet" href="`+e.base+StylePath+`">`, body.String())
	const painted = `[...document.querySelectorAll('[data-vitrine]')]`
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(1000, 900), chromedp.Navigate(host.URL)); err != nil {
		t.Fatal(err)
	}
	wait(t, ctx, "every gallery", painted+`.every(e => e.getAttribute('data-vitrine-on') === '' && e.shadowRoot.querySelector('.vitrine-item'))`)
	looks := map[string]string{}
	for _, width := range []int64{1000, 420} {
		if err := chromedp.Do(ctx, chromedp.EmulateViewport(width, 900)); err != nil {
			t.Fatal(err)
		}
		got := eval[map[string]string](t, ctx, `Object.fromEntries(`+painted+`.map(e => [e.id.slice(2), `+signature+`(e, e.shadowRoot)]))`)
		for key, sig := range got {
			looks[key] += fmt.Sprintf("@%d:%s\n", width, sig)
		}
	}
	return looks
}

func mergeAttrs(a, b map[string]string) map[string]string {
	out := map[string]string{}
	for k, v := range a {
		out[k] = v
	}
	for k, v := range b {
		out[k] = v
	}
	return out
}
