// Package demo is `vitrine -demo`: a whole Vitrine against a fake Instagram
// mounted on the same server under /_fake/instagram, with a sample website
// embedding the gallery (/demo), an outbox where alerts land
// (/demo/outbox), and fault switches on the dashboard (admin.Demo).
package demo

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"html/template"
	"io"
	"log/slog"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/gin-gonic/gin"
	"golang.org/x/crypto/bcrypt"

	"vitrine/admin"
	"vitrine/alerts"
	"vitrine/config"
	"vitrine/connection"
	"vitrine/instagram/fake"
	"vitrine/jobs"
	"vitrine/metaapp"
	"vitrine/store"
	"vitrine/templates"
	"vitrine/widget"
)

// FakePrefix is where the demo mounts the fake Instagram, on Vitrine's own
// server.
const FakePrefix = "/_fake/instagram"

// Password is the admin password of -demo, printed at start.
const Password = "demo"

// outage is how long "Break Instagram" lasts.
const outage = 5 * time.Minute

// outboxSize is how many alerts the outbox keeps.
const outboxSize = 50

// Configure computes the configuration of a -demo server reachable at
// publicURL from the loaded one: a throw-away data directory, the demo
// password, short job intervals (so refresh and sync show within a
// minute), and the Instagram client pointed at a new fake Instagram with
// posts posts (0: the fake's default), to be mounted on that same server.
// The fake's tokens live in memory, so a data dir kept from an earlier run
// would only hold a token the new fake does not know. cleanup removes the
// data directory.
func Configure(cfg config.Config, publicURL string, posts int) (_ config.Config, f *fake.Fake, cleanup func(), err error) {
	dir, err := os.MkdirTemp("", "vitrine-demo-")
	if err != nil {
		return cfg, nil, nil, fmt.Errorf("demo data dir: %w", err)
	}
	hash, err := bcrypt.GenerateFromPassword([]byte(Password), bcrypt.DefaultCost)
	if err != nil {
		os.RemoveAll(dir)
		return cfg, nil, nil, err
	}
	cfg.Demo = true
	cfg.DataDir = dir
	cfg.SecretKey = ""
	cfg.Admin.PasswordHash = string(hash)
	cfg.Jobs.Validate, cfg.Jobs.Sync = "@every 1m", "@every 30s"
	cfg.Server.PublicURL = publicURL
	f = NewFake(cfg.RedirectURI(), posts)
	return UseFake(cfg, f), f, func() { os.RemoveAll(dir) }, nil
}

// NewFake is the demo's fake Instagram, mounted under FakePrefix, which
// accepts redirectURI and has posts posts (0: its default).
func NewFake(redirectURI string, posts int) *fake.Fake {
	return fake.New(fake.Options{
		Prefix:       FakePrefix,
		RedirectURIs: []string{redirectURI},
		Posts:        posts,
		// Real time, so a 5-minute outage ends after five minutes.
		Clock: fake.NewWallClock(),
	})
}

// UseFake returns cfg with the Instagram client's credentials and URLs
// those of f, mounted under FakePrefix at cfg.Server.PublicURL, and f's
// host:port added to the media hosts: its CDN is Vitrine's own address,
// on loopback and plain http, which only an exact entry allows.
func UseFake(cfg config.Config, f *fake.Fake) config.Config {
	cfg.Instagram.ClientID, cfg.Instagram.ClientSecret = f.ClientID(), f.ClientSecret()
	ep := f.Endpoints(cfg.Server.PublicURL)
	cfg.Instagram.AuthURL, cfg.Instagram.TokenURL, cfg.Instagram.GraphURL = ep.AuthURL, ep.TokenURL, ep.GraphURL
	if !slices.Contains(cfg.Instagram.MediaHosts, ep.MediaHost) {
		cfg.Instagram.MediaHosts = append(slices.Clone(cfg.Instagram.MediaHosts), ep.MediaHost)
	}
	return cfg
}

// Outbox is where the jobs' alerts go in the demo: the log and the outbox
// page, where a webhook or an email would go in production. It exists
// before the scheduler, which delivers to it, and the Demo, which shows it.
type Outbox struct {
	url string // of the outbox page
	log *slog.Logger

	mu     sync.Mutex
	alerts []alerts.Alert // newest first
}

// NewOutbox is an empty outbox of the demo served at publicURL.
func NewOutbox(publicURL string, log *slog.Logger) *Outbox {
	return &Outbox{url: strings.TrimRight(publicURL, "/") + "/demo/outbox", log: log}
}

// Deliver is the jobs' alert channel (jobs.Options.Outbox).
func (o *Outbox) Deliver(_ context.Context, a alerts.Alert) error {
	o.log.Warn("demo: alert delivered to the outbox", "alert", a.Kind, "subject", a.Subject, "url", o.url)
	o.mu.Lock()
	defer o.mu.Unlock()
	o.alerts = append([]alerts.Alert{a}, o.alerts...)
	if len(o.alerts) > outboxSize {
		o.alerts = o.alerts[:outboxSize]
	}
	return nil
}

// Alerts are the alerts delivered so far, newest first.
func (o *Outbox) Alerts() []alerts.Alert {
	o.mu.Lock()
	defer o.mu.Unlock()
	return append([]alerts.Alert(nil), o.alerts...)
}

// Demo is the rest of the -demo story once the server is wired: the fake
// Instagram's routes, the sample website, the outbox page, and the
// dashboard's fault switches (admin.Demo).
type Demo struct {
	cfg    config.Config
	fake   *fake.Fake
	outbox *Outbox
	sched  *jobs.Scheduler
	st     *store.Store
	base   string // public URL, no trailing slash
	log    *slog.Logger
	pages  *template.Template
	http   *http.Client // fetches the server-side fragment, as a real site would
	// embeds are the widget's snippets.
	embeds Embeds
}

// Embeds are the widget's embed snippets (widget.Widget's).
type Embeds interface {
	Snippet(widget.EmbedOptions) string
	Element(widget.EmbedOptions) string
	SnippetIframe() string
	SnippetFragment() string
}

// Options are a Demo's parts; all are required.
type Options struct {
	Config config.Config // as Configure returned it, validated
	Fake   *fake.Fake
	Outbox *Outbox
	Jobs   *jobs.Scheduler // the fault switches run the job that notices
	Store  *store.Store    // "Skip ahead" ages the stored token
	Logger *slog.Logger
	// Embeds are the widget's snippets (its *widget.Widget).
	Embeds Embeds
}

// New builds the demo from its parts.
func New(o Options) (*Demo, error) {
	if o.Fake == nil || o.Outbox == nil || o.Jobs == nil || o.Store == nil || o.Logger == nil || o.Embeds == nil {
		return nil, errors.New("demo: every option is required")
	}
	pages, err := templates.Demo()
	if err != nil {
		return nil, err
	}
	return &Demo{
		cfg: o.Config, fake: o.Fake, outbox: o.Outbox, sched: o.Jobs, st: o.Store, log: o.Logger, pages: pages, embeds: o.Embeds,
		base: strings.TrimRight(o.Config.Server.PublicURL, "/"),
		http: &http.Client{Timeout: 5 * time.Second},
	}, nil
}

// Fake is the fake Instagram the demo mounts.
func (d *Demo) Fake() *fake.Fake { return d.fake }

// Register mounts the fake Instagram, the sample website and the outbox.
func (d *Demo) Register(r gin.IRouter) {
	r.Any(FakePrefix+"/*path", gin.WrapH(d.fake))
	r.GET("/demo", d.site)
	r.GET("/demo/outbox", d.outboxPage)
}

// Actions are the dashboard's fault switches.
func (d *Demo) Actions() []admin.DemoAction {
	return []admin.DemoAction{
		{Name: "post", Label: "Post on Instagram", Hint: "A new post appears on the fake Instagram; Sync now brings it to the gallery."},
		{Name: "age", Label: "Skip ahead 31 days", Hint: "Ages the token by 31 days, here and on Instagram, so it is due for renewal; the refresh job runs at once."},
		{Name: "revoke", Label: "Remove the app on Instagram", Danger: true, Hint: "As if the owner removed the app in Instagram's settings: the token stops working (190/458) and Meta calls Vitrine's deauthorize callback at once."},
		{Name: "expire", Label: "Expire token", Danger: true, Hint: "As if 60 days passed: Instagram answers 190/463. Validate runs at once."},
		{Name: "break", Label: "Break Instagram for 5 minutes", Danger: true, Hint: "Every API call answers 503; a sync runs at once and fails."},
		{Name: "heal", Label: "Fix Instagram", Hint: "Ends the outage and syncs. Revoked or expired tokens stay dead: reconnect."},
	}
}

// Links are the demo's pages, shown on the dashboard.
func (d *Demo) Links() []admin.DemoLink {
	return []admin.DemoLink{
		{Label: "Sample website with the gallery", URL: "/demo", Hint: "The JS embed, the iframe and the server-side fragment"},
		{Label: "Alert outbox", URL: "/demo/outbox", Hint: "Where alerts to ops land in the demo"},
		{Label: widget.JSONPath, URL: widget.JSONPath},
		{Label: "/metrics", URL: "/metrics"},
	}
}

// Do runs one fault switch, then the job that would notice it, so the
// dashboard shows the consequence now rather than at the next tick.
func (d *Demo) Do(ctx context.Context, name string) (string, error) {
	switch name {
	case "post":
		n := len(d.fake.Posts()) + 1
		d.fake.AddPost(fake.Post{Caption: fmt.Sprintf("New glaze test no. %d, fresh from the kiln.", n),
			AltText: "A new ceramic piece on a table"})
		return "A new post is on Instagram. Click Sync now (or wait up to 30 s) and the gallery shows it first.", nil
	case "age":
		if err := d.ageToken(ctx, tokenAge); err != nil {
			return "", err
		}
		if err := d.sched.RunNow(ctx, jobs.JobRefresh); err != nil {
			return "", fmt.Errorf("the refresh failed: %w", err)
		}
		return "The token was 31 days old and due for renewal: the refresh job just exchanged it for a new 60-day token. See \"Token expires\" and the activity list.", nil
	case "revoke":
		status, err := d.fake.RemoveApp(ctx, d.base+metaapp.DeauthorizePath)
		if err != nil || status != http.StatusOK {
			// Vitrine still finds out, at its next validate: run it now.
			d.log.Warn("demo: the deauthorize callback failed; validating instead", "status", status, "err", err)
			d.runQuietly(ctx, jobs.JobValidate)
		}
		return "The owner removed the app on Instagram: Instagram refuses the token, and Meta called Vitrine's deauthorize callback, which flagged the connection at once. See the banner, the alert in the outbox, and the gallery still serving its posts. Click Reconnect to fix it.", nil
	case "expire":
		d.fake.ExpireTokens()
		d.runQuietly(ctx, jobs.JobValidate)
		return "The token has expired on Instagram's side. Validate ran: see the banner and the alert in the outbox. Click Reconnect to fix it.", nil
	case "break":
		d.fake.FailFor(outage, http.StatusServiceUnavailable)
		d.runQuietly(ctx, jobs.JobSync)
		return "Instagram answers 503 for the next 5 minutes. The sync just failed; the gallery keeps serving its last posts (widget.json says stale: true), the token stays valid, and syncing resumes by itself afterwards.", nil
	case "heal":
		d.fake.ResetFaults()
		d.runQuietly(ctx, jobs.JobSync)
		return "Instagram works again and a sync ran. A revoked or expired token stays dead, as on Instagram: reconnect if the banner shows.", nil
	}
	return "", errors.New("unknown demo action " + name)
}

// tokenAge is how far "Skip ahead" ages the token: past the default
// jobs.refresh_before of 30 days, so the refresh job acts.
const tokenAge = 31 * 24 * time.Hour

// ageToken moves the token's issue and expiry into the past, in Vitrine's
// store and at the fake alike, as if it had been issued age earlier.
func (d *Demo) ageToken(ctx context.Context, age time.Duration) error {
	tok, err := d.st.Token(ctx)
	if errors.Is(err, store.ErrNoToken) {
		return errors.New("nothing is connected yet: click Generate first")
	}
	if err != nil {
		return err
	}
	tok.IssuedAt, tok.ExpiresAt = tok.IssuedAt.Add(-age), tok.ExpiresAt.Add(-age)
	if err := d.st.SaveToken(ctx, tok); err != nil {
		return err
	}
	d.fake.AgeTokens(age)
	return nil
}

// runQuietly runs a job whose failure is the point of the action; the
// dashboard shows the result, so the error needs no more than a log line.
func (d *Demo) runQuietly(ctx context.Context, job string) {
	if err := d.sched.RunNow(ctx, job); err != nil {
		d.log.Info("demo: job failed as intended", "job", job, "err", err)
	}
}

// Connect connects the demo, as if the admin had clicked Generate and
// approved (-demo-connect, for benchmarks and scripts). The server must be
// serving: the connection talks to the fake over HTTP.
func (d *Demo) Connect(ctx context.Context, conn *connection.Connection) error {
	code, err := d.fake.Authorize(d.cfg.RedirectURI(), strings.Join(d.cfg.Instagram.Scopes, ","))
	if err != nil {
		return err
	}
	_, err = conn.Connect(ctx, code)
	return err
}

type siteView struct {
	Base, SnippetJS, SnippetIframe, SnippetFragment string
	LiveJS, LiveIframe                              template.HTML // SnippetJS and SnippetIframe themselves
	Fragment                                        template.HTML
	FragmentError                                   string
	Layouts                                         []layoutView
}

// layoutView is one of the sample site's other layouts: its title, the
// data- attributes that make it, and the embed.
type layoutView struct {
	Title, Attributes string
	Live              template.HTML
}

// sampleLayouts are the layouts the sample site shows beside the default.
var sampleLayouts = []struct {
	title string
	o     widget.EmbedOptions
}{
	{"Carousel", widget.EmbedOptions{Layout: "carousel", Columns: 2}},
	{"Masonry", widget.EmbedOptions{Layout: "masonry", Count: 6}},
	{"Highlight, in Portuguese", widget.EmbedOptions{Layout: "highlight", Language: "pt", Count: 7}},
}

// site is "someone's website" embedding the gallery three ways. The
// server-side variant fetches /widget?fragment=1 over HTTP, as a real
// site's include would.
func (d *Demo) site(c *gin.Context) {
	v := siteView{
		Base:            d.base,
		SnippetJS:       d.embeds.Snippet(widget.EmbedOptions{}),
		SnippetIframe:   d.embeds.SnippetIframe(),
		SnippetFragment: d.embeds.SnippetFragment(),
	}
	// The snippets are the widget's own output, escaped there.
	v.LiveJS, v.LiveIframe = template.HTML(v.SnippetJS), template.HTML(v.SnippetIframe)
	for _, l := range sampleLayouts {
		v.Layouts = append(v.Layouts, layoutView{Title: l.title, Attributes: d.embeds.Element(l.o), Live: template.HTML(d.embeds.Snippet(l.o))})
	}
	frag, err := d.fetchFragment(c.Request.Context())
	if err != nil {
		d.log.Warn("demo: fetching the widget fragment", "err", err)
		v.FragmentError = "The fragment could not be fetched just now: " + err.Error()
	}
	// The fragment is Vitrine's own html/template output, escaped there.
	v.Fragment = template.HTML(frag)
	d.render(c, "site.html", v, inlineScriptHashes(v.SnippetIframe)...)
}

// inlineScriptHashes are the CSP sources ('sha256-…') of the inline
// scripts in html: a host with a Content-Security-Policy allows the
// iframe snippet's listener by its hash, as the sample site does.
func inlineScriptHashes(html string) []string {
	var out []string
	for _, part := range strings.Split(html, "<script>")[1:] {
		code, _, _ := strings.Cut(part, "</script>")
		sum := sha256.Sum256([]byte(code))
		out = append(out, "'sha256-"+base64.StdEncoding.EncodeToString(sum[:])+"'")
	}
	return out
}

func (d *Demo) fetchFragment(ctx context.Context) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, d.base+"/widget?fragment=1", nil)
	if err != nil {
		return "", err
	}
	resp, err := d.http.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("HTTP %d", resp.StatusCode)
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	return string(b), err
}

type outboxView struct {
	Alerts []alerts.Alert
}

func (d *Demo) outboxPage(c *gin.Context) {
	d.render(c, "outbox.html", outboxView{Alerts: d.outbox.Alerts()})
}

// render writes page name with v; scripts are more script-src sources.
func (d *Demo) render(c *gin.Context, name string, v any, scripts ...string) {
	var b strings.Builder
	if err := d.pages.ExecuteTemplate(&b, name, v); err != nil {
		d.log.Error("demo: render", "page", name, "err", err)
		c.String(http.StatusInternalServerError, "the demo page could not be rendered\n")
		return
	}
	h := c.Writer.Header()
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	// The fragment carries its own <style>; widget.js links widget.css
	// into its shadow root; images and the iframe come from this origin.
	h.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; script-src "+strings.Join(append([]string{"'self'"}, scripts...), " ")+"; frame-src 'self'; base-uri 'none'; form-action 'none'")
	h.Add("Vary", "Accept-Encoding")
	body := []byte(b.String())
	// The sample site with its fragment is some 25 KB of HTML, 6 KB
	// compressed; the widget's own answers are compressed too.
	if widget.AcceptsGzip(strings.Join(c.Request.Header.Values("Accept-Encoding"), ",")) {
		var z bytes.Buffer
		zw := gzip.NewWriter(&z)
		if _, err := zw.Write(body); err == nil && zw.Close() == nil {
			h.Set("Content-Encoding", "gzip")
			body = z.Bytes()
		}
	}
	c.Data(http.StatusOK, "text/html; charset=utf-8", body)
}

// Announce logs where to go, first thing after "listening".
func (d *Demo) Announce() {
	cfg := d.cfg
	d.log.Info("demo: open the admin page and sign in", "url", d.base+"/admin", "password", Password)
	d.log.Info("demo: the sample website with the gallery", "url", d.base+"/demo")
	d.log.Info("demo: alerts land in the outbox", "url", d.base+"/demo/outbox")
	d.log.Info("demo: the fake Instagram", "url", d.base+FakePrefix+"/oauth/authorize?client_id="+cfg.Instagram.ClientID+
		"&redirect_uri="+cfg.RedirectURI()+"&response_type=code&scope=instagram_business_basic&state=demo")
}
