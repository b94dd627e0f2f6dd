package fake

import (
	"encoding/json"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

const allMediaFields = "id,caption,media_type,media_url,thumbnail_url,permalink,timestamp,username,alt_text,children{id,media_type,media_url,thumbnail_url,permalink}"

func TestMeHonoursFields(t *testing.T) {
	h := newHarness(t, Options{})
	tok := h.f.IssueLongLivedToken()
	status, body := h.graph("/v24.0/me", tok, url.Values{"fields": {"user_id,username,account_type,media_count,profile_picture_url"}})
	if status != http.StatusOK {
		t.Fatalf("%d %v", status, body)
	}
	if len(body) != 5 || body["user_id"] != "17841405793187218" || body["username"] != "vitrine.studio" ||
		body["account_type"] != "Business" || body["media_count"] != json.Number("30") {
		t.Errorf("got %v", body)
	}
	resp, _ := h.get(str(body["profile_picture_url"]))
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "image/jpeg" {
		t.Errorf("profile picture: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}

	_, body = h.graph("/me", tok, url.Values{"fields": {"id,name,followers_count,follows_count"}})
	a := h.f.Account()
	if body["id"] != a.ID || body["id"] == a.UserID || body["name"] != a.Name ||
		body["followers_count"] != json.Number("1284") || body["follows_count"] != json.Number("312") {
		t.Errorf("got %v", body)
	}
	_, body = h.graph("/me", tok, nil)
	if len(body) != 1 || body["id"] != a.ID {
		t.Errorf("no fields: %v", body)
	}
	if _, body = h.graph("/"+a.UserID, tok, url.Values{"fields": {"username"}}); body["username"] != a.Username {
		t.Errorf("by user id: %v", body)
	}
}

func TestTokenFromAuthorizationHeader(t *testing.T) {
	h := newHarness(t, Options{})
	req, _ := http.NewRequest(http.MethodGet, h.ep.GraphURL+"/v24.0/me/media?limit=2", nil)
	req.Header.Set("Authorization", "Bearer "+h.f.IssueLongLivedToken())
	resp, raw := h.do(req)
	body := decode(t, raw)
	if resp.StatusCode != http.StatusOK || len(items(body)) != 2 {
		t.Fatalf("%d %v", resp.StatusCode, body)
	}
	next := str(body["paging"].(map[string]any)["next"])
	if !strings.Contains(next, "access_token=IGAA") {
		t.Errorf("paging.next lacks the token: %s", next)
	}
}

func TestGraphErrors(t *testing.T) {
	h := newHarness(t, Options{})
	tok := h.f.IssueLongLivedToken()
	if msg := h.wantGraphError("/me", "", nil, 2500, 0); msg != msgNoToken {
		t.Errorf("message %q", msg)
	}
	if msg := h.wantGraphError("/v24.0/me/media", "IGAAnot-a-token", nil, 190, 0); msg != msgBadToken {
		t.Errorf("message %q", msg)
	}
	h.wantGraphError("/17999999999999999", tok, nil, 100, 33)
	h.wantGraphError("/17999999999999999/children", tok, nil, 100, 33)
	h.wantGraphError("/me", tok, url.Values{"fields": {"username,nope"}}, 100, 0)
	h.wantGraphError("/me/media", tok, url.Values{"fields": {"id,children{id,bogus}"}}, 100, 0)
	h.wantGraphError("/me/media", tok, url.Values{"fields": {"id,children{id"}}, 100, 0)
	h.wantGraphError("/me/media", tok, url.Values{"limit": {"-3"}}, 100, 0)
	h.wantGraphError("/me/media", tok, url.Values{"after": {"!!"}}, 100, 0)
	h.wantGraphError("/me/children", tok, nil, 100, 0)
	h.wantGraphError("/"+h.f.MediaIDs()[0]+"/media", tok, nil, 100, 0)
	h.wantGraphError("/me/media/extra", tok, nil, 2500, 0)

	req, _ := http.NewRequest(http.MethodPost, h.ep.GraphURL+"/me?access_token="+tok, nil)
	resp, raw := h.do(req)
	if code, _, _ := graphErr(t, decode(t, raw)); resp.StatusCode != http.StatusBadRequest || code != 100 {
		t.Errorf("POST /me: %d code %d", resp.StatusCode, code)
	}
}

// fetchAll follows paging.next from /me/media like a naive client would.
func fetchAll(t *testing.T, h *harness, tok string, q url.Values) (posts []map[string]any, pages int) {
	t.Helper()
	q.Set("access_token", tok)
	next := h.ep.GraphURL + "/v24.0/me/media?" + q.Encode()
	for next != "" {
		resp, raw := h.get(next)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("%s: %d %s", next, resp.StatusCode, raw)
		}
		body := decode(t, raw)
		posts = append(posts, items(body)...)
		pages++
		paging, _ := body["paging"].(map[string]any)
		next = str(paging["next"])
		if pages > 50 {
			t.Fatal("paging does not end")
		}
	}
	return posts, pages
}

func ids(posts []map[string]any) []string {
	out := make([]string, len(posts))
	for i, p := range posts {
		out[i] = str(p["id"])
	}
	return out
}

func TestMediaPagingFollowsNext(t *testing.T) {
	h := newHarness(t, Options{})
	tok := h.f.IssueLongLivedToken()
	posts, pages := fetchAll(t, h, tok, url.Values{"fields": {"id,timestamp"}, "limit": {"7"}})
	if pages != 5 || !slices.Equal(ids(posts), h.f.MediaIDs()) {
		t.Fatalf("%d pages, ids %v, want 5 pages of %v", pages, ids(posts), h.f.MediaIDs())
	}
	var prev time.Time
	for i, p := range posts {
		ts, err := time.Parse(timestampLayout, str(p["timestamp"]))
		if err != nil || !strings.HasSuffix(str(p["timestamp"]), "+0000") {
			t.Fatalf("timestamp %q: %v", p["timestamp"], err)
		}
		if i > 0 && ts.After(prev) {
			t.Errorf("post %d newer than the one before", i)
		}
		prev = ts
	}

	_, body := h.graph("/me/media", tok, nil)
	if n := len(items(body)); n != 25 {
		t.Errorf("default limit gave %d", n)
	}
	_, body = h.graph("/me/media", tok, url.Values{"limit": {"1000"}})
	if n := len(items(body)); n != 30 || body["paging"].(map[string]any)["next"] != nil {
		t.Errorf("limit 1000: %d items, paging %v", n, body["paging"])
	}
}

func TestMediaPagingBeforeCursor(t *testing.T) {
	h := newHarness(t, Options{})
	tok := h.f.IssueLongLivedToken()
	_, first := h.graph("/me/media", tok, url.Values{"limit": {"10"}})
	after := str(first["paging"].(map[string]any)["cursors"].(map[string]any)["after"])
	if !strings.HasPrefix(after, "QVFI") {
		t.Errorf("cursor %q", after)
	}
	_, second := h.graph("/me/media", tok, url.Values{"limit": {"10"}, "after": {after}})
	paging := second["paging"].(map[string]any)
	if paging["previous"] == nil || paging["next"] == nil {
		t.Fatalf("middle page paging %v", paging)
	}
	before := str(paging["cursors"].(map[string]any)["before"])
	_, back := h.graph("/me/media", tok, url.Values{"limit": {"10"}, "before": {before}})
	if !slices.Equal(ids(items(back)), ids(items(first))) {
		t.Errorf("before cursor gave %v, want %v", ids(items(back)), ids(items(first)))
	}
	if _, ok := back["paging"].(map[string]any)["previous"]; ok {
		t.Error("first page has a previous link")
	}
}

func TestMediaPagingSurvivesDeletion(t *testing.T) {
	h := newHarness(t, Options{})
	tok := h.f.IssueLongLivedToken()
	want := h.f.MediaIDs()
	_, first := h.graph("/me/media", tok, url.Values{"limit": {"5"}})
	h.f.DeletePost(want[4]) // the post the after cursor names
	next := str(first["paging"].(map[string]any)["next"])
	resp, raw := h.get(next)
	if resp.StatusCode != http.StatusOK {
		t.Fatal(resp.StatusCode)
	}
	if got := ids(items(decode(t, raw))); !slices.Equal(got, want[5:10]) {
		t.Errorf("after deletion got %v, want %v", got, want[5:10])
	}
}

func TestMediaShapes(t *testing.T) {
	h := newHarness(t, Options{})
	tok := h.f.IssueLongLivedToken()
	posts, _ := fetchAll(t, h, tok, url.Values{"fields": {allMediaFields}, "limit": {"100"}})
	idRe := regexp.MustCompile(`^1[78][0-9]{15}$`)
	permalinkRe := regexp.MustCompile(`^https://www\.instagram\.com/p/[A-Za-z0-9_-]{11}/$`)
	count := map[string]int{}
	var noURL, noCaption, withAlt, newlines, astral int
	for _, p := range posts {
		typ := str(p["media_type"])
		count[typ]++
		if !idRe.MatchString(str(p["id"])) || !permalinkRe.MatchString(str(p["permalink"])) || p["username"] != "vitrine.studio" {
			t.Errorf("post %v", p)
		}
		if _, ok := p["media_url"]; !ok {
			noURL++
		}
		if _, ok := p["thumbnail_url"]; ok != (typ == MediaVideo) {
			t.Errorf("%s post thumbnail_url present=%v", typ, ok)
		}
		caption, ok := p["caption"].(string)
		if !ok {
			noCaption++
		}
		if strings.Contains(caption, "\n") {
			newlines++
		}
		for _, r := range caption {
			if utf8.RuneLen(r) == 4 {
				astral++
				break
			}
		}
		if p["alt_text"] != nil {
			withAlt++
		}
		children, hasChildren := p["children"].(map[string]any)
		if hasChildren != (typ == MediaCarousel) {
			t.Errorf("%s post children present=%v", typ, hasChildren)
		}
		if hasChildren {
			kids := items(children)
			if len(kids) < 2 || len(kids) > 4 {
				t.Errorf("album with %d children", len(kids))
			}
			for _, c := range kids {
				if c["permalink"] != nil || c["media_url"] == nil || !idRe.MatchString(str(c["id"])) {
					t.Errorf("child %v", c)
				}
			}
			if p["media_url"] != kids[0]["media_url"] {
				t.Errorf("album media_url is not its first child's")
			}
		}
	}
	if len(posts) != 30 || count[MediaImage] < 12 || count[MediaVideo] < 3 || count[MediaCarousel] < 6 {
		t.Errorf("%d posts, types %v", len(posts), count)
	}
	if noURL != 1 || noCaption < 2 || withAlt < 3 || newlines < 3 || astral < 5 {
		t.Errorf("noURL %d noCaption %d alt %d newlines %d emoji %d", noURL, noCaption, withAlt, newlines, astral)
	}
}

func TestMediaNodeAndChildrenEdge(t *testing.T) {
	h := newHarness(t, Options{})
	tok := h.f.IssueLongLivedToken()
	var album, image Post
	for _, p := range h.f.Posts() {
		switch {
		case p.MediaType == MediaCarousel && album.ID == "":
			album = p
		case p.MediaType == MediaImage && !p.NoMediaURL && image.ID == "":
			image = p
		}
	}
	status, body := h.graph("/v24.0/"+album.ID, tok, url.Values{"fields": {"id,media_type,permalink,children"}})
	if status != http.StatusOK || body["permalink"] != album.Permalink() || len(items(body["children"].(map[string]any))) != len(album.Children) {
		t.Fatalf("%d %v", status, body)
	}
	status, body = h.graph("/"+album.ID+"/children", tok, url.Values{"fields": {"id,media_type,media_url,permalink"}})
	kids := items(body)
	if status != http.StatusOK || len(kids) != len(album.Children) || kids[0]["id"] != album.Children[0].ID || kids[0]["permalink"] != nil {
		t.Fatalf("%d %v", status, body)
	}
	status, body = h.graph("/"+album.Children[0].ID, tok, url.Values{"fields": {"id,media_type,caption,permalink,timestamp"}})
	if status != http.StatusOK || body["media_type"] == nil || body["permalink"] != nil || body["caption"] != nil || body["timestamp"] == nil {
		t.Fatalf("child node: %d %v", status, body)
	}
	status, body = h.graph("/"+image.ID+"/children", tok, nil)
	if status != http.StatusOK || len(items(body)) != 0 {
		t.Fatalf("image children: %d %v", status, body)
	}
	_, body = h.graph("/me", tok, url.Values{"fields": {"username,media.limit(3){id,caption}"}})
	if m, _ := body["media"].(map[string]any); len(items(m)) != 25 {
		t.Errorf("nested media edge: %v", body)
	}
}

func TestDefaultPostsAreDeterministic(t *testing.T) {
	a := New(Options{Clock: NewClock(testStart)})
	b := New(Options{Clock: NewClock(testStart)})
	if !slices.EqualFunc(a.Posts(), b.Posts(), func(x, y Post) bool {
		return x.ID == y.ID && x.Caption == y.Caption && x.Timestamp.Equal(y.Timestamp) && len(x.Children) == len(y.Children)
	}) {
		t.Fatal("two fakes disagree on their default posts")
	}
	if n := len(New(Options{Posts: 3}).MediaIDs()); n != 3 {
		t.Errorf("Posts: 3 gave %d", n)
	}
	if n := len(New(Options{Posts: -1}).MediaIDs()); n != 0 {
		t.Errorf("Posts: -1 gave %d", n)
	}
}

func TestAddDeleteAndEditPosts(t *testing.T) {
	h := newHarness(t, Options{Posts: 3})
	tok := h.f.IssueLongLivedToken()
	id := h.f.AddPost(Post{Caption: "fresh", Children: []Post{{}}})
	album := h.f.AddPost(Post{MediaType: MediaCarousel, Timestamp: testStart.Add(-time.Hour), Children: []Post{{}, {MediaType: MediaVideo}}})
	if ids := h.f.MediaIDs(); len(ids) != 5 || ids[0] != id || ids[1] != album {
		t.Fatalf("ids %v", ids)
	}
	_, body := h.graph("/me/media", tok, url.Values{"fields": {"id,caption,children{media_type}"}})
	first := items(body)[0]
	if first["id"] != id || first["caption"] != "fresh" || first["children"] != nil {
		t.Errorf("added post %v", first)
	}
	if kids := items(items(body)[1]["children"].(map[string]any)); len(kids) != 2 || kids[1]["media_type"] != MediaVideo {
		t.Errorf("added album %v", items(body)[1])
	}

	if !h.f.SetCaption(id, "edited") || h.f.SetCaption("nope", "x") {
		t.Fatal("SetCaption result")
	}
	if _, body = h.graph("/"+id, tok, url.Values{"fields": {"caption"}}); body["caption"] != "edited" {
		t.Errorf("caption %v", body)
	}
	h.f.SetCaption(id, "")
	if _, body = h.graph("/"+id, tok, url.Values{"fields": {"id,caption"}}); body["caption"] != nil {
		t.Errorf("empty caption still present: %v", body)
	}

	if !h.f.DeletePost(album) || h.f.DeletePost(album) {
		t.Fatal("DeletePost result")
	}
	h.wantGraphError("/"+album, tok, nil, 100, 33)
	if _, body = h.graph("/me", tok, url.Values{"fields": {"media_count"}}); body["media_count"] != json.Number("4") {
		t.Errorf("media_count %v", body)
	}
}

func TestJSONIsEscapedLikeMeta(t *testing.T) {
	h := newHarness(t, Options{Posts: 1})
	tok := h.f.IssueLongLivedToken()
	id := h.f.AddPost(Post{Caption: "café 🌅 <b>"})
	resp, raw := h.get(h.ep.GraphURL + "/" + id + "?fields=caption,permalink&access_token=" + tok)
	if resp.StatusCode != http.StatusOK {
		t.Fatal(resp.StatusCode)
	}
	s := string(raw)
	if !strings.Contains(s, `caf\u00e9 \ud83c\udf05`) || !strings.Contains(s, `https:\/\/www.instagram.com\/p\/`) {
		t.Errorf("body %s", s)
	}
	for _, c := range s {
		if c >= utf8.RuneSelf {
			t.Fatalf("raw non-ASCII in %s", s)
		}
	}
	if decode(t, raw)["caption"] != "café 🌅 <b>" {
		t.Error("caption does not decode back")
	}
}

func TestOddInputNeverBreaksTheServer(t *testing.T) {
	h := newHarness(t, Options{Posts: 5})
	tok := h.f.IssueLongLivedToken()
	paths := []string{
		"/", "/v24.0", "/v24.0/", "/v1/me", "//me", "/me/", "/me//media", "/%00", "/me?fields=%7B%7D%7D",
		"/me?fields=,,,", "/me?fields=media{media{media{}}}", "/me?fields=a(((", "/me/media?limit=99999999999999999999",
		"/me/media?before=QVFIOjE6", "/me/media?after=QVFIOng6MTc=", "/cdn/", "/cdn/x.jpg?oh=&oe=", "/cdn/x.jpg?oh=zz&oe=zz",
		"/oauth/access_token", "/oauth/authorize?client_id=%ff%fe", "/access_token?grant_type=ig_exchange_token",
		"/refresh_access_token", "/" + strings.Repeat("a/", 200),
	}
	for _, p := range paths {
		sep := "?"
		if strings.Contains(p, "?") {
			sep = "&"
		}
		resp, err := h.client.Get(h.srv.URL + p + sep + "access_token=" + tok)
		if err != nil {
			t.Fatalf("%s: %v (a panic drops the connection)", p, err)
		}
		resp.Body.Close()
		if resp.StatusCode >= 500 {
			t.Errorf("%s: %d", p, resp.StatusCode)
		}
	}
}
