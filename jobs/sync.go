package jobs

import (
	"context"
	"errors"
	"fmt"
	"time"

	"vitrine/instagram"
	"vitrine/store"
)

// SyncReport is what one sync did.
type SyncReport struct {
	Posts                   int // posts now cached
	Added, Updated, Deleted int
	Images                  int // images the posts need
	Mirrored                int // downloaded and stored by this sync
	MirrorFailed            int // to be retried by the next sync
	Duration                time.Duration
}

func (r SyncReport) String() string {
	s := fmt.Sprintf("%d posts (%d new, %d changed, %d removed); images: %d mirrored now, %d in all",
		r.Posts, r.Added, r.Updated, r.Deleted, r.Mirrored, r.Images)
	if r.MirrorFailed > 0 {
		s += fmt.Sprintf(", %d failed (retried next sync)", r.MirrorFailed)
	}
	return s
}

// SyncOnce runs the sync job now — the code `vitrine sync` and the
// scheduler share — and records the run. progress, when not nil, is called
// with (done, total) as images are mirrored: first (0, total), then once
// per image. It returns ErrAlreadyRunning if a sync is running in this
// process.
func (s *Scheduler) SyncOnce(ctx context.Context, progress func(done, total int)) (SyncReport, error) {
	j, err := s.job(JobSync)
	if err != nil {
		return SyncReport{}, err
	}
	var rep SyncReport
	err = s.runTracked(ctx, j, false, func(ctx context.Context) error {
		var err error
		rep, err = s.sync(ctx, progress)
		return err
	})
	return rep, err
}

func (s *Scheduler) syncJob(ctx context.Context) error {
	_, err := s.sync(ctx, nil)
	if err != nil && s.onSyncFailed != nil && !errors.Is(err, ErrNotConnected) && !errors.Is(err, ErrAlreadyRunning) {
		s.onSyncFailed(err)
	}
	return err
}

// sync reads every page of the feed (up to widget.max_posts) with carousel
// children and video thumbnails, replaces the cached posts, mirrors the
// images while their URLs are fresh, and tells the widget.
func (s *Scheduler) sync(ctx context.Context, progress func(done, total int)) (SyncReport, error) {
	var rep SyncReport
	tok, err := s.token(ctx)
	if err != nil {
		return rep, err
	}
	if tok.Status == store.StatusNeedsReauth {
		return rep, needsReauth(tok)
	}
	t0 := time.Now()
	max := s.cfg.Widget.MaxPosts
	if max <= 0 {
		max = 100
	}
	media, err := s.ig.Media(ctx, tok.AccessToken, max)
	if err != nil {
		err = s.upstreamFailure(ctx, "sync", err, false)
		s.evaluateAlerts(ctx)
		return rep, err
	}
	posts := toPosts(media)
	res, err := s.st.ReplacePosts(ctx, posts)
	if err != nil {
		return rep, err
	}
	rep.Posts, rep.Added, rep.Updated, rep.Deleted = len(posts), res.Added, res.Updated, res.Deleted

	mr, err := s.mirror(ctx, posts, tok.ProfilePictureURL, progress)
	rep.Images, rep.Mirrored, rep.MirrorFailed = mr.total, mr.mirrored, mr.failed
	rep.Duration = time.Since(t0)
	if err != nil {
		return rep, err
	}
	s.metrics.syncDuration.Observe(rep.Duration.Seconds())
	level := store.LevelInfo
	if rep.MirrorFailed > 0 {
		level = store.LevelWarn
		s.log.Warn("jobs: some images failed to mirror; retried next sync", "failed", rep.MirrorFailed, "first_error", mr.firstErr)
	}
	// Updated alone is not news: Instagram re-signs media URLs all the time.
	if rep.Added+rep.Deleted+rep.Mirrored+rep.MirrorFailed > 0 {
		s.event(ctx, "sync", level, "Synced "+rep.String()+".")
	}
	s.log.Info("jobs: synced", "posts", rep.Posts, "added", rep.Added, "updated", rep.Updated, "deleted", rep.Deleted,
		"mirrored", rep.Mirrored, "mirror_failed", rep.MirrorFailed, "duration", rep.Duration)
	if s.onSynced != nil {
		s.onSynced()
	}
	return rep, nil
}

func toPosts(media []instagram.Media) []store.Post {
	posts := make([]store.Post, 0, len(media))
	for _, m := range media {
		p := store.Post{
			ID: m.ID, MediaType: m.MediaType, Caption: m.Caption, Permalink: m.Permalink, AltText: m.AltText,
			MediaURL: m.MediaURL, ThumbnailURL: m.ThumbnailURL, Timestamp: m.Timestamp,
		}
		for _, c := range m.Children {
			p.Children = append(p.Children, store.Child{
				ID: c.ID, PostID: m.ID, MediaType: c.MediaType, MediaURL: c.MediaURL,
				ThumbnailURL: c.ThumbnailURL, AltText: c.AltText,
			})
		}
		posts = append(posts, p)
	}
	return posts
}
