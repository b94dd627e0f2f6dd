package widget

import (
	"context"
	"encoding/json"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"vitrine/appearance"
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

// A rebuild renders widget.language only; another language is rendered by
// the first request for it, once, however many ask at the same moment, and
// the next snapshot starts again without it.
func TestOtherLanguagesRenderOnFirstUse(t *testing.T) {
	e := newEnv(t, withSeed(3), withConfig(func(c *config.Config) { c.Widget.Language = "es" }))
	s := e.w.cur.Load()
	if len(s.otherLanguages) != len(languages)-1 {
		t.Fatalf("%d other languages, want %d", len(s.otherLanguages), len(languages)-1)
	}
	for code, lv := range s.otherLanguages {
		if lv.vs != nil {
			t.Errorf("%s rendered by the rebuild", code)
		}
	}
	var wg sync.WaitGroup
	pages := make([]*asset, 8)
	for i := range pages {
		wg.Go(func() { pages[i] = e.w.asset(s, kindPage, "language=de") })
	}
	wg.Wait()
	for _, p := range pages {
		if p != pages[0] {
			t.Fatal("two requests for German got two renderings")
		}
	}
	mustContain(t, "German page", string(pages[0].body), `<html lang="de">`, ">Folgen<")
	if s.otherLanguages["pt"].vs != nil || s.otherLanguages["de"].vs == nil {
		t.Error("only the language asked for is rendered")
	}
	if err := e.w.Rebuild(context.Background()); err != nil {
		t.Fatal(err)
	}
	if next := e.w.cur.Load(); next == s || next.otherLanguages["de"].vs != nil {
		t.Error("a new snapshot keeps the old one's German")
	}
}

// Layout, aspect and columns from the config reach the markup; a value
// the gallery doesn't know (possible only from an embed) is the default.
func TestLayoutSettings(t *testing.T) {
	e := newEnv(t, withSeed(3), withConfig(func(c *config.Config) {
		c.Widget.Layout, c.Widget.Aspect, c.Widget.Columns, c.Widget.ColumnsMobile = "masonry", "original", 4, 1
	}))
	mustContain(t, "page", e.get("/widget").text(t), `data-layout="masonry" data-aspect="original"`, `.vitrine{--_columns:var(--vitrine-columns,4);--_columns-mobile:var(--vitrine-columns-mobile,1);`)
	if got := choice("bogus", appearance.Layouts); got != "grid" {
		t.Errorf("choice(bogus) = %q", got)
	}
}

// An embed's caption words (include_words, exclude_words on /widget,
// /widget.js and /widget.json) filter on the server, in place of the
// configured words; the filtered gallery's Load more asks /widget.json
// with the same filter.
func TestCaptionFiltersFromQuery(t *testing.T) {
	posts := makePosts(24)
	e := newEnv(t, withSeed(24), withConfig(func(c *config.Config) {
		c.Widget.Count, c.Widget.MaxPosts = 3, 24
		c.Widget.IncludeWords = []string{"photography"} // replaced by an embed's words
	}))
	idsWhere := func(keep func(store.Post) bool) []string {
		var ids []string
		for _, p := range posts {
			if keep(p) {
				ids = append(ids, p.ID)
			}
		}
		return ids
	}
	handmade := idsWhere(func(p store.Post) bool { return strings.Contains(p.Caption, "#handmade") })
	openStudio := idsWhere(func(p store.Post) bool { return strings.Contains(p.Caption, "#openstudio") })
	if len(handmade) != 4 || len(openStudio) != 4 {
		t.Fatalf("test data: %d #handmade and %d #openstudio posts, want 4 each", len(handmade), len(openStudio))
	}
	jsonIDs := func(path string) []string {
		var ids []string
		for _, p := range decodeJSON(t, e.get(path).text(t)).Posts {
			ids = append(ids, p.ID)
		}
		return ids
	}

	for _, tc := range []struct {
		query string
		want  []string // the JSON's posts; the markup shows the first 3
	}{
		{"include_words=handmade", handmade},
		{"include_words=%23HandMade,%20nothing", handmade},
		{"include_words=handmade&language=pt", handmade},
		{"exclude_words=studio", nil}, // the configured #photography posts all say studio
		{"include_words=handmade+openstudio&exclude_words=colourways", openStudio},
	} {
		if got := jsonIDs("/widget.json?" + tc.query); !slices.Equal(got, tc.want) {
			t.Errorf("/widget.json?%s: %v, want %v", tc.query, got, tc.want)
		}
		shown := tc.want[:min(3, len(tc.want))]
		for _, path := range []string{"/widget?", "/widget?fragment=1&", "/widget.js?"} {
			body := e.get(path + tc.query).text(t)
			if got := shownIDs(strings.ReplaceAll(body, `\u0026`, "&")); !slices.Equal(got, shown) {
				t.Errorf("%s%s shows %v, want %v", path, tc.query, got, shown)
			}
		}
	}
	if got := jsonIDs("/widget.json"); len(got) != 4 {
		t.Errorf("the configured gallery (#photography) has %d posts, want 4", len(got))
	}

	// Load more in a filtered gallery asks for the same filter; the
	// configured gallery's markup names none.
	mustContain(t, "filtered page", e.get("/widget?include_words=HANDMADE").text(t), `data-q="?include_words=handmade"`)
	mustContain(t, "filtered page in Portuguese", e.get("/widget?include_words=handmade&language=pt").text(t), `<html lang="pt">`, ">Seguir<")
	mustNotContain(t, "configured page", e.get("/widget").text(t), "data-q=")

	// Words over the limits are dropped: the configured gallery, no error.
	long := strings.Repeat("x", maxFilterWordLen+1)
	if r := e.get("/widget?include_words=" + long); r.StatusCode != 200 || strings.Contains(r.text(t), "data-q=") {
		t.Errorf("an over-long word: %d, filtered = %v", r.StatusCode, strings.Contains(r.text(t), "data-q="))
	}

	// Spellings of one filter share a word gallery; words no caption has
	// share one too (include: nothing; exclude: the configured gallery).
	s := e.w.cur.Load()
	variantCount := func() int {
		s.wordGalleries.mu.Lock()
		defer s.wordGalleries.mu.Unlock()
		return len(s.wordGalleries.byKey)
	}
	before := variantCount()
	e.get("/widget.js?include_words=HANDMADE,,handmade")
	if n := variantCount(); n != before {
		t.Errorf("another spelling of a filter built a variant (%d → %d)", before, n)
	}
	for i := range maxWordGalleries + 5 {
		if got := jsonIDs("/widget.json?include_words=madeup" + strconv.Itoa(i)); len(got) != 0 {
			t.Fatalf("a word no caption has shows %v", got)
		}
		mustNotContain(t, "exclude a word no caption has", e.get("/widget?exclude_words=madeup"+strconv.Itoa(i)).text(t), "data-q=")
	}
	if n := variantCount(); n != before+1 {
		t.Errorf("made-up words built %d variants, want 1", n-before)
	}
	// Real words in new combinations, each asked once, replace one another
	// on probation; a filter asked for again is protected and stays.
	vocabulary := []string{"morning", "light", "studio", "prints", "friday", "photography", "behind", "scenes", "autumn", "shoot", "colourways", "packing", "orders", "afternoon", "space", "weekend", "saturday", "three", "small", "batches", "swipe"}
	for i := range maxWordGalleries + 3 {
		e.get("/widget.js?include_words=handmade," + vocabulary[i])
		e.get("/widget.js?include_words=handmade") // in use: stays
	}
	s.wordGalleries.mu.Lock()
	_, kept := s.wordGalleries.byKey[s.lang+"\x00handmade\x00\x00false\x000"]
	onProbation, n := len(s.wordGalleries.probation), len(s.wordGalleries.byKey)
	s.wordGalleries.mu.Unlock()
	if !kept {
		t.Error("the filter asked for all along was evicted")
	}
	if onProbation != maxOnProbation || n > maxWordGalleries || n != s.wordGalleries.len() {
		t.Errorf("%d word galleries kept, %d on probation; want at most %d, %d on probation", n, onProbation, maxWordGalleries, maxOnProbation)
	}

	// A new snapshot starts with no variants: a hidden post leaves the
	// filtered gallery too.
	if _, err := e.st.HidePost(t.Context(), handmade[0]); err != nil {
		t.Fatal(err)
	}
	e.rebuild()
	if got := jsonIDs("/widget.json?include_words=handmade"); !slices.Equal(got, handmade[1:]) {
		t.Errorf("after hiding %s: %v, want %v", handmade[0], got, handmade[1:])
	}
}
