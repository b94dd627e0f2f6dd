package store

import (
	"context"
	"strconv"
	"testing"
)

func count(n int) *int { return &n }

func withCounts(likes, comments *int) func(*Post) {
	return func(p *Post) { p.LikeCount, p.CommentsCount = likes, comments }
}

// countsOf prints a post's counts, "none" for a withheld one.
func countsOf(p Post) string {
	s := func(n *int) string {
		if n == nil {
			return "none"
		}
		return strconv.Itoa(*n)
	}
	return s(p.LikeCount) + "/" + s(p.CommentsCount)
}

// A withheld count is kept as none, not 0; the counts follow each sync,
// and a change of counts alone is not an update of the post.
func TestPostCounts(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		s, _ := b.open(t)
		replace(t, s,
			aPost("p1", withCounts(count(120), count(4))),
			aPost("p2", withCounts(nil, count(0))),
			aPost("p3"))
		want := map[string]string{"p1": "120/4", "p2": "none/0", "p3": "none/none"}
		for _, p := range allPosts(t, s) {
			if got := countsOf(p); got != want[p.ID] {
				t.Errorf("%s: counts %s, want %s", p.ID, got, want[p.ID])
			}
		}
		if p, ok, err := s.Post(ctx, "p2"); err != nil || !ok || countsOf(p) != "none/0" {
			t.Errorf("Post(p2) = %s, %v, %v", countsOf(p), ok, err)
		}

		res := replace(t, s,
			aPost("p1", withCounts(count(121), nil)),
			aPost("p2", withCounts(count(7), count(1))),
			aPost("p3"))
		if res.Updated != 0 {
			t.Errorf("new counts alone made %d updates, want 0", res.Updated)
		}
		want = map[string]string{"p1": "121/none", "p2": "7/1", "p3": "none/none"}
		for _, p := range allPosts(t, s) {
			if got := countsOf(p); got != want[p.ID] {
				t.Errorf("after the second sync, %s: counts %s, want %s", p.ID, got, want[p.ID])
			}
		}
	})
}
