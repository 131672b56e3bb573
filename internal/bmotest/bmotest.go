// Package bmotest runs the real Metal3 Bare Metal Operator for tests: the
// binary hack/bmo.sh builds (named by METALGIT_BMO_BIN, a directory), in
// its -test-mode, where its fixture provisioner stands in for Ironic, so
// that BareMetalHosts move registering → inspecting → available →
// provisioning → provisioned and deletion goes through its finalizer.
//
// Without the binary the test is skipped, or fails when CI is set.
package bmotest

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/metalgit/metalgit/internal/testlog"
)

// EnvBMOBin names the directory holding the bmo binary.
const EnvBMOBin = "METALGIT_BMO_BIN"

// Binary is the operator's file name in EnvBMOBin.
const Binary = "bmo"

// Operator is a running Bare Metal Operator.
type Operator struct {
	// Log is its output.
	Log *testlog.Buffer
}

// Start runs the operator against the API server kubeconfig names (with
// every Metal3 CRD installed) until the test ends; cleanup stops it by its
// process ID. Its log is printed when the test fails.
func Start(t testing.TB, kubeconfig string) *Operator {
	t.Helper()
	dir := os.Getenv(EnvBMOBin)
	bin := filepath.Join(dir, Binary)
	if _, err := os.Stat(bin); dir == "" || err != nil {
		msg := EnvBMOBin + " names no directory with " + Binary + " (run `make bmo`, or `bash hack/bmo.sh`)"
		if os.Getenv("CI") != "" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, bin, //nolint:gosec // the operator the test environment names
		"-test-mode", "-webhook-port", "0", "-kubeconfig", kubeconfig,
		"-health-addr", "127.0.0.1:0", "-metrics-addr", "0")
	op := &Operator{Log: &testlog.Buffer{}}
	cmd.Stdout, cmd.Stderr = op.Log, op.Log
	cmd.WaitDelay = 10 * time.Second
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatalf("bmotest: start %s: %v", bin, err)
	}
	t.Cleanup(func() {
		cancel()
		_ = cmd.Wait()
		if t.Failed() {
			out := op.Log.String()
			t.Logf("bmotest: operator log (tail):\n%s", out[max(0, len(out)-16384):])
		}
	})
	return op
}
