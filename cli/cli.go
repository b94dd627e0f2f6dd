// Package cli is the vitrine command line: one file per subcommand, and
// Run, which picks one and returns the process's exit code.
package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"

	"vitrine/app"
	"vitrine/config"
	"vitrine/jobs"
)

// Exit codes: 0 fine, 1 failed or unhealthy, 2 the command line or the
// configuration is wrong (so scripts can tell "fix your config" apart).
const (
	ExitOK      = 0
	ExitFailure = 1
	ExitUsage   = 2
)

// command is one subcommand.
type command struct {
	name    string
	summary string // one line, for `vitrine help`
	run     func(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int
}

// commands in the order `vitrine help` lists them; the first is the
// default.
var commands = []command{
	{"serve", serveSummary, serve},
	{"hash-password", hashPasswordSummary, hashPassword},
	{"status", statusSummary, status},
	{"sync", syncSummary, syncNow},
	{"backup", backupSummary, backup},
	{"restore", restoreSummary, restore},
	{"version", versionSummary, version},
}

// Run is main without the process: tests call it with their own arguments,
// streams and context (cancelled = SIGINT/SIGTERM).
func Run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	name := "serve"
	if len(args) > 0 {
		switch arg := args[0]; {
		case arg == "help" || isHelpFlag(arg):
			printUsage(stdout)
			return ExitOK
		case arg == "-version" || arg == "--version":
			name, args = "version", args[1:]
		case !strings.HasPrefix(arg, "-"):
			name, args = arg, args[1:]
		}
	}
	for _, c := range commands {
		if c.name == name {
			return c.run(ctx, args, stdin, stdout, stderr)
		}
	}
	fmt.Fprintf(stderr, "vitrine: unknown command %q\n\n", name)
	printUsage(stderr)
	return ExitUsage
}

func isHelpFlag(arg string) bool {
	switch arg {
	case "-h", "-help", "--help":
		return true
	}
	return false
}

func printUsage(w io.Writer) {
	fmt.Fprint(w, "Vitrine shows your Instagram posts on your website.\n\nUsage:\n\n\tvitrine <command> [flags]\n\nThe commands are:\n\n")
	for _, c := range commands {
		fmt.Fprintf(w, "\t%-14s %s\n", c.name, c.summary)
	}
	fmt.Fprint(w, "\nWithout a command, vitrine serves. Use \"vitrine <command> -h\" for a command's flags.\n"+
		"The config file defaults to $VITRINE_CONFIG; VITRINE_* variables override it.\n")
}

// options are the flags every subcommand that reads the config shares.
type options struct {
	configPath  string
	addr        string
	demo        bool
	demoConnect bool   // -demo starts connected, as if Generate had been clicked
	demoPosts   int    // posts of the demo's fake account
	file        string // the command's one FILE operand (backup, restore)
}

// parseFlags parses a command's flags; withFile, its one FILE operand
// after them, into o.file.
func parseFlags(name, summary string, args []string, stderr io.Writer, withServe, withFile bool) (options, error) {
	var o options
	fs := flag.NewFlagSet("vitrine "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	operand := ""
	if withFile {
		operand = " FILE"
	}
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: vitrine %s [flags]%s\n\n%s\n\nFlags:\n", name, operand, summary)
		fs.PrintDefaults()
	}
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
	rest := fs.Args()
	if withFile {
		if len(rest) == 0 || rest[0] == "" {
			fmt.Fprintf(stderr, "vitrine %s: which file? Usage: vitrine %s [flags] FILE\n", name, name)
			return o, errors.New("no FILE")
		}
		o.file, rest = rest[0], rest[1:]
	}
	if len(rest) > 0 {
		hint := ""
		if withFile {
			hint = " (flags go before the file)"
		}
		fmt.Fprintf(stderr, "vitrine %s: unexpected argument %q%s\n", name, rest[0], hint)
		return o, fmt.Errorf("unexpected argument %q", rest[0])
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

// commandApp parses a one-shot subcommand's flags, loads the config and
// opens the server's database. A command that only reads (inspect: the
// config not validated, no Instagram credentials needed) gets app.Inspect,
// which never migrates; the others the app the server builds, under a
// jobs holder of their own, so that a run they start and the server's
// exclude each other through the job's lease even on SQLite, where the
// server's processes share one. A missing database means nothing was ever
// connected: reported, not created. a is nil when the command should exit
// with code.
func commandApp(name, summary string, args []string, inspect bool, stdout, stderr io.Writer) (a *app.App, code int) {
	o, err := parseFlags(name, summary, args, stderr, false, false)
	if err != nil {
		return nil, ExitUsage
	}
	cfg, ok := loadConfig(o, stderr, !inspect)
	if !ok {
		return nil, ExitUsage
	}
	if cfg.Database.URL == "" {
		if _, err := os.Stat(cfg.DatabasePath()); errors.Is(err, os.ErrNotExist) {
			fmt.Fprintf(stdout, "not connected (no database at %s yet)\n", cfg.DatabasePath())
			return nil, ExitFailure
		}
	}
	if inspect {
		a, err = app.Inspect(*cfg, newLogger(cfg, stderr))
	} else {
		a, err = app.New(*cfg, newLogger(cfg, stderr), app.Options{JobsHolder: jobs.NewHolder()})
	}
	if err != nil {
		fmt.Fprintln(stderr, "vitrine:", err)
		return nil, ExitFailure
	}
	return a, ExitOK
}
