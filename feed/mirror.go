package feed

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"slices"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"
	"golang.org/x/time/rate"

	"vitrine/imaging"
	"vitrine/instagram"
	"vitrine/mediadir"
	"vitrine/store"
)

const (
	// maxImageBytes is the largest image file downloaded.
	maxImageBytes = 20 << 20
	// maxConcurrentDecodes images are decoded and resized at once, however
	// many are downloading, so that they take at most
	// maxConcurrentDecodes × imaging.MaxDecodeBytes (160 MiB).
	maxConcurrentDecodes = 2
)

type mirrorTarget struct{ mediaID, postID string }

// mirrorItem is one download: an image URL and every media id whose copy
// it is (a carousel's cover is its first item's picture).
type mirrorItem struct {
	url     string
	targets []mirrorTarget
}

// videoItem is one video to mirror: a VIDEO's media_url, for the post or
// carousel item it is.
type videoItem struct{ mediaID, url string }

type mirrorResult struct {
	total            int // images the posts need
	mirrored, videos int // images and videos mirrored now
	failed           int // either, to retry next sync
	firstErr         string
}

// imageURLOf returns the URL of the picture that stands for a media item:
// the video's thumbnail, otherwise media_url ("" when Instagram gave none).
func imageURLOf(mediaType, mediaURL, thumbnailURL string) string {
	if mediaType == "VIDEO" {
		return thumbnailURL
	}
	return mediaURL
}

// avatarMaxAge is how long a mirrored profile picture is kept before it is
// fetched again: Instagram gives the same picture a new URL signature all
// the time, so only its age tells that the owner may have changed it.
const avatarMaxAge = 24 * time.Hour

// videoPlan lists the videos of the posts and their carousel items.
func videoPlan(posts []store.Post) []videoItem {
	var out []videoItem
	add := func(id, mediaType, mediaURL string) {
		if mediaType == "VIDEO" && mediaURL != "" && mediadir.ValidMediaID(id) {
			out = append(out, videoItem{mediaID: id, url: mediaURL})
		}
	}
	for _, p := range posts {
		add(p.ID, p.MediaType, p.MediaURL)
		for _, c := range p.Children {
			add(c.ID, c.MediaType, c.MediaURL)
		}
	}
	return out
}

// mirrorPlan lists what the posts and the profile picture need: one item
// per distinct image, and the set of media ids that have an image.
func mirrorPlan(posts []store.Post, avatarURL string) ([]*mirrorItem, map[string]bool) {
	byKey := map[string]*mirrorItem{}
	var items []*mirrorItem
	wanted := map[string]bool{}
	add := func(mediaID, postID, u string) {
		if u == "" || !mediadir.ValidMediaID(mediaID) || wanted[mediaID] {
			return
		}
		wanted[mediaID] = true
		key := u
		if pu, err := url.Parse(u); err == nil {
			key = pu.Host + pu.Path // the same file under another signature
		}
		it, ok := byKey[key]
		if !ok {
			it = &mirrorItem{url: u}
			byKey[key] = it
			items = append(items, it)
		}
		it.targets = append(it.targets, mirrorTarget{mediaID: mediaID, postID: postID})
	}
	for _, p := range posts {
		cover := imageURLOf(p.MediaType, p.MediaURL, p.ThumbnailURL)
		if p.MediaType == "CAROUSEL_ALBUM" && len(p.Children) > 0 {
			c := p.Children[0]
			cover = imageURLOf(c.MediaType, c.MediaURL, c.ThumbnailURL)
		}
		add(p.ID, p.ID, cover)
		for _, c := range p.Children {
			add(c.ID, p.ID, imageURLOf(c.MediaType, c.MediaURL, c.ThumbnailURL))
		}
	}
	add(store.AvatarMediaID, store.AvatarMediaID, avatarURL)
	return items, wanted
}

// mirror downloads, once, every image the posts need that is not on disk
// yet, and the profile picture once a day, then the videos up to
// videoMaxBytes, and forgets the files of posts that are gone. A video is
// fetched only once its picture is mirrored: without one its post is not
// shown. A failed download is counted and left for the next sync. Only a
// problem with the media directory or the store is an error.
func (f *Feed) mirror(ctx context.Context, posts []store.Post, avatarURL string, progress func(done, total int)) (mirrorResult, error) {
	if err := f.media.MkdirAll(); err != nil {
		return mirrorResult{}, fmt.Errorf("mirror: media directory: %w", err)
	}
	if !f.tempSwept {
		f.tempSwept = true
		f.media.RemoveStaleTemp() // once per process: only a crash leaves them
	}
	items, wanted := mirrorPlan(posts, avatarURL)
	todo, videoTodo, err := f.pruneMirror(ctx, items, wanted, videoPlan(posts))
	if err != nil {
		return mirrorResult{}, err
	}

	res := mirrorResult{total: len(wanted)}
	total, done := len(todo)+len(videoTodo), 0
	tick := func() {
		done++
		if progress != nil {
			progress(done, total)
		}
	}
	if progress != nil && total > 0 {
		progress(0, total)
	}
	lim := rate.NewLimiter(rate.Limit(f.mirrorRate), max(1, f.mirrorWorkers))
	jobs := make([]func(context.Context) error, len(todo))
	for i, it := range todo {
		jobs[i] = func(ctx context.Context) error { return f.mirrorOne(ctx, it) }
	}
	f.fetch(ctx, lim, jobs, tick, &res.mirrored, &res)

	if len(videoTodo) > 0 && ctx.Err() == nil {
		pictured, err := f.mirroredIDs(ctx)
		if err != nil {
			return res, err
		}
		jobs = jobs[:0]
		for _, v := range videoTodo {
			if !pictured[v.mediaID] {
				tick() // its picture failed, counted already: next sync
				continue
			}
			jobs = append(jobs, func(ctx context.Context) error { return f.mirrorVideo(ctx, v) })
		}
		f.fetch(ctx, lim, jobs, tick, &res.videos, &res)
	}
	return res, ctx.Err()
}

// mirroredIDs is the set of media ids with an image record.
func (f *Feed) mirroredIDs(ctx context.Context) (map[string]bool, error) {
	have, err := f.st.Images(ctx)
	if err != nil {
		return nil, err
	}
	ids := make(map[string]bool, len(have))
	for _, im := range have {
		ids[im.MediaID] = true
	}
	return ids, nil
}

// pruneMirror removes the images no post wants any more, with their
// videos, and the videos that are no longer wanted as they are: those of
// a post that stayed, when videoMaxBytes is now 0 or below their size. It
// returns the items still to download: the images not on disk, the
// profile picture once it is a day old, and the videos not on disk that
// were not refused as too large.
func (f *Feed) pruneMirror(ctx context.Context, items []*mirrorItem, wanted map[string]bool, videos []videoItem) ([]*mirrorItem, []videoItem, error) {
	have, err := f.st.Images(ctx)
	if err != nil {
		return nil, nil, err
	}
	wantVideo := map[string]bool{}
	if f.videoMaxBytes > 0 {
		for _, v := range videos {
			wantVideo[v.mediaID] = true
		}
	}
	onDisk, videoOnDisk := map[string]bool{}, map[string]bool{}
	var gone []string
	for _, im := range have {
		if !wanted[im.MediaID] {
			gone = append(gone, im.MediaID)
			continue
		}
		if im.VideoPath != "" {
			kept, err := f.pruneVideo(ctx, im, wantVideo[im.MediaID])
			if err != nil {
				return nil, nil, err
			}
			videoOnDisk[im.MediaID] = kept
		}
		if im.MediaID == store.AvatarMediaID && f.now().Sub(im.MirroredAt) >= avatarMaxAge {
			continue // fetched again; the old copy serves until then
		}
		if v, ok := im.Largest(); ok && hasEveryWidth(im) && f.media.Exists(v.Path) {
			onDisk[im.MediaID] = true
		}
	}
	if len(gone) > 0 {
		if err := f.st.DeleteImages(ctx, gone); err != nil {
			return nil, nil, err
		}
		for _, id := range gone {
			_ = f.media.RemoveMedia(id)
		}
	}
	var todo []*mirrorItem
	for _, it := range items {
		it.targets = slices.DeleteFunc(it.targets, func(t mirrorTarget) bool { return onDisk[t.mediaID] })
		if len(it.targets) > 0 {
			todo = append(todo, it)
		}
	}
	var videoTodo []videoItem
	for _, v := range videos {
		if _, refused := f.videosTooLarge.Load(v.mediaID); wantVideo[v.mediaID] && !videoOnDisk[v.mediaID] && !refused {
			videoTodo = append(videoTodo, v)
		}
	}
	return todo, videoTodo, nil
}

// hasEveryWidth reports whether im has a variant at each of
// imaging.Widths its largest covers: one mirrored before a width was
// added is fetched again at the next sync, while Instagram's URL is fresh.
func hasEveryWidth(im store.Image) bool {
	largest, _ := im.Largest()
	for _, w := range imaging.Widths {
		if w <= largest.Width && !slices.ContainsFunc(im.Variants, func(v store.ImageVariant) bool { return v.Width == w }) {
			return false
		}
	}
	return true
}

// pruneVideo keeps im's mirrored video when it is still wanted, within
// videoMaxBytes and on disk; otherwise it removes the file and the record
// (a missing file is then fetched again).
func (f *Feed) pruneVideo(ctx context.Context, im store.Image, wanted bool) (kept bool, err error) {
	if wanted && im.VideoBytes <= f.videoMaxBytes && f.media.Exists(im.VideoPath) {
		return true, nil
	}
	if err := f.st.SaveVideo(ctx, im.MediaID, "", 0); err != nil {
		return false, err
	}
	_ = f.media.RemoveFile(im.VideoPath)
	return false, nil
}

// fetch runs jobs, one download each, on a few workers under lim
// (Instagram's CDN is someone else's), counting successes in *ok and
// failures in res, and calling tick after each. An error wrapping
// errSkipped counts as neither. It stops starting downloads when ctx ends.
func (f *Feed) fetch(ctx context.Context, lim *rate.Limiter, jobs []func(context.Context) error, tick func(), ok *int, res *mirrorResult) {
	var (
		mu sync.Mutex
		g  errgroup.Group
	)
	g.SetLimit(max(1, f.mirrorWorkers))
	for _, job := range jobs {
		if ctx.Err() != nil {
			break
		}
		g.Go(func() error {
			err := lim.Wait(ctx)
			if err == nil {
				err = job(ctx)
			}
			mu.Lock()
			defer mu.Unlock()
			switch {
			case errors.Is(err, errSkipped):
			case err != nil:
				res.failed++
				if res.firstErr == "" {
					res.firstErr = err.Error()
				}
			default:
				*ok++
			}
			tick()
			return nil // one failed download never stops the others
		})
	}
	_ = g.Wait()
}

// errSkipped marks a video not mirrored on purpose: over videoMaxBytes.
var errSkipped = errors.New("skipped")

// mirrorVideo downloads a video into the media directory, which keeps the
// file it had should the download fail, and records it on the image. One
// over videoMaxBytes is skipped, said why in the log, and not asked for
// again.
func (f *Feed) mirrorVideo(ctx context.Context, v videoItem) error {
	var size int64
	path, err := f.media.WriteVideo(v.mediaID, func(w io.Writer) (err error) {
		size, err = f.ig.DownloadVideo(ctx, v.url, f.videoMaxBytes, w)
		return err
	})
	if errors.Is(err, instagram.ErrTooLarge) {
		f.videosTooLarge.Store(v.mediaID, true)
		f.log.Info("feed: video not mirrored: over widget.video_max_mb; the lightbox links to Instagram",
			"media_id", v.mediaID, "limit_bytes", f.videoMaxBytes, "reason", err)
		return fmt.Errorf("video %s: %w", v.mediaID, errSkipped)
	}
	if err != nil {
		var de *instagram.DownloadError
		if ctx.Err() == nil && errors.As(err, &de) {
			f.observer.UpstreamError(err)
		}
		return fmt.Errorf("mirror video %s: %w", v.mediaID, err)
	}
	return f.st.SaveVideo(context.WithoutCancel(ctx), v.mediaID, path, size)
}

// mirrorOne downloads an image, renders it and stores its files and record
// for each media id it stands for.
func (f *Feed) mirrorOne(ctx context.Context, it *mirrorItem) error {
	data, _, err := f.ig.Download(ctx, it.url, maxImageBytes)
	if err != nil {
		if ctx.Err() == nil {
			f.observer.UpstreamError(err)
		}
		return err
	}
	img, err := f.decode(ctx, data)
	if errors.Is(err, imaging.ErrTooLarge) {
		// Every one, where a sync logs only its first failure: a hostile
		// or broken upstream is worth knowing about.
		f.log.Warn("feed: image refused", "media_id", it.targets[0].mediaID, "reason", err)
	}
	if err != nil {
		return fmt.Errorf("mirror %s: %w", it.targets[0].mediaID, err)
	}
	now := f.now()
	for _, t := range it.targets {
		rec := store.Image{MediaID: t.mediaID, PostID: t.postID, Width: img.Width, Height: img.Height,
			Color: img.Color, MirroredAt: now}
		for _, v := range img.Variants {
			path, err := f.media.WriteImage(t.mediaID, v.Width, v.JPEG)
			if err != nil {
				return fmt.Errorf("mirror: %w", err)
			}
			rec.Variants = append(rec.Variants, store.ImageVariant{
				Width: v.Width, Height: v.Height, Bytes: int64(len(v.JPEG)), Path: path,
			})
		}
		if err := f.st.SaveImage(context.WithoutCancel(ctx), rec); err != nil {
			return err
		}
		f.observer.ImageMirrored()
	}
	return nil
}

// decode renders data once one of the maxConcurrentDecodes slots is free,
// or gives up when ctx ends.
func (f *Feed) decode(ctx context.Context, data []byte) (imaging.Rendered, error) {
	f.decodeWaiting.Add(1)
	select {
	case f.decodeSlots <- struct{}{}:
		f.decodeWaiting.Add(-1)
	case <-ctx.Done():
		f.decodeWaiting.Add(-1)
		return imaging.Rendered{}, ctx.Err()
	}
	defer func() { <-f.decodeSlots }()
	return f.render(data)
}
