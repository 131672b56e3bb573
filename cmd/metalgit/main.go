// Command metalgit is GitOps for bare-metal fleets: it validates an
// inventory of hosts, pools and machines, binds machines to hosts,
// allocates their addresses and keeps that state in Git.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
