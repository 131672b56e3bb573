package reconciler

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
	"time"

	"k8s.io/utils/clock"
)

// Seams are a Reconciler's test hooks; the zero ones keep the defaults.
type Seams struct {
	// BeforePush runs after the state commit is made and before it is
	// pushed; tests use it to move the remote under a pass.
	BeforePush func(ctx context.Context, attempt int) error
	// Sleep waits before a retry push; Rand gives the jitter.
	Sleep func(ctx context.Context, d time.Duration) error
	Rand  func() float64
	// Clock drives the controller's interval and retry timers, and the
	// default Sleep.
	Clock clock.WithTicker
}

// SetSeams sets the non-zero hooks of s.
func (r *Reconciler) SetSeams(s Seams) {
	if s.BeforePush != nil {
		r.seams.beforePush = s.BeforePush
	}
	if s.Sleep != nil {
		r.seams.sleep = s.Sleep
	}
	if s.Rand != nil {
		r.seams.rand = s.Rand
	}
	if s.Clock != nil {
		r.seams.clock = s.Clock
	}
}

// CloneDir is the working clone's directory; "" when there is none.
func (r *Reconciler) CloneDir() string {
	if r.clone == nil {
		return ""
	}
	return r.clone.Dir()
}

// CopyTree copies an inventory folder without its state directory; the
// internal and the external tests both seed repositories with it.
func CopyTree(t testing.TB, src, dst string) {
	t.Helper()
	err := filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, path)
		if rel == "state" {
			return filepath.SkipDir
		}
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// HostYAML is a schedulable host numbered n (n ≥ 11, clear of the
// example's), for the internal and the external tests.
func HostYAML(n int) string {
	return fmt.Sprintf(`apiVersion: metalgit.dev/v1alpha1
kind: Host
metadata:
  name: extra-%[1]d
  labels: {role: compute, datacenter: us-east, rack: r3}
spec:
  bmc:
    address: redfish+https://10.21.%[2]d.%[3]d/redfish/v1/Systems/1
    credentialsName: extra-%[1]d-bmc
  bootMACAddress: "aa:bb:cc:ee:%02[2]x:%02[3]x"
  bootMode: UEFI
  resources: {cpu: "32", memory: 128Gi}
  rootDeviceHints: {deviceName: /dev/sda}
`, n, n/256, n%256)
}
