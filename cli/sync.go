package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"golang.org/x/term"

	"vitrine/connection"
	"vitrine/jobs"
)

const syncSummary = "fetch the posts now"

// syncNow runs the sync once, as the sync job (the app's SyncNow: the same
// operation the schedule runs, recorded as its run, under its lease), with
// progress on a terminal.
func syncNow(ctx context.Context, args []string, _ io.Reader, stdout, stderr io.Writer) int {
	a, code := commandApp("sync", syncSummary, args, false, stdout, stderr)
	if a == nil {
		return code
	}
	defer a.Close()
	var progress func(done, total int)
	if f, ok := stdout.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		progress = func(done, total int) { fmt.Fprintf(stdout, "\rmirroring images and videos %d/%d", done, total) }
	}
	rep, err := a.SyncNow(ctx, progress)
	if progress != nil {
		fmt.Fprintln(stdout)
	}
	if errors.Is(err, jobs.ErrRunningElsewhere) {
		fmt.Fprintln(stdout, "a sync is running already (the server's, or another replica's); its posts will be there when it ends")
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
