package systemtest

import (
	"encoding/json"
	"errors"
	"log/slog"
	"testing"
	"time"

	"vitrine/app"
	"vitrine/instagram"
	"vitrine/instagram/fake"
	"vitrine/jobs"
	"vitrine/store"
	"vitrine/testkit/testfake"
	"vitrine/testkit/testvitrine"
)

// An Instagram with the real one's quirks: it refuses alt_text, answers
// an empty page with a next link before every page, and rate-limits with
// code 80002 asking for 20 minutes. Every post still reaches /widget.json,
// the rate-limited sync waits as asked and then catches up, the gallery
// serves its last posts meanwhile, and the token is never flagged.
//
// The feed is 12 posts read 5 a page, so that it spans pages (and empty
// ones) as 30 posts do at the default 25 a page: each post's pictures are
// downloaded at the app's rate limit, 8 a second of real time.
func TestInstagramQuirksSeenFromTheGallery(t *testing.T) {
	t.Parallel()
	const posts = 12
	v := testvitrine.New(t, testvitrine.Served(), testvitrine.Posts(posts), testvitrine.StartAt(time.Now()))
	testfake.SmallPictures(v.Fake)
	// The app's client with quickRetries' backoff and 5 posts a page,
	// swapped in before anything runs (the jobs and admin hold it).
	ic := app.InstagramConfig(&v.Config, slog.New(slog.NewTextHandler(v.Logs, nil)), v.Clock.Now)
	ic.Backoff, ic.PageSize = time.Millisecond, 5
	client, err := instagram.New(ic)
	if err != nil {
		t.Fatal(err)
	}
	*v.Instagram = *client
	v.Fake.RefuseFields("alt_text")
	v.Fake.SetEmptyPages(1)
	v.ConnectAndSync(firstSyncPatience)
	// Every post with a picture (one of the fake's is copyright-flagged:
	// Instagram gives no media_url, so there is nothing to show).
	var shown int
	for _, p := range v.Fake.Posts() {
		if !p.NoMediaURL {
			shown++
		}
	}
	if got := widgetPostIDs(t, v); len(got) != shown {
		t.Fatalf("/widget.json has %d posts after the first sync, want %d", len(got), shown)
	}
	if n, err := v.Store.PostCount(t.Context()); err != nil || n != posts {
		t.Errorf("%d posts cached (%v), want %d", n, err, posts)
	}
	if pages := v.Fake.CallsTo("/me/media"); pages < 2*(posts/5+1) {
		t.Errorf("the feed was read in %d pages, want its %d posts over several, each after an empty one", pages, posts)
	}

	newID := v.Fake.AddPost(fake.Post{MediaType: fake.MediaImage, Caption: "posted during the rate limit"})
	v.Fake.RateLimitFor(20 * time.Minute)
	if err := v.Jobs.RunWaiting(t.Context(), jobs.JobSync); !errors.Is(err, instagram.ErrRateLimited) {
		t.Fatalf("sync while rate limited: %v, want rate limited", err)
	}
	if got := widgetPostIDs(t, v); len(got) != shown {
		t.Errorf("the gallery lost its posts during the rate limit: %d", len(got))
	}
	// Due again only once Instagram said access returns.
	v.Clock.Advance(10 * time.Minute)
	if err := v.Jobs.RunDue(t.Context()); err != nil && !errors.Is(err, instagram.ErrRateLimited) {
		t.Fatal(err) // validate, due now, meets the rate limit too
	}
	if got := widgetPostIDs(t, v); len(got) != shown {
		t.Fatalf("sync ran before the 20 minutes Instagram asked for: %d posts", len(got))
	}
	v.Clock.Advance(11 * time.Minute)
	if err := v.Jobs.RunDue(t.Context()); err != nil {
		t.Fatal(err)
	}
	got := widgetPostIDs(t, v)
	if len(got) != shown+1 || got[0] != newID {
		t.Errorf("after the rate limit: %d posts, first %q; want %d with %s first", len(got), got[0], shown+1, newID)
	}
	tok, err := v.Store.Token(t.Context())
	if err != nil || tok.Status != store.StatusValid {
		t.Errorf("token %s (%v), want valid throughout", tok.Status, err)
	}
}

func widgetPostIDs(t *testing.T, v *testvitrine.Vitrine) []string {
	t.Helper()
	var doc struct {
		Posts []struct {
			ID string `json:"id"`
		} `json:"posts"`
	}
	_, body := v.Get("/widget.json?count=100")
	if err := json.Unmarshal(body, &doc); err != nil {
		t.Fatalf("widget.json: %v\n%.300s", err, body)
	}
	ids := make([]string, len(doc.Posts))
	for i, p := range doc.Posts {
		ids[i] = p.ID
	}
	return ids
}
