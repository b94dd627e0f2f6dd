package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"golang.org/x/term"

	"vitrine/connection"
	"vitrine/feed"
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
	conn, err := connection.New(connection.Options{Store: st, Instagram: ig, Logger: log,
		RefreshBefore: cfg.Jobs.RefreshBefore.Std()})
	if err != nil {
		fmt.Fprintln(stderr, "vitrine:", err)
		return ExitFailure
	}
	fd, err := feed.New(feed.Options{Store: st, Instagram: ig, Connection: conn, MediaDir: cfg.MediaDir(),
		MaxPosts: cfg.Widget.MaxPosts, Logger: log})
	if err != nil {
		fmt.Fprintln(stderr, "vitrine:", err)
		return ExitFailure
	}
	// Recorded as the sync job's run, so the dashboard and `vitrine status`
	// show it like a scheduled one.
	// Through the job's lease too: on a shared database a replica may be
	// syncing right now.
	sched, err := jobs.New(jobs.Options{Runs: st, Logger: log,
		Leases: st, Holder: server.JobsHolder(st), LeaseTTL: cfg.Jobs.Lease.Std(),
		Tasks: []jobs.Task{{Name: jobs.JobSync, Schedule: cfg.Jobs.Sync, Idle: jobs.Idle}}})
	if err != nil {
		fmt.Fprintln(stderr, "vitrine:", err)
		return ExitFailure
	}
	var progress func(done, total int)
	if f, ok := stdout.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		progress = func(done, total int) { fmt.Fprintf(stdout, "\rmirroring images and videos %d/%d", done, total) }
	}
	var rep feed.Report
	err = sched.RunAs(ctx, jobs.JobSync, func(ctx context.Context) (err error) {
		rep, err = fd.Sync(ctx, progress)
		return err
	})
	if progress != nil {
		fmt.Fprintln(stdout)
	}
	if errors.Is(err, jobs.ErrRunningElsewhere) {
		fmt.Fprintln(stdout, "a sync is running on another replica; its posts will be there when it ends")
		return ExitFailure
	}
	if errors.Is(err, connection.ErrNotConnected) {
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
