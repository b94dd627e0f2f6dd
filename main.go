// Command vitrine shows a site owner's own Instagram posts on their website,
// served from its own origin. See README.md; `vitrine help` lists the
// subcommands.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"vitrine/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.Run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
