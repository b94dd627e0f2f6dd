// Package admin is the site owner's side of Vitrine: the dashboard, the
// Generate popup and OAuth callback that connect an Instagram account,
// disconnect, "sync now", the owner's moderation of posts and the demo
// panel, behind the sign-in and sessions of package auth. It never renders
// the public widget.
package admin

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"mime"
	"net/url"
	"path"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"vitrine/appearance"
	"vitrine/auth"
	"vitrine/buildinfo"
	"vitrine/connection"
	"vitrine/jobs"
	"vitrine/moderation"
	"vitrine/store"
	"vitrine/templates"
)

// Store is the part of *store.Store the admin uses. The token is not in
// it: only the connection changes that.
type Store interface {
	AddEvent(ctx context.Context, kind, level, message string) error
	Events(ctx context.Context, limit int) ([]store.Event, error)
	PostCount(ctx context.Context) (int64, error)
	Posts(ctx context.Context, limit int) ([]store.Post, error)
	Post(ctx context.Context, id string) (store.Post, bool, error)
	Images(ctx context.Context) ([]store.Image, error)
	Image(ctx context.Context, mediaID string) (store.Image, bool, error)
	Moderation(ctx context.Context) ([]store.Moderation, error)
	HidePost(ctx context.Context, postID string) (bool, error)
	ShowPost(ctx context.Context, postID string) (bool, error)
	PinPost(ctx context.Context, postID string, maxPins int) (bool, error)
	UnpinPost(ctx context.Context, postID string) (bool, error)
	State(ctx context.Context, key string) (string, bool, error)
	SetState(ctx context.Context, key, value string) error
}

// Operations are the owner's actions as the app composes them (*app.App):
// the callback connects with the code (and the first sync starts), the
// dashboard shows the status and disconnects (and the posts and images
// go), and the Posts section moderates and links posts (and the gallery
// is rebuilt). A
// callback in a browser without the session connects only the account
// already connected; any other is parked until the owner confirms or
// discards it on the dashboard.
type Operations interface {
	Connect(ctx context.Context, code string) (store.Token, error)
	ConnectElsewhere(ctx context.Context, code string) (tok store.Token, parked bool, err error)
	Parked(ctx context.Context) (username string, expires time.Time, ok bool, err error)
	ConfirmParked(ctx context.Context) (store.Token, error)
	DiscardParked(ctx context.Context) error
	Disconnect(ctx context.Context) (username string, err error)
	Status(ctx context.Context) (connection.Status, error)
	Moderate(ctx context.Context, postID string, action moderation.Action) (changed bool, err error)
	// SetPostLink checks, saves and logs a post's link ("" removes it).
	SetPostLink(ctx context.Context, postID, rawURL, label string) (changed bool, err error)
	// Appearance reads the gallery's settings; SaveAppearance keeps new
	// ones (appearance.Problems when any is refused: nothing saved);
	// ResetAppearance returns to the config file's; PreviewGallery renders
	// the gallery page with unsaved ones, and its Content-Security-Policy.
	Appearance(ctx context.Context) (appearance.State, error)
	SaveAppearance(ctx context.Context, s appearance.Settings) (changed []string, err error)
	ResetAppearance(ctx context.Context) (changed []string, err error)
	PreviewGallery(s appearance.Settings) (page []byte, contentSecurityPolicy string, err error)
	// Thumbnail is the file of a post's smallest mirrored picture (ok
	// false when none is mirrored), for hidden posts: /media/ no longer
	// serves theirs.
	Thumbnail(ctx context.Context, mediaID string) (path string, ok bool, err error)
}

// Instagram is the part of *instagram.Client the admin uses itself.
type Instagram interface {
	AuthorizeURL(state string) string
	// Download fetches the profile picture once at connect time: Instagram's
	// CDN refuses cross-origin embedding and its URLs expire, so the
	// dashboard shows our copy.
	Download(ctx context.Context, mediaURL string, maxBytes int64) ([]byte, string, error)
}

// Jobs is what the dashboard needs from the scheduler (*jobs.Scheduler).
// It may be nil: then "Sync now" is hidden and the job list is empty.
type Jobs interface {
	// RunInBackground starts the named job and returns at once; false
	// when it is running already.
	RunInBackground(name string) (started bool, err error)
	// Statuses describes every job for the dashboard and status.json.
	Statuses() []jobs.Status
}

// Options configure New.
type Options struct {
	// PublicURL is server.public_url, the base of the widget's addresses
	// the dashboard shows.
	PublicURL string
	// Auth signs the owner in, keeps the sessions and checks every form.
	Auth       *auth.Auth
	Store      Store
	Operations Operations
	Instagram  Instagram
	Jobs       Jobs // may be nil
	// Database, when set, is checked in front of every page: while it
	// does not answer, every page says so with a 503 that retries.
	Database Database
	// Demo, set only by -demo, adds a panel of fault switches.
	Demo Demo
	// Embeds, if set, are the widget's embeds the dashboard offers, as
	// they stand now; nil: the bare script tag and iframe.
	Embeds func() Embeds
	// GalleryCacheAge is widget.cache_max_age: how soon a saved change
	// reaches every embed, which the Appearance page says.
	GalleryCacheAge time.Duration
	Logger          *slog.Logger
	Now             func() time.Time
}

// Embeds are the three ways to put the gallery on a site, as snippets to
// copy, with the heights that tell the owner what the space they take
// depends on (0: unknown).
type Embeds struct {
	JS, Iframe, Fragment string
	// ReservedPhone and ReservedDesktop are the heights, in CSS pixels,
	// the JS embed reserves on a 360 px phone and in a 1,000 px column;
	// FrameHeight is the iframe's where a host strips its script.
	ReservedPhone, ReservedDesktop, FrameHeight int
}

// Admin serves the /admin pages.
type Admin struct {
	base   string // server.public_url without the trailing slash
	auth   *auth.Auth
	store  Store
	ops    Operations
	ig     Instagram
	jobs   Jobs
	db     Database
	demo   Demo
	log    *slog.Logger
	now    func() time.Time
	tmpl   *template.Template
	static map[string]staticFile
	// embeds are the embeds the dashboard offers.
	embeds func() Embeds
	// cacheAge words Options.GalleryCacheAge.
	cacheAge string
}

const (
	eventsShown   = 12
	pollInterval  = 5 * time.Second
	popupName     = "vitrine-connect"
	popupFeatures = "width=520,height=720"
)

// New checks o and parses the templates once.
func New(o Options) (*Admin, error) {
	if o.Auth == nil || o.Store == nil || o.Operations == nil || o.Instagram == nil {
		return nil, errors.New("admin: Auth, Store, Operations and Instagram are required")
	}
	u, err := url.Parse(o.PublicURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("admin: server.public_url %q is not an absolute http(s) URL", o.PublicURL)
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	a := &Admin{
		base:  strings.TrimRight(o.PublicURL, "/"),
		auth:  o.Auth,
		store: o.Store,
		ops:   o.Operations,
		ig:    o.Instagram,
		jobs:  o.Jobs,
		db:    o.Database,
		demo:  o.Demo,
		log:   o.Logger,
		now:   o.Now,

		cacheAge: cacheAgeText(o.GalleryCacheAge),
	}
	a.embeds = o.Embeds
	if a.embeds == nil {
		a.embeds = func() Embeds {
			return Embeds{
				JS:       `<script src="` + a.base + `/widget.js" async></script>`,
				Iframe:   `<iframe src="` + a.base + `/widget" title="Instagram posts" loading="lazy" style="width:100%;height:900px;border:0"></iframe>`,
				Fragment: `<!--# include virtual="/widget?fragment=1" -->`,
			}
		}
	}
	if err := a.loadStatic(); err != nil {
		return nil, err
	}
	a.tmpl, err = templates.Admin(template.FuncMap{
		"asset":   a.assetURL,
		"version": buildinfo.Get,
	})
	if err != nil {
		return nil, err
	}
	return a, nil
}

// Register mounts the admin routes on r.
func (a *Admin) Register(r gin.IRouter) {
	g := r.Group("/admin", a.securityHeaders, a.renderErrors, a.databaseGate, a.auth.LoadSession, a.auth.CheckCSRF)
	g.GET("/static/*file", a.serveStatic)
	a.auth.Register(g, a.loginPage)
	g.GET("/callback", a.callback)

	signedIn := g.Group("", a.auth.RequireLogin)
	signedIn.GET("", a.dashboard)
	signedIn.GET("/status.json", a.statusJSON)
	signedIn.GET("/avatar", a.avatar)
	signedIn.GET("/generate", a.generate)
	signedIn.GET("/connected", a.connected)
	signedIn.GET("/disconnect", a.disconnectPage)
	signedIn.POST("/disconnect", a.disconnect)
	signedIn.POST("/parked/confirm", a.confirmParked)
	signedIn.POST("/parked/discard", a.discardParked)
	signedIn.POST("/sync", a.syncNow)
	signedIn.POST("/posts/:id", a.moderatePost)
	signedIn.POST("/posts/:id/link", a.setPostLink)
	signedIn.GET("/posts/:id/thumb", a.thumbnail)
	signedIn.GET("/appearance", a.appearancePage)
	signedIn.POST("/appearance", a.saveAppearance)
	signedIn.POST("/appearance/reset", a.resetAppearance)
	signedIn.GET("/appearance/preview", a.appearancePreview)
	if a.demo != nil {
		signedIn.POST("/demo/:action", a.demoAction)
	}
}

// staticFile is one embedded asset, served with a content hash as version.
type staticFile struct {
	body    []byte
	ctype   string
	version string
}

func (a *Admin) loadStatic() error {
	a.static = map[string]staticFile{}
	return fs.WalkDir(templates.Static(), ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(templates.Static(), p)
		if err != nil {
			return fmt.Errorf("admin: static %s: %w", p, err)
		}
		sum := sha256.Sum256(b)
		ctype := mime.TypeByExtension(path.Ext(p))
		if ctype == "" {
			ctype = "application/octet-stream"
		}
		a.static[p] = staticFile{body: b, ctype: ctype, version: hex.EncodeToString(sum[:6])}
		return nil
	})
}

// assetURL is the template function giving a cache-busting URL for a static
// file; it panics at template execution on an unknown name, which the
// all-templates test catches.
func (a *Admin) assetURL(name string) (string, error) {
	f, ok := a.static[name]
	if !ok {
		return "", fmt.Errorf("admin: unknown asset %q", name)
	}
	return "/admin/static/" + name + "?v=" + f.version, nil
}

func (a *Admin) serveStatic(c *gin.Context) {
	name := strings.TrimPrefix(c.Param("file"), "/")
	f, ok := a.static[name]
	if !ok {
		c.Error(notFound())
		return
	}
	h := c.Writer.Header()
	// Versioned URLs change with the content, so browsers may keep them.
	if c.Query("v") == f.version {
		h.Set("Cache-Control", "public, max-age=31536000, immutable")
	} else {
		h.Set("Cache-Control", "no-cache")
	}
	h.Set("ETag", `"`+f.version+`"`)
	if c.GetHeader("If-None-Match") == `"`+f.version+`"` {
		c.Status(304)
		return
	}
	c.Data(200, f.ctype, f.body)
}
