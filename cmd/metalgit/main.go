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
	ctx, stop := signalContext(func() { os.Exit(exitInterrupted) })
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// signalContext returns a context cancelled by the first SIGINT or
// SIGTERM, so that every command stops what it is doing and shuts down
// cleanly; a second signal calls exit at once, as cert-manager does, for
// an operator who does not want to wait.
func signalContext(exit func()) (context.Context, func()) {
	ctx, cancel := context.WithCancel(context.Background())
	signals := make(chan os.Signal, 2)
	signal.Notify(signals, os.Interrupt, syscall.SIGTERM)
	done := make(chan struct{})
	go func() {
		select {
		case <-signals:
			cancel()
		case <-done:
			return
		}
		select {
		case <-signals:
			exit()
		case <-done:
		}
	}()
	return ctx, func() {
		signal.Stop(signals)
		close(done)
		cancel()
	}
}
