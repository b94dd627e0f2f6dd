package instagram

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

const (
	opMe       = "me"
	opMedia    = "media"
	opChildren = "children"

	// maxPages stops a server that keeps handing out new cursors: 4000
	// pages of 25 is far more than any account the gallery shows.
	maxPages = 4000
	// maxEmptyPages is how many pages in a row may come with no items but
	// a next link (Instagram does that) before the list counts as ended.
	maxEmptyPages = 10
)

// Profile is the account behind the token.
type Profile struct {
	UserID, Username, Name, AccountType, ProfilePictureURL string
	FollowersCount, FollowsCount, MediaCount               int
	Biography                                              string // "" when none, or when Instagram refused the field
}

// Media is one post, or one child of a carousel (children have no
// Permalink, Caption, Username or counts).
type Media struct {
	ID, MediaType, Caption, MediaURL, ThumbnailURL, Permalink, Username, AltText string
	Timestamp                                                                    time.Time // zero when absent or unparsable
	// LikeCount and CommentsCount are nil when Instagram withheld them (the
	// owner hid the likes, the field was refused, the value was not a
	// count): none, which is not 0.
	LikeCount, CommentsCount *int
	Children                 []Media
}

// Me validates the token and reads the profile.
func (c *Client) Me(ctx context.Context, token string) (Profile, error) {
	body, r, err := c.graphGet(ctx, opMe, "/me", token, url.Values{}, c.fields.profile)
	if err != nil {
		return Profile{}, err
	}
	p, err := parseProfile(body)
	if err != nil {
		return Profile{}, c.bodyError(r, err)
	}
	return p, nil
}

// Media reads the feed, newest first, following every page until there is
// none left or max posts are in hand (max <= 0: all). Carousels come with
// their children; when Instagram leaves them out, /{id}/children is asked.
//
// Each next page is rebuilt from paging.cursors.after. paging.next is never
// followed nor logged: it contains the access token, and following a URL the
// server hands us would send the token wherever it points.
func (c *Client) Media(ctx context.Context, token string, max int) ([]Media, error) {
	var (
		all   []Media
		after string
		seen  = map[string]bool{}
		empty int // pages in a row with no items
	)
	for page := 1; ; page++ {
		limit := c.cfg.PageSize
		if max > 0 {
			limit = min(limit, max-len(all))
		}
		q := url.Values{"limit": {strconv.Itoa(limit)}}
		if after != "" {
			q.Set("after", after)
		}
		p, err := c.mediaPage(ctx, opMedia, "/me/media", token, q, c.fields.media)
		if err != nil {
			return nil, err
		}
		if max > 0 && len(all)+len(p.items) > max {
			p.items = p.items[:max-len(all)] // don't fetch children we will drop
		}
		for _, i := range p.childless {
			if i >= len(p.items) {
				break
			}
			kids, err := c.children(ctx, token, p.items[i].ID)
			if err != nil {
				return nil, err
			}
			p.items[i].Children = kids
		}
		all = append(all, p.items...)
		c.log.Debug("instagram: media page", "page", page, "items", len(p.items), "total", len(all))

		if max > 0 && len(all) >= max {
			return all, nil
		}
		if !p.hasNext {
			return all, nil
		}
		if empty = emptyRun(empty, p); empty > maxEmptyPages {
			c.log.Warn("instagram: the feed keeps answering empty pages with a next link; taking it as the end", "pages", empty, "posts", len(all))
			return all, nil
		}
		switch {
		case p.after == "":
			return nil, malformed(opMedia, http.StatusOK, "paging.next without paging.cursors.after")
		case seen[p.after]:
			return nil, malformed(opMedia, http.StatusOK, "paging cursor repeats")
		case page >= maxPages:
			return nil, malformed(opMedia, http.StatusOK, "more than "+strconv.Itoa(maxPages)+" pages")
		}
		seen[p.after] = true
		after = p.after
	}
}

// children reads the items of a carousel that came without them, all pages.
func (c *Client) children(ctx context.Context, token, id string) ([]Media, error) {
	if id == "" || strings.ContainsAny(id, "/?#") {
		return nil, malformed(opChildren, http.StatusOK, "carousel without a usable id")
	}
	var (
		kids  []Media
		after string
		seen  = map[string]bool{}
		empty int
	)
	for page := 1; ; page++ {
		q := url.Values{}
		if after != "" {
			q.Set("after", after)
		}
		p, err := c.mediaPage(ctx, opChildren, "/"+url.PathEscape(id)+"/children", token, q, c.fields.children)
		if err != nil {
			return nil, err
		}
		kids = append(kids, p.items...)
		empty = emptyRun(empty, p)
		if !p.hasNext || p.after == "" || empty > maxEmptyPages || seen[p.after] || page >= maxPages {
			return kids, nil
		}
		seen[p.after] = true
		after = p.after
	}
}

// emptyRun counts pages in a row that came with no items.
func emptyRun(run int, p mediaPage) int {
	if len(p.items) == 0 {
		return run + 1
	}
	return 0
}

// mediaPage fetches and parses one page of media items (the feed or a
// carousel's children) with the fields fields() names.
func (c *Client) mediaPage(ctx context.Context, op, path, token string, q url.Values, fields func() string) (mediaPage, error) {
	body, r, err := c.graphGet(ctx, op, path, token, q, fields)
	if err != nil {
		return mediaPage{}, err
	}
	p, err := parseMediaPage(body)
	if err != nil {
		return mediaPage{}, c.bodyError(r, err)
	}
	return p, nil
}

// graphGet reads path with the fields fields() names. When Instagram
// refuses an optional field, it asks again without it: each optional
// field refused costs one retry, once per process.
func (c *Client) graphGet(ctx context.Context, op, path, token string, q url.Values, fields func() string) ([]byte, *request, error) {
	for {
		q.Set("fields", fields())
		r, err := c.graphRequest(op, path, token, q)
		if err != nil {
			return nil, nil, err
		}
		body, err := c.do(ctx, r)
		if err == nil {
			return body, r, nil
		}
		field, ok := c.fields.refuse(err)
		if !ok {
			return nil, nil, err
		}
		c.log.Warn("instagram: Instagram refused an optional field; asking without it from now on", "field", field, "op", op)
	}
}

// graphRequest builds a versioned Graph GET carrying the token.
func (c *Client) graphRequest(op, path, token string, q url.Values) (*request, error) {
	if strings.TrimSpace(token) == "" {
		return nil, &APIError{Op: op, Message: "empty token", kind: ErrTokenInvalid}
	}
	q.Set("access_token", token)
	return &request{
		op:      op,
		method:  http.MethodGet,
		url:     c.graphURLFor(path, true, q),
		secrets: []string{token},
		policy:  retryIdempotent,
	}, nil
}

type profileJSON struct {
	UserID            flexID  `json:"user_id"`
	ID                flexID  `json:"id"`
	Username          string  `json:"username"`
	Name              string  `json:"name"`
	AccountType       string  `json:"account_type"`
	ProfilePictureURL string  `json:"profile_picture_url"`
	FollowersCount    flexInt `json:"followers_count"`
	FollowsCount      flexInt `json:"follows_count"`
	MediaCount        flexInt `json:"media_count"`
	Biography         string  `json:"biography"`
}

func parseProfile(body []byte) (Profile, error) {
	var p profileJSON
	if err := decodeJSON(body, &p); err != nil {
		return Profile{}, err
	}
	if p.UserID == "" {
		// /me always has "id" (the app-scoped id); user_id is the
		// professional account id we asked for, preferred when present.
		p.UserID = p.ID
	}
	if p.UserID == "" && p.Username == "" {
		return Profile{}, errorInBody(body, "no user_id or username")
	}
	return Profile{
		UserID:            string(p.UserID),
		Username:          p.Username,
		Name:              p.Name,
		AccountType:       p.AccountType,
		ProfilePictureURL: p.ProfilePictureURL,
		FollowersCount:    clampInt(p.FollowersCount),
		FollowsCount:      clampInt(p.FollowsCount),
		MediaCount:        clampInt(p.MediaCount),
		Biography:         p.Biography,
	}, nil
}

func clampInt(n flexInt) int {
	const maxInt32 = 1<<31 - 1
	return int(max(0, min(n, maxInt32)))
}

type mediaJSON struct {
	ID            flexID   `json:"id"`
	MediaType     string   `json:"media_type"`
	Caption       string   `json:"caption"`
	MediaURL      string   `json:"media_url"`
	ThumbnailURL  string   `json:"thumbnail_url"`
	Permalink     string   `json:"permalink"`
	Username      string   `json:"username"`
	AltText       string   `json:"alt_text"`
	Timestamp     flexTime `json:"timestamp"`
	LikeCount     optCount `json:"like_count"`
	CommentsCount optCount `json:"comments_count"`
	Children      *struct {
		Data []mediaJSON `json:"data"`
	} `json:"children"`
}

type mediaPageJSON struct {
	Data   []mediaJSON `json:"data"`
	Paging *struct {
		Cursors struct {
			After string `json:"after"`
		} `json:"cursors"`
		Next string `json:"next"` // only its presence matters; it holds the token
	} `json:"paging"`
}

// mediaPage is one decoded page of /me/media or /{id}/children.
type mediaPage struct {
	items     []Media
	after     string
	hasNext   bool
	childless []int // indexes of carousels that came without children
}

func parseMediaPage(body []byte) (mediaPage, error) {
	var v mediaPageJSON
	if err := decodeJSON(body, &v); err != nil {
		return mediaPage{}, err
	}
	if v.Data == nil {
		return mediaPage{}, errorInBody(body, "no data array")
	}
	var p mediaPage
	p.items = make([]Media, 0, len(v.Data))
	for _, m := range v.Data {
		if m.ID == "" {
			return mediaPage{}, errors.New("media item without id")
		}
		item := m.toMedia()
		if m.Children != nil {
			for _, ch := range m.Children.Data {
				if ch.ID != "" {
					item.Children = append(item.Children, ch.toMedia())
				}
			}
		}
		if item.MediaType == "CAROUSEL_ALBUM" && len(item.Children) == 0 {
			p.childless = append(p.childless, len(p.items))
		}
		p.items = append(p.items, item)
	}
	if v.Paging != nil {
		p.after = v.Paging.Cursors.After
		p.hasNext = v.Paging.Next != ""
	}
	return p, nil
}

func (m mediaJSON) toMedia() Media {
	return Media{
		ID:            string(m.ID),
		MediaType:     strings.ToUpper(strings.TrimSpace(m.MediaType)),
		Caption:       m.Caption,
		MediaURL:      m.MediaURL,
		ThumbnailURL:  m.ThumbnailURL,
		Permalink:     m.Permalink,
		Username:      m.Username,
		AltText:       m.AltText,
		Timestamp:     time.Time(m.Timestamp),
		LikeCount:     m.LikeCount.n,
		CommentsCount: m.CommentsCount.n,
	}
}
