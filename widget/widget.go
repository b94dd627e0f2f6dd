// Package widget serves the public gallery: /widget (HTML page or bare
// fragment), /widget.js (one-line embed), /widget.json and the mirrored
// images under /media/. Everything a visitor gets comes from an immutable
// snapshot built after each sync, or from files on disk; a request never
// queries the database, executes a template or calls Instagram.
package widget

import (
	"context"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"

	"vitrine/appearance"
	"vitrine/config"
	"vitrine/store"
	"vitrine/templates"
)

// The loader (templates/widget/loader.js) and the gallery's CSS
// (widget.css) are written for their reader and sent minified; after
// editing either, run go generate here.
//go:generate go test -run TestMinified -update-minified .

// Source is what the widget reads when, and only when, it builds a
// snapshot, and what Follow polls. A Vitrine hands it StoreSource.
type Source interface {
	// Posts returns up to limit cached posts, newest first.
	Posts(ctx context.Context, limit int) ([]store.Post, error)
	// Token returns the connected account; store.ErrNoToken when none is
	// connected, which shows the placeholder.
	Token(ctx context.Context) (store.Token, error)
	// MirroredFiles lists every mirrored file, one entry per file (per width,
	// and one for a video).
	MirroredFiles(ctx context.Context) ([]MirroredFile, error)
	// Moderation lists the owner's decisions: pinned posts first, most
	// recently pinned first, then hidden ones.
	Moderation(ctx context.Context) ([]store.Moderation, error)
	// JobRuns are the scheduled jobs' recorded runs: while the sync job
	// (Options.SyncJob) is failing, the gallery is stale.
	JobRuns(ctx context.Context) ([]store.JobRun, error)
	// GallerySettings are the owner's saved appearance settings
	// (appearance.Settings.Overrides of the config file's); the gallery
	// applies them over Options.Settings.
	GallerySettings(ctx context.Context) (map[string]string, error)
	// Generation is a number that changes whenever what the others return
	// does (store.Generation); Follow rebuilds when it moved.
	Generation(ctx context.Context) (int64, error)
}

// MirroredFile is one file the mirror wrote: a JPEG at one width, or the
// MP4 of a video. (store.Image is the record of one picture, all widths.)
type MirroredFile struct {
	MediaID       string // post or carousel child id; "avatar" for the profile picture
	Width, Height int    // of this file; unused for a video
	Color         string // dominant colour, "#rrggbb"; unused for a video
	Path          string // absolute path of the file
	Video         bool   // the MP4 of the video whose thumbnail the JPEGs are
	// WebP: the file is the WebP of this width, beside its JPEG. In the
	// snapshot's index of each post's files (JPEGs only), it says that
	// the width has one.
	WebP bool
}

// AvatarID is the MediaID under which the profile picture is mirrored. The
// header shows it when present and an initial letter otherwise.
const AvatarID = store.AvatarMediaID

// Options configure New. Source is required. The settings are copied:
// changing them after New changes nothing.
type Options struct {
	// Settings are the config file's; its appearance settings are the
	// defaults the owner's saved ones (Source.GallerySettings) apply over.
	Settings config.Widget
	// PublicURL is server.public_url, the origin of the gallery's image
	// URLs; "" makes them relative.
	PublicURL string
	Source    Source
	Logger    *slog.Logger
	Now       func() time.Time
	// MediaCacheBytes caps the mirrored images kept in memory (see
	// media.go); 0 means DefaultMediaCache, negative none.
	MediaCacheBytes int64
	// SyncJob names the job whose recorded runs (Source.JobRuns) decide
	// "stale": while it is failing, widget.json says so. Read from the
	// store, so every process on the database, and one started later,
	// says the same. "": never stale for that reason.
	SyncJob string
}

// DefaultMediaCache is the memory given to mirrored images by default:
// about 800 files of the 20 KB a 640 px JPEG usually takes.
const DefaultMediaCache = 16 << 20

// Widget holds the current snapshot and serves it.
type Widget struct {
	settings config.Widget
	base     string // PublicURL without the trailing slash
	src      Source
	log      *slog.Logger
	now      func() time.Time
	tmpl     *template.Template
	css      string // the gallery's CSS, minified
	js       string // loader without data
	// cssExtras and jsExtras are the style and loader of a gallery that
	// shows counts, a biography or links (galleryView.Extras): css with
	// extras.css added, the loader with its extras.
	cssExtras, jsExtras string
	// metrics are the fixed sizes read from css (embed.go).
	metrics metrics
	// cacheGallery is the gallery's Cache-Control value, shared read-only
	// by its prepared responses.
	cacheGallery []string

	cur atomic.Pointer[snapshot]
	// generation is the Source's generation the current snapshot was
	// built from; -1 until one is.
	generation atomic.Int64

	// busy answers a new caption filter over wordGalleryBuilds, the
	// budget of word galleries built a second (wordgalleries.go).
	busy              *asset
	wordGalleryBuilds *rate.Limiter

	// streams holds a token per range or video answer under way; the
	// durations are stream.go's constants but in tests.
	streams                            chan struct{}
	streamSlotWait, streamChunkTimeout time.Duration

	mediaCache  sync.Map // mediaKey → *mediaFile
	mediaBytes  atomic.Int64
	mediaBudget int64

	syncJob string

	mu            sync.Mutex // serialises rebuilds
	syncFailing   bool       // as of the last rebuild that read the store
	rebuildFailed bool
}

// New parses the templates and builds the first snapshot from the store, so
// a restart serves the last good gallery at once.
func New(o Options) (*Widget, error) {
	if o.Source == nil {
		return nil, errors.New("widget: new: Source is required")
	}
	settings := o.Settings
	settings.Settings = settings.Settings.Clone()
	settings.AllowedOrigins = slices.Clone(settings.AllowedOrigins)
	settings.FrameAncestors = slices.Clone(settings.FrameAncestors)
	w := &Widget{settings: settings, base: strings.TrimRight(o.PublicURL, "/"), src: o.Source, log: o.Logger, now: o.Now, syncJob: o.SyncJob, streams: make(chan struct{}, maxStreams), busy: busyAsset(),
		wordGalleryBuilds: rate.NewLimiter(wordGalleryBuildsPerSecond, wordGalleryBuildsPerSecond),
		streamSlotWait:    streamSlotWait, streamChunkTimeout: streamChunkTimeout}
	w.generation.Store(-1)
	maxAge := settings.CacheMaxAge.Std()
	if maxAge < time.Second {
		maxAge = config.Default().Widget.CacheMaxAge.Std()
	}
	w.cacheGallery = galleryCacheControl(maxAge)
	if w.log == nil {
		w.log = slog.Default()
	}
	if w.now == nil {
		w.now = time.Now
	}
	switch w.mediaBudget = o.MediaCacheBytes; {
	case w.mediaBudget == 0:
		w.mediaBudget = DefaultMediaCache
	case w.mediaBudget < 0:
		w.mediaBudget = 0
	}
	var err error
	if w.tmpl, w.css, w.js, w.cssExtras, w.jsExtras, err = parseAssets(templates.Widget()); err != nil {
		return nil, err
	}
	if w.metrics, err = readMetrics(w.css, w.cssExtras[len(w.css):]); err != nil {
		return nil, err
	}
	if err := w.Rebuild(context.Background()); err != nil {
		return nil, err
	}
	return w, nil
}

// parseAssets reads the templates, the CSS and the loader once, each
// plain and with the extras.
func parseAssets(fsys fs.FS) (tmpl *template.Template, css, js, cssExtras, jsExtras string, err error) {
	tmpl, err = template.New("widget").Funcs(template.FuncMap{"tile": newTileView}).ParseFS(fsys, "*.html")
	if err != nil {
		return nil, "", "", "", "", fmt.Errorf("widget: parse templates: %w", err)
	}
	// The CSS and the loader are minified ahead of time (go generate), so
	// the minifier's code is neither in the binary nor paged in at start.
	read := map[string]*string{"widget.min.css": &css, "extras.css": &cssExtras, "loader.min.js": &js, "loader.extras.min.js": &jsExtras}
	for name, dst := range read {
		b, err := fs.ReadFile(fsys, name)
		if err != nil {
			return nil, "", "", "", "", fmt.Errorf("widget: read %s: %w", name, err)
		}
		*dst = strings.TrimSpace(string(b))
	}
	return tmpl, css, js, css + compactCSS(cssExtras), jsExtras, nil
}

// compactCSS joins the lines; extras.css is written one rule a line.
func compactCSS(s string) string {
	var b strings.Builder
	for line := range strings.Lines(s) {
		b.WriteString(strings.TrimSpace(line))
	}
	return b.String()
}

// tileView is what the "tile-extras" template renders: the gallery and
// one of its posts.
type tileView struct {
	G galleryView
	P postItem
}

func newTileView(g galleryView, p postItem) tileView { return tileView{G: g, P: p} }

// style and loader are the CSS and loader script for v: with the extras
// only when it shows one.
func (w *Widget) style(v galleryView) string {
	if v.Extras {
		return w.cssExtras
	}
	return w.css
}

func (w *Widget) loader(v galleryView) string {
	if v.Extras {
		return w.jsExtras
	}
	return w.js
}

// Rebuild reads the store, builds a new snapshot and swaps it in. On error
// the last good snapshot stays and widget.json reports "stale": true.
func (w *Widget) Rebuild(ctx context.Context) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	err := w.rebuild(ctx)
	if err != nil && w.cur.Load() != nil {
		w.log.Warn("widget: rebuild failed; serving the last good snapshot", "err", err)
	}
	return err
}

// rebuild is Rebuild without its log line. w.mu is held.
func (w *Widget) rebuild(ctx context.Context) error {
	start := time.Now()
	// Read before the rest: the snapshot is then at least as new as the
	// number it is stamped with, and a change made meanwhile moves the
	// number past it, so Follow rebuilds again.
	gen, err := w.src.Generation(ctx)
	var in input
	if err == nil {
		in, err = w.load(ctx)
	}
	if err == nil {
		var s *snapshot
		s, err = w.build(in, in.syncFailing)
		if err == nil {
			if prev := w.cur.Load(); prev != nil {
				s.wordGalleries = prev.wordGalleries.successor()
			}
			w.syncFailing, w.rebuildFailed = in.syncFailing, false
			w.cur.Store(s)
			w.generation.Store(gen)
			w.pruneMedia(s)
			w.log.Debug("widget: snapshot built", "posts", len(s.doc.Posts), "generation", gen, "duration", time.Since(start))
			return nil
		}
	}
	err = fmt.Errorf("widget: rebuild: %w", err)
	if w.cur.Load() == nil {
		return err
	}
	w.rebuildFailed = true
	w.restamp()
	return err
}

// restamp swaps in a copy of the current snapshot whose JSON carries the
// current stale flag. w.mu is held.
func (w *Widget) restamp() {
	cur := w.cur.Load()
	stale := w.syncFailing || w.rebuildFailed
	if cur == nil || cur.doc.Stale == stale {
		return
	}
	next := *cur
	next.doc.Stale = stale
	a, err := jsonAsset(&next.doc, w.galleryFields(kindJSON, ""))
	if err != nil { // cannot happen: the same document encoded before
		w.log.Error("widget: encode json", "err", err)
		return
	}
	next.json = a
	next.wordGalleries = cur.wordGalleries.successor() // theirs say the old "stale"
	w.cur.Store(&next)
}

// input is what one snapshot is built from.
type input struct {
	// look is the gallery's appearance: the config file's with the
	// owner's saved settings over it.
	look      appearance.Settings
	token     store.Token
	connected bool
	posts     []store.Post
	images    []MirroredFile
	moderated []store.Moderation
	// syncFailing: the sync job's last recorded runs failed.
	syncFailing bool
}

func (w *Widget) load(ctx context.Context) (input, error) {
	var in input
	saved, err := w.src.GallerySettings(ctx)
	if err != nil {
		return in, err
	}
	var skipped []appearance.Problem
	if in.look, skipped = w.settings.Settings.With(saved); len(skipped) > 0 {
		// Saved by another version, most likely: the rest still applies.
		w.log.Warn("widget: saved gallery settings this version does not accept are left out", "settings", skipped)
	}
	tok, err := w.src.Token(ctx)
	switch {
	case errors.Is(err, store.ErrNoToken):
	case errors.Is(err, store.ErrUndecryptable):
		// The account's name is still known; the widget never needs the
		// secret itself.
		in.token, in.connected = tok, true
	case err != nil:
		return in, err
	default:
		in.token, in.connected = tok, true
	}
	if in.moderated, err = w.src.Moderation(ctx); err != nil {
		return in, err
	}
	limit := max(w.settings.MaxPosts, in.look.Count)
	if len(in.moderated) > 0 {
		// Every cached post (the feed keeps at most max_posts): a pinned
		// post further down still comes first, and hidden ones don't
		// shorten the gallery.
		limit = 0
	}
	if in.posts, err = w.src.Posts(ctx, limit); err != nil {
		return in, err
	}
	if in.images, err = w.src.MirroredFiles(ctx); err != nil {
		return in, err
	}
	if w.syncJob != "" {
		runs, err := w.src.JobRuns(ctx)
		if err != nil {
			return in, err
		}
		for _, r := range runs {
			if r.Name == w.syncJob {
				in.syncFailing = r.Failing()
			}
		}
	}
	return in, nil
}

// Ready reports whether the gallery has a snapshot to serve visitors from
// memory, whatever the database says now.
func (w *Widget) Ready() bool { return w.cur.Load() != nil }
