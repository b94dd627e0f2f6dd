// Package appearance is the gallery's options table: every way a site owner
// shapes the gallery, each with its config key, the data- attribute an embed
// may set it with, its /widget query parameter, its type and range, its
// default, whether the server or the visitor's browser applies it, and its
// label on the dashboard's Appearance page.
//
// Everything that spells an option derives from Options: config's
// validation, the widget's query parsing, the loader's constants (generated
// into the loader, with a test that fails on drift) and the Appearance
// form. The settings a site owner saves live in the database as the text
// forms of the options that differ from the config file's (Overrides); the
// gallery applies them over the file's values (With).
package appearance

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode"
)

// Settings are the gallery's options' values. Their yaml names are the keys
// under widget: in the config file.
type Settings struct {
	Layout          string   `yaml:"layout"`
	Aspect          string   `yaml:"aspect"`
	Columns         int      `yaml:"columns"`
	ColumnsMobile   int      `yaml:"columns_mobile"`
	Count           int      `yaml:"count"`
	LoadMore        bool     `yaml:"load_more"`
	Captions        bool     `yaml:"captions"`
	CaptionLength   int      `yaml:"caption_length"`
	Language        string   `yaml:"language"`
	Header          bool     `yaml:"header"`
	FollowButton    bool     `yaml:"follow_button"`
	Bio             bool     `yaml:"bio"`
	Counts          string   `yaml:"counts"`
	ShopLinkOnTile  bool     `yaml:"shop_link_on_tile"`
	Theme           string   `yaml:"theme"`
	AccentColor     string   `yaml:"accent_color"`
	TextColor       string   `yaml:"text_color"`
	BackgroundColor string   `yaml:"background_color"`
	Radius          int      `yaml:"radius"`
	Gap             int      `yaml:"gap"`
	MediaTypes      []string `yaml:"media_types"`
	IncludeWords    []string `yaml:"include_words"`
	ExcludeWords    []string `yaml:"exclude_words"`
}

// Kind is an option's type: how its value is written as text and checked.
type Kind int

const (
	Choice Kind = iota // one of Values
	Number             // a whole number in [Min, Max]
	Switch             // true or false
	Colour             // "#rrggbb", or "" for the theme's own
	Words              // words or #hashtags, each without spaces
	Subset             // one or more of Values
)

// Applier says who applies an option. An option the browser applies costs
// the server nothing per embed (the loader shapes the served gallery); one
// the server applies makes the server build another gallery.
type Applier int

const (
	Browser Applier = iota
	Server
)

// Option is one row of the table.
type Option struct {
	Key   string // config key under widget:, and the key it is saved under
	Attr  string // data- attribute name on a JS embed ("" when an embed can't set it)
	Query string // /widget query parameter ("" when none)
	Kind  Kind
	// Values are a Choice's or Subset's allowed values, in the order the
	// Appearance page offers them, and ValueLabels their words there.
	Values, ValueLabels []string
	Min, Max            int // a Number's range
	AppliedBy           Applier
	// Narrows: the option shows details the gallery ships only when the
	// saved settings show them (they cost a gallery without them nothing),
	// so an embed's attribute or the page's query can hide them or change
	// how they show, but not turn them on where the settings have them off.
	Narrows bool
	// Group is the Appearance page's section; Label and Help its words.
	Group, Label, Help string

	field func(*Settings) any // a pointer to the option's field
}

// Values accepted by the choices, exported for the code that switches on
// them.
var (
	Layouts    = []string{"grid", "carousel", "masonry", "highlight"}
	Aspects    = []string{"1:1", "4:5", "original"}
	Languages  = []string{"en", "pt", "es", "fr", "de"}
	MediaTypes = []string{"IMAGE", "VIDEO", "CAROUSEL_ALBUM"}
	CountModes = []string{"off", "hover", "below"}
	Themes     = []string{"light", "dark", "auto"}
)

// Limits that other code needs as numbers.
const (
	MaxColumns       = 12
	MaxColumnsMobile = 6
	// MaxCount bounds widget.count here; config also holds it to
	// widget.max_posts, which is not a gallery option.
	MaxCount         = 1000
	MaxCaptionLength = 2200 // Instagram's own limit on a caption
	MaxRadius        = 32
	MaxGap           = 32
)

// The Appearance page's sections, in order.
const (
	GroupLayout  = "Layout"
	GroupPosts   = "Posts"
	GroupHeader  = "Header"
	GroupColours = "Colours"
	GroupFilter  = "Which posts"
)

// Groups lists the sections in the order the page shows them.
var Groups = []string{GroupLayout, GroupPosts, GroupHeader, GroupColours, GroupFilter}

// Options is the table. Its order is the Appearance page's.
var Options = []Option{
	{Key: "layout", Attr: "layout", Query: "layout", Kind: Choice, Values: Layouts, ValueLabels: []string{"Grid", "Carousel", "Masonry", "Highlight"}, Group: GroupLayout,
		Label: "Layout", Help: "A grid, one scrolling row, columns of different heights, or a grid led by one large post.",
		field: func(s *Settings) any { return &s.Layout }},
	{Key: "aspect", Attr: "aspect", Query: "aspect", Kind: Choice, Values: Aspects, ValueLabels: []string{"Square (1:1)", "Portrait (4:5)", "Each picture's own"}, Group: GroupLayout,
		Label: "Tile shape", Help: "Square, portrait 4:5, or each picture's own shape.",
		field: func(s *Settings) any { return &s.Aspect }},
	{Key: "columns", Attr: "columns", Query: "columns", Kind: Number, Min: 1, Max: MaxColumns, Group: GroupLayout,
		Label: "Columns", Help: "On a gallery wider than 480 px.",
		field: func(s *Settings) any { return &s.Columns }},
	{Key: "columns_mobile", Attr: "columns-mobile", Query: "columns_mobile", Kind: Number, Min: 1, Max: MaxColumnsMobile, Group: GroupLayout,
		Label: "Columns on phones", Help: "On a gallery 480 px wide or narrower.",
		field: func(s *Settings) any { return &s.ColumnsMobile }},
	{Key: "gap", Attr: "gap", Query: "gap", Kind: Number, Min: 0, Max: MaxGap, Group: GroupLayout,
		Label: "Gap", Help: "Space between tiles, in pixels.",
		field: func(s *Settings) any { return &s.Gap }},
	{Key: "radius", Attr: "radius", Query: "radius", Kind: Number, Min: 0, Max: MaxRadius, Group: GroupLayout,
		Label: "Corner radius", Help: "Rounding of tiles and buttons, in pixels.",
		field: func(s *Settings) any { return &s.Radius }},

	{Key: "count", Attr: "count", Query: "count", Kind: Number, Min: 1, Max: MaxCount, Group: GroupPosts,
		Label: "Posts shown", Help: "Before Load more.",
		field: func(s *Settings) any { return &s.Count }},
	{Key: "load_more", Attr: "load-more", Query: "load_more", Kind: Switch, Group: GroupPosts,
		Label: "Load more button", Help: "Shows further posts in the page, without leaving it.",
		field: func(s *Settings) any { return &s.LoadMore }},
	// Captions are in the markup only when shown (they would weigh more
	// than the rest of an embed), so an embed that asks for them loads the
	// gallery the server built with them.
	{Key: "captions", Attr: "captions", Query: "captions", Kind: Switch, AppliedBy: Server, Group: GroupPosts,
		Label: "Captions under posts",
		field: func(s *Settings) any { return &s.Captions }},
	{Key: "caption_length", Query: "caption_length", Kind: Number, Min: 0, Max: MaxCaptionLength, AppliedBy: Server, Group: GroupPosts,
		Label: "Caption length", Help: "Characters shown under a post; 0 shows all. The lightbox shows the whole caption.",
		field: func(s *Settings) any { return &s.CaptionLength }},
	{Key: "counts", Attr: "counts", Query: "counts", Kind: Choice, Values: CountModes, ValueLabels: []string{"Off", "On hover", "Below each post"}, Narrows: true, Group: GroupPosts,
		Label: "Likes and comments", Help: "Off, over a tile when pointed at, or below it. Posts whose counts Instagram withholds show none. An embed can hide them or move them, not show them when they are off here.",
		field: func(s *Settings) any { return &s.Counts }},
	{Key: "shop_link_on_tile", Attr: "shop-link-on-tile", Query: "shop_link_on_tile", Kind: Switch, Group: GroupPosts,
		Label: "Shop links on tiles", Help: "A post's link (set under Posts) also shows on its tile, not only in the lightbox.",
		field: func(s *Settings) any { return &s.ShopLinkOnTile }},
	{Key: "language", Attr: "language", Query: "language", Kind: Choice, Values: Languages, ValueLabels: []string{"English", "Português", "Español", "Français", "Deutsch"}, AppliedBy: Server, Group: GroupPosts,
		Label: "Language", Help: "Of the gallery's own words (buttons, labels).",
		field: func(s *Settings) any { return &s.Language }},

	{Key: "header", Attr: "header", Query: "header", Kind: Switch, Group: GroupHeader,
		Label: "Header", Help: "The account's picture and name above the posts.",
		field: func(s *Settings) any { return &s.Header }},
	{Key: "follow_button", Attr: "follow-button", Query: "follow_button", Kind: Switch, Group: GroupHeader,
		Label: "Follow button",
		field: func(s *Settings) any { return &s.FollowButton }},
	{Key: "bio", Attr: "bio", Query: "bio", Kind: Switch, Narrows: true, Group: GroupHeader,
		Label: "Bio and followers", Help: "The account's biography and follower count in the header. An embed can hide them, not show them when they are off here.",
		field: func(s *Settings) any { return &s.Bio }},

	{Key: "theme", Attr: "theme", Query: "theme", Kind: Choice, Values: Themes, ValueLabels: []string{"Light", "Dark", "Auto (the visitor's)"}, Group: GroupColours,
		Label: "Theme", Help: "Auto follows the visitor's light or dark setting.",
		field: func(s *Settings) any { return &s.Theme }},
	{Key: "accent_color", Attr: "accent-color", Query: "accent_color", Kind: Colour, Group: GroupColours,
		Label: "Accent", Help: "The Follow and Load more buttons. Empty: the theme's.",
		field: func(s *Settings) any { return &s.AccentColor }},
	{Key: "text_color", Attr: "text-color", Query: "text_color", Kind: Colour, Group: GroupColours,
		Label: "Text", Help: "Empty: the theme's.",
		field: func(s *Settings) any { return &s.TextColor }},
	{Key: "background_color", Attr: "background-color", Query: "background_color", Kind: Colour, Group: GroupColours,
		Label: "Background", Help: "Empty: the theme's (transparent in light, dark grey in dark).",
		field: func(s *Settings) any { return &s.BackgroundColor }},

	{Key: "media_types", Attr: "media-types", Query: "media_types", Kind: Subset, Values: MediaTypes, ValueLabels: []string{"Photos", "Videos and reels", "Carousels"}, Group: GroupFilter,
		Label: "Kinds of post", Help: "Reels count as videos.",
		field: func(s *Settings) any { return &s.MediaTypes }},
	{Key: "include_words", Attr: "include-words", Query: "include_words", Kind: Words, AppliedBy: Server, Group: GroupFilter,
		Label: "Only posts with", Help: "Words or #hashtags, separated by spaces; empty shows every post.",
		field: func(s *Settings) any { return &s.IncludeWords }},
	{Key: "exclude_words", Attr: "exclude-words", Query: "exclude_words", Kind: Words, AppliedBy: Server, Group: GroupFilter,
		Label: "Leave out posts with", Help: "Words or #hashtags, separated by spaces.",
		field: func(s *Settings) any { return &s.ExcludeWords }},
}

// Defaults are the settings a config file that names none of the options
// gets.
func Defaults() Settings {
	return Settings{
		Layout:        "grid",
		Aspect:        "1:1",
		Columns:       3,
		ColumnsMobile: 2,
		Count:         12,
		LoadMore:      true,
		Captions:      false,
		CaptionLength: 0,
		Language:      "en",
		Header:        true,
		FollowButton:  true,
		Counts:        "off",
		Theme:         "light",
		Radius:        3,
		Gap:           4,
		MediaTypes:    slices.Clone(MediaTypes),
	}
}

// Lookup returns the option with the given key.
func Lookup(key string) (Option, bool) {
	i := slices.IndexFunc(Options, func(o Option) bool { return o.Key == key })
	if i < 0 {
		return Option{}, false
	}
	return Options[i], true
}

// ErrUnknownOption is Set's error for a key the table does not have.
var ErrUnknownOption = errors.New("no such gallery option")

// Text is the option's value in s as text: the form the database, a form
// field, a data- attribute and a query parameter all use. A Switch is
// "true" or "false"; Words are separated by spaces, a Subset by commas.
func (o Option) Text(s Settings) string {
	switch v := o.field(&s).(type) {
	case *string:
		return *v
	case *int:
		return strconv.Itoa(*v)
	case *bool:
		return strconv.FormatBool(*v)
	case *[]string:
		if o.Kind == Subset {
			return strings.Join(*v, ",")
		}
		return strings.Join(*v, " ")
	}
	panic("appearance: option " + o.Key + " has a field of no known type")
}

// Set parses text as the option's value into s. The error says what the
// option accepts; s is unchanged on error.
func (o Option) Set(s *Settings, text string) error {
	text = strings.TrimSpace(text)
	probe := s.Clone()
	switch field := o.field(&probe).(type) {
	case *string:
		*field = text
		if o.Kind == Colour {
			*field = strings.ToLower(text)
		}
	case *int:
		n, err := strconv.Atoi(text)
		if err != nil {
			return o.rangeError()
		}
		*field = n
	case *bool:
		b, err := strconv.ParseBool(text)
		if err != nil {
			return errors.New("must be true or false")
		}
		*field = b
	case *[]string:
		items := strings.FieldsFunc(text, func(r rune) bool { return r == ',' || unicode.IsSpace(r) })
		if o.Kind == Subset {
			var picked []string
			for _, v := range items {
				if v = strings.ToUpper(v); !slices.Contains(picked, v) {
					picked = append(picked, v)
				}
			}
			items = picked
		}
		*field = items
	}
	if err := o.check(probe); err != nil {
		return err
	}
	*s = probe
	return nil
}

// check says what is wrong with the option's value in s, if anything.
func (o Option) check(s Settings) error {
	switch o.Kind {
	case Choice:
		if !slices.Contains(o.Values, *o.field(&s).(*string)) {
			return fmt.Errorf("must be one of %s", strings.Join(o.Values, ", "))
		}
	case Number:
		if n := *o.field(&s).(*int); n < o.Min || n > o.Max {
			return o.rangeError()
		}
	case Colour:
		if c := *o.field(&s).(*string); c != "" && !colourRE.MatchString(c) {
			return errors.New("must be a colour written #rrggbb, or empty for the theme's")
		}
	case Words:
		return checkWords(*o.field(&s).(*[]string))
	case Subset:
		values := *o.field(&s).(*[]string)
		if len(values) == 0 {
			return fmt.Errorf("must name at least one of %s", strings.Join(o.Values, ", "))
		}
		for _, v := range values {
			if !slices.Contains(o.Values, v) {
				return fmt.Errorf("%q is not one of %s", v, strings.Join(o.Values, ", "))
			}
		}
	}
	return nil
}

func (o Option) rangeError() error {
	return fmt.Errorf("must be a whole number from %d to %d", o.Min, o.Max)
}

var colourRE = regexp.MustCompile(`^#[0-9a-fA-F]{6}$`)

// maxWords bounds a word filter: enough for any real gallery, and it keeps
// a saved or queried filter cheap to apply.
const maxWords = 20

func checkWords(words []string) error {
	if len(words) > maxWords {
		return fmt.Errorf("at most %d words", maxWords)
	}
	for _, w := range words {
		if strings.TrimSpace(w) == "" || strings.ContainsFunc(w, unicode.IsSpace) {
			return fmt.Errorf("%q must be one word or #hashtag, without spaces", w)
		}
		if len(w) > 64 {
			return fmt.Errorf("%q is longer than 64 characters", w)
		}
	}
	return nil
}

// Problem is one option whose value is not allowed.
type Problem struct {
	Key, Msg string
}

// Problems are settings refused, as an error: what an operation that
// saves or previews settings returns when any is not allowed.
type Problems []Problem

func (ps Problems) Error() string {
	msgs := make([]string, len(ps))
	for i, p := range ps {
		msgs[i] = p.Key + " " + p.Msg
	}
	return "gallery settings not allowed: " + strings.Join(msgs, "; ")
}

// State is the gallery's appearance as the dashboard's Appearance page
// shows and edits it.
type State struct {
	// File is the config file's settings: the defaults the page starts
	// from and a reset returns to.
	File Settings
	// Current is what the gallery shows: File with the saved settings
	// over it.
	Current Settings
	// Saved are the options the owner set away from the file's, as kept.
	Saved map[string]string
	// Skipped are saved settings this version does not accept (written
	// by another), left out of Current.
	Skipped []Problem
	// MaxCount is the most posts the gallery may show (widget.max_posts).
	MaxCount int
}

// Problems checks every option's value in s, in the table's order: a
// config file's values, before they become the defaults.
func (s Settings) Problems() []Problem {
	var out []Problem
	for _, o := range Options {
		if err := o.check(s); err != nil {
			out = append(out, Problem{o.Key, err.Error()})
		}
	}
	return out
}

// Overrides are the text forms of the options whose value in s differs from
// base: what the database keeps, so an option the owner left alone goes on
// following the config file.
func (s Settings) Overrides(base Settings) map[string]string {
	out := map[string]string{}
	for _, o := range Options {
		if t := o.Text(s); t != o.Text(base) {
			out[o.Key] = t
		}
	}
	return out
}

// With returns s with the saved values applied. A key the table no longer
// has, or a value it no longer allows (saved by another version), is left
// out and reported in skipped; everything else still applies.
func (s Settings) With(saved map[string]string) (out Settings, skipped []Problem) {
	out = s.Clone()
	for _, o := range Options {
		text, ok := saved[o.Key]
		if !ok {
			continue
		}
		if err := o.Set(&out, text); err != nil {
			skipped = append(skipped, Problem{o.Key, err.Error()})
		}
	}
	for key := range saved {
		if _, ok := Lookup(key); !ok {
			skipped = append(skipped, Problem{key, ErrUnknownOption.Error()})
		}
	}
	slices.SortFunc(skipped, func(a, b Problem) int { return strings.Compare(a.Key, b.Key) })
	return out, skipped
}

// Clone is a copy of s that shares no slice with it.
func (s Settings) Clone() Settings {
	s.MediaTypes = slices.Clone(s.MediaTypes)
	s.IncludeWords = slices.Clone(s.IncludeWords)
	s.ExcludeWords = slices.Clone(s.ExcludeWords)
	return s
}
