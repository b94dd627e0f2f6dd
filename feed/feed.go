package feed

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"vitrine/imaging"
	"vitrine/instagram"
	"vitrine/mediadir"
	"vitrine/store"
)

// Store is what the feed needs of *store.Store.
type Store interface {
	ReplacePosts(ctx context.Context, posts []store.Post) (store.SyncResult, error)
	Images(ctx context.Context) ([]store.Image, error)
	SaveImage(ctx context.Context, im store.Image) error
	SaveVideo(ctx context.Context, mediaID, path string, size int64) error
	SaveWebP(ctx context.Context, mediaID string, files []store.WebPFile) error
	DeclineWebP(ctx context.Context, mediaID string) error
	DeleteImages(ctx context.Context, mediaIDs []string) error
	AddEvent(ctx context.Context, kind, level, message string) error
	// Moderation tells which posts the owner hid, and since when.
	Moderation(ctx context.Context) ([]store.Moderation, error)
	DeleteModeration(ctx context.Context) error
}

// Instagram is what the feed needs of *instagram.Client.
type Instagram interface {
	Media(ctx context.Context, token string, max int) ([]instagram.Media, error)
	Download(ctx context.Context, mediaURL string, maxBytes int64) ([]byte, string, error)
	DownloadVideo(ctx context.Context, mediaURL string, maxBytes int64, dst io.Writer) (int64, error)
}

// Connection gives the feed its token and hears about Instagram's refusals
// (*connection.Connection).
type Connection interface {
	UsableToken(ctx context.Context) (store.Token, error)
	InstagramFailed(ctx context.Context, op string, err error) error
}

// Observer counts what the feed does (the metrics); safe for concurrent
// use.
type Observer interface {
	UpstreamError(err error)
	ImageMirrored()
	// MirrorFailed counts n files a sync did not mirror, by reason
	// (ReasonNoSpace, ReasonDownload, ReasonOther).
	MirrorFailed(reason string, n int)
	Synced(took time.Duration)
}

// Options configure New. Store, Instagram, Connection and MediaDir are
// required.
type Options struct {
	Store      Store
	Instagram  Instagram
	Connection Connection
	// MediaDir holds the mirrored images, one directory per media id.
	MediaDir string
	// MaxPosts is how many of the newest posts are kept; default 100.
	MaxPosts int
	Logger   *slog.Logger
	Now      func() time.Time
	Observer Observer
	// DownloadsPerSecond caps the image downloads from Instagram's CDN;
	// default 8.
	DownloadsPerSecond float64
	// VideoMaxBytes is the largest video mirrored (widget.video_max_mb);
	// 0 mirrors none.
	VideoMaxBytes int64
	// MediaCreate creates the media directory's temporary files; nil:
	// the real file system's. Tests pass one whose disk fills up.
	MediaCreate mediadir.CreateFunc
}

// Feed syncs and mirrors.
type Feed struct {
	st       Store
	ig       Instagram
	conn     Connection
	media    mediadir.Dir
	maxPosts int
	log      *slog.Logger
	now      func() time.Time
	observer Observer

	// mu is held by a sync and by Forget, so a sync can't write posts
	// back after Forget removed them; cancelSync stops the sync in
	// flight when Forget is called.
	mu         sync.Mutex
	cancelMu   sync.Mutex
	cancelSync context.CancelFunc

	tempSwept bool // stale temp files of a crashed run removed (under mu)

	// Downloads in parallel and per second.
	mirrorWorkers int
	mirrorRate    float64

	videoMaxBytes int64
	// videosTooLarge are the media ids of videos refused as over
	// videoMaxBytes: not asked for again while the process lives, since
	// neither the file nor the limit changes.
	videosTooLarge sync.Map // media id → true
	// imagesRefused are the images refused for their size (over the
	// download limit, or too many pixels to decode): media id → the
	// path of the URL refused (refusedPicture). Not fetched again while
	// Instagram names the same picture, whose URL's query (signature,
	// expiry) changes from sync to sync; a new path is a new picture,
	// tried again.
	imagesRefused sync.Map
	// webpFailures are the images whose WebP could not be made: media id
	// → the file it was made from (webpSource). Not tried again while
	// that file is the same.
	webpFailures sync.Map

	// renderers are the maxConcurrentDecodes renderers, each taken by
	// the image it decodes (see decode); decodeWaiting counts the
	// downloaded ones waiting for one, which tests watch.
	renderers     chan *imaging.Renderer
	decodeWaiting atomic.Int32
	// render is (*imaging.Renderer).Render; a test can hold or watch the
	// decoding.
	render func(r *imaging.Renderer, data []byte, write func(imaging.Variant) error) (imaging.Rendered, error)
	// renderWebP is (*imaging.Renderer).RenderWebP, for tests likewise.
	renderWebP func(r *imaging.Renderer, data []byte, write func(imaging.Variant) error) error
	// releaseMemory is debug.FreeOSMemory, run after each image AddWebP
	// makes; a test counts the calls.
	releaseMemory func()
	// held counts the bytes the mirror holds: downloads and what the
	// renderers hold.
	held heldBytes
}

// New checks o.
func New(o Options) (*Feed, error) {
	if o.Store == nil || o.Instagram == nil || o.Connection == nil || o.MediaDir == "" {
		return nil, errors.New("feed: Store, Instagram, Connection and MediaDir are required")
	}
	f := &Feed{
		st: o.Store, ig: o.Instagram, conn: o.Connection, media: mediadir.New(o.MediaDir).WithCreate(o.MediaCreate), maxPosts: o.MaxPosts,
		log: o.Logger, now: o.Now, observer: o.Observer,
		mirrorWorkers: 4, mirrorRate: 8, videoMaxBytes: max(o.VideoMaxBytes, 0),
		renderers: make(chan *imaging.Renderer, maxConcurrentDecodes), render: (*imaging.Renderer).Render,
		renderWebP: (*imaging.Renderer).RenderWebP, releaseMemory: debug.FreeOSMemory,
	}
	for range maxConcurrentDecodes {
		f.renderers <- &imaging.Renderer{Hold: f.held.add}
	}
	if o.DownloadsPerSecond > 0 {
		f.mirrorRate = o.DownloadsPerSecond
	}
	if f.maxPosts <= 0 {
		f.maxPosts = 100
	}
	if f.log == nil {
		f.log = slog.Default()
	}
	if f.now == nil {
		f.now = time.Now
	}
	if f.observer == nil {
		f.observer = nopObserver{}
	}
	return f, nil
}

type nopObserver struct{}

func (nopObserver) UpstreamError(error)      {}
func (nopObserver) ImageMirrored()           {}
func (nopObserver) MirrorFailed(string, int) {}
func (nopObserver) Synced(time.Duration)     {}

// begin takes the feed for one sync: it waits for a running Forget, and
// gives the sync a context Forget can cancel.
func (f *Feed) begin(ctx context.Context) (context.Context, func()) {
	f.mu.Lock()
	ctx, cancel := context.WithCancel(ctx)
	f.cancelMu.Lock()
	f.cancelSync = cancel
	f.cancelMu.Unlock()
	return ctx, func() {
		f.cancelMu.Lock()
		f.cancelSync = nil
		f.cancelMu.Unlock()
		cancel()
		f.mu.Unlock()
	}
}

// Forget deletes every cached post, every image record and every mirrored
// file: what the disconnected account served; and the owner's decisions
// about those posts. A sync in flight is cancelled first, so nothing is
// written back afterwards.
func (f *Feed) Forget(ctx context.Context) error {
	f.cancelMu.Lock()
	if f.cancelSync != nil {
		f.cancelSync()
	}
	f.cancelMu.Unlock()
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, err := f.st.ReplacePosts(ctx, nil); err != nil {
		return fmt.Errorf("feed: forget posts: %w", err)
	}
	if err := f.st.DeleteModeration(ctx); err != nil {
		return fmt.Errorf("feed: forget hidden and pinned posts: %w", err)
	}
	images, err := f.st.Images(ctx)
	if err != nil {
		return fmt.Errorf("feed: forget images: %w", err)
	}
	ids := make([]string, len(images))
	for i, im := range images {
		ids[i] = im.MediaID
	}
	if err := f.st.DeleteImages(ctx, ids); err != nil {
		return fmt.Errorf("feed: forget images: %w", err)
	}
	// The records are gone, so nothing serves these files any more; a
	// file left behind by a failed removal is only disk space.
	if err := f.media.RemoveAll(); err != nil {
		return fmt.Errorf("feed: remove mirrored images: %w", err)
	}
	f.log.Info("feed: cached posts and mirrored images and videos deleted", "images", len(ids))
	return nil
}

// event adds to the audit log; a failure to do so is logged, not fatal.
func (f *Feed) event(ctx context.Context, kind, level, msg string) {
	if err := f.st.AddEvent(context.WithoutCancel(ctx), kind, level, msg); err != nil {
		f.log.Warn("feed: add event", "kind", kind, "err", err)
	}
}
