package fake

import (
	"fmt"
	"strings"
)

// field is one entry of a Graph "fields" parameter, e.g. children in
// "id,children{id,media_url}". Modifiers such as ".limit(5)" are accepted
// and ignored.
type field struct {
	name string
	sub  []field // nil: no {…} given
}

// parseFields parses Graph field syntax: comma-separated names, each
// optionally followed by modifiers and a braced sub-list.
func parseFields(s string) ([]field, error) {
	p := fieldParser{s: s}
	fs, err := p.list(0)
	if err != nil {
		return nil, err
	}
	if p.i < len(p.s) {
		return nil, p.syntaxError()
	}
	return fs, nil
}

type fieldParser struct {
	s string
	i int
}

func (p *fieldParser) syntaxError() error {
	return fmt.Errorf("Syntax error \"Unexpected character\" at character %d: %s", p.i, p.s)
}

func (p *fieldParser) list(depth int) ([]field, error) {
	if depth > 8 {
		return nil, p.syntaxError()
	}
	fs := []field{}
	for p.i < len(p.s) {
		switch c := p.s[p.i]; {
		case c == ',' || c == ' ':
			p.i++
			continue
		case c == '}':
			return fs, nil
		}
		start := p.i
		paren := 0
		for p.i < len(p.s) {
			c := p.s[p.i]
			if c == '(' {
				paren++
			} else if c == ')' {
				paren--
			} else if paren == 0 && (c == ',' || c == '{' || c == '}') {
				break
			}
			p.i++
		}
		if paren != 0 {
			return nil, p.syntaxError()
		}
		name, _, _ := strings.Cut(strings.TrimSpace(p.s[start:p.i]), ".")
		if name == "" {
			return nil, p.syntaxError()
		}
		f := field{name: name}
		if p.i < len(p.s) && p.s[p.i] == '{' {
			p.i++
			sub, err := p.list(depth + 1)
			if err != nil {
				return nil, err
			}
			if p.i >= len(p.s) || p.s[p.i] != '}' {
				return nil, p.syntaxError()
			}
			p.i++
			f.sub = sub
		}
		fs = append(fs, f)
	}
	if depth > 0 {
		return nil, p.syntaxError() // unclosed '{'
	}
	return fs, nil
}

// Fields each node type has. Asking for another is a code 100 error, as on
// the real API, so a client typo shows up in tests.
var (
	userFields = set("id", "user_id", "username", "name", "account_type", "profile_picture_url",
		"followers_count", "follows_count", "media_count", "biography", "website", "media")
	mediaFields = set("id", "caption", "media_type", "media_product_type", "media_url", "thumbnail_url",
		"permalink", "shortcode", "timestamp", "username", "alt_text", "like_count", "comments_count",
		"is_comment_enabled", "is_shared_to_feed", "owner", "children")
	ownerFields = set("id", "username")
)

func set(names ...string) map[string]bool {
	m := make(map[string]bool, len(names))
	for _, n := range names {
		m[n] = true
	}
	return m
}

// checkFields rejects fields the node type does not have, recursing into
// the edges that take sub-fields (media items accept mediaAllowed).
func checkFields(fs []field, allowed, mediaAllowed map[string]bool, nodeType string) *graphError {
	for _, f := range fs {
		if !allowed[f.name] {
			return &graphError{Message: fmt.Sprintf("(#100) Tried accessing nonexisting field (%s) on node type (%s)", f.name, nodeType), Code: 100}
		}
		var err *graphError
		switch f.name {
		case "media", "children":
			err = checkFields(f.sub, mediaAllowed, mediaAllowed, "IGMedia")
		case "owner":
			err = checkFields(f.sub, ownerFields, mediaAllowed, "User")
		}
		if err != nil {
			return err
		}
	}
	return nil
}
