package feed

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	_ "image/png" // Instagram serves JPEG; PNG costs nothing to accept
	"io"
	"io/fs"
	"iter"
	"math"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/image/draw"
	_ "golang.org/x/image/webp" // should the CDN answer WebP: decoded, then stored as JPEG
	"golang.org/x/sync/errgroup"
	"golang.org/x/time/rate"

	"vitrine/instagram"
	"vitrine/store"
)

// Widths are the sizes every image is mirrored at, as JPEG (no WebP
// encoder is available to us). An image narrower than a width is not
// upscaled: it gets the widths it covers, or its own width if it is
// narrower than the smallest. 240 serves the tiles of a gallery in a
// page's column (about 170–240 px at 1×), 320 and 640 wider tiles and
// dense screens, 1080 the lightbox.
var Widths = []int{240, 320, 640, 1080}

const (
	maxImageBytes = 20 << 20
	tempPrefix    = ".tmp-"
)

// jpegQualities is the JPEG quality of each width, chosen with
// bench/jpegquality on real photographs (bench/RESULTS.md, "JPEG quality
// per width"). The level kept is that of each photograph's 240 px file at
// 82, the one quality every width had before, drawn at about one file
// pixel per CSS pixel: each width gets the lowest quality at which the
// photographs that have it, scored as the file is usually drawn (MS-SSIM
// of luma and of chroma), score a median and a lowest at least those of
// their own 240 px files, and at most one in ten scores below its own.
// 320 px files are drawn at about one file pixel per CSS pixel too, and
// need 86 to look as good. 640 and 1080 px ones are usually drawn at 1.5
// or more (phones' dense screens; desktop tiles and the lightbox at 1 to
// 2), where artifacts finer than a CSS pixel don't show: 640 px files
// take a fifth fewer bytes at 74, while 1080 px ones need 83, one more
// than before, as at 82 two of sixteen photographs score below their
// own 240 px file.
//
// Images mirrored before keep their files, at 82 (hasEveryWidth does not
// look at quality): re-encoding them would mean downloading each again
// from Instagram, as our own files have lost detail already, for some
// 10 KB per 640 px file. A 1080 px JPEG from Instagram is kept as it is,
// so 1080's quality applies to wider sources (Instagram's 1440 px) and
// to PNG or WebP.
var jpegQualities = []struct{ upTo, quality int }{
	{240, 82},
	{320, 86},
	{640, 74},
	{1080, 83},
}

// JPEGQuality is the quality a variant width px wide is encoded at: that
// of the narrowest of jpegQualities at least as wide (an image narrower
// than 240 px, stored at its own width, is drawn like a 240 px tile).
func JPEGQuality(width int) int {
	for _, q := range jpegQualities {
		if width <= q.upTo {
			return q.quality
		}
	}
	return jpegQualities[len(jpegQualities)-1].quality
}

// An image is refused from its header, before it is decoded, when it is
// far larger than any Instagram serves: at most 1440 px wide, 1440×1800 for
// a portrait photo, 1080×1920 for a reel's cover (2.6 and 2.1 megapixels).
// A 100 KB file can hold 40 megapixels of 16-bit pixels, 300 MB decoded,
// so memory is bounded as well as size.
const (
	// maxImagePixels bounds the work of decoding and resizing: over four
	// times the largest Instagram image.
	maxImagePixels = 12_000_000
	// maxDecodeBytes bounds the memory decoding and resizing one image may
	// take, counted at its worst (mirrorBytes): 46 MiB for a 1440×1800
	// JPEG, 38 MiB for a 1440×1440 16-bit PNG, 64 MiB for a 1440×2560 JPEG
	// (a 9:16 cover at full width, should Instagram serve one).
	maxDecodeBytes = 80 << 20
	// maxConcurrentDecodes images are decoded and resized at once, however
	// many are downloading: at most 160 MiB of pixels.
	maxConcurrentDecodes = 2
)

// errTooLarge is an image refused by maxImagePixels or maxDecodeBytes.
var errTooLarge = errors.New("too large to decode")

// validMediaID keeps ids usable as directory names: Instagram's are digits.
var validMediaID = regexp.MustCompile(`^[0-9A-Za-z_-]{1,80}$`)

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

// videoFile is where a media id's video is stored, under its directory.
const videoFile = "video.mp4"

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
		if mediaType == "VIDEO" && mediaURL != "" && validMediaID.MatchString(id) {
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
		if u == "" || !validMediaID.MatchString(mediaID) || wanted[mediaID] {
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
	if err := os.MkdirAll(f.mediaDir, 0o755); err != nil {
		return mirrorResult{}, fmt.Errorf("mirror: media directory: %w", err)
	}
	if !f.tempSwept {
		f.tempSwept = true
		removeTempFiles(f.mediaDir) // once per process: only a crash leaves them
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
		if v, ok := im.Largest(); ok && hasEveryWidth(im) {
			if _, err := os.Stat(filepath.Join(f.mediaDir, filepath.FromSlash(v.Path))); err == nil {
				onDisk[im.MediaID] = true
			}
		}
	}
	if len(gone) > 0 {
		if err := f.st.DeleteImages(ctx, gone); err != nil {
			return nil, nil, err
		}
		for _, id := range gone {
			_ = os.RemoveAll(filepath.Join(f.mediaDir, id))
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

// hasEveryWidth reports whether im has a variant at each of Widths its
// largest covers: one mirrored before a width was added is fetched again
// at the next sync, while Instagram's URL is fresh.
func hasEveryWidth(im store.Image) bool {
	largest, _ := im.Largest()
	for _, w := range Widths {
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
	path := filepath.Join(f.mediaDir, filepath.FromSlash(im.VideoPath))
	if wanted && im.VideoBytes <= f.videoMaxBytes {
		if _, err := os.Stat(path); err == nil {
			return true, nil
		}
	}
	if err := f.st.SaveVideo(ctx, im.MediaID, "", 0); err != nil {
		return false, err
	}
	_ = os.Remove(path)
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

// mirrorVideo downloads a video into its media id's directory, through a
// temporary file, and records it on the image. One over videoMaxBytes is
// skipped, said why in the log, and not asked for again.
func (f *Feed) mirrorVideo(ctx context.Context, v videoItem) error {
	dir := filepath.Join(f.mediaDir, v.mediaID)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("mirror: %w", err)
	}
	var size int64
	err := writeFileAtomicFrom(dir, videoFile, func(w io.Writer) (err error) {
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
	return f.st.SaveVideo(context.WithoutCancel(ctx), v.mediaID, v.mediaID+"/"+videoFile, size)
}

func (f *Feed) mirrorOne(ctx context.Context, it *mirrorItem) error {
	dir := f.mediaDir
	data, _, err := f.ig.Download(ctx, it.url, maxImageBytes)
	if err != nil {
		if ctx.Err() == nil {
			f.observer.UpstreamError(err)
		}
		return err
	}
	img, err := f.decode(ctx, data)
	if errors.Is(err, errTooLarge) {
		// Every one, where a sync logs only its first failure: a hostile
		// or broken upstream is worth knowing about.
		f.log.Warn("feed: image refused", "media_id", it.targets[0].mediaID, "reason", err)
	}
	if err != nil {
		return fmt.Errorf("mirror %s: %w", it.targets[0].mediaID, err)
	}
	now := f.now()
	for _, t := range it.targets {
		rec := store.Image{MediaID: t.mediaID, PostID: t.postID, Width: img.width, Height: img.height,
			Color: img.color, MirroredAt: now}
		sub := filepath.Join(dir, t.mediaID)
		if err := os.MkdirAll(sub, 0o755); err != nil {
			return fmt.Errorf("mirror: %w", err)
		}
		for _, v := range img.variants {
			name := strconv.Itoa(v.width) + ".jpg"
			if err := writeFileAtomic(sub, name, v.data); err != nil {
				return fmt.Errorf("mirror: %w", err)
			}
			rec.Variants = append(rec.Variants, store.ImageVariant{
				Width: v.width, Height: v.height, Bytes: int64(len(v.data)), Path: t.mediaID + "/" + name,
			})
		}
		if err := f.st.SaveImage(context.WithoutCancel(ctx), rec); err != nil {
			return err
		}
		f.observer.ImageMirrored()
	}
	return nil
}

// decode processes data once one of the maxConcurrentDecodes slots is
// free, or gives up when ctx ends.
func (f *Feed) decode(ctx context.Context, data []byte) (processed, error) {
	f.decodeWaiting.Add(1)
	select {
	case f.decodeSlots <- struct{}{}:
		f.decodeWaiting.Add(-1)
	case <-ctx.Done():
		f.decodeWaiting.Add(-1)
		return processed{}, ctx.Err()
	}
	defer func() { <-f.decodeSlots }()
	return f.process(data)
}

type variant struct {
	width, height int
	data          []byte
}

type processed struct {
	width, height int
	color         string
	variants      []variant // ascending width
}

// processImage decodes data and renders the JPEG variants and the
// dominant colour. An image too large for the limits is refused from its
// header, without decoding it.
func processImage(data []byte) (processed, error) {
	cfg, format, err := image.DecodeConfig(bytes.NewReader(data))
	if err != nil {
		return processed{}, fmt.Errorf("not a JPEG, PNG or WebP image: %w", err)
	}
	if format != "jpeg" && format != "png" && format != "webp" {
		return processed{}, fmt.Errorf("a %s image: only JPEG, PNG and WebP are mirrored", format)
	}
	if err := checkSize(cfg, format); err != nil {
		return processed{}, err
	}
	src, _, err := image.Decode(bytes.NewReader(data))
	if err != nil {
		return processed{}, fmt.Errorf("decode %s: %w", format, err)
	}
	b := src.Bounds()
	p := processed{width: b.Dx(), height: b.Dy(), color: dominantColor(src)}
	p.variants, err = renderVariants(src, data, format)
	return p, err
}

// checkSize refuses, with errTooLarge, an image whose header says it is
// over maxImagePixels or would take over maxDecodeBytes.
func checkSize(cfg image.Config, format string) error {
	w, h := int64(cfg.Width), int64(cfg.Height)
	if w <= 0 || h <= 0 {
		return fmt.Errorf("image %d×%d is empty", w, h)
	}
	depth := "8-bit"
	switch cfg.ColorModel {
	case color.Gray16Model, color.RGBA64Model, color.NRGBA64Model:
		depth = "16-bit"
	}
	what := fmt.Sprintf("image %d×%d %s %s", w, h, depth, strings.ToUpper(format))
	if w*h > maxImagePixels {
		return fmt.Errorf("%s is %w: %.1f megapixels, over the limit of %d", what, errTooLarge,
			float64(w*h)/1e6, maxImagePixels/1_000_000)
	}
	if n := mirrorBytes(cfg, format); n > maxDecodeBytes {
		return fmt.Errorf("%s is %w: it may take %d MiB, over the limit of %d", what, errTooLarge,
			n>>20, maxDecodeBytes>>20)
	}
	return nil
}

// mirrorBytes is the most that decoding an image with this header and
// rendering its variants may allocate.
func mirrorBytes(cfg image.Config, format string) int64 {
	return decodeBytes(cfg, format) + variantBytes(cfg.Width, cfg.Height)
}

// decodeBytes is the most that image.Decode may allocate for an image with
// this header. What the header leaves open counts at its worst:
//
//   - PNG: the decoder's image for the colour model, except that gray may
//     turn out to have a transparent colour (a tRNS chunk after the
//     header) and is then decoded as NRGBA, or NRGBA64 at 16 bits; and an
//     interlaced file is decoded pass by pass beside the whole image, so
//     all of it counts twice.
//   - JPEG: the planes allocated in whole blocks of up to 32×16 pixels
//     (MCUs), every one at full resolution as if not subsampled, and, in a
//     progressive file, every DCT coefficient kept beside them (4 bytes a
//     sample); an RGB or CMYK file is then converted into a further
//     4-byte-a-pixel image. 15 bytes a pixel for the usual YCbCr.
//   - WebP: lossy files decode to YCbCr with an alpha plane, in whole
//     16×16 macroblocks; lossless ones to NRGBA beside the decoder's own
//     ARGB pixels. 8 bytes a pixel covers either.
func decodeBytes(cfg image.Config, format string) int64 {
	w, h := int64(cfg.Width), int64(cfg.Height)
	if format == "webp" {
		return 8 * roundUp(w, 16) * roundUp(h, 16)
	}
	if format == "png" {
		perPixel := int64(8)
		if _, ok := cfg.ColorModel.(color.Palette); ok {
			perPixel = 1
		} else if cfg.ColorModel == color.GrayModel || cfg.ColorModel == color.RGBAModel || cfg.ColorModel == color.NRGBAModel {
			perPixel = 4
		}
		return 2 * perPixel * w * h
	}
	planes, converted := int64(4), int64(4) // CMYK, and anything unexpected
	switch cfg.ColorModel {
	case color.GrayModel:
		planes, converted = 1, 0
	case color.YCbCrModel:
		planes, converted = 3, 0
	case color.RGBAModel:
		planes = 3
	}
	blocks := roundUp(w, 32) * roundUp(h, 32)
	const coefficient = 4 // bytes, in a progressive file
	return blocks*planes*(1+coefficient) + converted*w*h
}

func roundUp(n, to int64) int64 { return (n + to - 1) / to * to }

// variantBytes is what renderVariants allocates for the pixels of an image
// w wide and h high: an RGBA image for each variant.
func variantBytes(w, h int) int64 {
	var n int64
	for _, tw := range targetWidths(w) {
		n += 4 * int64(tw) * int64(variantHeight(w, h, tw))
	}
	return n
}

// variantHeight is the height of the variant tw wide of an image w×h.
func variantHeight(w, h, tw int) int {
	return max(1, int(math.Round(float64(h)*float64(tw)/float64(w))))
}

// targetWidths are the Widths an image of width w covers (never upscaled),
// or w itself when it is narrower than all of them.
func targetWidths(w int) []int {
	var out []int
	for _, t := range Widths {
		if t <= w {
			out = append(out, t)
		}
	}
	if len(out) == 0 {
		out = []int{w}
	}
	return out
}

// renderVariants encodes each of ScaleVariants as JPEG at its width's
// quality. A JPEG already at a target width is kept as is.
func renderVariants(src image.Image, data []byte, format string) ([]variant, error) {
	var out []variant
	for v := range ScaleVariants(src, format == "jpeg") {
		if v.Source {
			out = append(out, variant{width: v.Width, height: v.Height, data: data})
			continue
		}
		var buf bytes.Buffer
		if err := jpeg.Encode(&buf, v.Image, &jpeg.Options{Quality: JPEGQuality(v.Width)}); err != nil {
			return nil, fmt.Errorf("encode %dpx: %w", v.Width, err)
		}
		out = append(out, variant{width: v.Width, height: v.Height, data: buf.Bytes()})
	}
	slices.Reverse(out) // narrowest first
	return out, nil
}

// ScaledVariant is one width of an image as the mirror draws it, before it
// is encoded.
type ScaledVariant struct {
	Width, Height int
	Image         image.Image
	// Source is set when Image is the source itself, not drawn again: the
	// mirror keeps a JPEG already at a target width as it is.
	Source bool
}

// ScaleVariants yields src at each width the mirror stores it at: the
// Widths it covers (never upscaled), or its own width when it is
// narrower than all of them. They come widest first, each scaled from the
// one before (scaleVariant): cheaper than scaling the source every time
// and just as sharp at these ratios. With keepSource, a target width
// equal to src's own is src itself (Source), and the next is scaled from
// it. renderVariants encodes these, and bench/jpegquality measures them,
// so both see the same pixels.
func ScaleVariants(src image.Image, keepSource bool) iter.Seq[ScaledVariant] {
	return func(yield func(ScaledVariant) bool) {
		b := src.Bounds()
		sw, sh := b.Dx(), b.Dy()
		cur := src
		for _, w := range slices.Backward(targetWidths(sw)) {
			h := variantHeight(sw, sh, w)
			v := ScaledVariant{Width: w, Height: h, Image: cur, Source: w == sw && keepSource}
			if !v.Source {
				v.Image = scaleVariant(cur, w, h)
				cur = v.Image
			}
			if !yield(v) {
				return
			}
		}
	}
}

// scaleVariant draws src into a new w×h image as the mirror does for each
// variant before encoding it: Catmull-Rom, onto white where src is not
// opaque.
func scaleVariant(src image.Image, w, h int) *image.RGBA {
	dst := image.NewRGBA(image.Rect(0, 0, w, h))
	op := draw.Src
	if o, ok := src.(interface{ Opaque() bool }); !ok || !o.Opaque() {
		draw.Draw(dst, dst.Bounds(), image.NewUniform(color.White), image.Point{}, draw.Src)
		op = draw.Over
	}
	draw.CatmullRom.Scale(dst, dst.Bounds(), src, src.Bounds(), op, nil)
	return dst
}

// dominantColor is the mean of the most common colour bucket (4 bits per
// channel) of a 24×24 thumbnail: a flat placeholder close to what the eye
// notices first, cheaper and less muddy than the plain average.
func dominantColor(img image.Image) string {
	const n = 24
	small := image.NewRGBA(image.Rect(0, 0, n, n))
	draw.Draw(small, small.Bounds(), image.NewUniform(color.White), image.Point{}, draw.Src)
	draw.ApproxBiLinear.Scale(small, small.Bounds(), img, img.Bounds(), draw.Over, nil)
	var counts [4096]int
	var sums [4096][3]int
	for i := 0; i+3 < len(small.Pix); i += 4 {
		r, g, b := int(small.Pix[i]), int(small.Pix[i+1]), int(small.Pix[i+2])
		k := (r>>4)<<8 | (g>>4)<<4 | b>>4
		counts[k]++
		sums[k][0] += r
		sums[k][1] += g
		sums[k][2] += b
	}
	best := 0
	for k := range counts {
		if counts[k] > counts[best] {
			best = k
		}
	}
	c := counts[best]
	if c == 0 {
		return "#808080"
	}
	return fmt.Sprintf("#%02x%02x%02x", sums[best][0]/c, sums[best][1]/c, sums[best][2]/c)
}

// writeFileAtomic writes data to dir/name through a temporary file that is
// synced and renamed: a crash leaves the old file or the new one, never
// half an image.
func writeFileAtomic(dir, name string, data []byte) error {
	return writeFileAtomicFrom(dir, name, func(w io.Writer) error {
		_, err := w.Write(data)
		return err
	})
}

// writeFileAtomicFrom is writeFileAtomic with the content written by
// write; when write fails, the temporary file is removed and dir/name is
// left as it was.
func writeFileAtomicFrom(dir, name string, write func(io.Writer) error) (err error) {
	f, err := os.CreateTemp(dir, tempPrefix+"*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			_ = os.Remove(tmp)
		}
	}()
	if err = write(f); err != nil {
		f.Close()
		return err
	}
	if err = f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err = f.Close(); err != nil {
		return err
	}
	if err = os.Chmod(tmp, 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, filepath.Join(dir, name))
}

// removeTempFiles deletes what a crash mid-write left behind (older than a
// minute, so a concurrent `vitrine sync` is not disturbed).
func removeTempFiles(dir string) {
	cutoff := time.Now().Add(-time.Minute)
	_ = filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil
		}
		if d.IsDir() {
			if path != dir && strings.Count(strings.TrimPrefix(path, dir), string(filepath.Separator)) > 1 {
				return fs.SkipDir
			}
			return nil
		}
		if strings.HasPrefix(d.Name(), tempPrefix) {
			if info, err := d.Info(); err == nil && info.ModTime().Before(cutoff) {
				_ = os.Remove(path)
			}
		}
		return nil
	})
}
