package testfake

import (
	"slices"
	"testing"

	"vitrine/instagram/fake"
)

// The posts keep everything but their size, which is a third.
func TestSmallPicturesKeepsThePosts(t *testing.T) {
	f := fake.New(fake.Options{Posts: 12})
	before := f.Posts()
	SmallPictures(f)
	after := f.Posts()
	if len(after) != len(before) {
		t.Fatalf("%d posts after, %d before", len(after), len(before))
	}
	var carousels int
	for i, a := range after {
		b := before[i]
		if a.ID != b.ID || a.MediaType != b.MediaType || a.Caption != b.Caption || a.AltText != b.AltText ||
			!a.Timestamp.Equal(b.Timestamp) || a.Shortcode != b.Shortcode || a.NoMediaURL != b.NoMediaURL {
			t.Errorf("post %d changed: %+v, was %+v", i, a, b)
		}
		if a.Width != b.Width/3 || a.Height != b.Height/3 {
			t.Errorf("post %d is %d×%d, was %d×%d", i, a.Width, a.Height, b.Width, b.Height)
		}
		ids := func(p fake.Post) (out []string) {
			for _, c := range p.Children {
				out = append(out, c.ID+" "+c.MediaType)
				if c.Width != p.Width || c.Height != p.Height {
					t.Errorf("post %d's child %s is %d×%d, the album %d×%d", i, c.ID, c.Width, c.Height, p.Width, p.Height)
				}
			}
			return out
		}
		if !slices.Equal(ids(a), ids(b)) {
			t.Errorf("post %d's children %v, were %v", i, ids(a), ids(b))
		}
		if len(a.Children) > 0 {
			carousels++
		}
	}
	if carousels == 0 {
		t.Error("no carousel among the posts: the test checks little")
	}
}
