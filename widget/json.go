package widget

import (
	"bytes"
	"cmp"
	"encoding/json"
	"time"

	"vitrine/moderation"
	"vitrine/store"
)

// The /widget.json schema, version 1. Fields are only ever added; none is
// renamed, retyped or removed without bumping "version".
//
//	{
//	  "version": 1,
//	  "account": {                       // null when no account is connected
//	    "username": "studio.lumen",
//	    "name": "Studio Lumen",          // may be ""
//	    "avatar_url": "https://…/media/avatar/320.jpg", // on Vitrine's origin; omitted until mirrored
//	    "profile_url": "https://www.instagram.com/studio.lumen/",
//	    "biography": "…",                // plain text, may be "" (none, or Instagram refused it)
//	    "followers_count": 1284
//	  },
//	  "posts": [{                        // newest first, at most widget.max_posts, only posts whose image is mirrored
//	    "id": "17895695668004550",
//	    "type": "IMAGE",                 // IMAGE | VIDEO | CAROUSEL_ALBUM
//	    "caption": "…",                  // plain text, may be ""; escape it when you render it
//	    "permalink": "https://www.instagram.com/p/…/",
//	    "timestamp": "2026-11-20T08:00:00Z", // RFC 3339, UTC
//	    "alt": "…",                      // Instagram's alt text, else the caption without hashtags
//	    "color": "#a1b2c3",              // dominant colour, a placeholder while loading
//	    "images": [{"url": "https://…/media/17895695668004550/320.jpg", "width": 320, "height": 400}, …], // ascending width; a video's thumbnail
//	    "video": "https://…/media/17895695668004550/video.mp4", // a VIDEO's MP4 on Vitrine's origin; omitted unless mirrored
//	    "children": [{"id", "type", "alt", "color", "images", "video"}], // carousel items with a mirrored image; [] otherwise
//	    "pinned": false,                 // the owner pinned it to the front
//	    "like_count": 1234,              // as of the last sync; omitted when Instagram withheld it
//	    "comments_count": 56,            // likewise
//	    "link": {"url": "https://shop.example/mug", "label": "Shop this"} // the owner's link; omitted when none
//	  }],
//	  "updated_at": "2026-11-23T10:15:00Z", // when the posts were last synced (build time when none)
//	  "stale": false                       // true while the last sync (or snapshot rebuild) failed
//	}
type jsonDoc struct {
	Version   int          `json:"version"`
	Account   *jsonAccount `json:"account"`
	Posts     []jsonPost   `json:"posts"`
	UpdatedAt string       `json:"updated_at"`
	Stale     bool         `json:"stale"`
}

type jsonAccount struct {
	Username       string `json:"username"`
	Name           string `json:"name"`
	AvatarURL      string `json:"avatar_url,omitempty"`
	ProfileURL     string `json:"profile_url"`
	Biography      string `json:"biography"`
	FollowersCount int    `json:"followers_count"`
}

type jsonPost struct {
	ID        string      `json:"id"`
	Type      string      `json:"type"`
	Caption   string      `json:"caption"`
	Permalink string      `json:"permalink"`
	Timestamp string      `json:"timestamp"`
	Alt       string      `json:"alt"`
	Color     string      `json:"color"`
	Images    []jsonImage `json:"images"`
	Video     string      `json:"video,omitempty"`
	Children  []jsonChild `json:"children"`
	Pinned    bool        `json:"pinned"`
	// Pointers: a withheld count and a post without a link are left out.
	LikeCount     *int      `json:"like_count,omitempty"`
	CommentsCount *int      `json:"comments_count,omitempty"`
	Link          *jsonLink `json:"link,omitempty"`
}

// jsonLink is the owner's link of a post: the label is the owner's words,
// or the gallery's for "Shop this" in its language.
type jsonLink struct {
	URL   string `json:"url"`
	Label string `json:"label"`
}

type jsonChild struct {
	ID     string      `json:"id"`
	Type   string      `json:"type"`
	Alt    string      `json:"alt"`
	Color  string      `json:"color"`
	Images []jsonImage `json:"images"`
	Video  string      `json:"video,omitempty"`
}

type jsonImage struct {
	URL    string `json:"url"`
	Width  int    `json:"width"`
	Height int    `json:"height"`
	// WebP is the same width as WebP, once the mirror has made it for
	// every width of the image; omitted until then.
	WebP string `json:"webp,omitempty"`
}

func jsonImages(base, id string, fs []MirroredFile) []jsonImage {
	out := make([]jsonImage, len(fs))
	webp := allWebP(fs)
	for i, f := range fs {
		out[i] = jsonImage{URL: mediaURL(base, id, f.Width), Width: f.Width, Height: f.Height}
		if webp {
			out[i].WebP = webpURL(base, id, f.Width)
		}
	}
	return out
}

// allWebP reports whether every width in fs has its WebP: only then is
// WebP offered for the image, so that a browser taking it finds every
// width it may pick.
func allWebP(fs []MirroredFile) bool {
	for _, f := range fs {
		if !f.WebP {
			return false
		}
	}
	return len(fs) > 0
}

// postJSON describes one post; fs are its mirrored images (not empty),
// files every mirrored image by media id, for the carousel items, and
// videos the ids whose video is mirrored.
func postJSON(base string, p store.Post, fs []MirroredFile, files map[string][]MirroredFile, videos map[string]bool) jsonPost {
	jp := jsonPost{
		ID:            p.ID,
		Type:          mediaType(p.MediaType),
		Caption:       p.Caption,
		Permalink:     permalink(p),
		Alt:           altText(p.AltText, p.Caption, "Instagram post"),
		Color:         safeColor(fs[0].Color),
		Images:        jsonImages(base, p.ID, fs),
		Children:      []jsonChild{},
		LikeCount:     nonNegative(p.LikeCount),
		CommentsCount: nonNegative(p.CommentsCount),
	}
	if !p.Timestamp.IsZero() {
		jp.Timestamp = p.Timestamp.UTC().Format(time.RFC3339)
	}
	if jp.Type == typeVideo && videos[p.ID] {
		jp.Video = videoURL(base, p.ID)
	}
	if jp.Type == typeCarousel {
		for _, c := range p.Children {
			cf := files[c.ID]
			if len(cf) == 0 || !validMediaID(c.ID) {
				continue
			}
			jc := jsonChild{
				ID:     c.ID,
				Type:   mediaType(c.MediaType),
				Alt:    altText(c.AltText, "", jp.Alt),
				Color:  safeColor(cf[0].Color),
				Images: jsonImages(base, c.ID, cf),
			}
			if jc.Type == typeVideo && videos[c.ID] {
				jc.Video = videoURL(base, c.ID)
			}
			jp.Children = append(jp.Children, jc)
		}
	}
	return jp
}

// nonNegative is n when it is a count, nil otherwise.
func nonNegative(n *int) *int {
	if n == nil || *n < 0 {
		return nil
	}
	c := *n
	return &c
}

// servedLink is the owner's link as the gallery serves it; ok is false
// when there is none, or when it is one the rules refuse (the store keeps
// what it was given): left out rather than served.
func servedLink(l store.Link) (store.Link, bool) {
	if l.URL == "" {
		return store.Link{}, false
	}
	checked, err := moderation.CheckLink(l.URL, l.Label)
	return checked, err == nil
}

// linkJSON is the owner's link, its label in the gallery's words when the
// owner gave none.
func linkJSON(l store.Link, w words) *jsonLink {
	return &jsonLink{URL: l.URL, Label: cmp.Or(l.Label, w.Shop)}
}

func jsonAsset(doc *jsonDoc, routeFields []field) (*asset, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(doc); err != nil {
		return nil, err
	}
	return newAsset(buf.Bytes(), "application/json; charset=utf-8", routeFields)
}
