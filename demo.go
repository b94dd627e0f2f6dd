package main

import (
	"context"
	"errors"
	"fmt"
	"html/template"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/gin-gonic/gin"
	"golang.org/x/crypto/bcrypt"

	"vitrine/admin"
	"vitrine/config"
	"vitrine/instagram/fake"
	"vitrine/jobs"
	"vitrine/store"
	"vitrine/templates"
	"vitrine/widget"
)

// fakePrefix is where -demo mounts the fake Instagram (DESIGN.md contract).
const fakePrefix = "/_fake/instagram"

// demoPassword is the admin password of -demo, printed at start.
const demoPassword = "demo"

// demoOutage is how long "Break Instagram" lasts.
const demoOutage = 5 * time.Minute

// outboxSize is how many alerts the demo outbox keeps.
const outboxSize = 50

// prepareDemo points the configuration at a throw-away data directory, the
// demo password and short job intervals, so refresh and sync show within a
// minute. The fake's tokens live in memory, so a data dir kept from an
// earlier run would only hold a token the new fake does not know.
func prepareDemo(cfg *config.Config) (cleanup func(), err error) {
	dir, err := os.MkdirTemp("", "vitrine-demo-")
	if err != nil {
		return nil, fmt.Errorf("demo data dir: %w", err)
	}
	cfg.DataDir = dir
	cfg.SecretKey = ""
	hash, err := bcrypt.GenerateFromPassword([]byte(demoPassword), bcrypt.DefaultCost)
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	cfg.Admin.PasswordHash = string(hash)
	cfg.Jobs.Validate, cfg.Jobs.Sync = "@every 1m", "@every 30s"
	return func() { os.RemoveAll(dir) }, nil
}

// demo is the rest of the -demo story once the server is wired: the fake
// Instagram, the sample website at /demo, the alert outbox at
// /demo/outbox, and the dashboard's fault switches (admin.Demo).
type demo struct {
	fake  *fake.Fake
	sched *jobs.Scheduler
	st    *store.Store
	base  string // public URL, no trailing slash
	log   *slog.Logger
	pages *template.Template
	http  *http.Client // fetches the server-side fragment, as a real site would

	mu     sync.Mutex
	outbox []jobs.Alert // newest first
}

func newDemoFake(cfg *config.Config, posts int) *fake.Fake {
	return fake.New(fake.Options{
		Prefix:       fakePrefix,
		RedirectURIs: []string{cfg.RedirectURI()},
		Posts:        posts,
		// Real time, so a 5-minute outage ends after five minutes.
		Clock: fake.NewWallClock(),
	})
}

// pointAtFake gives the Instagram client the fake's credentials and URLs.
func pointAtFake(cfg *config.Config, f *fake.Fake) {
	cfg.Instagram.ClientID, cfg.Instagram.ClientSecret = f.ClientID(), f.ClientSecret()
	ep := f.Endpoints(cfg.Server.PublicURL)
	cfg.Instagram.AuthURL, cfg.Instagram.TokenURL, cfg.Instagram.GraphURL = ep.AuthURL, ep.TokenURL, ep.GraphURL
}

func newDemo(cfg *config.Config, f *fake.Fake, log *slog.Logger) (*demo, error) {
	pages, err := templates.Demo()
	if err != nil {
		return nil, err
	}
	return &demo{
		fake: f, log: log, pages: pages,
		base: strings.TrimRight(cfg.Server.PublicURL, "/"),
		http: &http.Client{Timeout: 5 * time.Second},
	}, nil
}

// deliver is the jobs' outbox channel: the alert goes to the log and the
// outbox page, where a webhook or an email would go in production.
func (d *demo) deliver(_ context.Context, a jobs.Alert) error {
	d.log.Warn("demo: alert delivered to the outbox", "alert", a.Kind, "subject", a.Subject, "url", d.base+"/demo/outbox")
	d.mu.Lock()
	defer d.mu.Unlock()
	d.outbox = append([]jobs.Alert{a}, d.outbox...)
	if len(d.outbox) > outboxSize {
		d.outbox = d.outbox[:outboxSize]
	}
	return nil
}

func (d *demo) register(r gin.IRouter) {
	r.Any(fakePrefix+"/*path", gin.WrapH(d.fake))
	r.GET("/demo", d.site)
	r.GET("/demo/outbox", d.outboxPage)
}

// Actions are the dashboard's fault switches.
func (d *demo) Actions() []admin.DemoAction {
	return []admin.DemoAction{
		{Name: "post", Label: "Post on Instagram", Hint: "A new post appears on the fake Instagram; Sync now brings it to the gallery."},
		{Name: "age", Label: "Skip ahead 31 days", Hint: "Ages the token by 31 days, here and on Instagram, so it is due for renewal; the refresh job runs at once."},
		{Name: "revoke", Label: "Revoke token", Danger: true, Hint: "As if the owner removed the app: Instagram answers 190/458. Validate runs at once."},
		{Name: "expire", Label: "Expire token", Danger: true, Hint: "As if 60 days passed: Instagram answers 190/463. Validate runs at once."},
		{Name: "break", Label: "Break Instagram for 5 minutes", Danger: true, Hint: "Every API call answers 503; a sync runs at once and fails."},
		{Name: "heal", Label: "Fix Instagram", Hint: "Ends the outage and syncs. Revoked or expired tokens stay dead: reconnect."},
	}
}

// Links are the demo's pages, shown on the dashboard.
func (d *demo) Links() []admin.DemoLink {
	return []admin.DemoLink{
		{Label: "Sample website with the gallery", URL: "/demo", Hint: "The JS embed, the iframe and the server-side fragment"},
		{Label: "Alert outbox", URL: "/demo/outbox", Hint: "Where alerts to ops land in the demo"},
		{Label: widget.JSONPath, URL: widget.JSONPath},
		{Label: "/metrics", URL: "/metrics"},
	}
}

// Do runs one fault switch, then the job that would notice it, so the
// dashboard shows the consequence now rather than at the next tick.
func (d *demo) Do(ctx context.Context, name string) (string, error) {
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
		if d.sched != nil {
			if err := d.sched.RunNow(ctx, jobs.JobRefresh); err != nil {
				return "", fmt.Errorf("the refresh failed: %w", err)
			}
		}
		return "The token was 31 days old and due for renewal: the refresh job just exchanged it for a new 60-day token. See \"Token expires\" and the activity list.", nil
	case "revoke":
		d.fake.RevokeTokens()
		d.runQuietly(ctx, jobs.JobValidate)
		return "Instagram now refuses the token, as when the owner removes the app. Validate ran: see the banner, the alert in the outbox, and the gallery still serving its posts. Click Reconnect to fix it.", nil
	case "expire":
		d.fake.ExpireTokens()
		d.runQuietly(ctx, jobs.JobValidate)
		return "The token has expired on Instagram's side. Validate ran: see the banner and the alert in the outbox. Click Reconnect to fix it.", nil
	case "break":
		d.fake.FailFor(demoOutage, http.StatusServiceUnavailable)
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
func (d *demo) ageToken(ctx context.Context, age time.Duration) error {
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
func (d *demo) runQuietly(ctx context.Context, job string) {
	if d.sched == nil {
		return
	}
	if err := d.sched.RunNow(ctx, job); err != nil {
		d.log.Info("demo: job failed as intended", "job", job, "err", err)
	}
}

// connect starts the demo already connected, as if the admin had clicked
// Generate and approved (-demo-connect, for benchmarks and scripts).
func (d *demo) connect(ctx context.Context, cfg *config.Config, adm *admin.Admin) error {
	code, err := d.fake.Authorize(cfg.RedirectURI(), strings.Join(cfg.Instagram.Scopes, ","))
	if err != nil {
		return err
	}
	_, err = adm.ConnectWithCode(ctx, code)
	return err
}

type demoSiteView struct {
	Base, SnippetJS, SnippetIframe, SnippetFragment string
	Fragment                                        template.HTML
	FragmentError                                   string
}

// site is "someone's website" embedding the gallery three ways. The
// server-side variant fetches /widget?fragment=1 over HTTP, as a real
// site's include would.
func (d *demo) site(c *gin.Context) {
	v := demoSiteView{
		Base:            d.base,
		SnippetJS:       `<script src="` + d.base + `/widget.js" async></script>`,
		SnippetIframe:   `<iframe src="` + d.base + `/widget" title="Instagram posts" loading="lazy" style="width:100%;height:480px;border:0"></iframe>`,
		SnippetFragment: `<!--# include virtual="/widget?fragment=1" -->`,
	}
	frag, err := d.fetchFragment(c.Request.Context())
	if err != nil {
		d.log.Warn("demo: fetching the widget fragment", "err", err)
		v.FragmentError = "The fragment could not be fetched just now: " + err.Error()
	}
	// The fragment is Vitrine's own html/template output, escaped there.
	v.Fragment = template.HTML(frag)
	d.render(c, "site.html", v)
}

func (d *demo) fetchFragment(ctx context.Context) (string, error) {
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
	Alerts []jobs.Alert
}

func (d *demo) outboxPage(c *gin.Context) {
	d.mu.Lock()
	v := outboxView{Alerts: append([]jobs.Alert(nil), d.outbox...)}
	d.mu.Unlock()
	d.render(c, "outbox.html", v)
}

func (d *demo) render(c *gin.Context, name string, v any) {
	var b strings.Builder
	if err := d.pages.ExecuteTemplate(&b, name, v); err != nil {
		d.log.Error("demo: render", "page", name, "err", err)
		c.String(http.StatusInternalServerError, "the demo page could not be rendered\n")
		return
	}
	h := c.Writer.Header()
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	// The fragment carries its own <style>; widget.js injects styles into
	// its shadow root; images and the iframe come from this origin.
	h.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; script-src 'self'; frame-src 'self'; base-uri 'none'; form-action 'none'")
	c.Data(http.StatusOK, "text/html; charset=utf-8", []byte(b.String()))
}

// demoOutbox is the jobs' outbox channel in -demo, nil otherwise.
func demoOutbox(d *demo) func(context.Context, jobs.Alert) error {
	if d == nil {
		return nil
	}
	return d.deliver
}

// announce prints where to go, first thing after "listening".
func (d *demo) announce(cfg *config.Config) {
	d.log.Info("demo: open the admin page and sign in", "url", d.base+"/admin", "password", demoPassword)
	d.log.Info("demo: the sample website with the gallery", "url", d.base+"/demo")
	d.log.Info("demo: alerts land in the outbox", "url", d.base+"/demo/outbox")
	d.log.Info("demo: the fake Instagram", "url", d.base+fakePrefix+"/oauth/authorize?client_id="+cfg.Instagram.ClientID+
		"&redirect_uri="+cfg.RedirectURI()+"&response_type=code&scope=instagram_business_basic&state=demo")
}
