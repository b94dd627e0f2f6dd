// Command vitrine shows a site owner's own Instagram posts on their website,
// served from its own origin. See README.md.
package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"golang.org/x/crypto/bcrypt"
	"golang.org/x/term"

	"vitrine/admin"
	"vitrine/config"
	"vitrine/fastpath"
	"vitrine/instagram"
	"vitrine/jobs"
	"vitrine/store"
	"vitrine/widget"
)

// Exit codes: 0 fine, 1 failed or unhealthy, 2 the command line or the
// configuration is wrong (so scripts can tell "fix your config" apart).
const (
	exitOK      = 0
	exitFailure = 1
	exitUsage   = 2
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

const usage = `Usage:
  vitrine [serve] [-config FILE] [-addr HOST:PORT] [-demo]   run the server (default)
  vitrine hash-password                                       read a password on stdin, print its bcrypt hash
  vitrine status [-config FILE]                               token state, expiry, last sync; exit 1 if it needs attention
  vitrine sync [-config FILE]                                 fetch the posts now

The config file defaults to $VITRINE_CONFIG; VITRINE_* variables override it.
`

// run is main without the process: tests call it with their own arguments,
// streams and context (cancelled = SIGINT/SIGTERM).
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	cmd := "serve"
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		cmd, args = args[0], args[1:]
	}
	switch cmd {
	case "serve":
		return serve(ctx, args, stderr)
	case "hash-password":
		return hashPassword(stdin, stdout, stderr)
	case "status":
		return status(ctx, args, stdout, stderr)
	case "sync":
		return syncNow(ctx, args, stdout, stderr)
	case "help":
		fmt.Fprint(stdout, usage)
		return exitOK
	default:
		fmt.Fprintf(stderr, "vitrine: unknown command %q\n\n%s", cmd, usage)
		return exitUsage
	}
}

// options are the flags every subcommand that reads the config shares.
type options struct {
	configPath  string
	addr        string
	demo        bool
	demoConnect bool // -demo starts connected, as if Generate had been clicked
	demoPosts   int  // posts of the demo's fake account
}

func parseFlags(name string, args []string, stderr io.Writer, withServe bool) (options, error) {
	var o options
	fs := flag.NewFlagSet("vitrine "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.configPath, "config", os.Getenv(config.EnvConfigPath), "YAML config `file` (default $VITRINE_CONFIG)")
	if withServe {
		fs.StringVar(&o.addr, "addr", "", "listen on `host:port`, overriding server.addr")
		fs.BoolVar(&o.demo, "demo", false, "run against a built-in fake Instagram, password \"demo\", throw-away data")
		fs.BoolVar(&o.demoConnect, "demo-connect", false, "with -demo: start connected and synced (for benchmarks and scripts)")
		fs.IntVar(&o.demoPosts, "demo-posts", 0, "with -demo: `n` posts on the fake account (default 30)")
	}
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "vitrine %s: unexpected argument %q\n", name, fs.Arg(0))
		return o, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if (o.demoConnect || o.demoPosts != 0) && !o.demo {
		fmt.Fprintf(stderr, "vitrine %s: -demo-connect and -demo-posts need -demo\n", name)
		return o, errors.New("demo flags without -demo")
	}
	if o.demoPosts < 0 || o.demoPosts > 10000 {
		fmt.Fprintf(stderr, "vitrine %s: -demo-posts must be between 1 and 10000\n", name)
		return o, errors.New("bad -demo-posts")
	}
	return o, nil
}

// loadConfig loads and, when validate is set, validates; it prints the
// problems itself so every subcommand reports them the same way.
func loadConfig(o options, stderr io.Writer, validate bool) (*config.Config, bool) {
	cfg, err := config.Load(o.configPath)
	if err != nil {
		fmt.Fprintln(stderr, "vitrine:", err)
		return nil, false
	}
	if o.addr != "" {
		cfg.Server.Addr = o.addr
	}
	if o.demo {
		cfg.Demo = true
	}
	if validate {
		if err := cfg.Validate(); err != nil {
			fmt.Fprintln(stderr, "vitrine:", err)
			return nil, false
		}
	}
	return cfg, true
}

func newLogger(cfg *config.Config, w io.Writer) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(cfg.Log.Level)) // validated already
	opts := &slog.HandlerOptions{Level: level}
	if cfg.Log.Format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

func serve(ctx context.Context, args []string, stderr io.Writer) int {
	o, err := parseFlags("serve", args, stderr, true)
	if err != nil {
		return exitUsage
	}
	cfg, ok := loadConfig(o, stderr, true)
	if !ok {
		return exitUsage
	}
	log := newLogger(cfg, stderr)

	if cfg.Demo {
		cleanup, err := prepareDemo(cfg)
		if err != nil {
			log.Error("demo setup failed", "err", err)
			return exitFailure
		}
		defer cleanup()
	}

	// Listen before wiring so -addr :0 works and, in -demo, the public URL
	// can follow the address actually bound.
	ln, err := net.Listen("tcp", cfg.Server.Addr)
	if err != nil {
		log.Error("cannot listen", "addr", cfg.Server.Addr, "err", err)
		return exitFailure
	}
	defer ln.Close()
	if cfg.Demo {
		cfg.Server.PublicURL = "http://" + reachableAddr(ln.Addr())
	}

	a, err := newApp(cfg, log, appOptions{demoPosts: o.demoPosts})
	if err != nil {
		log.Error("cannot start", "err", err)
		return exitFailure
	}
	defer a.Close()
	a.sched.Start()
	defer a.stopJobs()

	srv := newServer(a.handler, log)
	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(fastpath.Listen(ln, srv, a.gallery, log)) }()

	log.Info("Vitrine is listening", "url", cfg.Server.PublicURL, "addr", ln.Addr().String(), "data_dir", cfg.DataDir)
	if a.demo != nil {
		a.demo.announce(cfg)
		if o.demoConnect {
			if err := a.demo.connect(ctx, cfg, a.adm); err != nil {
				log.Error("demo: connecting at start failed", "err", err)
				return exitFailure
			}
		}
	}

	select {
	case err := <-serveErr:
		log.Error("server stopped", "err", err)
		return exitFailure
	case <-ctx.Done():
	}
	log.Info("shutting down")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		log.Warn("shutdown did not finish cleanly", "err", err)
		return exitFailure
	}
	log.Info("stopped")
	return exitOK
}

// reachableAddr turns a listener address into one a browser can open:
// a wildcard host becomes loopback.
func reachableAddr(a net.Addr) string {
	host, port, err := net.SplitHostPort(a.String())
	if err != nil {
		return a.String()
	}
	if ip := net.ParseIP(host); ip == nil || ip.IsUnspecified() {
		host = "127.0.0.1"
	}
	return net.JoinHostPort(host, port)
}

// hashPassword prints the bcrypt hash of the password read on stdin. At a
// terminal it asks without echoing; piped, it reads the first line.
func hashPassword(stdin io.Reader, stdout, stderr io.Writer) int {
	var password []byte
	if f, ok := stdin.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		fmt.Fprint(stderr, "Password: ")
		p, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(stderr)
		if err != nil {
			fmt.Fprintln(stderr, "vitrine: read password:", err)
			return exitFailure
		}
		password = p
	} else {
		line, err := bufio.NewReader(io.LimitReader(stdin, 4096)).ReadString('\n')
		if err != nil && !errors.Is(err, io.EOF) {
			fmt.Fprintln(stderr, "vitrine: read password:", err)
			return exitFailure
		}
		password = []byte(strings.TrimRight(line, "\r\n"))
	}
	if len(password) == 0 {
		fmt.Fprintln(stderr, "vitrine: empty password; pipe one in, e.g. echo 'a long passphrase' | vitrine hash-password")
		return exitUsage
	}
	hash, err := bcrypt.GenerateFromPassword(password, bcrypt.DefaultCost)
	if errors.Is(err, bcrypt.ErrPasswordTooLong) {
		fmt.Fprintln(stderr, "vitrine: password longer than 72 bytes, which bcrypt cannot use; choose a shorter one")
		return exitUsage
	}
	if err != nil {
		fmt.Fprintln(stderr, "vitrine: hash password:", err)
		return exitFailure
	}
	fmt.Fprintln(stdout, string(hash))
	return exitOK
}

// commandStore parses a one-shot subcommand's flags, loads the config
// (validated when the command talks to Instagram) and opens the database.
// A missing database means nothing was ever connected: reported, not
// created. st is nil when the command should exit with code.
func commandStore(name string, args []string, validate bool, stdout, stderr io.Writer) (st *store.Store, cfg *config.Config, code int) {
	o, err := parseFlags(name, args, stderr, false)
	if err != nil {
		return nil, nil, exitUsage
	}
	cfg, ok := loadConfig(o, stderr, validate)
	if !ok {
		return nil, nil, exitUsage
	}
	if _, err := os.Stat(cfg.DatabasePath()); errors.Is(err, os.ErrNotExist) {
		fmt.Fprintf(stdout, "not connected (no database at %s yet)\n", cfg.DatabasePath())
		return nil, nil, exitFailure
	}
	key, err := store.LoadOrCreateKey(cfg.DataDir, cfg.SecretKey)
	if err == nil {
		st, err = store.Open(cfg.DatabasePath(), key)
	}
	if err != nil {
		fmt.Fprintln(stderr, "vitrine:", err)
		return nil, nil, exitFailure
	}
	return st, cfg, exitOK
}

// status prints the connection's health for people and scripts: exit 0 when
// the token works, 1 when it needs attention (none, or re-auth needed).
func status(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	// status needs only data_dir and the key, not Instagram credentials.
	st, _, code := commandStore("status", args, false, stdout, stderr)
	if st == nil {
		return code
	}
	defer st.Close()
	tok, err := st.Token(ctx)
	if errors.Is(err, store.ErrNoToken) {
		fmt.Fprintln(stdout, "not connected: sign in to /admin and click Generate")
		return exitFailure
	}
	if err != nil {
		fmt.Fprintln(stderr, "vitrine:", err)
		return exitFailure
	}
	posts, err := st.PostCount(ctx)
	if err != nil {
		fmt.Fprintln(stderr, "vitrine:", err)
		return exitFailure
	}
	now := time.Now()
	fmt.Fprintf(stdout, "account:  @%s (%s)\n", tok.Username, tok.AccountType)
	state := string(tok.Status)
	if tok.StatusReason != "" {
		state += ": " + tok.StatusReason
	}
	fmt.Fprintf(stdout, "token:    %s\n", state)
	fmt.Fprintf(stdout, "expires:  %s (%s)\n", tok.ExpiresAt.Format(time.DateOnly), untilWords(tok.ExpiresAt.Sub(now)))
	if !tok.LastCheckedAt.IsZero() {
		fmt.Fprintf(stdout, "checked:  %s\n", tok.LastCheckedAt.Format(time.RFC3339))
	}
	fmt.Fprintf(stdout, "posts:    %d cached\n", posts)
	runs, err := st.JobRuns(ctx)
	if err != nil {
		fmt.Fprintln(stderr, "vitrine:", err)
		return exitFailure
	}
	for _, r := range runs {
		result := "ok"
		if !r.LastOK {
			result = "failed: " + r.LastError
		}
		if r.LastRun.IsZero() {
			result = "never run"
		}
		fmt.Fprintf(stdout, "%-9s %s %s\n", r.Name+":", r.LastRun.Format(time.RFC3339), result)
	}
	if tok.Status == store.StatusNeedsReauth || !tok.ExpiresAt.After(now) {
		return exitFailure
	}
	return exitOK
}

func untilWords(d time.Duration) string {
	if d <= 0 {
		return "expired"
	}
	days := int(d / (24 * time.Hour))
	if days == 0 {
		return "in less than a day"
	}
	return fmt.Sprintf("in %d days", days)
}

// syncNow runs the sync job once, the same code the scheduler runs, with
// progress on a terminal.
func syncNow(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	st, cfg, code := commandStore("sync", args, true, stdout, stderr)
	if st == nil {
		return code
	}
	defer st.Close()
	log := newLogger(cfg, stderr)
	ig, err := newInstagramClient(cfg, log, nil)
	if err != nil {
		fmt.Fprintln(stderr, "vitrine:", err)
		return exitFailure
	}
	sched, err := jobs.New(jobs.Options{Config: cfg, Store: st, Instagram: ig, Logger: log})
	if err != nil {
		fmt.Fprintln(stderr, "vitrine:", err)
		return exitFailure
	}
	var progress func(done, total int)
	if f, ok := stdout.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		progress = func(done, total int) { fmt.Fprintf(stdout, "\rmirroring images %d/%d", done, total) }
	}
	rep, err := sched.SyncOnce(ctx, progress)
	if progress != nil {
		fmt.Fprintln(stdout)
	}
	if errors.Is(err, jobs.ErrNotConnected) {
		fmt.Fprintln(stdout, "not connected: sign in to /admin and click Generate")
		return exitFailure
	}
	if err != nil {
		fmt.Fprintln(stderr, "vitrine: sync:", err)
		return exitFailure
	}
	fmt.Fprintln(stdout, "synced:", rep)
	return exitOK
}

func newInstagramClient(cfg *config.Config, log *slog.Logger, now func() time.Time) (*instagram.Client, error) {
	return instagram.New(instagramConfig(cfg, log, now))
}

// instagramConfig is the client configuration cfg describes.
func instagramConfig(cfg *config.Config, log *slog.Logger, now func() time.Time) instagram.Config {
	return instagram.Config{
		ClientID:     cfg.Instagram.ClientID,
		ClientSecret: cfg.Instagram.ClientSecret,
		RedirectURI:  cfg.RedirectURI(),
		Scopes:       cfg.Instagram.Scopes,
		AuthURL:      cfg.Instagram.AuthURL,
		TokenURL:     cfg.Instagram.TokenURL,
		GraphURL:     cfg.Instagram.GraphURL,
		GraphVersion: cfg.Instagram.GraphVersion,
		Timeout:      cfg.Instagram.Timeout.Std(),
		Logger:       log,
		Now:          now,
	}
}

// adminJobs adapts the scheduler to the dashboard's view of it.
type adminJobs struct{ s *jobs.Scheduler }

func (a adminJobs) RunNow(ctx context.Context, name string) error {
	err := a.s.RunNow(ctx, name)
	if errors.Is(err, jobs.ErrAlreadyRunning) {
		// The dashboard answers 409 "already running" rather than "failed".
		return fmt.Errorf("%w: %w", admin.ErrAlreadyRunning, err)
	}
	return err
}

func (a adminJobs) TokenConnected(ctx context.Context) { a.s.TokenConnected(ctx) }

func (a adminJobs) Statuses() []admin.JobStatus {
	in := a.s.Statuses()
	out := make([]admin.JobStatus, len(in))
	for i, st := range in {
		out[i] = admin.JobStatus{
			Name: st.Name, LastRun: st.LastRun, NextRun: st.NextRun, LastOK: st.LastOK,
			LastError: st.LastError, LastDuration: st.LastDuration, Running: st.Running,
		}
	}
	return out
}

// widgetSource hands the widget the store's posts and one entry per
// mirrored file, with absolute paths under the media directory.
type widgetSource struct {
	st       *store.Store
	mediaDir string
}

func (w widgetSource) Posts(ctx context.Context, limit int) ([]store.Post, error) {
	return w.st.Posts(ctx, limit)
}

func (w widgetSource) Token(ctx context.Context) (store.Token, error) { return w.st.Token(ctx) }

func (w widgetSource) Images(ctx context.Context) ([]widget.Image, error) {
	images, err := w.st.Images(ctx)
	if err != nil {
		return nil, err
	}
	var out []widget.Image
	for _, im := range images {
		for _, v := range im.Variants {
			out = append(out, widget.Image{
				MediaID: im.MediaID, Width: v.Width, Height: v.Height, Color: im.Color,
				Path: filepath.Join(w.mediaDir, filepath.FromSlash(v.Path)),
			})
		}
	}
	return out, nil
}

// newServer is the HTTP server serve() runs h on: its timeouts bound slow
// or idle clients, and the fast path in front of it honours them too.
func newServer(h http.Handler, log *slog.Logger) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
}
