package dhcp

import (
	"bytes"
	"context"
	"errors"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/metalgit/metalgit/boot"
	"github.com/metalgit/metalgit/boot/ra"
	"github.com/metalgit/metalgit/internal/netnstest"
	"github.com/metalgit/metalgit/internal/testlog"
)

// Firmware under test (Debian packages qemu-system-x86, ipxe-qemu, ovmf).
const (
	qemuBinary = "qemu-system-x86_64"
	ovmfImage  = "/usr/share/ovmf/OVMF.fd"
	ipxeROM    = "/usr/lib/ipxe/qemu/efi-virtio.rom"
)

// firmwareLab is the server namespace's view of a VM's boot: the DHCP
// server, router advertisements, and listeners that record what the
// firmware asks for next (HTTP paths, TFTP file names, proxyDHCP).
type firmwareLab struct {
	*nsLab
	mu       sync.Mutex
	http     []string
	tftp     []string
	proxy    int
	progress chan struct{}
}

func (f *firmwareLab) record(list *[]string, s string) {
	f.mu.Lock()
	*list = append(*list, s)
	f.mu.Unlock()
	select {
	case f.progress <- struct{}{}:
	default:
	}
}

// requireFirmware skips (fails under CI) when QEMU or the firmware is
// missing.
func requireFirmware(t *testing.T) {
	t.Helper()
	netnstest.RequireCommands(t, qemuBinary)
	for _, f := range []string{ovmfImage, ipxeROM} {
		if _, err := os.Stat(f); err != nil {
			if os.Getenv("CI") != "" {
				t.Fatalf("firmware %s is missing (Debian packages ovmf, ipxe-qemu)", f)
			}
			t.Skipf("firmware %s is missing", f)
		}
	}
}

// startFirmwareLab serves DHCP, RAs, HTTP on :8080, TFTP and proxyDHCP
// listeners in the server namespace, and bridges a tap for the VM into
// the client namespace.
func startFirmwareLab(t *testing.T, mac net.HardwareAddr) *firmwareLab {
	t.Helper()
	l := startNSLab(t)
	tab, err := boot.NewTable("qemu", []boot.Host{{MAC: mac, Name: "vm", Hostname: "vm", Phase: boot.PhaseInspect,
		Address: l.host.Address, Gateway: l.host.Gateway}})
	if err != nil {
		t.Fatal(err)
	}
	l.srv.cfg.Hosts.Swap(tab)
	f := &firmwareLab{nsLab: l, progress: make(chan struct{}, 1)}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	// The router advertisements need the veth's link-local address, which
	// a loaded machine may take a moment to assign.
	l.pair.Server.WaitLinkLocal(t, 30*time.Second)
	err = l.pair.Server.NS.Do(func() error {
		ln, err := net.Listen("tcp4", "10.77.0.1:8080")
		if err != nil {
			return err
		}
		srv := &http.Server{ReadHeaderTimeout: 5 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			f.record(&f.http, r.URL.Path)
			_, _ = w.Write([]byte("#!ipxe\necho metalgit test script\nsleep 600\n"))
		})}
		go func() { _ = srv.Serve(ln) }()
		context.AfterFunc(ctx, func() { _ = srv.Close() })
		for _, port := range []string{"69", "4011"} {
			c, err := net.ListenPacket("udp4", "0.0.0.0:"+port)
			if err != nil {
				return err
			}
			context.AfterFunc(ctx, func() { _ = c.Close() })
			go f.listenUDP(c, port)
		}
		r, err := ra.Listen(ra.Config{Interface: l.pair.Server.Interface, Logger: l.srv.cfg.Logger})
		if err != nil {
			return err
		}
		go func() { _ = r.Serve(ctx) }()
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	c := l.pair.Client
	for _, args := range [][]string{
		{"link", "add", "br0", "type", "bridge"},
		{"link", "set", c.Interface, "master", "br0"},
		{"tuntap", "add", "tap0", "mode", "tap"},
		{"link", "set", "tap0", "master", "br0"},
		{"link", "set", "tap0", "up"},
		{"link", "set", "br0", "up"},
	} {
		if out, err := c.NS.Command(ctx, "ip", args...).CombinedOutput(); err != nil {
			t.Fatalf("ip %v: %v\n%s", args, err, out)
		}
	}
	return f
}

// listenUDP records TFTP read requests (opcode 1: file name) and any
// packet to the proxyDHCP port.
func (f *firmwareLab) listenUDP(c net.PacketConn, port string) {
	buf := make([]byte, 1500)
	for {
		n, _, err := c.ReadFrom(buf)
		if err != nil {
			return
		}
		if port == "4011" {
			f.mu.Lock()
			f.proxy++
			f.mu.Unlock()
			select {
			case f.progress <- struct{}{}:
			default:
			}
			continue
		}
		if n > 2 && buf[0] == 0 && buf[1] == 1 {
			name, _, _ := bytes.Cut(buf[2:n], []byte{0})
			f.record(&f.tftp, string(name))
		}
	}
}

// bootVM runs QEMU in the client namespace until ctx ends; its serial
// console goes to the returned buffer.
func (f *firmwareLab) bootVM(ctx context.Context, t *testing.T, mac net.HardwareAddr, uefi, nativePXE bool) *testlog.Buffer {
	t.Helper()
	dev := "virtio-net-pci,netdev=n0,mac=" + mac.String()
	args := []string{"-accel", "tcg", "-m", "256", "-nographic", "-monitor", "none", "-no-reboot", "-boot", "n",
		"-netdev", "tap,id=n0,ifname=tap0,script=no,downscript=no"}
	if uefi {
		args = append(args, "-machine", "q35", "-m", "512", "-bios", ovmfImage)
	} else {
		args = append(args, "-machine", "pc")
	}
	if nativePXE {
		dev += ",romfile="
	}
	args = append(args, "-device", dev)
	cmd := f.pair.Client.NS.Command(ctx, qemuBinary, args...)
	console := &testlog.Buffer{}
	cmd.Stdout, cmd.Stderr = console, console
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	return console
}

// waitFor waits until cond holds, re-checking whenever a listener records
// something.
func (f *firmwareLab) waitFor(ctx context.Context, cond func() bool) error {
	for {
		f.mu.Lock()
		ok := cond()
		f.mu.Unlock()
		if ok {
			return nil
		}
		select {
		case <-ctx.Done():
			return errors.New("timed out")
		case <-f.progress:
		case <-time.After(time.Second):
		}
	}
}

// TestQEMUBIOSiPXEFetchesScript: the iPXE ROM of a BIOS VM takes our
// offer (77 iPXE → the script URL, 60 PXEClient) and fetches its script.
func TestQEMUBIOSiPXEFetchesScript(t *testing.T) {
	requireFirmware(t)
	if testing.Short() {
		t.Skip("boots a VM")
	}
	mac := net.HardwareAddr{0x52, 0x54, 0x00, 0x6d, 0x67, 0x01}
	f := startFirmwareLab(t, mac)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	console := f.bootVM(ctx, t, mac, false, false)
	want := "/boot/" + boot.MACPath(mac) + ".ipxe"
	if err := f.waitFor(ctx, func() bool { return len(f.http) > 0 }); err != nil {
		t.Fatalf("the VM fetched no script: %v\nconsole:\n%s", err, console)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.http[0] != want || f.proxy != 0 || len(f.tftp) != 0 {
		t.Fatalf("HTTP %v (want %s), TFTP %v, proxyDHCP packets %d\nconsole:\n%s", f.http, want, f.tftp, f.proxy, console)
	}
}

// TestQEMUEDK2NativePXEFetchesBinary: OVMF's own PXE (93=7, no 77) takes
// our offer (snponly.efi, 60 PXEClient with 43 {6: 8}) and asks TFTP for
// the binary instead of going to proxyDHCP port 4011 (PXE-E16).
func TestQEMUEDK2NativePXEFetchesBinary(t *testing.T) {
	requireFirmware(t)
	if testing.Short() {
		t.Skip("boots a VM")
	}
	mac := net.HardwareAddr{0x52, 0x54, 0x00, 0x6d, 0x67, 0x02}
	f := startFirmwareLab(t, mac)
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	console := f.bootVM(ctx, t, mac, true, true)
	// Stop at the first TFTP request, or at once when the firmware turns to
	// proxyDHCP: that is the failure under test.
	if err := f.waitFor(ctx, func() bool { return len(f.tftp) > 0 || f.proxy > 0 }); err != nil {
		t.Fatalf("the VM asked TFTP for nothing: %v (proxyDHCP packets %d)\nconsole:\n%s", err, f.proxy, console)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.tftp[0] != "snponly.efi" || f.proxy != 0 {
		t.Fatalf("TFTP %v (want snponly.efi), proxyDHCP packets %d\nconsole:\n%s", f.tftp, f.proxy, strings.TrimSpace(console.String()))
	}
}
