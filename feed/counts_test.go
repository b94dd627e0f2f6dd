package feed

import (
	"strconv"
	"testing"

	"vitrine/instagram/fake"
)

// A sync stores each post's counts as Instagram gave them, a withheld one
// as none; the next sync brings the new counts.
func TestSyncStoresCounts(t *testing.T) {
	h := newHarness(t, withPosts(2))
	hidden := h.f.AddPost(fake.Post{Caption: "likes hidden", LikeCount: 50, CommentsCount: 2, WithholdLikeCount: true})
	h.connect()
	if _, err := h.feed.Sync(h.ctx, nil); err != nil {
		t.Fatal(err)
	}
	counts := func() map[string]string {
		posts, err := h.st.Posts(h.ctx, 0)
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]string{}
		for _, p := range posts {
			s := func(n *int) string {
				if n == nil {
					return "none"
				}
				return strconv.Itoa(*n)
			}
			out[p.ID] = s(p.LikeCount) + "/" + s(p.CommentsCount)
		}
		return out
	}
	got := counts()
	if got[hidden] != "none/2" {
		t.Errorf("withheld likes stored as %s, want none/2", got[hidden])
	}
	for _, p := range h.f.Posts() {
		if p.ID == hidden {
			continue
		}
		if want := strconv.Itoa(p.LikeCount) + "/" + strconv.Itoa(p.CommentsCount); got[p.ID] != want {
			t.Errorf("post %s stored %s, want %s", p.ID, got[p.ID], want)
		}
	}

	h.f.SetCounts(hidden, 51, 9)
	rep, err := h.feed.Sync(h.ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := counts(); got[hidden] != "none/9" {
		t.Errorf("after the next sync: %s, want none/9", got[hidden])
	}
	if rep.Updated != 0 {
		t.Errorf("new counts alone reported %d updated posts", rep.Updated)
	}
}
