package moderation

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
	"unicode"
	"unicode/utf8"

	"vitrine/store"
)

// A post's link: a button the owner adds to a post, such as where to buy
// what it shows. It is kept across syncs with the other decisions.
const (
	// DefaultLinkLabel is the button's words when the owner gives none,
	// as the dashboard shows them; the gallery says them in its language.
	DefaultLinkLabel = "Shop this"
	// MaxLinkLabel bounds a label, in characters: the words of a button.
	MaxLinkLabel = 40
	// MaxLinkURL bounds an address, in bytes.
	MaxLinkURL = 2000
)

// ErrBadLink is what every LinkError is: the link was refused and nothing
// was saved.
var ErrBadLink = errors.New("moderation: bad link")

// LinkError says, in words for the owner, why a link was refused.
type LinkError struct {
	Field   string // "url" or "label"
	Message string
}

func (e *LinkError) Error() string { return "moderation: bad link " + e.Field + ": " + e.Message }

func (e *LinkError) Is(target error) bool { return target == ErrBadLink }

// CheckLink is the owner's link as it is kept, or a *LinkError: the
// address must be an absolute http or https URL to a host, without a
// user name or password (which could dress one site as another), spaces
// or control characters; the label is trimmed to one line of at most
// MaxLinkLabel characters, "" meaning DefaultLinkLabel in the gallery's
// language. Anything else (javascript:, data:, a relative path) would put
// the owner's visitors somewhere the owner did not mean.
func CheckLink(rawURL, label string) (store.Link, error) {
	u, err := checkLinkURL(strings.TrimSpace(rawURL))
	if err != nil {
		return store.Link{}, err
	}
	l, err := checkLinkLabel(label)
	if err != nil {
		return store.Link{}, err
	}
	return store.Link{URL: u, Label: l}, nil
}

func checkLinkURL(s string) (string, error) {
	bad := func(msg string) (string, error) { return "", &LinkError{Field: "url", Message: msg} }
	switch {
	case s == "":
		return bad("Enter the address the button opens, such as https://shop.example/mug.")
	case len(s) > MaxLinkURL:
		return bad(fmt.Sprintf("The address is too long: at most %d characters.", MaxLinkURL))
	case !utf8.ValidString(s) || strings.IndexFunc(s, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }) >= 0:
		return bad("The address may not contain spaces or control characters.")
	}
	u, err := url.Parse(s)
	if err != nil {
		return bad("That is not a web address. Write it in full, such as https://shop.example/mug.")
	}
	scheme := strings.ToLower(u.Scheme)
	switch {
	case scheme != "http" && scheme != "https":
		return bad("Only web addresses starting with https:// or http:// can be linked.")
	case u.Opaque != "" || u.Host == "" || u.Hostname() == "":
		return bad("The address must name a site, such as https://shop.example/mug.")
	case u.User != nil:
		return bad("The address may not contain a user name or password.")
	}
	u.Scheme = scheme
	return u.String(), nil
}

func checkLinkLabel(s string) (string, error) {
	if !utf8.ValidString(s) {
		return "", &LinkError{Field: "label", Message: "The button's words are not valid text."}
	}
	// One line: newlines and tabs become spaces, runs of spaces one.
	s = strings.Join(strings.FieldsFunc(s, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }), " ")
	if n := utf8.RuneCountInString(s); n > MaxLinkLabel {
		return "", &LinkError{Field: "label", Message: fmt.Sprintf("The button's words are too long: at most %d characters.", MaxLinkLabel)}
	}
	return s, nil
}
