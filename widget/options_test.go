package widget

import (
	"encoding/json"
	"regexp"
	"strings"
	"testing"

	"vitrine/config"
	"vitrine/store"
)

var postIDRE = regexp.MustCompile(`/media/(\d+)/320\.jpg 320w`)

// shownIDs are the posts a gallery asset shows, in order.
func shownIDs(markup string) []string {
	var ids []string
	for _, m := range postIDRE.FindAllStringSubmatch(markup, -1) {
		ids = append(ids, m[1])
	}
	return ids
}

// widget.media_types, include_words and exclude_words decide which posts
// the gallery and /widget.json show; a word matches itself or its hashtag,
// a #hashtag only the hashtag, in any case.
func TestFiltersFromConfig(t *testing.T) {
	posts := makePosts(12)
	byID := map[string]store.Post{}
	for _, p := range posts {
		byID[p.ID] = p
	}
	for _, tc := range []struct {
		name string
		set  func(*config.Widget)
		keep func(store.Post) bool
	}{
		{"videos only", func(w *config.Widget) { w.MediaTypes = []string{"VIDEO"} },
			func(p store.Post) bool { return p.MediaType == "VIDEO" }},
		{"include a hashtag by its word", func(w *config.Widget) { w.IncludeWords = []string{"HANDMADE"} },
			func(p store.Post) bool { return strings.Contains(p.Caption, "#handmade") }},
		{"exclude a #hashtag", func(w *config.Widget) { w.ExcludeWords = []string{"#studio"} },
			func(p store.Post) bool { return !strings.Contains(p.Caption, "#studio ") }},
		{"a #hashtag does not match the bare word", func(w *config.Widget) { w.IncludeWords = []string{"#love"} },
			func(p store.Post) bool { return false }},
		{"exclude a word", func(w *config.Widget) { w.ExcludeWords = []string{"orders"} },
			func(p store.Post) bool { return !strings.Contains(p.Caption, "Packing orders") }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, withSeed(12), withConfig(func(c *config.Config) { c.Widget.Count = 12; tc.set(&c.Widget) }))
			var want []string
			for _, p := range posts {
				if tc.keep(p) {
					want = append(want, p.ID)
				}
			}
			if got := shownIDs(e.get("/widget").text(t)); strings.Join(got, ",") != strings.Join(want, ",") {
				t.Errorf("/widget shows %v, want %v", got, want)
			}
			var doc struct {
				Posts []struct{ ID string } `json:"posts"`
			}
			if err := json.Unmarshal([]byte(e.get("/widget.json").text(t)), &doc); err != nil {
				t.Fatal(err)
			}
			if len(doc.Posts) != len(want) {
				t.Errorf("/widget.json has %d posts, want %d", len(doc.Posts), len(want))
			}
		})
	}
}

// The page, the fragment and widget.js come in every language, picked by
// ?language=; widget.language is the default, and an unknown language is
// the default too, never an error.
func TestLanguages(t *testing.T) {
	e := newEnv(t, withSeed(3), withConfig(func(c *config.Config) { c.Widget.Language = "es" }))
	for target, want := range map[string][]string{
		"/widget":                        {`<html lang="es">`, ">Seguir<", `aria-label="Visor de publicaciones"`},
		"/widget?language=fr":            {`<html lang="fr">`, ">S’abonner<", ">Voir sur Instagram<"},
		"/widget?fragment=1&language=de": {`lang="de"`, ">Folgen<", `aria-label="Schließen"`},
		"/widget.js?language=pt":         {`lang=\"pt\"`, ">Seguir<", `aria-label=\"Fechar\"`},
		"/widget?language=xx":            {`<html lang="es">`},
		"/widget.js":                     {`lang=\"es\"`, `aria-label=\"Cerrar\"`},
	} {
		r := e.get(target)
		if r.StatusCode != 200 {
			t.Errorf("%s: %d", target, r.StatusCode)
			continue
		}
		mustContain(t, target, r.text(t), want...)
	}
	// The placeholder left at its default speaks the language too.
	empty := newEnv(t, withConfig(func(c *config.Config) { c.Widget.Language = "de" }))
	mustContain(t, "empty gallery", empty.get("/widget").text(t), "Neue Beiträge sind unterwegs.")
	mustContain(t, "empty gallery in French", empty.get("/widget?language=fr").text(t), "De nouvelles publications arrivent bientôt.")
}

// Layout, aspect and columns from the config reach the markup; a value
// the gallery doesn't know (possible only from an embed) is the default.
func TestLayoutSettings(t *testing.T) {
	e := newEnv(t, withSeed(3), withConfig(func(c *config.Config) {
		c.Widget.Layout, c.Widget.Aspect, c.Widget.Columns, c.Widget.ColumnsMobile = "masonry", "original", 4, 1
	}))
	mustContain(t, "page", e.get("/widget").text(t), `data-layout="masonry" data-aspect="original"`, `style="--vitrine-cols:4;--vitrine-cols-m:1"`)
	if got := choice("bogus", config.Layouts); got != "grid" {
		t.Errorf("choice(bogus) = %q", got)
	}
}
