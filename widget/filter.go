package widget

import (
	"strings"
	"unicode"

	"vitrine/appearance"
	"vitrine/store"
)

// postFilter is what widget.media_types, widget.include_words and
// widget.exclude_words keep of the cached posts. Reels are VIDEO posts.
type postFilter struct {
	types            map[string]bool // empty: every type
	include, exclude []string        // lower case
}

func newPostFilter(cfg appearance.Settings) postFilter {
	f := postFilter{types: map[string]bool{}}
	for _, t := range cfg.MediaTypes {
		f.types[t] = true
	}
	lower := func(ws []string) []string {
		out := make([]string, 0, len(ws))
		for _, w := range ws {
			if w = strings.ToLower(strings.TrimSpace(w)); w != "" && w != "#" {
				out = append(out, w)
			}
		}
		return out
	}
	f.include, f.exclude = lower(cfg.IncludeWords), lower(cfg.ExcludeWords)
	return f
}

// keeps reports whether p is shown.
func (f postFilter) keeps(p store.Post) bool {
	if len(f.types) > 0 && !f.types[mediaType(p.MediaType)] {
		return false
	}
	if len(f.include) == 0 && len(f.exclude) == 0 {
		return true
	}
	tokens := captionTokens(p.Caption)
	has := func(words []string) bool {
		for _, w := range words {
			if tokens[w] || !strings.HasPrefix(w, "#") && tokens["#"+w] {
				return true
			}
		}
		return false
	}
	return (len(f.include) == 0 || has(f.include)) && !has(f.exclude)
}

// captionTokens are the caption's words and #hashtags, in lower case: a
// filter word matches the word or its hashtag, a filter #hashtag only the
// hashtag.
func captionTokens(caption string) map[string]bool {
	tokens := map[string]bool{}
	word := func(r rune) bool { return unicode.IsLetter(r) || unicode.IsNumber(r) || r == '_' }
	start := -1
	flush := func(end int) {
		if start >= 0 {
			tokens[strings.ToLower(caption[start:end])] = true
			start = -1
		}
	}
	for i, r := range caption {
		switch {
		case word(r):
			if start < 0 {
				start = i
			}
		case r == '#' && start < 0:
			start = i
		default:
			flush(i)
		}
	}
	flush(len(caption))
	delete(tokens, "#")
	return tokens
}
