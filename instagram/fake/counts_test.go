package fake

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"testing"
)

// The media carry like_count and comments_count, except where the count
// is withheld (the field is then absent, not 0) and on carousel children.
func TestCountsAreServedAndWithheld(t *testing.T) {
	h := newHarness(t, Options{Posts: 8})
	tok := h.f.IssueLongLivedToken()
	hidden := h.f.AddPost(Post{Caption: "likes hidden", LikeCount: 40, CommentsCount: 3, WithholdLikeCount: true})
	album := h.f.AddPost(Post{MediaType: MediaCarousel, LikeCount: 7, CommentsCount: 0,
		Children: []Post{{MediaType: MediaImage}, {MediaType: MediaImage}}})
	posts, _ := fetchAll(t, h, tok, url.Values{"fields": {"id,like_count,comments_count,children{id,like_count,comments_count}"}})
	byID := map[string]map[string]any{}
	for _, p := range posts {
		byID[str(p["id"])] = p
	}
	if p := byID[hidden]; p["like_count"] != nil || p["comments_count"] != json.Number("3") {
		t.Errorf("withheld like count: %v", p)
	}
	p := byID[album]
	if p["like_count"] != json.Number("7") || p["comments_count"] != json.Number("0") {
		t.Errorf("album counts: %v (a zero is a count, not a withheld one)", p)
	}
	for _, c := range items(p["children"].(map[string]any)) {
		if _, ok := c["like_count"]; ok {
			t.Errorf("a carousel child has a like count: %v", c)
		}
	}
	// The default posts have their counts, but for one whose likes the
	// owner hid.
	withheld := 0
	for _, fp := range h.f.Posts() {
		if fp.ID == hidden || fp.ID == album {
			continue
		}
		q := byID[fp.ID]
		if _, ok := q["like_count"]; !ok {
			withheld++
			continue
		}
		if q["like_count"] != json.Number(strconv.Itoa(fp.LikeCount)) || q["comments_count"] != json.Number(strconv.Itoa(fp.CommentsCount)) {
			t.Errorf("post %s: %v, want %d and %d", fp.ID, q, fp.LikeCount, fp.CommentsCount)
		}
	}
	if withheld != 1 {
		t.Errorf("%d default posts without a like count, want 1", withheld)
	}

	if !h.f.SetCounts(hidden, 41, 5) || h.f.SetCounts("nope", 1, 1) {
		t.Fatal("SetCounts: wrong answer")
	}
	_, body := h.graph("/"+hidden, tok, url.Values{"fields": {"like_count,comments_count"}})
	if body["like_count"] != nil || body["comments_count"] != json.Number("5") {
		t.Errorf("after SetCounts: %v", body)
	}
}

// A refused field is refused as Instagram does, on the user node as on
// media: HTTP 400, code 100, "nonexisting field (name)".
func TestRefusedCountsAndBiography(t *testing.T) {
	h := newHarness(t, Options{Posts: 3})
	tok := h.f.IssueLongLivedToken()
	h.f.RefuseFields("like_count", "biography")
	msg := h.wantGraphError("/me/media", tok, url.Values{"fields": {"id,comments_count,like_count"}}, 100, 0)
	if msg != "(#100) Tried accessing nonexisting field (like_count) on node type (IGMedia)" {
		t.Errorf("media message %q", msg)
	}
	msg = h.wantGraphError("/me", tok, url.Values{"fields": {"username,biography"}}, 100, 0)
	if msg != "(#100) Tried accessing nonexisting field (biography) on node type (User)" {
		t.Errorf("user message %q", msg)
	}
	if status, body := h.graph("/me/media", tok, url.Values{"fields": {"id,comments_count"}}); status != http.StatusOK || len(items(body)) != 3 {
		t.Errorf("without the refused field: %d %v", status, body)
	}

	h.f.RefuseFields()
	h.f.SetProfile("New bio", 2048)
	_, body := h.graph("/me", tok, url.Values{"fields": {"biography,followers_count"}})
	if body["biography"] != "New bio" || body["followers_count"] != json.Number("2048") {
		t.Errorf("profile: %v", body)
	}
	h.f.SetProfile("", 0)
	if _, body = h.graph("/me", tok, url.Values{"fields": {"biography"}}); len(body) != 0 {
		t.Errorf("an empty biography is left out, as Instagram does: %v", body)
	}
}
