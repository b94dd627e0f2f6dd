package store

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"
)

// aPost builds a post with plausible fields; mods adjust it.
func aPost(id string, mods ...func(*Post)) Post {
	p := Post{
		ID:        id,
		MediaType: "IMAGE",
		Caption:   "caption of " + id,
		Permalink: "https://www.instagram.com/p/" + id + "/",
		MediaURL:  "https://cdn.example/" + id + ".jpg",
		Timestamp: time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC),
	}
	for _, m := range mods {
		m(&p)
	}
	return p
}

func withChildren(ids ...string) func(*Post) {
	return func(p *Post) {
		p.MediaType = "CAROUSEL_ALBUM"
		p.Children = nil
		for _, id := range ids {
			p.Children = append(p.Children, Child{ID: id, MediaType: "IMAGE", MediaURL: "https://cdn.example/" + id + ".jpg"})
		}
	}
}

func withCaption(c string) func(*Post) { return func(p *Post) { p.Caption = c } }

func postIDs(posts []Post) []string {
	ids := make([]string, len(posts))
	for i, p := range posts {
		ids[i] = p.ID
	}
	return ids
}

func childIDs(p Post) []string {
	ids := make([]string, len(p.Children))
	for i, c := range p.Children {
		ids[i] = c.ID
	}
	return ids
}

func replace(t *testing.T, s *Store, posts ...Post) SyncResult {
	t.Helper()
	res, err := s.ReplacePosts(context.Background(), posts)
	if err != nil {
		t.Fatalf("ReplacePosts: %v", err)
	}
	return res
}

func allPosts(t *testing.T, s *Store) []Post {
	t.Helper()
	posts, err := s.Posts(context.Background(), 0)
	if err != nil {
		t.Fatalf("Posts: %v", err)
	}
	return posts
}

func TestReplacePostsCountsAndOrder(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		c := newClock()
		s, _ := b.open(t, WithClock(c.Now))

		res := replace(t, s, aPost("p1", withChildren("c1a", "c1b")), aPost("p2"), aPost("p3", withChildren("c3a")))
		if res != (SyncResult{Added: 3}) {
			t.Errorf("first sync = %+v, want 3 added", res)
		}
		posts := allPosts(t, s)
		if got := postIDs(posts); !slices.Equal(got, []string{"p1", "p2", "p3"}) {
			t.Fatalf("order = %v", got)
		}
		for i, p := range posts {
			if p.Position != i || !p.SyncedAt.Equal(c.Now()) {
				t.Errorf("%s: position %d synced %v; want %d, %v", p.ID, p.Position, p.SyncedAt, i, c.Now())
			}
		}
		if got := childIDs(posts[0]); !slices.Equal(got, []string{"c1a", "c1b"}) {
			t.Errorf("p1 children = %v", got)
		}
		for i, ch := range posts[0].Children {
			if ch.PostID != "p1" || ch.Position != i || ch.MediaURL != "https://cdn.example/"+ch.ID+".jpg" {
				t.Errorf("child %d = %+v", i, ch)
			}
		}
		if len(posts[1].Children) != 0 {
			t.Errorf("p2 has children %v", childIDs(posts[1]))
		}

		// A new post on top, p2's caption edited, p1's carousel changed, p3 deleted.
		c.Advance(time.Hour)
		res = replace(t, s,
			aPost("p0"),
			aPost("p1", withChildren("c1b", "c1c")),
			aPost("p2", withCaption("edited")),
		)
		if res != (SyncResult{Added: 1, Updated: 2, Deleted: 1}) {
			t.Errorf("second sync = %+v, want 1 added, 2 updated, 1 deleted", res)
		}
		posts = allPosts(t, s)
		if got := postIDs(posts); !slices.Equal(got, []string{"p0", "p1", "p2"}) {
			t.Fatalf("order = %v", got)
		}
		if got := childIDs(posts[1]); !slices.Equal(got, []string{"c1b", "c1c"}) {
			t.Errorf("p1 children = %v, want replaced by c1b c1c", got)
		}
		if posts[2].Caption != "edited" || posts[2].Position != 2 || !posts[2].SyncedAt.Equal(c.Now()) {
			t.Errorf("p2 = %+v", posts[2])
		}
		var orphans int64
		s.db.Model(&childRow{}).Where("post_id = ?", "p3").Count(&orphans)
		if orphans != 0 {
			t.Errorf("deleted post p3 left %d children", orphans)
		}

		// The same list again changes nothing; a reorder only moves posts.
		if res := replace(t, s, aPost("p0"), aPost("p1", withChildren("c1b", "c1c")), aPost("p2", withCaption("edited"))); res != (SyncResult{}) {
			t.Errorf("unchanged sync = %+v, want zeros", res)
		}
		if res := replace(t, s, aPost("p2", withCaption("edited")), aPost("p1", withChildren("c1b", "c1c")), aPost("p0")); res != (SyncResult{}) {
			t.Errorf("reordering sync = %+v, want zeros", res)
		}
		if got := postIDs(allPosts(t, s)); !slices.Equal(got, []string{"p2", "p1", "p0"}) {
			t.Errorf("order after reorder = %v", got)
		}
	})
}

func TestReplacePostsDropsRepeats(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		s, _ := b.open(t)
		res := replace(t, s, aPost("a", withChildren("x", "y", "x")), aPost("b"), aPost("a", withCaption("later copy")))
		if res != (SyncResult{Added: 2}) {
			t.Errorf("result = %+v, want 2 added", res)
		}
		posts := allPosts(t, s)
		if got := postIDs(posts); !slices.Equal(got, []string{"a", "b"}) {
			t.Fatalf("order = %v", got)
		}
		if posts[0].Caption != "caption of a" || !slices.Equal(childIDs(posts[0]), []string{"x", "y"}) || posts[1].Position != 1 {
			t.Errorf("first occurrence not kept: %+v", posts)
		}
	})
}

func TestReplacePostsRejectsMissingIDsAndKeepsCache(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		s, _ := b.open(t)
		replace(t, s, aPost("a"))
		if _, err := s.ReplacePosts(ctx, []Post{aPost("b"), aPost("")}); err == nil {
			t.Error("post without ID accepted")
		}
		bad := aPost("c")
		bad.Children = []Child{{ID: ""}}
		if _, err := s.ReplacePosts(ctx, []Post{bad}); err == nil {
			t.Error("child without ID accepted")
		}
		if got := postIDs(allPosts(t, s)); !slices.Equal(got, []string{"a"}) {
			t.Errorf("a rejected sync changed the cache: %v", got)
		}
	})
}

func TestReplacePostsEmptyClears(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		s, _ := b.open(t)
		replace(t, s, aPost("a", withChildren("x")), aPost("b"))
		if res := replace(t, s); res != (SyncResult{Deleted: 2}) {
			t.Errorf("result = %+v, want 2 deleted", res)
		}
		n, err := s.PostCount(context.Background())
		if err != nil || n != 0 {
			t.Errorf("PostCount = %d, %v; want 0", n, err)
		}
		var kids int64
		s.db.Model(&childRow{}).Count(&kids)
		if kids != 0 {
			t.Errorf("%d children left", kids)
		}
	})
}

func TestPostsLimitAndCount(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		s, _ := b.open(t)
		replace(t, s, aPost("a", withChildren("a1")), aPost("b", withChildren("b1", "b2")), aPost("c", withChildren("c1")))
		posts, err := s.Posts(ctx, 2)
		if err != nil {
			t.Fatal(err)
		}
		if got := postIDs(posts); !slices.Equal(got, []string{"a", "b"}) {
			t.Fatalf("Posts(2) = %v", got)
		}
		if !slices.Equal(childIDs(posts[0]), []string{"a1"}) || !slices.Equal(childIDs(posts[1]), []string{"b1", "b2"}) {
			t.Errorf("children = %v %v", childIDs(posts[0]), childIDs(posts[1]))
		}
		n, err := s.PostCount(ctx)
		if err != nil || n != 3 {
			t.Errorf("PostCount = %d, %v; want 3", n, err)
		}
		empty, _ := b.open(t)
		if posts, err := empty.Posts(ctx, 10); err != nil || len(posts) != 0 {
			t.Errorf("Posts on an empty store = %v, %v", posts, err)
		}
	})
}

func TestReplacePostsManyInBatches(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		s, _ := b.open(t)
		var posts []Post
		for i := range 3*batchSize + 7 {
			id := fmt.Sprintf("p%04d", i)
			posts = append(posts, aPost(id, withChildren(id+"-1", id+"-2")))
		}
		if res := replace(t, s, posts...); res.Added != len(posts) {
			t.Fatalf("added %d, want %d", res.Added, len(posts))
		}
		// Keep every other post: the deletes span several batches too.
		var kept []Post
		for i, p := range posts {
			if i%2 == 0 {
				kept = append(kept, p)
			}
		}
		res := replace(t, s, kept...)
		if res != (SyncResult{Deleted: len(posts) - len(kept)}) {
			t.Errorf("result = %+v", res)
		}
		got := allPosts(t, s)
		if len(got) != len(kept) || got[len(got)-1].ID != kept[len(kept)-1].ID || len(got[len(got)-1].Children) != 2 {
			t.Errorf("got %d posts, last %+v", len(got), got[len(got)-1])
		}
	})
}

func TestPostByID(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		s, _ := b.open(t)
		replace(t, s, aPost("p1"), aPost("p2", withChildren("c2a", "c2b")), aPost("p3"))
		all := allPosts(t, s)
		for _, want := range all {
			got, ok, err := s.Post(context.Background(), want.ID)
			if err != nil || !ok || fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("Post(%s) = %+v, %v, %v; want %+v", want.ID, got, ok, err, want)
			}
		}
		if _, ok, err := s.Post(context.Background(), "c2a"); ok || err != nil {
			t.Errorf("Post of a carousel item = %v, %v; want not found", ok, err)
		}
	})
}
