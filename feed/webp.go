package feed

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strconv"
	"syscall"
	"time"

	"vitrine/imaging"
	"vitrine/store"
)

// WebPReport is what one AddWebP did.
type WebPReport struct {
	Added int // images whose WebP files were made now, and kept
	// Larger counts the images whose WebP was made and not kept: at some
	// width no smaller than the JPEG (store.DeclineWebP).
	Larger int
	Failed int // images tried that failed, not tried again for now
	Left   int // images still without WebP, for a later call
	// DiskFull: a write found the media directory's disk full, so the
	// call stopped there.
	DiskFull bool
}

// AddWebP makes the WebP files of mirrored images that have none yet
// (imaging.RenderWebP, from each image's widest JPEG on disk): the images
// mirrored by the sync just done, and those mirrored before Vitrine made
// WebP. Each width is encoded at the quality that matches its JPEG's
// detail (imaging.WebPQuality), and an image's WebP is kept only when
// every width is smaller than its JPEG. For most photographs it is not
// (WebP matches the JPEG's detail only at high qualities): the image is
// then marked so (store.DeclineWebP) and served as JPEG, never with a
// larger file. One image at a time on one encoder (some 20 MB for a
// moment), the newest mirrored first, until all are done, ctx ends or
// budget is spent, for the next call to go on with. It runs after a sync
// has shown the JPEGs, so a first gallery never waits for it; a page
// offers an image's WebP only once all its widths have one. An image
// whose WebP is recorded but missing on disk gets it made again; one that
// fails is not tried again while the process lives and its JPEG is the
// same. It never overlaps a sync or Forget.
func (f *Feed) AddWebP(ctx context.Context, budget time.Duration) (WebPReport, error) {
	ctx, done := f.begin(ctx)
	defer done()
	var rep WebPReport
	have, err := f.st.Images(ctx)
	if err != nil {
		return rep, err
	}
	var todo []store.Image
	for _, im := range have {
		largest, ok := im.Largest()
		if !ok || im.MediaID == store.AvatarMediaID || im.WebPDeclined() || f.webpFailed(im.MediaID, largest) {
			continue // the header's avatar is a few kilobytes, drawn by a plain <img>
		}
		if !hasEveryWidth(im) {
			// Mirrored before a width was added: the mirror fetches it
			// again, and its WebP follows. Made now, the WebP would have a
			// width the record lacks and be refused, at every pass.
			continue
		}
		if im.HasWebP() {
			if f.media.Exists(largest.WebPPath) {
				continue
			}
			// Gone from disk: no page may offer it until it is made again.
			if err := f.st.SaveWebP(ctx, im.MediaID, nil); err != nil {
				return rep, err
			}
		}
		todo = append(todo, im)
	}
	slices.SortStableFunc(todo, func(a, b store.Image) int { return b.MirroredAt.Compare(a.MirroredAt) })
	if len(todo) == 0 {
		return rep, nil
	}
	r := <-f.renderers
	defer func() {
		r.Release()
		f.renderers <- r
	}()
	start := time.Now()
	deadline := start.Add(budget)
	for i, im := range todo {
		if ctx.Err() != nil || !time.Now().Before(deadline) {
			rep.Left = len(todo) - i
			break
		}
		err := f.addWebP(ctx, r, im)
		// Each image leaves a few megabytes of garbage (its decoded pixels,
		// the store's rows); with a gallery of 1,000 posts live, the
		// collector would let some 30 MB of it pile up before running, on
		// top of the encoder's own memory. A collection per image, a few
		// tens of milliseconds against seconds of encoding, keeps the
		// pass's peak near what it holds.
		f.releaseMemory()
		switch {
		case err == nil:
			rep.Added++
		case errors.Is(err, errWebPLarger):
			rep.Larger++
		case errors.Is(err, syscall.ENOSPC):
			rep.DiskFull, rep.Left = true, len(todo)-i
			f.log.Warn("feed: the media directory's disk is full; no more WebP files made for now", "err", err)
			f.observer.MirrorFailed(ReasonNoSpace, 1)
			return rep, nil
		case ctx.Err() != nil:
			rep.Left = len(todo) - i
			return rep, nil
		case errors.Is(err, store.ErrVariantsChanged):
			rep.Left++ // mirrored again meanwhile: made from its new files next time
		default:
			rep.Failed++
			largest, _ := im.Largest()
			f.webpFailures.Store(im.MediaID, webpSource(largest))
			f.log.Warn("feed: WebP not made; the image is served as JPEG", "media_id", im.MediaID, "err", err)
			f.observer.MirrorFailed(ReasonOther, 1)
		}
	}
	if rep.Added+rep.Larger+rep.Failed > 0 {
		f.log.Info("feed: WebP files made", "images", rep.Added, "larger_than_jpeg", rep.Larger, "failed", rep.Failed, "left", rep.Left,
			"duration", time.Since(start).Round(time.Millisecond))
	}
	return rep, nil
}

// errWebPLarger: the image's WebP was not kept, being no smaller than its
// JPEG at some width.
var errWebPLarger = errors.New("the WebP is no smaller than the JPEG")

// addWebP makes the WebP of each width of one image, in memory (a few
// hundred kilobytes), and writes and records them when each is smaller
// than the JPEG of its width; otherwise it declines them (errWebPLarger).
// Files written for an image mirrored again meanwhile are left for the
// next call to overwrite: its record refuses them (store.ErrVariantsChanged).
func (f *Feed) addWebP(ctx context.Context, r *imaging.Renderer, im store.Image) error {
	largest, _ := im.Largest()
	path, ok := f.media.Resolve(largest.Path)
	if !ok {
		return fmt.Errorf("the %d px JPEG's recorded path %q is not in the media directory", largest.Width, largest.Path)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	f.held.add(int64(len(data)))
	defer f.held.add(-int64(len(data)))
	jpegBytes := map[int]int64{}
	for _, v := range im.Variants {
		jpegBytes[v.Width] = v.Bytes
	}
	var made []imaging.Variant
	var madeBytes int64
	defer func() { f.held.add(-madeBytes) }()
	larger := false
	err = f.renderWebP(r, data, func(v imaging.Variant) error {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if jpeg, ok := jpegBytes[v.Width]; ok && int64(len(v.WebP)) >= jpeg {
			larger = true
		}
		v.WebP = bytes.Clone(v.WebP)
		made = append(made, v)
		madeBytes += int64(len(v.WebP))
		f.held.add(int64(len(v.WebP)))
		return nil
	})
	if err != nil {
		return err
	}
	if larger {
		if err := f.st.DeclineWebP(context.WithoutCancel(ctx), im.MediaID); err != nil {
			return err
		}
		return errWebPLarger
	}
	files := make([]store.WebPFile, len(made))
	for i, v := range made {
		rel, err := f.media.WriteWebP(im.MediaID, v.Width, v.WebP)
		if err != nil {
			return err
		}
		files[i] = store.WebPFile{Width: v.Width, Path: rel, Bytes: int64(len(v.WebP))}
	}
	return f.st.SaveWebP(context.WithoutCancel(ctx), im.MediaID, files)
}

// webpSource names the file an image's WebP is made from, as it is now:
// its path and size. A failure is remembered against it.
func webpSource(largest store.ImageVariant) string {
	return largest.Path + " " + strconv.FormatInt(largest.Bytes, 10)
}

// webpFailed reports whether making the WebP of mediaID failed from the
// file it would be made from now.
func (f *Feed) webpFailed(mediaID string, largest store.ImageVariant) bool {
	v, ok := f.webpFailures.Load(mediaID)
	return ok && v.(string) == webpSource(largest)
}
