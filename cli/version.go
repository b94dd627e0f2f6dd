package cli

import (
	"context"
	"fmt"
	"io"

	"vitrine/buildinfo"
)

const versionSummary = "print the version, commit, build date and Go version"

// version prints this build's one line (buildinfo.Info.String); also
// `vitrine -version`.
func version(_ context.Context, args []string, _ io.Reader, stdout, stderr io.Writer) int {
	if len(args) > 0 {
		fmt.Fprintf(stderr, "vitrine version: unexpected argument %q\n", args[0])
		return ExitUsage
	}
	fmt.Fprintln(stdout, buildinfo.Get())
	return ExitOK
}
