package feed

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"

	"golang.org/x/sync/errgroup"
	"golang.org/x/time/rate"

	"vitrine/imaging"
	"vitrine/instagram"
	"vitrine/store"
)

const (
	// maxImageBytes is the largest image file downloaded.
	maxImageBytes = 20 << 20
	// maxConcurrentDecodes images are decoded and resized at once, however
	// many are downloading, so that they take at most
	// maxConcurrentDecodes × imaging.MaxDecodeBytes (160 MiB), and for
	// Instagram's photographs about 5 MiB each (a renderer's buffers and
	// the decoded pixels). Two keep both cores of a small host busy.
	maxConcurrentDecodes = 2
)

// heldBytes counts the bytes the mirror holds now, and the most it has
// held at once since the Feed was made: each download until its image is
// rendered, and what the renderers hold (imaging.Renderer.Hold). It is
// the mirror's own accounting of its peak, which a test bounds; the Go
// heap is that plus garbage and the collector's headroom.
type heldBytes struct{ now, most atomic.Int64 }

func (h *heldBytes) add(n int64) {
	v := h.now.Add(n)
	for {
		m := h.most.Load()
		if v <= m || h.most.CompareAndSwap(m, v) {
			return
		}
	}
}

type mirrorResult struct {
	total            int // images the posts need
	mirrored, videos int // images and videos mirrored now
	failed           int // either, to retry next sync
	firstErr         string
	// diskFull: a write hit ENOSPC, so nothing more was asked of the
	// disk in this run; noSpace counts the files not mirrored because of
	// it (those that hit it and those not tried after), also in failed.
	diskFull       bool
	noSpace        int
	noSpaceVideos  int // of noSpace
	failedByReason map[string]int
	fetchingVideos bool
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

	res := mirrorResult{total: len(wanted), failedByReason: map[string]int{}}
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
	f.releaseRenderers()

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
		res.fetchingVideos = true
		f.fetch(ctx, lim, jobs, tick, &res.videos, &res)
	}
	for reason, n := range res.failedByReason {
		f.observer.MirrorFailed(reason, n)
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

// fetch runs jobs, one download each, on a few workers under lim
// (Instagram's CDN is someone else's), counting successes in *ok and
// failures in res, and calling tick after each. An error wrapping
// errSkipped counts as neither. It stops starting downloads when ctx ends.
// Once a write finds the disk full, the jobs not started yet are not run
// (each would download a file only to fail writing it) and count as not
// mirrored for lack of space; the next sync tries them again.
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
			mu.Lock()
			full := res.diskFull
			mu.Unlock()
			err := errNotTried
			if !full {
				err = lim.Wait(ctx)
				if err == nil {
					err = job(ctx)
				}
			}
			mu.Lock()
			defer mu.Unlock()
			switch {
			case errors.Is(err, errSkipped):
			case errors.Is(err, syscall.ENOSPC):
				if !res.diskFull {
					res.diskFull = true
					f.log.Warn("feed: the media directory's disk is full; nothing more is mirrored in this sync", "err", err)
				}
				res.failed++
				res.noSpace++
				if res.fetchingVideos {
					res.noSpaceVideos++
				}
				res.failedByReason[ReasonNoSpace]++
			case err != nil:
				res.failed++
				if res.firstErr == "" {
					res.firstErr = err.Error()
				}
				res.failedByReason[failureReason(err)]++
			default:
				*ok++
			}
			tick()
			return nil // one failed download never stops the others
		})
	}
	_ = g.Wait()
}

// Why a file was not mirrored: the reasons Observer.MirrorFailed hears,
// which the metrics label their counts with.
const (
	ReasonNoSpace  = "no_space" // the media directory's disk is full
	ReasonDownload = "download" // Instagram's CDN failed, refused or timed out
	ReasonOther    = "other"    // decoding, the store, anything else
)

// errSkipped marks a video not mirrored on purpose: over videoMaxBytes.
var errSkipped = errors.New("skipped")

// errNotTried marks a file not asked for because the disk was found full
// earlier in the run; it counts as a failure for lack of space.
var errNotTried = fmt.Errorf("not tried: %w", syscall.ENOSPC)

// failureReason is the metrics' reason for a failure other than a full
// disk.
func failureReason(err error) string {
	var de *instagram.DownloadError
	if errors.As(err, &de) || errors.Is(err, instagram.ErrUnavailable) || errors.Is(err, instagram.ErrURLExpired) ||
		errors.Is(err, instagram.ErrRateLimited) || errors.Is(err, context.DeadlineExceeded) {
		return ReasonDownload
	}
	return ReasonOther
}

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
// for each media id it stands for. Each width is written to its files as
// soon as it is encoded, so one image's variants are never held together.
func (f *Feed) mirrorOne(ctx context.Context, it *mirrorItem) error {
	data, _, err := f.ig.Download(ctx, it.url, maxImageBytes)
	if errors.Is(err, instagram.ErrTooLarge) {
		f.refuse(it, err)
	}
	if err != nil {
		if ctx.Err() == nil {
			f.observer.UpstreamError(err)
		}
		return err
	}
	f.held.add(int64(len(data)))
	defer f.held.add(-int64(len(data)))
	variants := make([][]store.ImageVariant, len(it.targets))
	img, err := f.decode(ctx, data, func(v imaging.Variant) error {
		for i, t := range it.targets {
			path, err := f.media.WriteImage(t.mediaID, v.Width, v.JPEG)
			if err != nil {
				return fmt.Errorf("mirror: %w", err)
			}
			variants[i] = append(variants[i], store.ImageVariant{
				Width: v.Width, Height: v.Height, Bytes: int64(len(v.JPEG)), Path: path,
			})
		}
		return nil
	})
	if errors.Is(err, imaging.ErrTooLarge) {
		f.refuse(it, err)
	}
	if err != nil {
		return fmt.Errorf("mirror %s: %w", it.targets[0].mediaID, err)
	}
	now := f.now()
	for i, t := range it.targets {
		slices.Reverse(variants[i]) // rendered widest first; recorded narrowest first
		rec := store.Image{MediaID: t.mediaID, PostID: t.postID, Width: img.Width, Height: img.Height,
			Color: img.Color, MirroredAt: now, Variants: variants[i]}
		if err := f.st.SaveImage(context.WithoutCancel(ctx), rec); err != nil {
			return err
		}
		f.imagesRefused.Delete(t.mediaID)
		f.observer.ImageMirrored()
	}
	return nil
}

// refuse remembers it's picture as refused for reason, so later syncs do
// not download it again (imagesRefused), and logs it: every one, where a
// sync logs only its first failure, since a hostile or broken upstream is
// worth knowing about.
func (f *Feed) refuse(it *mirrorItem, reason error) {
	for _, t := range it.targets {
		f.imagesRefused.Store(t.mediaID, refusedPicture(it.url))
	}
	f.log.Warn("feed: image refused; not fetched again until Instagram gives it a new picture",
		"media_id", it.targets[0].mediaID, "reason", reason)
}

// refusedPicture is what names a picture in Instagram's URL for it: the
// path, without the query that signs it for a while.
func refusedPicture(rawURL string) string {
	path, _, _ := strings.Cut(rawURL, "?")
	return path
}

// wasRefused reports whether the picture at rawURL is the one refused for
// mediaID.
func (f *Feed) wasRefused(mediaID, rawURL string) bool {
	v, ok := f.imagesRefused.Load(mediaID)
	return ok && v.(string) == refusedPicture(rawURL)
}

// decode renders data with one of the maxConcurrentDecodes renderers once
// one is free, or gives up when ctx ends; write is given each variant.
func (f *Feed) decode(ctx context.Context, data []byte, write func(imaging.Variant) error) (imaging.Rendered, error) {
	f.decodeWaiting.Add(1)
	var r *imaging.Renderer
	select {
	case r = <-f.renderers:
		f.decodeWaiting.Add(-1)
	case <-ctx.Done():
		f.decodeWaiting.Add(-1)
		return imaging.Rendered{}, ctx.Err()
	}
	defer func() { f.renderers <- r }()
	return f.render(r, data, write)
}

// releaseRenderers drops the renderers' buffers once the images are
// mirrored: between syncs the process holds only what it serves.
func (f *Feed) releaseRenderers() {
	for range maxConcurrentDecodes {
		r := <-f.renderers
		r.Release()
		defer func() { f.renderers <- r }()
	}
}
