package main

import (
	"bytes"
	"context"
	"os"
	"syscall"
	"testing"
	"time"
)

// TestSignalContext: the first SIGINT or SIGTERM cancels the command's
// context; the second calls exit at once.
func TestSignalContext(t *testing.T) {
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM} {
		t.Run(sig.String(), func(t *testing.T) {
			exited := make(chan struct{}, 1)
			ctx, stop := signalContext(func() { exited <- struct{}{} })
			defer stop()
			if err := syscall.Kill(os.Getpid(), sig); err != nil {
				t.Fatal(err)
			}
			select {
			case <-ctx.Done():
			case <-time.After(30 * time.Second):
				t.Fatal("the first signal did not cancel the context")
			}
			select {
			case <-exited:
				t.Fatal("the first signal exited")
			default:
			}
			if err := syscall.Kill(os.Getpid(), sig); err != nil {
				t.Fatal(err)
			}
			select {
			case <-exited:
			case <-time.After(30 * time.Second):
				t.Fatal("the second signal did not exit")
			}
		})
	}
}

// TestInterruptedCommands: a command whose context is cancelled (the
// first signal) stops and exits 130, and writes nothing.
func TestInterruptedCommands(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	for _, args := range [][]string{
		{"validate", "../../examples/dc1"},
		{"plan", "../../examples/dc1"},
		{"render", "../../examples/dc1"},
	} {
		var stdout, stderr bytes.Buffer
		code := run(ctx, args, &stdout, &stderr)
		if code != exitInterrupted || stderr.String() != "Error: interrupted\n" || stdout.Len() != 0 {
			t.Errorf("%v: exit %d, stdout %q, stderr %q; want %d and only \"Error: interrupted\"", args, code, stdout.String(), stderr.String(), exitInterrupted)
		}
	}
	root := copyDir(t, "../../examples/dc2")
	before := treeSum(t, root)
	var stderr bytes.Buffer
	if code := run(ctx, []string{"allocate", root}, &bytes.Buffer{}, &stderr); code != exitInterrupted {
		t.Errorf("allocate: exit %d, stderr %q", code, stderr.String())
	}
	if treeSum(t, root) != before {
		t.Error("an interrupted allocate wrote the state")
	}
}
