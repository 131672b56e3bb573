package pxelab

import (
	"os"
	"path/filepath"
	"testing"
)

// EnvDir names the directory hack/pxe-kernel.sh fills (make test sets
// it).
const EnvDir = "METALGIT_PXE_DIR"

// Kernel is a cached kernel and its modules.
type Kernel struct {
	Image   string // vmlinuz
	Modules string // directory of *.ko
}

// RequireKernel returns the kernel of $METALGIT_PXE_DIR; without one the
// test is skipped, or fails when CI is set.
func RequireKernel(t testing.TB) Kernel {
	t.Helper()
	dir := os.Getenv(EnvDir)
	k := Kernel{Image: filepath.Join(dir, "vmlinuz"), Modules: filepath.Join(dir, "modules")}
	_, err := os.Stat(k.Image)
	if dir == "" || err != nil {
		msg := EnvDir + " does not name a kernel directory (run `make pxe-kernel`, or `bash hack/pxe-kernel.sh`)"
		if os.Getenv("CI") != "" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return k
}
