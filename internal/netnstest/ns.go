package netnstest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"

	"golang.org/x/sys/unix"
)

// NS is a named network namespace created with `ip netns add`.
type NS struct {
	// Name is the namespace's name, as `ip netns list` shows it.
	Name string
}

// netnsDirs are where iproute2 mounts named namespaces; /var/run is a
// symlink to /run on current systems but not on all.
func netnsDirs() []string { return []string{"/run/netns", "/var/run/netns"} }

// path returns the file that pins the namespace.
func (ns *NS) path() (string, error) {
	for _, dir := range netnsDirs() {
		p := filepath.Join(dir, ns.Name)
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	return "", fmt.Errorf("netns %q: not found in %s", ns.Name, strings.Join(netnsDirs(), " or "))
}

// Do runs fn on an OS thread that has entered the namespace and returns
// fn's error. Sockets and other per-namespace objects created by fn stay
// in the namespace after Do returns, so a test can create a server's
// socket in Do and serve it from any goroutine. fn runs on its own
// goroutine: it must not call t.Fatal, and goroutines it starts do not
// run in the namespace.
//
// The thread switches back to its original namespace afterwards; if that
// fails the thread stays locked and is destroyed when the goroutine ends,
// so it is never reused by another goroutine.
func (ns *NS) Do(fn func() error) error {
	errc := make(chan error, 1)
	go func() { errc <- ns.doLocked(fn) }()
	return <-errc
}

// doLocked enters the namespace on the current, locked thread, runs fn and
// switches back. It is run on a goroutine of its own.
func (ns *NS) doLocked(fn func() error) error {
	runtime.LockOSThread()
	orig, err := os.Open("/proc/thread-self/ns/net")
	if err != nil {
		runtime.UnlockOSThread()
		return fmt.Errorf("netns %q: open current namespace: %w", ns.Name, err)
	}
	defer func() { _ = orig.Close() }()
	if err := ns.enter(); err != nil {
		runtime.UnlockOSThread()
		return err
	}
	fnErr := fn()
	if err := unix.Setns(int(orig.Fd()), unix.CLONE_NEWNET); err != nil {
		// Leave the thread locked: the runtime destroys it when this
		// goroutine exits instead of reusing it in the wrong namespace.
		return errors.Join(fnErr, fmt.Errorf("netns %q: switch back to original namespace: %w", ns.Name, err))
	}
	runtime.UnlockOSThread()
	return fnErr
}

// enter moves the calling thread into the namespace.
func (ns *NS) enter() error {
	p, err := ns.path()
	if err != nil {
		return err
	}
	f, err := os.Open(p)
	if err != nil {
		return fmt.Errorf("netns %q: %w", ns.Name, err)
	}
	defer func() { _ = f.Close() }()
	if err := unix.Setns(int(f.Fd()), unix.CLONE_NEWNET); err != nil {
		return fmt.Errorf("netns %q: setns: %w", ns.Name, err)
	}
	return nil
}

// Command returns a command that runs name with args inside the
// namespace through `ip netns exec`. `ip` execs the program, so the
// command's PID is the program's: cancelling ctx (or Process.Kill) stops
// exactly that process.
func (ns *NS) Command(ctx context.Context, name string, args ...string) *exec.Cmd {
	argv := append([]string{"netns", "exec", ns.Name, name}, args...)
	return exec.CommandContext(ctx, "ip", argv...) //nolint:gosec // tests run the programs they name
}
