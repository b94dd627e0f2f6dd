package fake

import (
	"encoding/base64"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Graph API limits of /me/media.
const (
	defaultLimit = 25
	maxLimit     = 100
)

// timestampLayout is Graph's: "+0000", which time.RFC3339 cannot parse.
const timestampLayout = "2006-01-02T15:04:05-0700"

var versionSegment = regexp.MustCompile(`^/v[0-9]+(\.[0-9]+)?(/|$)`)

// Versions lists the Graph API versions the fake answers, as Instagram
// does on 2026-11-28: v24.0 stays callable until 2028-02-18, v26.0 is the
// newest. Any other version is refused like a retired one.
var Versions = []string{"v24.0", "v25.0", "v26.0"}

// splitVersion separates an optional "/v24.0" from the rest of a path.
func splitVersion(p string) (version, rest string) {
	loc := versionSegment.FindStringIndex(p)
	if loc == nil {
		return "", p
	}
	end := loc[1]
	if strings.HasSuffix(p[:end], "/") {
		end--
	}
	rest = p[end:]
	if rest == "" {
		rest = "/"
	}
	return p[:end], rest
}

func stripVersion(p string) string {
	_, rest := splitVersion(p)
	return rest
}

// renderCtx carries what absolute URLs in one response are built from.
type renderCtx struct {
	base    string // scheme://host
	version string // "/v24.0" or ""
	token   string // echoed in paging links, as the real API does
	now     time.Time
}

// serveGraph is graph.instagram.com: token exchange and refresh, the user
// node, its media edge, media nodes and their children.
func (f *Fake) serveGraph(w http.ResponseWriter, r *http.Request, p string) {
	version, rest := splitVersion(p)

	f.mu.Lock()
	now := f.clock.Now()
	limited, minutes := f.rateLimitLocked(now)
	userID := f.account.UserID
	f.mu.Unlock()
	setUsageHeaders(w, userID, limited, minutes)
	if limited {
		writeGraphError(w, http.StatusBadRequest, graphError{Message: msgRateLimited, Code: 80002, Transient: true})
		return
	}
	if version != "" && !slices.Contains(Versions, version[1:]) {
		writeGraphError(w, http.StatusBadRequest, graphError{
			Message: "(#2635) You are calling a deprecated or unknown version of the Graph API (" + version[1:] + "). Please update to the latest version.", Code: 2635,
		})
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		writeGraphError(w, http.StatusBadRequest, graphError{
			Message: "Unsupported " + strings.ToLower(r.Method) + " request.", Code: 100,
		})
		return
	}

	segs := strings.Split(strings.Trim(rest, "/"), "/")
	switch {
	case len(segs) == 1 && segs[0] == "access_token":
		f.serveExchange(w, r)
		return
	case len(segs) == 1 && segs[0] == "refresh_access_token":
		f.serveRefresh(w, r)
		return
	}

	q := r.URL.Query()
	fields, ferr := parseFields(q.Get("fields"))
	rc := renderCtx{base: f.base(r), version: version, token: tokenFrom(r)}

	f.mu.Lock()
	body, status, gerr := f.graphLocked(rc, segs, fields, ferr, q)
	f.mu.Unlock()
	if gerr != nil {
		writeGraphError(w, status, *gerr)
		return
	}
	writeJSON(w, http.StatusOK, body)
}

// graphLocked answers a graph read: the token first, then the path, then
// the fields, in the order the real API reports problems.
func (f *Fake) graphLocked(rc renderCtx, segs []string, fields []field, ferr error, q url.Values) (any, int, *graphError) {
	rc.now = f.clock.Now()
	if _, gerr := f.checkTokenLocked(rc.token, rc.now); gerr != nil {
		return nil, http.StatusBadRequest, gerr
	}
	if len(segs) > 2 || segs[0] == "" {
		return nil, http.StatusBadRequest, &graphError{Message: "Unknown path components: /" + strings.Join(segs, "/"), Code: 2500}
	}
	if ferr != nil {
		return nil, http.StatusBadRequest, &graphError{Message: ferr.Error(), Code: 100}
	}
	id := segs[0]
	isUser := id == "me" || id == f.account.UserID || id == f.account.ID
	post := f.byID[id]
	if !isUser && post == nil {
		return nil, http.StatusBadRequest, &graphError{Message: fmt.Sprintf(msgNoObject, id), Code: 100, Subcode: 33}
	}
	edge := ""
	if len(segs) == 2 {
		edge = segs[1]
	}
	nodeType, allowed := "User", f.userFieldsLocked()
	if !isUser {
		nodeType, allowed = "IGMedia", f.mediaFieldsLocked()
	}
	if edge != "" && !(edge == "media" && isUser || edge == "children" && !isUser) {
		return nil, http.StatusBadRequest, &graphError{Message: "(#100) Tried accessing nonexisting field (" + edge + ") on node type (" + nodeType + ")", Code: 100}
	}
	if edge != "" {
		// On an edge, fields describe the edge's items.
		nodeType, allowed = "IGMedia", f.mediaFieldsLocked()
	}
	if len(fields) == 0 {
		fields = []field{{name: "id"}}
	}
	if gerr := checkFields(fields, allowed, f.mediaFieldsLocked(), nodeType); gerr != nil {
		return nil, http.StatusBadRequest, gerr
	}

	switch {
	case edge == "media":
		return f.mediaPageLocked(rc, fields, q)
	case edge == "children":
		return f.childrenLocked(rc, post, fields), http.StatusOK, nil
	case isUser:
		return f.userLocked(rc, fields)
	default:
		return f.mediaLocked(rc, post, fields, isChild(post)), http.StatusOK, nil
	}
}

func (f *Fake) userLocked(rc renderCtx, fields []field) (any, int, *graphError) {
	a := f.account
	out := map[string]any{}
	for _, fl := range fields {
		switch fl.name {
		case "id":
			out["id"] = a.ID
		case "user_id":
			out["user_id"] = a.UserID
		case "username":
			out["username"] = a.Username
		case "name":
			out["name"] = a.Name
		case "account_type":
			out["account_type"] = a.AccountType
		case "profile_picture_url":
			out["profile_picture_url"] = f.signedURL(rc.base, profilePicturePath(a.UserID), rc.now)
		case "followers_count":
			out["followers_count"] = a.FollowersCount
		case "follows_count":
			out["follows_count"] = a.FollowsCount
		case "media_count":
			out["media_count"] = len(f.posts)
		case "biography":
			if a.Biography != "" {
				out["biography"] = a.Biography
			}
		case "website":
			if a.Website != "" {
				out["website"] = a.Website
			}
		case "media":
			sub := fl.sub
			if len(sub) == 0 {
				sub = []field{{name: "id"}}
			}
			page, status, gerr := f.mediaPageLocked(rc, sub, url.Values{})
			if gerr != nil {
				return nil, status, gerr
			}
			out["media"] = page
		}
	}
	return out, http.StatusOK, nil
}

// mediaLocked renders one media object. Carousel children (isChild) have
// no caption, permalink, shortcode, counts or children, as on Instagram.
func (f *Fake) mediaLocked(rc renderCtx, p *Post, fields []field, isChild bool) map[string]any {
	out := map[string]any{}
	for _, fl := range fields {
		switch fl.name {
		case "id":
			out["id"] = p.ID
		case "caption":
			if p.Caption != "" && !isChild {
				out["caption"] = p.Caption
			}
		case "media_type":
			out["media_type"] = p.MediaType
		case "media_product_type":
			switch {
			case isChild:
				out["media_product_type"] = "CAROUSEL_ITEM"
			case p.MediaType == MediaVideo:
				out["media_product_type"] = "REELS"
			default:
				out["media_product_type"] = "FEED"
			}
		case "media_url":
			if path, ok := mediaURLPath(p); ok {
				out["media_url"] = f.signedURL(rc.base, path, rc.now)
			}
		case "thumbnail_url":
			if p.MediaType == MediaVideo {
				out["thumbnail_url"] = f.signedURL(rc.base, thumbnailPath(p.ID), rc.now)
			}
		case "permalink":
			if !isChild {
				out["permalink"] = p.Permalink()
			}
		case "shortcode":
			if !isChild {
				out["shortcode"] = p.Shortcode
			}
		case "timestamp":
			out["timestamp"] = p.Timestamp.UTC().Format(timestampLayout)
		case "username":
			out["username"] = f.account.Username
		case "alt_text":
			if p.AltText != "" {
				out["alt_text"] = p.AltText
			}
		case "like_count":
			if !isChild && !p.WithholdLikeCount {
				out["like_count"] = p.LikeCount
			}
		case "comments_count":
			if !isChild && !p.WithholdCommentsCount {
				out["comments_count"] = p.CommentsCount
			}
		case "is_comment_enabled":
			if !isChild {
				out["is_comment_enabled"] = true
			}
		case "is_shared_to_feed":
			if !isChild && p.MediaType == MediaVideo {
				out["is_shared_to_feed"] = true
			}
		case "owner":
			owner := map[string]any{"id": f.account.UserID}
			for _, s := range fl.sub {
				if s.name == "username" {
					owner["username"] = f.account.Username
				}
			}
			out["owner"] = owner
		case "children":
			if p.MediaType == MediaCarousel && !isChild {
				sub := fl.sub
				if len(sub) == 0 {
					sub = []field{{name: "id"}}
				}
				out["children"] = f.childrenLocked(rc, p, sub)
			}
		}
	}
	return out
}

// childrenLocked is the children edge: every child in one page, empty for
// anything but an album.
func (f *Fake) childrenLocked(rc renderCtx, p *Post, fields []field) map[string]any {
	data := []any{}
	if p.MediaType == MediaCarousel && !isChild(p) {
		for i := range p.Children {
			data = append(data, f.mediaLocked(rc, &p.Children[i], fields, true))
		}
	}
	return map[string]any{"data": data}
}

// mediaPageLocked is the media edge with cursor paging. A cursor names a
// post by (timestamp, id), so pages stay correct when posts are added or
// deleted between requests.
func (f *Fake) mediaPageLocked(rc renderCtx, fields []field, q url.Values) (any, int, *graphError) {
	limit := defaultLimit
	if s := q.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n <= 0 {
			return nil, http.StatusBadRequest, &graphError{Message: "(#100) Param limit must be a positive integer", Code: 100}
		}
		limit = min(n, maxLimit)
	}
	empty, after := f.emptyPageLocked(rc, fields, q, limit)
	if empty != nil {
		return empty, http.StatusOK, nil
	}
	posts := f.posts
	start, end := 0, min(limit, len(posts))
	switch {
	case after != "":
		key, ok := decodeCursor(after)
		if !ok {
			return nil, http.StatusBadRequest, &graphError{Message: "(#100) Invalid value for the after cursor", Code: 100}
		}
		start = len(posts)
		for i, p := range posts {
			if compareNewestFirst(&key, p) < 0 {
				start = i
				break
			}
		}
		end = min(start+limit, len(posts))
	case q.Get("before") != "":
		key, ok := decodeCursor(q.Get("before"))
		if !ok {
			return nil, http.StatusBadRequest, &graphError{Message: "(#100) Invalid value for the before cursor", Code: 100}
		}
		end = 0
		for i, p := range posts {
			if compareNewestFirst(p, &key) < 0 {
				end = i + 1
			}
		}
		start = max(end-limit, 0)
	}

	data := make([]any, 0, end-start)
	for _, p := range posts[start:end] {
		data = append(data, f.mediaLocked(rc, p, fields, false))
	}
	out := map[string]any{"data": data}
	if len(data) == 0 {
		return out, http.StatusOK, nil
	}
	before, next := encodeCursor(posts[start]), encodeCursor(posts[end-1])
	if f.faults.emptyPages > 0 {
		next = encodeEmptyCursor(0, next) // empty pages come before the next real one
	}
	paging := map[string]any{"cursors": map[string]any{"before": before, "after": next}}
	if end < len(posts) {
		paging["next"] = f.mediaLink(rc, fields, limit, "after", next)
	}
	if start > 0 {
		paging["previous"] = f.mediaLink(rc, fields, limit, "before", before)
	}
	out["paging"] = paging
	return out, http.StatusOK, nil
}

// mediaLink is a paging link of /me/media: it carries the token, as
// Instagram's do.
func (f *Fake) mediaLink(rc renderCtx, fields []field, limit int, param, cursor string) string {
	v := url.Values{}
	v.Set("access_token", rc.token)
	v.Set("fields", formatFields(fields))
	v.Set("limit", strconv.Itoa(limit))
	v.Set(param, cursor)
	return rc.base + f.prefix + rc.version + "/" + f.account.UserID + "/media?" + v.Encode()
}

// formatFields writes fields back in Graph syntax for paging links.
func formatFields(fs []field) string {
	parts := make([]string, len(fs))
	for i, f := range fs {
		parts[i] = f.name
		if f.sub != nil {
			parts[i] += "{" + formatFields(f.sub) + "}"
		}
	}
	return strings.Join(parts, ",")
}

// Cursors are opaque to clients; like Instagram's they are base64 and start
// with "QVFI".
func encodeCursor(p *Post) string {
	return base64.RawURLEncoding.EncodeToString([]byte("AQH:" + strconv.FormatInt(p.Timestamp.Unix(), 10) + ":" + p.ID))
}

func decodeCursor(s string) (Post, bool) {
	b, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(s, "="))
	if err != nil {
		return Post{}, false
	}
	parts := strings.Split(string(b), ":")
	if len(parts) != 3 || parts[0] != "AQH" || parts[2] == "" {
		return Post{}, false
	}
	sec, err := strconv.ParseInt(parts[1], 10, 64)
	if err != nil {
		return Post{}, false
	}
	return Post{ID: parts[2], Timestamp: time.Unix(sec, 0).UTC()}, true
}

// isChild tells carousel children from posts: only posts have a shortcode.
func isChild(p *Post) bool { return p.Shortcode == "" }
