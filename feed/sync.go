// Package feed keeps the owner's posts: it reads every page of the media
// feed into the store's cache and mirrors each image to our own origin,
// at a few widths, while Instagram's signed URLs are fresh. Visitors are
// then served from the cache and the mirror, never from Instagram.
package feed

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"syscall"
	"time"

	"vitrine/instagram"
	"vitrine/moderation"
	"vitrine/store"
)

// Report is what one sync did.
type Report struct {
	Posts                   int // posts now cached
	Added, Updated, Deleted int
	Images                  int // images the posts need
	Mirrored                int // images downloaded and stored by this sync
	Videos                  int // videos downloaded and stored by this sync
	MirrorFailed            int // images and videos to be retried by the next sync
	// NoSpace counts those of MirrorFailed not mirrored because the media
	// directory's disk is full (NoSpaceVideos of them videos).
	NoSpace, NoSpaceVideos int
	Duration               time.Duration
}

// ErrNoSpace is what a sync whose mirroring found the disk full returns
// (a *NoSpaceError): the posts are synced, some of their files are not.
var ErrNoSpace = errors.New("data directory full")

// NoSpaceError says how many files a full disk kept from being mirrored;
// it is ErrNoSpace and syscall.ENOSPC.
type NoSpaceError struct{ Images, Videos int }

func (e *NoSpaceError) Error() string {
	return ErrNoSpace.Error() + ": " + e.NotMirrored() + " (the next sync tries again)"
}

// NotMirrored words what waits: "27 images not mirrored".
func (e *NoSpaceError) NotMirrored() string {
	var parts []string
	if e.Images > 0 || e.Videos == 0 {
		parts = append(parts, fmt.Sprintf("%d %s", e.Images, plural(e.Images, "image", "images")))
	}
	if e.Videos > 0 {
		parts = append(parts, fmt.Sprintf("%d %s", e.Videos, plural(e.Videos, "video", "videos")))
	}
	return strings.Join(parts, " and ") + " not mirrored"
}

func (e *NoSpaceError) Is(target error) bool { return target == ErrNoSpace }
func (e *NoSpaceError) Unwrap() error        { return syscall.ENOSPC }

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

func (r Report) String() string {
	s := fmt.Sprintf("%d posts (%d new, %d changed, %d removed); images: %d mirrored now, %d in all",
		r.Posts, r.Added, r.Updated, r.Deleted, r.Mirrored, r.Images)
	if r.Videos > 0 {
		s += fmt.Sprintf("; videos: %d mirrored now", r.Videos)
	}
	if r.MirrorFailed > 0 {
		s += fmt.Sprintf(", %d failed (retried next sync)", r.MirrorFailed)
	}
	return s
}

// Sync reads every page of the feed (up to MaxPosts) with carousel
// children and video thumbnails, replaces the cached posts, mirrors the
// images (and videos, up to VideoMaxBytes) while their URLs are fresh.
// Showing them is the caller's next step (the app rebuilds the gallery).
// progress, when not nil, is called with (done, total) as files are
// mirrored: first (0, total), then once per file. Syncs never overlap, here or with
// Forget; it returns connection.ErrNotConnected or ErrNeedsReauth when
// there is no token to use.
func (f *Feed) Sync(ctx context.Context, progress func(done, total int)) (Report, error) {
	ctx, done := f.begin(ctx)
	defer done()
	var rep Report
	tok, err := f.conn.UsableToken(ctx)
	if err != nil {
		return rep, err
	}
	t0 := time.Now()
	media, err := f.ig.Media(ctx, tok.AccessToken, f.maxPosts)
	if err != nil {
		return rep, f.conn.InstagramFailed(ctx, "sync", err)
	}
	posts := toPosts(media)
	res, err := f.st.ReplacePosts(ctx, posts)
	if err != nil {
		return rep, err
	}
	rep.Posts, rep.Added, rep.Updated, rep.Deleted = len(posts), res.Added, res.Updated, res.Deleted

	kept, err := f.withoutLongHidden(ctx, posts)
	if err != nil {
		return rep, err
	}
	mr, err := f.mirror(ctx, kept, tok.ProfilePictureURL, progress)
	rep.Images, rep.Mirrored, rep.Videos, rep.MirrorFailed = mr.total, mr.mirrored, mr.videos, mr.failed
	rep.NoSpace, rep.NoSpaceVideos = mr.noSpace, mr.noSpaceVideos
	rep.Duration = time.Since(t0)
	if err != nil {
		return rep, err
	}
	if rep.NoSpace > 0 {
		// Named as what it is, where the owner looks: the activity log
		// here, the sync card from the job's failed run.
		full := &NoSpaceError{Images: rep.NoSpace - rep.NoSpaceVideos, Videos: rep.NoSpaceVideos}
		f.log.Error("feed: synced, but the media directory's disk is full", "not_mirrored", rep.NoSpace,
			"posts", rep.Posts, "mirrored", rep.Mirrored)
		f.event(ctx, "sync", store.LevelError, sentence(full.Error())+". Synced "+rep.String()+".")
		return rep, full
	}
	f.observer.Synced(rep.Duration)
	level := store.LevelInfo
	if rep.MirrorFailed > 0 {
		level = store.LevelWarn
		f.log.Warn("feed: some files failed to mirror; retried next sync", "failed", rep.MirrorFailed, "first_error", mr.firstErr)
	}
	// Updated alone is not news: Instagram re-signs media URLs all the time.
	if rep.Added+rep.Deleted+rep.Mirrored+rep.Videos+rep.MirrorFailed > 0 {
		f.event(ctx, "sync", level, "Synced "+rep.String()+".")
	}
	f.log.Info("feed: synced", "posts", rep.Posts, "added", rep.Added, "updated", rep.Updated, "deleted", rep.Deleted,
		"mirrored", rep.Mirrored, "videos", rep.Videos, "mirror_failed", rep.MirrorFailed, "duration", rep.Duration)
	return rep, nil
}

// withoutLongHidden leaves out the posts whose images are no longer kept
// (moderation.WithImages): the mirror then wants none of their images and
// deletes them.
func (f *Feed) withoutLongHidden(ctx context.Context, posts []store.Post) ([]store.Post, error) {
	decisions, err := f.st.Moderation(ctx)
	if err != nil {
		return nil, err
	}
	return moderation.WithImages(posts, decisions, f.now()), nil
}

func toPosts(media []instagram.Media) []store.Post {
	posts := make([]store.Post, 0, len(media))
	for _, m := range media {
		p := store.Post{
			ID: m.ID, MediaType: m.MediaType, Caption: m.Caption, Permalink: m.Permalink, AltText: m.AltText,
			MediaURL: m.MediaURL, ThumbnailURL: m.ThumbnailURL, Timestamp: m.Timestamp,
			LikeCount: m.LikeCount, CommentsCount: m.CommentsCount,
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

// sentence is s with its first letter upper-case, to start a sentence.
func sentence(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}
