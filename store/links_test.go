package store

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"
)

// linksOf is the links on record as "id=url|label", in Moderation's order.
func linksOf(t *testing.T, s *Store) []string {
	t.Helper()
	ms, err := s.Moderation(context.Background())
	if err != nil {
		t.Fatalf("Moderation: %v", err)
	}
	var out []string
	for _, m := range ms {
		if m.HasLink() {
			out = append(out, m.PostID+"="+m.Link.URL+"|"+m.Link.Label)
		}
	}
	return out
}

func TestPostLinks(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		s, _ := b.open(t)
		replace(t, s, aPost("p1"), aPost("p2"), aPost("p3"))

		ch, err := s.SetPostLink(ctx, "p2", Link{URL: "https://shop.example/mug", Label: "Buy the mug"})
		mustChange(t, "link p2", ch, err, true)
		ch, err = s.SetPostLink(ctx, "p2", Link{URL: "https://shop.example/mug", Label: "Buy the mug"})
		mustChange(t, "the same link again", ch, err, false)
		ch, err = s.SetPostLink(ctx, "p2", Link{URL: "https://shop.example/mug", Label: ""})
		mustChange(t, "the default label", ch, err, true)
		ch, err = s.SetPostLink(ctx, "p1", Link{URL: "https://shop.example/bowl"})
		mustChange(t, "link p1", ch, err, true)
		if got, want := linksOf(t, s), []string{"p1=https://shop.example/bowl|", "p2=https://shop.example/mug|"}; !slices.Equal(got, want) {
			t.Fatalf("links = %v, want %v", got, want)
		}
		// A link is not a decision to hide or pin, and those keep it.
		if got, want := moderationOf(t, s), []string{"p1:none", "p2:none"}; !slices.Equal(got, want) {
			t.Errorf("moderation = %v, want %v", got, want)
		}
		ch, err = s.HidePost(ctx, "p2")
		mustChange(t, "hide p2", ch, err, true)
		ch, err = s.PinPost(ctx, "p2", 3)
		mustChange(t, "pin p2", ch, err, true)
		ch, err = s.UnpinPost(ctx, "p2")
		mustChange(t, "unpin p2", ch, err, true)
		if got := linksOf(t, s); len(got) != 2 {
			t.Errorf("hiding, pinning and unpinning lost a link: %v", got)
		}

		// Removing the link leaves no row behind when it was the only
		// decision; a URL-less link with a label is no link.
		ch, err = s.SetPostLink(ctx, "p1", Link{Label: "stray"})
		mustChange(t, "remove p1's link", ch, err, true)
		ch, err = s.SetPostLink(ctx, "p1", Link{})
		mustChange(t, "remove it again", ch, err, false)
		var rows int64
		s.db.Model(&moderationRow{}).Where("post_id = ?", "p1").Count(&rows)
		if rows != 0 {
			t.Errorf("%d rows left for p1 with no decision", rows)
		}

		for _, id := range []string{"nope", "", "p1' OR 1=1 --"} {
			if ch, err := s.SetPostLink(ctx, id, Link{URL: "https://shop.example/"}); !errors.Is(err, ErrUnknownPost) || ch {
				t.Errorf("link %q = %v, %v; want ErrUnknownPost", id, ch, err)
			}
		}
		if got, want := linksOf(t, s), []string{"p2=https://shop.example/mug|"}; !slices.Equal(got, want) {
			t.Errorf("links = %v, want %v", got, want)
		}
	})
}

// Links live with the other decisions: syncs that rewrite every post,
// one that misses the post for a while (beyond the week a hidden post's
// images are kept) and a restart keep them; forgetting the account's
// decisions forgets them.
func TestPostLinksSurviveSyncsAndRestarts(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		c := newClock()
		key := newKey(t)
		loc := b.New(t)
		s, err := Open(loc, key, WithClock(c.Now))
		if err != nil {
			t.Fatal(err)
		}
		ctx := context.Background()
		replace(t, s, aPost("p1"), aPost("p2"))
		if _, err := s.SetPostLink(ctx, "p1", Link{URL: "https://shop.example/a", Label: "Shop"}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.HidePost(ctx, "p1"); err != nil {
			t.Fatal(err)
		}
		replace(t, s, aPost("p0"), aPost("p1", withCaption("edited")), aPost("p2"))
		replace(t, s, aPost("p0"), aPost("p2")) // p1 missing…
		c.Advance(8 * 24 * time.Hour)
		replace(t, s, aPost("p0"), aPost("p1"), aPost("p2")) // …and back
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		s, err = Open(loc, key, WithClock(c.Now))
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		if got, want := linksOf(t, s), []string{"p1=https://shop.example/a|Shop"}; !slices.Equal(got, want) {
			t.Errorf("after syncs and a restart: %v, want %v", got, want)
		}
		if got, want := moderationOf(t, s), []string{"p1:hidden"}; !slices.Equal(got, want) {
			t.Errorf("moderation: %v, want %v", got, want)
		}
		if err := s.DeleteModeration(ctx); err != nil {
			t.Fatal(err)
		}
		if got := linksOf(t, s); len(got) != 0 {
			t.Errorf("after DeleteModeration: %v", got)
		}
	})
}

// A database of the previous release (no counts, biography or links)
// gains them on opening and keeps what it held: the posts read as having
// no counts (none, not 0), the account no biography, the decisions no
// links; and each can then be written.
func TestCountsBiographyAndLinksMigrate(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		key := newKey(t)
		loc := b.New(t)
		s, err := Open(loc, key)
		if err != nil {
			t.Fatal(err)
		}
		// The previous release's schema: this release's columns dropped.
		for _, drop := range []string{
			"ALTER TABLE posts DROP COLUMN like_count",
			"ALTER TABLE posts DROP COLUMN comments_count",
			"ALTER TABLE tokens DROP COLUMN biography",
			"ALTER TABLE post_moderation DROP COLUMN link_url",
			"ALTER TABLE post_moderation DROP COLUMN link_label",
		} {
			if err := s.db.Exec(drop).Error; err != nil {
				t.Fatalf("%s: %v", drop, err)
			}
		}
		// What that release wrote, in its own columns.
		now := time.Date(2026, 11, 20, 8, 0, 0, 0, time.UTC)
		err = s.db.Exec(`INSERT INTO posts (id, media_type, caption, permalink, alt_text, media_url, thumbnail_url, timestamp, position, synced_at)
			VALUES ('p1', 'IMAGE', 'old post', 'https://www.instagram.com/p/p1/', '', 'https://cdn.example/p1.jpg', '', ?, 0, ?)`, now, now).Error
		if err != nil {
			t.Fatal(err)
		}
		if err := s.db.Exec(`INSERT INTO post_moderation (post_id, hidden_at, pin_seq) VALUES ('p1', ?, 0)`, now).Error; err != nil {
			t.Fatal(err)
		}
		err = s.db.Exec(`INSERT INTO tokens (id, cipher_version, nonce, ciphertext, user_id, username, name, account_type,
			profile_picture_url, media_count, followers_count, scopes, issued_at, expires_at, status, status_reason,
			status_changed_at, last_error, connected_at, updated_at)
			VALUES (1, 1, ?, ?, '178', 'old.account', 'Old', 'Business', '', 3, 99, '', ?, ?, 'valid', '', ?, '', ?, ?)`,
			[]byte("n"), []byte("c"), now, now, now, now, now).Error
		if err != nil {
			t.Fatal(err)
		}
		s.Close()

		s, err = Open(loc, key)
		if err != nil {
			t.Fatalf("reopening the previous release's database: %v", err)
		}
		defer s.Close()
		posts := allPosts(t, s)
		if len(posts) != 1 || posts[0].Caption != "old post" || countsOf(posts[0]) != "none/none" {
			t.Fatalf("posts after the upgrade: %+v", posts)
		}
		tok, err := s.Token(ctx)
		if tok.Username != "old.account" || tok.FollowersCount != 99 || tok.Biography != "" {
			t.Errorf("account after the upgrade: %v followers %d bio %q (%v)", tok, tok.FollowersCount, tok.Biography, err)
		}
		if got, want := moderationOf(t, s), []string{"p1:hidden"}; !slices.Equal(got, want) {
			t.Errorf("moderation after the upgrade: %v, want %v", got, want)
		}
		if got := linksOf(t, s); len(got) != 0 {
			t.Errorf("links after the upgrade: %v", got)
		}

		if _, err := s.SetPostLink(ctx, "p1", Link{URL: "https://shop.example/"}); err != nil {
			t.Errorf("linking on the upgraded database: %v", err)
		}
		replace(t, s, aPost("p1", withCounts(count(5), nil)))
		if p := allPosts(t, s)[0]; countsOf(p) != "5/none" {
			t.Errorf("counts on the upgraded database: %s", countsOf(p))
		}
		if err := s.UpdateAccount(ctx, "178", Account{Username: "old.account", Biography: "now with a bio"}); err != nil {
			t.Errorf("biography on the upgraded database: %v", err)
		}
		if got, want := moderationOf(t, s), []string{"p1:hidden"}; !slices.Equal(got, want) {
			t.Errorf("the old decision after new writes: %v, want %v", got, want)
		}
	})
}
