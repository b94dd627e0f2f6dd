package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"golang.org/x/term"

	"vitrine/instagram"
	"vitrine/jobs"
	"vitrine/server"
)

const syncSummary = "fetch the posts now"

// syncNow runs the sync job once, the same code the scheduler runs, with
// progress on a terminal.
func syncNow(ctx context.Context, args []string, _ io.Reader, stdout, stderr io.Writer) int {
	st, cfg, code := commandStore("sync", syncSummary, args, true, stdout, stderr)
	if st == nil {
		return code
	}
	defer st.Close()
	log := newLogger(cfg, stderr)
	ig, err := instagram.New(server.InstagramConfig(cfg, log, nil))
	if err != nil {
		fmt.Fprintln(stderr, "vitrine:", err)
		return ExitFailure
	}
	sched, err := jobs.New(jobs.Options{Config: cfg, Store: st, Instagram: ig, Logger: log})
	if err != nil {
		fmt.Fprintln(stderr, "vitrine:", err)
		return ExitFailure
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
		return ExitFailure
	}
	if err != nil {
		fmt.Fprintln(stderr, "vitrine: sync:", err)
		return ExitFailure
	}
	fmt.Fprintln(stdout, "synced:", rep)
	return ExitOK
}
