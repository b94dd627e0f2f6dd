package instagram

import (
	"context"
	"errors"
	"strings"
	"testing"

	"vitrine/instagram/fake"
)

// Instagram may refuse alt_text ("nonexisting field"): one retry without
// it, then never asked again in this process, and every post still comes.
// Before, the refusal failed every sync.
func TestOptionalFieldRefusedCostsOneRetry(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, withPosts(12), withConfig(func(c *Config) { c.PageSize = 5 }))
	alt := e.f.AddPost(fake.Post{MediaType: fake.MediaCarousel, Caption: "with alt",
		Children: []fake.Post{{MediaType: fake.MediaImage, AltText: "a child's alt"}, {MediaType: fake.MediaImage}}})
	tok := e.longLived()
	e.f.RefuseFields("alt_text")

	media, err := e.c.Media(ctx, tok, 0)
	if err != nil {
		t.Fatalf("Media with alt_text refused: %v", e.seen(err))
	}
	if len(media) != 13 || media[0].ID != alt || len(media[0].Children) != 2 {
		t.Fatalf("got %d posts (first %s with %d children), want 13 with the carousel first", len(media), media[0].ID, len(media[0].Children))
	}
	if n := e.f.CallsTo("/me/media"); n != 4 {
		t.Errorf("%d page requests, want 4 (3 pages and one retry)", n)
	}
	if n := strings.Count(e.logs.String(), "refused an optional field"); n != 1 {
		t.Errorf("the refusal was logged %d times, want once", n)
	}
	// Remembered: the next read asks without it from the start.
	if _, err := e.c.Media(ctx, tok, 0); err != nil {
		t.Fatal(e.seen(err))
	}
	if n := e.f.CallsTo("/me/media"); n != 7 {
		t.Errorf("%d page requests after a second read, want 7 (no new retry)", n)
	}

	// Accepted again by Instagram: a new process asks for alt_text and
	// gets it, children included.
	e.f.RefuseFields()
	fresh, err := New(e.cfg)
	if err != nil {
		t.Fatal(err)
	}
	media, err = fresh.Media(ctx, tok, 1)
	if err != nil {
		t.Fatal(e.seen(err))
	}
	if len(media) != 1 || len(media[0].Children) != 2 || media[0].Children[0].AltText != "a child's alt" {
		t.Errorf("carousel children's alt_text not read: %+v", media)
	}
}

// A required field refused is an error, not something to leave out.
func TestRequiredFieldRefusedIsAnError(t *testing.T) {
	e := newEnv(t, withPosts(3))
	tok := e.longLived()
	e.f.RefuseFields("permalink")
	_, err := e.c.Media(context.Background(), tok, 0)
	if !errors.Is(err, ErrBadRequest) || errors.Is(err, ErrTokenInvalid) {
		t.Fatalf("Media with permalink refused: %v, want a bad request (never token invalid)", err)
	}
	e.seen(err)
}

// Instagram can answer a page with no items but a next link: following it
// brings every post. Before, the first empty page ended the list.
func TestEmptyPagesWithNextAreFollowed(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, withPosts(12), withConfig(func(c *Config) { c.PageSize = 5 }))
	tok := e.longLived()
	e.f.SetEmptyPages(2)
	media, err := e.c.Media(ctx, tok, 0)
	if err != nil {
		t.Fatalf("Media: %v", e.seen(err))
	}
	checkMediaMatchesFake(t, e.f, media)
	if n := e.f.CallsTo("/me/media"); n != 9 {
		t.Errorf("%d page requests, want 9 (3 pages, each after 2 empty ones)", n)
	}
	// A run of empty pages longer than any real one ends the list, with
	// what came before, rather than paging forever.
	e.f.SetEmptyPages(maxEmptyPages + 1)
	media, err = e.c.Media(ctx, tok, 0)
	if err != nil || len(media) != 0 {
		t.Errorf("endless empty pages: %d posts, %v", len(media), err)
	}
	if !strings.Contains(e.logs.String(), "keeps answering empty pages") {
		t.Error("giving up on empty pages was not logged")
	}
}
