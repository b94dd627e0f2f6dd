package store

import (
	"context"
	"path/filepath"
	"testing"
	"time"
)

// TestGenerationMovesWithWhatTheGalleryShows walks through every write and
// checks the generation moved exactly when the gallery's content did, as
// seen from a second handle on the same file (another process).
func TestGenerationMovesWithWhatTheGalleryShows(t *testing.T) {
	ctx := context.Background()
	s, path := openTest(t)
	other, err := Open(path, newKey(t))
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()

	last := int64(0)
	step := func(what string, moves bool, write func() error) {
		t.Helper()
		if err := write(); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		g, err := other.Generation(ctx)
		if err != nil {
			t.Fatalf("%s: generation: %v", what, err)
		}
		switch {
		case moves && g <= last:
			t.Errorf("%s: generation %d, was %d; want it to grow", what, g, last)
		case !moves && g != last:
			t.Errorf("%s: generation %d, was %d; want it unchanged", what, g, last)
		}
		last = g
	}
	if g, err := s.Generation(ctx); err != nil || g != 0 {
		t.Fatalf("new database: generation %d, %v; want 0", g, err)
	}
	tok := Token{AccessToken: "IGQ-secret", UserID: "17841", Username: "vitrine.studio", Name: "Vitrine"}
	step("connect", true, func() error { return s.SaveToken(ctx, tok) })
	step("replace posts", true, func() error { _, err := s.ReplacePosts(ctx, []Post{aPost("p1"), aPost("p2")}); return err })
	step("the same posts again (SyncedAt moves)", true, func() error { _, err := s.ReplacePosts(ctx, []Post{aPost("p1"), aPost("p2")}); return err })
	im := Image{MediaID: "p1", PostID: "p1", Width: 1080, Height: 1350, Variants: []ImageVariant{{Width: 320, Height: 400, Path: "p1/320.jpg"}}}
	step("save image", true, func() error { return s.SaveImage(ctx, im) })
	step("save video", true, func() error { return s.SaveVideo(ctx, "p1", "p1/video.mp4", 1000) })
	step("save video of no image", false, func() error {
		if s.SaveVideo(ctx, "nope", "nope/video.mp4", 1) == nil {
			t.Error("video of an unknown image accepted")
		}
		return nil
	})
	step("hide", true, func() error { _, err := s.HidePost(ctx, "p2"); return err })
	step("hide again (no change)", false, func() error { _, err := s.HidePost(ctx, "p2"); return err })
	step("pin", true, func() error { _, err := s.PinPost(ctx, "p1", 3); return err })
	step("unpin", true, func() error { _, err := s.UnpinPost(ctx, "p1"); return err })
	step("validate: a fresh profile, same names", false, func() error {
		return s.UpdateAccount(ctx, tok.UserID, Account{Username: tok.Username, Name: tok.Name, ProfilePictureURL: "https://cdn/new", MediaCount: 9})
	})
	step("validate: the account was renamed", true, func() error {
		return s.UpdateAccount(ctx, tok.UserID, Account{Username: "vitrine.shop", Name: tok.Name})
	})
	step("validate: a new biography", true, func() error {
		return s.UpdateAccount(ctx, tok.UserID, Account{Username: "vitrine.shop", Name: tok.Name, Biography: "Handmade"})
	})
	step("validate: new followers", true, func() error {
		return s.UpdateAccount(ctx, tok.UserID, Account{Username: "vitrine.shop", Name: tok.Name, Biography: "Handmade", FollowersCount: 12})
	})
	step("validate: the same header", false, func() error {
		return s.UpdateAccount(ctx, tok.UserID, Account{Username: "vitrine.shop", Name: tok.Name, Biography: "Handmade", FollowersCount: 12, MediaCount: 3})
	})
	shop := Link{URL: "https://shop.example/mug", Label: "Buy"}
	step("link a post", true, func() error { _, err := s.SetPostLink(ctx, "p1", shop); return err })
	step("the same link again (no change)", false, func() error { _, err := s.SetPostLink(ctx, "p1", shop); return err })
	step("remove the link", true, func() error { _, err := s.SetPostLink(ctx, "p1", Link{}); return err })
	step("token status and checks", false, func() error {
		if _, err := s.UpdateTokenStatus(ctx, StatusRefreshDue, "due"); err != nil {
			return err
		}
		return s.MarkTokenChecked(ctx, time.Now(), "")
	})
	step("refresh", false, func() error { return s.ReplaceAccessToken(ctx, "IGQ-new", time.Now(), time.Now()) })
	step("delete moderation", true, func() error { return s.DeleteModeration(ctx) })
	step("delete moderation, none left", false, func() error { return s.DeleteModeration(ctx) })
	step("delete images", true, func() error { return s.DeleteImages(ctx, []string{"p1"}) })
	step("delete images, none left", false, func() error { return s.DeleteImages(ctx, []string{"p1"}) })
	step("disconnect", true, func() error { return s.DeleteToken(ctx) })
	step("disconnect again", false, func() error { return s.DeleteToken(ctx) })
	run := func(failures int) func() error {
		return func() error {
			return s.SaveJobRun(ctx, JobRun{Name: "sync", LastRun: time.Now(), LastOK: failures == 0, Failures: failures})
		}
	}
	step("a job's first run, a success", false, run(0))
	step("the job succeeds again", false, run(0))
	step("the job starts failing (the gallery goes stale)", true, run(1))
	step("the job fails again", false, run(2))
	step("the job succeeds (no longer stale)", true, run(0))
	step("sessions and events", false, func() error {
		if err := s.AddEvent(ctx, "test", "info", "x"); err != nil {
			return err
		}
		return s.SetState(ctx, "k", "v")
	})
}

// TestGenerationSurvivesReopen: a restarted process must not see an old
// number again, or a replica that kept running would miss the next change.
func TestGenerationSurvivesReopen(t *testing.T) {
	ctx := context.Background()
	path, key := filepath.Join(t.TempDir(), "vitrine.db"), newKey(t)
	s, err := Open(path, key)
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if err := s.SaveToken(ctx, Token{AccessToken: "IGQ-x", UserID: "1", Username: "a"}); err != nil {
			t.Fatal(err)
		}
	}
	s.Close()
	s, err = Open(path, key)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if g, err := s.Generation(ctx); err != nil || g != 3 {
		t.Errorf("after reopen: generation %d, %v; want 3", g, err)
	}
}
