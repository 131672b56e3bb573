package main

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestStateCheckedAlike: an address of the state that is not allocatable
// in its pool stops validate, plan, allocate and render with the same
// problem; render renders nothing and allocate writes nothing.
func TestStateCheckedAlike(t *testing.T) {
	base := copyDir(t, "../../render/testdata/section10/inventory")
	if code, _, stderr := runCLI(t, "allocate", base); code != exitOK {
		t.Fatalf("allocate: exit %d\n%s", code, stderr)
	}
	const notAllocatable = " is not an allocatable address of pool %s (outside it, reserved, or its network/gateway/broadcast); restore the state file from Git history or fix the pool"
	tests := map[string]struct {
		from, to string // in state/allocations.yaml
		line     int
		pool     string
	}{
		"the gateway of a CIDR pool":     {"192.168.100.3: Host/server-01", "192.168.100.1: Host/server-01", 6, "provisioning"},
		"the network address":            {"192.168.100.3: Host/server-01", "192.168.100.0: Host/server-01", 6, "provisioning"},
		"the broadcast address":          {"192.168.100.3: Host/server-01", "192.168.100.255: Host/server-01", 6, "provisioning"},
		"a reserved address":             {"192.168.100.3: Host/server-01", "192.168.100.2: Host/server-01", 6, "provisioning"},
		"an address of a reserved range": {"192.168.100.3: Host/server-01", "192.168.100.245: Host/server-01", 6, "provisioning"},
		"outside the subnet":             {"192.168.100.3: Host/server-01", "192.168.101.3: Host/server-01", 6, "provisioning"},
		"another address family":         {"192.168.100.3: Host/server-01", "fd00::3: Host/server-01", 6, "provisioning"},
		"between the ranges of a pool":   {"10.0.0.20: Machine/db-0", "10.0.0.35: Machine/db-0", 9, "tenant"},
		"the gateway of a range pool":    {"10.0.0.20: Machine/db-0", "10.0.0.1: Machine/db-0", 9, "tenant"},
		"past the last range":            {"10.0.0.20: Machine/db-0", "10.0.0.51: Machine/db-0", 9, "tenant"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			inv := copyDir(t, base)
			file := filepath.Join(inv, "state", "allocations.yaml")
			replaceInFile(t, file, tc.from, tc.to)
			before, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			addr, owner, _ := strings.Cut(tc.to, ": ")
			want := file + ":" + strconv.Itoa(tc.line) + ": pools." + tc.pool + "[" + addr + "]: " + addr + " of " + owner +
				strings.Replace(notAllocatable, "%s", tc.pool, 1) + "\nError: 1 problem\n"
			out := filepath.Join(t.TempDir(), "deploy")
			for _, args := range [][]string{{"render", inv}, {"render", inv, "-o", out}, {"plan", inv}, {"allocate", inv}, {"validate", inv}} {
				code, stdout, stderr := runCLI(t, args...)
				if code != exitFailed || stdout != "" {
					t.Errorf("%s: exit %d, stdout %q", args[0], code, stdout)
				}
				if diff := cmp.Diff(want, stderr); diff != "" {
					t.Errorf("%s: stderr (-want +got):\n%s", args, diff)
				}
			}
			if _, err := os.Stat(out); !os.IsNotExist(err) {
				t.Errorf("render -o wrote %s", out)
			}
			if after, err := os.ReadFile(file); err != nil || string(after) != string(before) {
				t.Errorf("allocate rewrote the state: %v", err)
			}
		})
	}
}
