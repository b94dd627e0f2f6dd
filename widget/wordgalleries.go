package widget

import (
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"

	"vitrine/appearance"
	"vitrine/store"
)

// Caption filters per embed: data-include-words / data-exclude-words on a
// JS embed (the loader asks for widget.js?include_words=…) and the same
// query on /widget and /widget.json. Filtering by caption needs the
// captions of every post, which the default embed does not carry, so the
// server filters: each filter makes a word gallery of the snapshot, built on
// first use and kept beside it, a few at most. Captions are shipped only
// where they are shown, so an embed's captions=true (or false) makes a word
// gallery too, filtered or not.

// Limits on a filter from the query: enough for any real embed, and they
// bound what a made-up query can make the server build.
const (
	maxFilterWords   = 10
	maxFilterWordLen = 50
	// A snapshot keeps maxWordGalleries word galleries: the ones asked
	// for twice or more (protected), and the newest few asked for once
	// (on probation), so a stream of one-off filters only replaces the
	// latter.
	maxWordGalleries = 16
	maxOnProbation   = 4
	// Building a new word gallery costs about 3 ms, 10 to 100 times a
	// prepared answer; new filters may start at most this many builds a
	// second (with as many at once), all visitors together. Over that, a
	// request is told to come back in a second (busyAsset). Filters the
	// last snapshot's visitors kept asking for are rebuilt outside it.
	wordGalleryBuildsPerSecond = 20
)

// The query parameters the server applies itself, as the options table
// names them.
var (
	languageParam     = queryParam("language")
	captionsParam     = queryParam("captions")
	captionLenParam   = queryParam("caption_length")
	includeWordsParam = queryParam("include_words")
	excludeWordsParam = queryParam("exclude_words")
)

// queryParam is the /widget query parameter of the option with key.
func queryParam(key string) string {
	o, ok := appearance.Lookup(key)
	if !ok || o.Query == "" || o.AppliedBy != appearance.Server {
		panic("widget: the options table has no server-applied query parameter for " + key)
	}
	return o.Query
}

// wordFilter is a query's caption filter, normalised: lower case, sorted,
// without repeats, so two spellings of one filter share a word gallery.
type wordFilter struct {
	include, exclude []string
}

func (f wordFilter) empty() bool { return len(f.include) == 0 && len(f.exclude) == 0 }

// parseWordFilter reads include_words and exclude_words from q: words or
// #hashtags separated by commas or spaces. Words over the limits are
// dropped, never an error: a bad embed still shows a gallery.
func parseWordFilter(q url.Values) wordFilter {
	words := func(key string) []string {
		var out []string
		for _, v := range q[key] {
			for _, w := range strings.FieldsFunc(v, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' || r == '\n' }) {
				w = strings.ToLower(w)
				if w != "#" && len(w) <= maxFilterWordLen && !slices.Contains(out, w) && len(out) < maxFilterWords {
					out = append(out, w)
				}
			}
		}
		slices.Sort(out)
		return out
	}
	return wordFilter{include: words(includeWordsParam), exclude: words(excludeWordsParam)}
}

// query is the filter as /widget.json's query, which the Load more button
// of a filtered gallery asks with: "?include_words=a,b&exclude_words=c".
func (f wordFilter) query() string {
	v := url.Values{}
	if len(f.include) > 0 {
		v.Set(includeWordsParam, strings.Join(f.include, ","))
	}
	if len(f.exclude) > 0 {
		v.Set(excludeWordsParam, strings.Join(f.exclude, ","))
	}
	if len(v) == 0 {
		return ""
	}
	return "?" + v.Encode()
}

// wordGallery is the snapshot's gallery under one caption filter, in one
// language: its model, and each asset rendered when first asked for (a
// script embed never needs the page).
type wordGallery struct {
	view galleryView
	doc  jsonDoc
	views
	json *asset
}

// wordGalleries holds the word galleries built from one snapshot, in two
// segments, each least recently used first: a filter asked for once waits
// on probation; asked again, it is protected. A new filter replaces the
// oldest on probation, so a stream of made-up filters costs the server
// at most a budgeted render each, never memory, and never the galleries
// real embeds keep asking for.
type wordGalleries struct {
	mu                   sync.Mutex
	byKey                map[string]*wordGallery
	probation, protected []string
	vocabulary           map[string]bool // every caption's words and hashtags, made on first use
	// favoured are the filters the previous snapshot protected: admitted
	// here as protected, and built without the budget.
	favoured map[string]bool
}

// successor is the empty word galleries of the next snapshot, favouring
// the filters these protect (and those they favoured, not yet asked for).
func (vs *wordGalleries) successor() *wordGalleries {
	vs.mu.Lock()
	defer vs.mu.Unlock()
	next := &wordGalleries{favoured: map[string]bool{}}
	for _, k := range vs.protected {
		next.favoured[k] = true
	}
	for k := range vs.favoured {
		if _, asked := vs.byKey[k]; !asked && len(next.favoured) < maxWordGalleries {
			next.favoured[k] = true
		}
	}
	return next
}

// len is how many word galleries vs holds.
func (vs *wordGalleries) len() int { return len(vs.probation) + len(vs.protected) }

// touch records a use of the cached key: on probation it is promoted;
// protected, it becomes the most recent.
func (vs *wordGalleries) touch(key string) {
	if i := slices.Index(vs.protected, key); i >= 0 {
		vs.protected = append(slices.Delete(vs.protected, i, i+1), key)
		return
	}
	if i := slices.Index(vs.probation, key); i >= 0 {
		vs.probation = slices.Delete(vs.probation, i, i+1)
		vs.protect(key)
	}
}

// protect appends key to the protected segment; when that is full its
// oldest goes back on probation.
func (vs *wordGalleries) protect(key string) {
	vs.protected = append(vs.protected, key)
	if len(vs.protected) > maxWordGalleries-maxOnProbation {
		demoted := vs.protected[0]
		vs.protected = vs.protected[1:]
		vs.admit(demoted)
	}
}

// admit puts key on probation, evicting the oldest there when full.
func (vs *wordGalleries) admit(key string) {
	if len(vs.probation) >= maxOnProbation {
		delete(vs.byKey, vs.probation[0])
		vs.probation = vs.probation[1:]
	}
	vs.probation = append(vs.probation, key)
}

// effective is f as it acts on these captions: words no caption has are
// dropped (an include list left empty that way becomes one that matches
// nothing), so made-up words share one word gallery instead of each making
// its own. ok is false when nothing is left to filter by.
func (vs *wordGalleries) effective(f wordFilter, posts []store.Post) (wordFilter, bool) {
	if vs.vocabulary == nil {
		vs.vocabulary = map[string]bool{}
		for _, p := range posts {
			for t := range captionTokens(p.Caption) {
				vs.vocabulary[t] = true
			}
		}
	}
	known := func(words []string) []string {
		var out []string
		for _, w := range words {
			if vs.vocabulary[w] || !strings.HasPrefix(w, "#") && vs.vocabulary["#"+w] {
				out = append(out, w)
			}
		}
		return out
	}
	out := wordFilter{include: known(f.include), exclude: known(f.exclude)}
	if len(f.include) > 0 && len(out.include) == 0 {
		out.include = []string{"#"} // no caption has "#" alone: nothing matches
	}
	return out, !out.empty()
}

// captionsChoice is whether the markup carries captions, and cut to how
// many characters (0: whole).
type captionsChoice struct {
	shown  bool
	length int
}

// filtered answers the asset of kind (the fragment when fragment is set)
// for the gallery filtered by f in the language lang, with captions as
// captions says, building what it needs on first use. It is nil when
// neither the filter nor the captions change anything, and the caller
// serves the snapshot's own asset; w.busy when building is over budget.
func (w *Widget) filtered(s *snapshot, f wordFilter, lang string, captions captionsChoice, kind routeKind, fragment bool) *asset {
	vs := s.wordGalleries
	vs.mu.Lock()
	defer vs.mu.Unlock()
	eff, ok := vs.effective(f, s.in.posts)
	if !ok && captions == (captionsChoice{s.in.look.Captions, s.in.look.CaptionLength}) {
		return nil
	}
	key := lang + "\x00" + strings.Join(eff.include, ",") + "\x00" + strings.Join(eff.exclude, ",") + "\x00" + strconv.FormatBool(captions.shown) + "\x00" + strconv.Itoa(captions.length)
	v, cached := vs.byKey[key]
	if cached && v.has(kind, fragment) {
		vs.touch(key)
		return v.pick(kind, fragment, v.json)
	}
	if !vs.favoured[key] && !w.wordGalleryBuilds.Allow() {
		return w.busy
	}
	var err error
	if cached {
		vs.touch(key)
	} else {
		v, err = w.wordGallery(s, vs, key, eff, lang, captions)
	}
	if err == nil {
		err = w.renderWordGallery(v, kind, fragment)
	}
	if err != nil {
		w.log.Error("widget: build a filtered gallery", "err", err)
		return nil
	}
	return v.pick(kind, fragment, v.json)
}

// wordGallery models the word gallery under key and keeps it: the embed's
// words stand in place of the configured ones (an embed's option replaces
// the default, like every other option). Load more asks /widget.json with
// the words it filters on (eff), never the request's own spelling, which
// a shared, cacheable answer must not repeat.
func (w *Widget) wordGallery(s *snapshot, vs *wordGalleries, key string, eff wordFilter, lang string, captions captionsChoice) (*wordGallery, error) {
	filter := newPostFilter(s.in.look)
	if len(eff.include) > 0 {
		filter.include = eff.include
	}
	if len(eff.exclude) > 0 {
		filter.exclude = eff.exclude
	}
	in := s.in
	in.look.Captions, in.look.CaptionLength = captions.shown, captions.length
	view, doc, err := w.model(in, s.files, s.videos, s.doc.Stale, filter)
	if err != nil {
		return nil, err
	}
	view.JSONQuery = eff.query()
	v := &wordGallery{view: inLanguage(view, lang), doc: doc}
	if vs.byKey == nil {
		vs.byKey = map[string]*wordGallery{}
	}
	vs.byKey[key] = v
	if vs.favoured[key] {
		vs.protect(key)
	} else {
		vs.admit(key)
	}
	return v, nil
}

// has reports whether v's asset of kind is rendered.
func (v *wordGallery) has(kind routeKind, fragment bool) bool {
	return v.pick(kind, fragment, v.json) != nil
}

// renderWordGallery renders v's asset of kind unless it already has it.
func (w *Widget) renderWordGallery(v *wordGallery, kind routeKind, fragment bool) error {
	var err error
	switch {
	case kind == kindJSON && v.json == nil:
		v.json, err = jsonAsset(&v.doc, w.galleryFields(kindJSON, ""))
	case kind == kindScript && v.js == nil:
		v.js, err = w.renderScript(v.view)
	case kind == kindPage && fragment && v.fragment == nil:
		v.fragment, err = w.renderFragment(v.view)
	case kind == kindPage && !fragment && v.page == nil:
		v.page, err = w.renderPage(v.view)
	}
	return err
}
