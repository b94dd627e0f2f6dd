package instagram

import (
	"context"
	"strconv"
	"strings"
	"testing"

	"vitrine/instagram/fake"
)

// countOf prints a count as the tests compare it: "none" when withheld.
func countOf(n *int) string {
	if n == nil {
		return "none"
	}
	return strconv.Itoa(*n)
}

// The feed's counts are read; a count Instagram withholds is none, not 0,
// and a zero stays a zero.
func TestMediaCounts(t *testing.T) {
	e := newEnv(t, withPosts(3))
	hidden := e.f.AddPost(fake.Post{Caption: "likes hidden", LikeCount: 90, CommentsCount: 4, WithholdLikeCount: true})
	quiet := e.f.AddPost(fake.Post{Caption: "nobody yet", WithholdCommentsCount: true})
	media, err := e.c.Media(context.Background(), e.longLived(), 0)
	if err != nil {
		t.Fatalf("Media: %v", e.seen(err))
	}
	got := map[string]string{}
	for _, m := range media {
		got[m.ID] = countOf(m.LikeCount) + "/" + countOf(m.CommentsCount)
		for _, c := range m.Children {
			if c.LikeCount != nil || c.CommentsCount != nil {
				t.Errorf("child %s has counts", c.ID)
			}
		}
	}
	if got[hidden] != "none/4" || got[quiet] != "0/none" {
		t.Errorf("withheld counts: %s and %s, want none/4 and 0/none", got[hidden], got[quiet])
	}
	for _, p := range e.f.Posts() {
		if p.ID == hidden || p.ID == quiet {
			continue
		}
		if want := strconv.Itoa(p.LikeCount) + "/" + strconv.Itoa(p.CommentsCount); got[p.ID] != want {
			t.Errorf("post %s: %s, want %s", p.ID, got[p.ID], want)
		}
	}
}

// A refused count is left out from then on, like alt_text: one retry, the
// other count still read, every post still there.
func TestRefusedCountCostsOneRetry(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, withPosts(4))
	tok := e.longLived()
	e.f.RefuseFields("like_count")
	media, err := e.c.Media(ctx, tok, 0)
	if err != nil {
		t.Fatalf("Media with like_count refused: %v", e.seen(err))
	}
	if len(media) != 4 {
		t.Fatalf("%d posts, want 4", len(media))
	}
	for _, m := range media {
		if m.LikeCount != nil || m.CommentsCount == nil {
			t.Errorf("post %s: likes %s, comments %s; want none and a count", m.ID, countOf(m.LikeCount), countOf(m.CommentsCount))
		}
	}
	if _, err := e.c.Media(ctx, tok, 0); err != nil {
		t.Fatal(e.seen(err))
	}
	if n := e.f.CallsTo("/me/media"); n != 3 {
		t.Errorf("%d page requests, want 3 (one retry, then never asked again)", n)
	}
}

// The biography is read with the profile; when Instagram refuses it, /me
// is asked again without it, once per process, and validation goes on.
func TestMeBiography(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	tok := e.longLived()
	e.f.SetProfile("Ceramics & light ✨\nHandmade in Lisbon.", 4321)
	p, err := e.c.Me(ctx, tok)
	if err != nil {
		t.Fatalf("Me: %v", e.seen(err))
	}
	if p.Biography != "Ceramics & light ✨\nHandmade in Lisbon." || p.FollowersCount != 4321 {
		t.Errorf("profile: bio %q, followers %d", p.Biography, p.FollowersCount)
	}

	e.f.RefuseFields("biography")
	if p, err = e.c.Me(ctx, tok); err != nil {
		t.Fatalf("Me with biography refused: %v", e.seen(err))
	}
	if p.Biography != "" || p.Username == "" || p.FollowersCount != 4321 {
		t.Errorf("profile without the biography: %+v", p)
	}
	if _, err = e.c.Me(ctx, tok); err != nil {
		t.Fatal(e.seen(err))
	}
	if n := e.f.CallsTo("/me"); n != 4 {
		t.Errorf("%d /me requests, want 4 (one, a refusal and its retry, one)", n)
	}
	if n := strings.Count(e.logs.String(), "refused an optional field"); n != 1 {
		t.Errorf("the refusal was logged %d times, want once", n)
	}
}

// A required field of the profile refused stays an error.
func TestRequiredProfileFieldRefusedIsAnError(t *testing.T) {
	e := newEnv(t)
	tok := e.longLived()
	e.f.RefuseFields("followers_count")
	if _, err := e.c.Me(context.Background(), tok); err == nil {
		t.Fatal("Me with followers_count refused succeeded")
	} else {
		e.seen(err)
	}
}

func TestParseCounts(t *testing.T) {
	body := `{"data":[
	  {"id":"1","like_count":12,"comments_count":"3"},
	  {"id":"2","like_count":0,"comments_count":null},
	  {"id":"3"},
	  {"id":"4","like_count":-1,"comments_count":{"n":1}},
	  {"id":"5","like_count":"many","comments_count":1e3},
	  {"id":"6","like_count":99999999999}]}`
	p, err := parseMediaPage([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"12/3", "0/none", "none/none", "none/none", "none/1000", "2147483647/none"}
	for i, m := range p.items {
		if got := countOf(m.LikeCount) + "/" + countOf(m.CommentsCount); got != want[i] {
			t.Errorf("item %s: %s, want %s", m.ID, got, want[i])
		}
	}
	prof, err := parseProfile([]byte(`{"user_id":"1","username":"u","biography":"a <b>bio</b>"}`))
	if err != nil || prof.Biography != "a <b>bio</b>" {
		t.Errorf("parseProfile biography: %+v %v", prof, err)
	}
}
