package httpboot

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/metalgit/metalgit/boot"
	"github.com/metalgit/metalgit/internal/testlog"
)

const (
	qemuBinary = "qemu-system-x86_64"
	// qemuROM is the iPXE option ROM QEMU gives virtio-net-pci (Debian's
	// ipxe-qemu, the 2019 iPXE).
	qemuROM = "/usr/lib/ipxe/qemu/efi-virtio.rom"
)

// requireQEMU skips (fails under CI) without QEMU and its iPXE ROM.
func requireQEMU(t *testing.T) {
	t.Helper()
	var missing []string
	if _, err := exec.LookPath(qemuBinary); err != nil {
		missing = append(missing, qemuBinary+" (Debian qemu-system-x86)")
	}
	if _, err := os.Stat(qemuROM); err != nil {
		missing = append(missing, qemuROM+" (Debian ipxe-qemu)")
	}
	if len(missing) == 0 {
		return
	}
	if os.Getenv("CI") != "" {
		t.Fatalf("missing: %s", strings.Join(missing, ", "))
	}
	t.Skipf("missing: %s", strings.Join(missing, ", "))
}

// ansi matches the terminal escapes of the firmware's console.
var ansi = regexp.MustCompile(`\x1b\[[0-9;?]*[a-zA-Z]|\r`)

// TestScriptUnderIPXE runs a real iPXE (the BIOS option ROM of QEMU's
// virtio NIC, no root: QEMU's user network gives the VM DHCP with the
// script's URL and reaches this server at 10.0.2.2) on an inspector
// script whose kernel the image server does not have: iPXE must run the
// script as written — each step's failure named, the pauses, the last
// attempt giving up with exit 1 — and then hand back to the firmware,
// which tries its next boot device.
func TestScriptUnderIPXE(t *testing.T) {
	if testing.Short() {
		t.Skip("boots a VM")
	}
	requireQEMU(t)
	origin := newOrigin(t) // 418 for a path it does not know: no kernel
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := netip.MustParseAddrPort(ln.Addr().String()).Port()
	mac := net.HardwareAddr{0x52, 0x54, 0, 0x12, 0x34, 0x56}
	tab, err := boot.NewTable("qemu", []boot.Host{{MAC: mac, Name: "vm", Address: netip.MustParsePrefix("10.0.2.15/24"), Phase: boot.PhaseInspect}})
	if err != nil {
		t.Fatal(err)
	}
	hosts := &boot.Store{}
	hosts.Swap(tab)
	s, err := New(Config{HTTPURL: fmt.Sprintf("http://10.0.2.2:%d", port), CallbackURL: "http://10.0.2.2:8081",
		IronicHTTPURL: origin.URL + "/nothing", Root: t.TempDir(), Hosts: hosts, ScriptRetries: 2})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()
	go func() { _ = s.Serve(ctx, ln) }()

	out := &testlog.Buffer{}
	cmd := exec.CommandContext(ctx, qemuBinary, "-accel", "tcg", "-machine", "pc", "-m", "256", "-nographic",
		"-monitor", "none", "-no-reboot", "-boot", "n",
		"-netdev", fmt.Sprintf("user,id=n0,bootfile=http://10.0.2.2:%d/boot/%s.ipxe", port, boot.MACPath(mac)),
		"-device", "virtio-net-pci,netdev=n0,mac="+mac.String())
	cmd.Stdout, cmd.Stderr, cmd.Stdin = out, out, nil
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		_ = cmd.Process.Kill() // this test's own VM, by its PID
		_ = cmd.Wait()
	}()
	console := func() string { return ansi.ReplaceAllString(out.String(), "") }
	for !strings.Contains(console(), "No more network devices") {
		if ctx.Err() != nil {
			t.Fatalf("iPXE did not finish the script in time; console:\n%s", console())
		}
		time.Sleep(200 * time.Millisecond)
	}
	text := strings.ReplaceAll(console(), "\n", "") // the console wraps at 80 columns
	kernel := fmt.Sprintf("http://10.0.2.2:%d/images/ironic-python-agent.kernel", port)
	want := []string{
		"metalgit: booting the inspector for vm 52:54:00:12:34:56",
		kernel + "... ",
		"metalgit: kernel " + kernel + " failed, attempt 1 of 3, trying again in 1 s",
		"metalgit: kernel " + kernel + " failed, attempt 2 of 3, trying again in 2 s",
		"metalgit: kernel " + kernel + " failed, attempt 3 of 3, giving up",
		"metalgit: the boot proxy cannot boot vm 52:54:00:12:34:56: run metalgit boot trace 52:54:00:12:34:56",
		"No more network devices",
	}
	at := 0
	for _, w := range want {
		i := strings.Index(text[at:], w)
		if i < 0 {
			t.Fatalf("the console lacks %q after byte %d; console:\n%s", w, at, console())
		}
		at += i + len(w)
	}
	if n := len(origin.seen()); n != 3 {
		t.Errorf("the image server saw %d kernel requests, want 3 (one per attempt)", n)
	}
}
