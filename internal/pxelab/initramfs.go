package pxelab

import (
	"bufio"
	"compress/gzip"
	"embed"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
)

//go:embed agent
var agentFiles embed.FS

// Busybox is the static busybox (Debian package busybox-static) the
// ramdisk runs.
const Busybox = "/bin/busybox"

// Modules are the kernel modules the ramdisk loads, in order: Debian
// builds virtio_net and what it needs as modules.
var Modules = []string{"virtio", "virtio_ring", "virtio_pci_legacy_dev", "virtio_pci_modern_dev",
	"virtio_pci", "failover", "net_failover", "virtio_net"}

// cpio mode bits (newc).
const (
	modeDir     = 0o040000
	modeFile    = 0o100000
	modeSymlink = 0o120000
	modeChar    = 0o020000
)

// WriteInitramfs writes the agent ramdisk to path: a gzip-compressed cpio
// (newc) archive with busybox, the agent's scripts and the modules of
// kernel.
func WriteInitramfs(path string, kernel Kernel) (err error) {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}()
	bw := bufio.NewWriter(f)
	zw := gzip.NewWriter(bw)
	w := &cpioWriter{w: zw}
	for _, d := range []string{"bin", "dev", "proc", "sys", "tmp", "lib", "lib/modules"} {
		w.entry(d, modeDir|0o755, 0, 0, nil)
	}
	// The kernel opens /dev/console before it runs /init; without the
	// node, /init has no output.
	w.entry("dev/console", modeChar|0o600, 5, 1, nil)
	bb, err := os.ReadFile(Busybox)
	if err != nil {
		return fmt.Errorf("busybox (Debian package busybox-static): %w", err)
	}
	w.entry("bin/busybox", modeFile|0o755, 0, 0, bb)
	w.entry("bin/sh", modeSymlink|0o777, 0, 0, []byte("busybox"))
	for name, dst := range map[string]string{"init": "init", "reply": "reply", "udhcpc.sh": "udhcpc.sh"} {
		b, err := agentFiles.ReadFile("agent/" + name)
		if err != nil {
			return err
		}
		w.entry(dst, modeFile|0o755, 0, 0, b)
	}
	for _, m := range Modules {
		b, err := os.ReadFile(filepath.Join(kernel.Modules, m+".ko"))
		if err != nil {
			return fmt.Errorf("module %s (run hack/pxe-kernel.sh): %w", m, err)
		}
		w.entry("lib/modules/"+m+".ko", modeFile|0o644, 0, 0, b)
	}
	w.entry("TRAILER!!!", 0, 0, 0, nil)
	if w.err != nil {
		return w.err
	}
	if err := zw.Close(); err != nil {
		return err
	}
	return bw.Flush()
}

// cpioWriter writes newc entries; the first error sticks.
type cpioWriter struct {
	w   io.Writer
	ino int
	err error
}

func (c *cpioWriter) entry(name string, mode, rdevMajor, rdevMinor uint32, data []byte) {
	if c.err != nil {
		return
	}
	c.ino++
	nlink := 1
	if mode&modeDir != 0 && mode&modeFile == 0 {
		nlink = 2
	}
	hdr := fmt.Sprintf("070701%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X",
		c.ino, mode, 0, 0, nlink, 0, len(data), 0, 0, rdevMajor, rdevMinor, len(name)+1, 0)
	rec := slices.Concat([]byte(hdr), []byte(name), []byte{0})
	rec = append(rec, make([]byte, pad4(len(rec)))...)
	rec = append(rec, data...)
	rec = append(rec, make([]byte, pad4(len(data)))...)
	_, c.err = c.w.Write(rec)
}

func pad4(n int) int { return (4 - n%4) % 4 }
