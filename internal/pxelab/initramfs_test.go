package pxelab_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/metalgit/metalgit/internal/pxelab"
)

// TestInitramfsListsAsCpio: the archive is a newc cpio that cpio(1)
// reads back, with the agent, busybox and every module.
func TestInitramfsListsAsCpio(t *testing.T) {
	dir := t.TempDir()
	mods := filepath.Join(dir, "modules")
	if err := os.Mkdir(mods, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, m := range pxelab.Modules {
		if err := os.WriteFile(filepath.Join(mods, m+".ko"), []byte("module "+m), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := os.Stat(pxelab.Busybox); err != nil {
		t.Skip("no busybox")
	}
	out := filepath.Join(dir, "initrd.gz")
	if err := pxelab.WriteInitramfs(out, pxelab.Kernel{Modules: mods}); err != nil {
		t.Fatal(err)
	}
	if _, err := exec.LookPath("cpio"); err != nil {
		t.Skip("no cpio")
	}
	list, err := exec.Command("sh", "-c", "gzip -dc "+out+" | cpio -t 2>/dev/null").Output()
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"init", "reply", "udhcpc.sh", "bin/busybox", "bin/sh", "dev/console", "lib/modules/virtio_net.ko"} {
		if !strings.Contains("\n"+string(list), "\n"+want+"\n") {
			t.Errorf("archive lacks %s:\n%s", want, list)
		}
	}
}
