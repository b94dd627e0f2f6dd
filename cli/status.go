package cli

import (
	"context"
	"fmt"
	"io"
	"time"

	"vitrine/jobs"
)

const statusSummary = "token state, expiry, last sync; exit 1 if it needs attention"

// status prints the connection's health for people and scripts: exit 0 when
// the token works, 1 when it needs attention (none, or re-auth needed).
func status(ctx context.Context, args []string, _ io.Reader, stdout, stderr io.Writer) int {
	// status needs only data_dir and the key, not Instagram credentials,
	// and never migrates the database.
	a, code := commandApp("status", statusSummary, args, true, stdout, stderr)
	if a == nil {
		return code
	}
	defer a.Close()
	st := a.Store
	cs, err := a.Status(ctx)
	if err != nil {
		fmt.Fprintln(stderr, "vitrine:", err)
		return ExitFailure
	}
	// A connection finished in a browser without the admin's session waits
	// for the owner on the dashboard; it changes nothing until confirmed.
	who, until, parked, err := a.Parked(ctx)
	if err != nil {
		fmt.Fprintln(stderr, "vitrine:", err)
		return ExitFailure
	}
	printParked := func() {
		if parked {
			fmt.Fprintf(stdout, "waiting:  @%s, for your confirmation on /admin until %s\n", who, until.UTC().Format("15:04 UTC"))
		}
	}
	if !cs.Connected {
		fmt.Fprintln(stdout, "not connected: sign in to /admin and click Generate")
		printParked()
		return ExitFailure
	}
	posts, err := st.PostCount(ctx)
	if err != nil {
		fmt.Fprintln(stderr, "vitrine:", err)
		return ExitFailure
	}
	tok, now := cs.Account, time.Now()
	fmt.Fprintf(stdout, "account:  @%s (%s)\n", tok.Username, tok.AccountType)
	state := string(cs.State)
	if cs.Reason != "" {
		state += ": " + cs.Reason
	}
	fmt.Fprintf(stdout, "token:    %s\n", state)
	fmt.Fprintf(stdout, "expires:  %s (%s)\n", tok.ExpiresAt.Format(time.DateOnly), untilWords(tok.ExpiresAt.Sub(now)))
	if !tok.LastCheckedAt.IsZero() {
		fmt.Fprintf(stdout, "checked:  %s\n", tok.LastCheckedAt.Format(time.RFC3339))
	}
	fmt.Fprintf(stdout, "posts:    %d cached\n", posts)
	printParked()
	runs, err := st.JobRuns(ctx)
	if err != nil {
		fmt.Fprintln(stderr, "vitrine:", err)
		return ExitFailure
	}
	for _, r := range runs {
		result := "ok"
		switch {
		case r.LastRun.IsZero():
			result = "never run"
		case r.Waiting:
			result = "waiting for a connection"
		case !r.LastOK:
			result = "failed: " + r.LastError
		}
		fmt.Fprintf(stdout, "%-9s %s %s\n", r.Name+":", r.LastRun.Format(time.RFC3339), result)
	}
	if st.Shared() {
		// Which replica runs the jobs: where to look for their logs.
		holder, left, ok, err := st.LeaseHolder(ctx, jobs.LeaseName)
		switch {
		case err != nil:
			fmt.Fprintln(stderr, "vitrine:", err)
			return ExitFailure
		case ok:
			fmt.Fprintf(stdout, "jobs:     run by %s (lease for %s more)\n", holder, left.Round(time.Second))
		default:
			fmt.Fprintln(stdout, "jobs:     no replica holds the lease now")
		}
	}
	if cs.NeedsAttention() {
		return ExitFailure
	}
	return ExitOK
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
