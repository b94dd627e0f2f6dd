package widget

import (
	"encoding/json"
	"html/template"
	"regexp"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"vitrine/store"
)

// galleryView is what the templates render. Strings are plain text:
// html/template escapes them for their context.
type galleryView struct {
	Base          string // server.public_url without the trailing slash
	Columns       int
	ColumnsMobile int
	Layout        string // grid, carousel, masonry, highlight
	Aspect        string // class suffix: 1x1, 4x5, original
	Lang          string
	Words         words
	// More: the JSON holds more posts than the markup, so the markup has
	// Load more; LoadMore shows it (widget.load_more, which an embed's
	// data-load-more may turn either way).
	More     bool
	LoadMore bool
	// Included: the fragment, in another page by its server. No script
	// measures its tiles and the window's width says nothing of them, so
	// every image is lazy, sized by the browser as drawn (sizes=auto).
	Included bool
	// JSONQuery is the caption filter of a word-filtered gallery, for Load
	// more to ask /widget.json with; "" for the configured gallery.
	JSONQuery string
	Captions  bool
	Theme     string // light, dark, auto
	// Boxed: a background colour is set, so the gallery is a box of its
	// own and keeps its tiles off its edges (as the dark theme does).
	Boxed  bool
	Header bool // the account's header is shown
	Follow bool // with its Follow button
	// Counts is widget.counts: off, hover or below. Bio shows the
	// account's biography and followers under the header. ShopOnTile shows
	// a post's link on its tile; Links is whether any post has one (the
	// lightbox then has its button). Extras is whether any of these shows:
	// only then do the gallery's style and script carry their parts
	// (extras.css, the loader's extras), so a gallery without them pays
	// nothing for them.
	Counts      string
	Bio         bool
	ShopOnTile  bool
	Links       bool
	Extras      bool
	Placeholder string
	Sizes       string
	Title       string
	ProfileURL  string
	Account     *accountView
	Posts       []postItem
	CSS         template.CSS // the gallery's, with the settings (theme.go)
	Script      template.JS  // the /widget page only
}

type accountView struct {
	Username, Name, ProfileURL, Initial string
	Avatar                              *imageView
	Biography                           string
	FollowersCount                      int
}

type imageView struct{ Src string }

type postItem struct {
	ID, Type, Permalink, Caption, Alt, Color string
	Src, Srcset                              string
	// WebPSrcset is Srcset's WebP twin, "" while the image has none.
	WebPSrcset      string
	Width, Height   int
	Slides          string // JSON for the lightbox: [[id, w, h, [widths], alt, 1 if its video is mirrored, 1 if it has WebP], …]
	Video, Carousel bool
	// LikeCount and CommentsCount are nil when Instagram withheld them.
	LikeCount, CommentsCount *int
	Link                     *linkView // nil when the post has none
}

// linkView is the owner's link; Label "" is the gallery's words for it.
type linkView struct{ URL, Label string }

// Media types as Instagram names them.
const (
	typeImage    = "IMAGE"
	typeVideo    = "VIDEO"
	typeCarousel = "CAROUSEL_ALBUM"
)

var colorRE = regexp.MustCompile(`^#[0-9a-fA-F]{6}$`)

const defaultColor = "#efefef"

func safeColor(c string) string {
	if colorRE.MatchString(c) {
		return strings.ToLower(c)
	}
	return defaultColor
}

// tileWidth is the file the grid's src points at; srcset lets the browser
// pick another.
const tileWidth = 640

func postView(base string, p store.Post, jp jsonPost, fs []MirroredFile, captionLength int) (postItem, error) {
	largest := fs[len(fs)-1]
	src := fs[0]
	for _, f := range fs {
		if f.Width <= tileWidth {
			src = f
		}
	}
	srcset := make([]string, len(fs))
	var webpSrcset []string
	webp := allWebP(fs)
	for i, f := range fs {
		srcset[i] = mediaURL(base, p.ID, f.Width) + " " + strconv.Itoa(f.Width) + "w"
		if webp {
			webpSrcset = append(webpSrcset, webpURL(base, p.ID, f.Width)+" "+strconv.Itoa(f.Width)+"w")
		}
	}
	slides := [][]any{slideFlags(slide(p.ID, fs, jp.Alt), jp.Video != "", webp)}
	if len(jp.Children) > 0 {
		slides = slides[:0]
		for _, c := range jp.Children {
			ws := make([]int, len(c.Images))
			for i, im := range c.Images {
				ws[i] = im.Width
			}
			last := c.Images[len(c.Images)-1]
			slides = append(slides, slideFlags([]any{c.ID, last.Width, last.Height, ws, c.Alt}, c.Video != "", last.WebP != ""))
		}
	}
	sl, err := json.Marshal(slides)
	if err != nil {
		return postItem{}, err
	}
	return postItem{
		ID:         p.ID,
		Type:       jp.Type,
		Permalink:  jp.Permalink,
		Caption:    cutCaption(jp.Caption, captionLength),
		Alt:        jp.Alt,
		Color:      jp.Color,
		Src:        mediaURL(base, p.ID, src.Width),
		Srcset:     strings.Join(srcset, ", "),
		WebPSrcset: strings.Join(webpSrcset, ", "),
		Width:      largest.Width,
		Height:     largest.Height,
		Slides:     string(sl),
		Video:      jp.Type == typeVideo,
		Carousel:   jp.Type == typeCarousel,

		LikeCount:     jp.LikeCount,
		CommentsCount: jp.CommentsCount,
	}, nil
}

func slide(id string, fs []MirroredFile, alt string) []any {
	ws := make([]int, len(fs))
	for i, f := range fs {
		ws[i] = f.Width
	}
	last := fs[len(fs)-1]
	return []any{id, last.Width, last.Height, ws, alt}
}

// slideFlags marks a slide whose video is mirrored (the lightbox plays it
// from videoFile beside the images) and one whose widths all have WebP
// (the lightbox offers those); a slide with neither stays five long.
func slideFlags(slide []any, video, webp bool) []any {
	switch {
	case webp:
		return append(slide, oneIf(video), 1)
	case video:
		return append(slide, 1)
	}
	return slide
}

func oneIf(b bool) int {
	if b {
		return 1
	}
	return 0
}

// permalink keeps only links to Instagram: a post links nowhere else.
func permalink(p store.Post) string {
	if strings.HasPrefix(p.Permalink, "https://www.instagram.com/") || strings.HasPrefix(p.Permalink, "https://instagram.com/") {
		return p.Permalink
	}
	return ""
}

var (
	hashtagRE = regexp.MustCompile(`(^|\s)#[\p{L}\p{N}_]+`)
	spaceRE   = regexp.MustCompile(`\s+`)
)

// maxAlt bounds alt text taken from a caption: alt describes, it doesn't
// repeat an essay.
const maxAlt = 160

// altText is Instagram's alt text when the owner wrote one, otherwise the
// caption without hashtags, on one line and shortened at a word.
func altText(alt, caption, fallback string) string {
	if a := strings.TrimSpace(alt); a != "" {
		return a
	}
	s := hashtagRE.ReplaceAllString(caption, "$1")
	s = strings.TrimSpace(spaceRE.ReplaceAllString(s, " "))
	if utf8.RuneCountInString(s) > maxAlt {
		r := []rune(s)[:maxAlt]
		cut := strings.LastIndexFunc(string(r), unicode.IsSpace)
		if cut < maxAlt/2 {
			cut = len(string(r))
		}
		s = strings.TrimRightFunc(string(r)[:cut], func(c rune) bool { return unicode.IsSpace(c) || unicode.IsPunct(c) }) + "…"
	}
	if s == "" {
		return fallback
	}
	return s
}

// cutCaption is caption cut to about n characters at a word, for the
// tiles: they show three lines, and the lightbox the whole caption from
// widget.json. n ≤ 0 leaves it whole.
func cutCaption(caption string, n int) string {
	if n <= 0 || utf8.RuneCountInString(caption) <= n {
		return caption
	}
	r := string([]rune(caption)[:n])
	if cut := strings.LastIndexFunc(r, unicode.IsSpace); cut >= len(r)/2 {
		r = r[:cut]
	}
	return strings.TrimRightFunc(r, func(c rune) bool { return unicode.IsSpace(c) || unicode.IsPunct(c) }) + "…"
}

// initial is the letter the header shows when no avatar is mirrored.
func initial(name, username string) string {
	for _, s := range []string{name, username} {
		for _, r := range s {
			if unicode.IsLetter(r) || unicode.IsDigit(r) {
				return strings.ToUpper(string(r))
			}
		}
	}
	return "@"
}

func mediaType(t string) string {
	switch t {
	case typeVideo, typeCarousel:
		return t
	}
	return typeImage
}
