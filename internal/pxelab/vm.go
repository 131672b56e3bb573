package pxelab

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/metalgit/metalgit/internal/netnstest"
	"github.com/metalgit/metalgit/internal/testlog"
)

// Firmware under test (Debian packages qemu-system-x86, ipxe-qemu, ovmf).
const (
	QEMU = "qemu-system-x86_64"
	OVMF = "/usr/share/ovmf/OVMF.fd"
	// IPXEROM is the option ROM QEMU gives virtio-net-pci by default.
	IPXEROM = "/usr/lib/ipxe/qemu/efi-virtio.rom"
	// IPXELKRN is iPXE as a Linux kernel image (Debian package ipxe).
	IPXELKRN = "/usr/lib/ipxe/ipxe.lkrn"
)

// AgentMarker starts every line the agent prints.
const AgentMarker = "METALGIT-AGENT: "

// Firmware is how a VM boots from the network.
type Firmware string

// Firmwares the tests boot.
const (
	// BIOSiPXE: SeaBIOS with QEMU's iPXE option ROM; iPXE asks DHCP
	// itself and fetches its script over HTTP.
	BIOSiPXE Firmware = "bios-ipxe"
	// UEFIPXE: OVMF with EDK2's own PXE (no iPXE ROM); it fetches
	// snponly.efi over TFTP, which fetches the script over HTTP.
	UEFIPXE Firmware = "uefi-pxe"
	// BIOSTFTP: SeaBIOS without an option ROM, whose first stage asks
	// DHCP as a plain BIOS PXE ROM does (no iPXE user class), fetches
	// the file offered (undionly.kpxe) over TFTP and runs it on the
	// first stage's PXE API; undionly.kpxe then fetches the script over
	// HTTP. QEMU has no BIOS PXE ROM but iPXE's, so the first stage is
	// ipxe.lkrn running BIOSTFTPFirstStage.
	BIOSTFTP Firmware = "bios-tftp"
)

// BIOSTFTPFirstStage is the script of BIOSTFTP's first stage: a DHCP
// request without iPXE's user class, then the boot file over TFTP from
// the offered server, as a BIOS PXE ROM does.
const BIOSTFTPFirstStage = `#!ipxe
set user-class PXEClient
dhcp || exit 1
echo first stage: ${filename} from ${next-server}
chain tftp://${next-server}/${filename} || exit 1
`

// RequireFirmware skips the test (fails it under CI) when QEMU or the
// firmware is missing.
func RequireFirmware(t testing.TB) {
	t.Helper()
	netnstest.RequireCommands(t, QEMU)
	for _, f := range []string{OVMF, IPXEROM, IPXELKRN, Busybox} {
		if _, err := os.Stat(f); err != nil {
			if os.Getenv("CI") != "" {
				t.Fatalf("%s is missing (Debian packages ovmf, ipxe, ipxe-qemu, busybox-static)", f)
			}
			t.Skipf("%s is missing", f)
		}
	}
}

// AddBridgedTap makes a bridge in ns with uplink (the namespace's veth)
// and a tap device on it for a VM, and returns the tap's name.
func AddBridgedTap(ctx context.Context, t testing.TB, ns *netnstest.NS, uplink string) string {
	t.Helper()
	for _, args := range [][]string{
		{"link", "add", "br0", "type", "bridge"},
		{"link", "set", uplink, "master", "br0"},
		{"tuntap", "add", "tap0", "mode", "tap"},
		{"link", "set", "tap0", "master", "br0"},
		{"link", "set", "tap0", "up"},
		{"link", "set", "br0", "up"},
	} {
		if out, err := ns.Command(ctx, "ip", args...).CombinedOutput(); err != nil {
			t.Fatalf("ip %v: %v\n%s", args, err, out)
		}
	}
	return "tap0"
}

// VM is a QEMU virtual machine booting from the network.
type VM struct {
	// Console is the serial console (and QEMU's own messages).
	Console *testlog.Buffer
}

// StartVM boots a VM with one virtio NIC of mac on tap in ns; the test's
// cleanup kills it (by PID).
func StartVM(ctx context.Context, t testing.TB, ns *netnstest.NS, tap string, mac net.HardwareAddr, fw Firmware) *VM {
	t.Helper()
	dev := "virtio-net-pci,netdev=n0,mac=" + mac.String()
	args := []string{"-accel", "tcg", "-nographic", "-monitor", "none", "-no-reboot", "-boot", "n",
		"-netdev", "tap,id=n0,ifname=" + tap + ",script=no,downscript=no"}
	switch fw {
	case BIOSiPXE:
		args = append(args, "-machine", "pc", "-m", "256")
	case UEFIPXE:
		args = append(args, "-machine", "q35", "-m", "512", "-bios", OVMF)
		dev += ",romfile="
	case BIOSTFTP:
		script := filepath.Join(t.TempDir(), "first-stage.ipxe")
		if err := os.WriteFile(script, []byte(BIOSTFTPFirstStage), 0o644); err != nil {
			t.Fatal(err)
		}
		args = append(args, "-machine", "pc", "-m", "256", "-kernel", IPXELKRN, "-initrd", script)
		dev += ",romfile="
	default:
		t.Fatalf("unknown firmware %q", fw)
	}
	args = append(args, "-device", dev)
	cmd := ns.Command(ctx, QEMU, args...)
	vm := &VM{Console: &testlog.Buffer{}}
	cmd.Stdout, cmd.Stderr = vm.Console, vm.Console
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	return vm
}

// ansi matches the terminal escapes firmware writes to the console.
var ansi = regexp.MustCompile(`\x1b\[[0-9;?]*[a-zA-Z]|\x1bc`)

// Lines returns the agent's lines so far, without the marker.
func (v *VM) Lines() []string {
	var out []string
	for _, l := range strings.Split(ansi.ReplaceAllString(v.Console.String(), ""), "\n") {
		if _, rest, ok := strings.Cut(l, AgentMarker); ok {
			out = append(out, strings.TrimRight(rest, "\r"))
		}
	}
	return out
}

// ScriptGaveUp is what metalgit's iPXE script prints when it stops
// trying.
const ScriptGaveUp = "giving up"

// WaitLine waits until the agent prints a line starting with prefix and
// returns it; an agent line starting with "FAILED", or the iPXE script
// giving up, ends the wait early.
func (v *VM) WaitLine(ctx context.Context, prefix string) (string, error) {
	for {
		if strings.Contains(v.Console.String(), "metalgit: ") && strings.Contains(v.Console.String(), ScriptGaveUp) {
			return "", fmt.Errorf("the iPXE script gave up before the agent printed %q", prefix)
		}
		for _, l := range v.Lines() {
			if strings.HasPrefix(l, prefix) {
				return l, nil
			}
			if strings.HasPrefix(l, "FAILED") {
				return "", fmt.Errorf("the agent failed: %s", l)
			}
		}
		select {
		case <-ctx.Done():
			return "", fmt.Errorf("no agent line %q: %w", prefix, ctx.Err())
		case <-time.After(200 * time.Millisecond):
		}
	}
}
