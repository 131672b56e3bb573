package netnstest

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// Require skips t unless the process can create network namespaces: it
// must run as root and find `ip` (iproute2) in PATH. When the environment
// variable CI is set, Require fails t instead of skipping it, naming what
// is missing.
func Require(t testing.TB) {
	t.Helper()
	require(t)
}

// RequireCommands is Require plus the given programs (such as "rdisc6" or
// "udhcpc"), which must be found in PATH; it skips or, under CI, fails t
// the same way, naming everything that is missing.
func RequireCommands(t testing.TB, names ...string) {
	t.Helper()
	require(t, names...)
}

// require checks for root, `ip` and names, and reports what is missing.
func require(t testing.TB, names ...string) {
	t.Helper()
	var missing []string
	if euid := os.Geteuid(); euid != 0 {
		missing = append(missing, fmt.Sprintf("root (running as euid %d)", euid))
	}
	missing = append(missing, missingCommands(append([]string{"ip"}, names...)...)...)
	report(t, missing)
}

// missingCommands returns a description of each name not found in PATH.
func missingCommands(names ...string) []string {
	var missing []string
	for _, name := range names {
		if _, err := exec.LookPath(name); err != nil {
			missing = append(missing, fmt.Sprintf("%q in PATH", name))
		}
	}
	return missing
}

// report skips or, when CI is set, fails t if anything is missing.
func report(t testing.TB, missing []string) {
	t.Helper()
	if len(missing) == 0 {
		return
	}
	msg := "network namespace test needs " + strings.Join(missing, ", ")
	if _, ci := os.LookupEnv("CI"); ci {
		t.Fatalf("%s (CI is set, so this test may not be skipped)", msg)
	}
	t.Skip(msg)
}
