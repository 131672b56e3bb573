package main

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/metalgit/metalgit/internal/netnstest"
	"github.com/metalgit/metalgit/internal/pxelab"
	"github.com/metalgit/metalgit/internal/testlog"
)

// dnsmasq is the peer: DHCP and TFTP for the same firmware, with a static
// HTTP server for the script and the agent's images.
const dnsmasq = "/usr/sbin/dnsmasq"

// peerLab is the same VM booted the way operators do without metalgit:
// dnsmasq (DHCP + TFTP) and a static HTTP server, the agent talking to
// Ironic directly on the provisioning network.
type peerLab struct {
	pair   *netnstest.Pair
	tap    string
	ironic *pxelab.Ironic
}

func startPeerLab(b *testing.B, mac net.HardwareAddr) *peerLab {
	b.Helper()
	kernel := pxelab.RequireKernel(b)
	netnstest.RequireCommands(b, dnsmasq)
	pair := netnstest.NewPair(b, netnstest.WithoutClientAddr())
	ctx, cancel := context.WithCancel(context.Background())
	b.Cleanup(cancel)
	l := &peerLab{pair: pair}
	l.tap = pxelab.AddBridgedTap(ctx, b, pair.Client.NS, pair.Client.Interface)
	client := nsClient(pair.Server.NS)
	l.ironic = pxelab.StartIronic(b, pair.Server.NS.Command, client, labServerIP, "6385")
	if _, err := l.ironic.EnrollNode("peer", mac.String()); err != nil {
		b.Fatal(err)
	}
	dir := b.TempDir()
	script := fmt.Sprintf("#!ipxe\nkernel http://%[1]s:8080/images/ironic-python-agent.kernel BOOTIF=${mac} "+
		"ipa-api-url=http://%[1]s:6385 console=ttyS0 initrd=ironic-python-agent.initramfs\n"+
		"initrd http://%[1]s:8080/images/ironic-python-agent.initramfs\nboot\n", labServerIP)
	if err := os.WriteFile(filepath.Join(dir, "boot.ipxe"), []byte(script), 0o644); err != nil {
		b.Fatal(err)
	}
	writeImages(b, filepath.Join(dir, "images"), kernel)
	var ln net.Listener
	if err := pair.Server.NS.Do(func() error {
		var err error
		ln, err = net.Listen("tcp4", labServerIP+":8080")
		return err
	}); err != nil {
		b.Fatal(err)
	}
	srv := &http.Server{Handler: http.FileServer(http.Dir(dir)), ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	context.AfterFunc(ctx, func() { _ = srv.Close() })
	conf := filepath.Join(dir, "dnsmasq.conf")
	text := fmt.Sprintf(`port=0
interface=%s
bind-interfaces
dhcp-range=10.77.0.10,10.77.0.20,255.255.255.0,1h
dhcp-host=%s,10.77.0.11
dhcp-ignore=tag:!known
leasefile-ro
enable-tftp
tftp-root=/usr/lib/ipxe
dhcp-userclass=set:ipxe,iPXE
dhcp-boot=tag:!ipxe,snponly.efi
dhcp-boot=tag:ipxe,http://%s:8080/boot.ipxe
`, pair.Server.Interface, mac, labServerIP)
	if err := os.WriteFile(conf, []byte(text), 0o644); err != nil {
		b.Fatal(err)
	}
	log := &testlog.Buffer{}
	cmd := pair.Server.NS.Command(ctx, dnsmasq, "--keep-in-foreground", "--no-daemon", "--conf-file="+conf, "--log-dhcp")
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	return l
}

// timeToHeartbeat boots a UEFI VM with EDK2's own PXE and returns the
// time from power-on to the agent's first accepted heartbeat. The node is
// powered off through Ironic first, as Ironic does before a boot: that
// wipes the agent token the last boot's lookup took.
func timeToHeartbeat(b *testing.B, ir *pxelab.Ironic, node string, ns *netnstest.NS, tap string, mac net.HardwareAddr) time.Duration {
	b.Helper()
	if err := ir.PowerOff(node); err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	vmCtx, stop := context.WithCancel(ctx)
	defer stop()
	start := time.Now()
	vm := pxelab.StartVM(vmCtx, b, ns, tap, mac, pxelab.UEFIPXE)
	if _, err := vm.WaitLine(ctx, "heartbeat 1 accepted"); err != nil {
		b.Fatalf("%v\nconsole:\n%s", err, vm.Console)
	}
	d := time.Since(start)
	stop()
	return d
}

// BenchmarkPXEToHeartbeat boots the same UEFI VM (EDK2 PXE → TFTP
// snponly.efi → HTTP script → kernel → agent → heartbeat at Ironic)
// through metalgit's boot proxy and through dnsmasq + a static HTTP
// server, interleaved, and reports both times per boot
// (hack/bench/pxe.sh runs it).
func BenchmarkPXEToHeartbeat(b *testing.B) {
	ours := startPXELab(b)
	uefi := labHosts[1]
	peer := startPeerLab(b, uefi.mac)
	var oursT, peerT []float64
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		// Alternate who goes first, so that both see the same machine.
		var o, p time.Duration
		if i%2 == 0 {
			o = timeToHeartbeat(b, ours.ironic, uefi.name, ours.pair.Client.NS, ours.tap, uefi.mac)
			p = timeToHeartbeat(b, peer.ironic, "peer", peer.pair.Client.NS, peer.tap, uefi.mac)
		} else {
			p = timeToHeartbeat(b, peer.ironic, "peer", peer.pair.Client.NS, peer.tap, uefi.mac)
			o = timeToHeartbeat(b, ours.ironic, uefi.name, ours.pair.Client.NS, ours.tap, uefi.mac)
		}
		b.Logf("round %d: metalgit %.1f s, dnsmasq %.1f s", i+1, o.Seconds(), p.Seconds())
		oursT, peerT = append(oursT, o.Seconds()), append(peerT, p.Seconds())
	}
	b.StopTimer()
	om, pm := median(oursT), median(peerT)
	b.Logf("power-on to first heartbeat, median (min-max) of %d: metalgit %.1f s (%.1f-%.1f), dnsmasq %.1f s (%.1f-%.1f)",
		b.N, om, slices.Min(oursT), slices.Max(oursT), pm, slices.Min(peerT), slices.Max(peerT))
	b.ReportMetric(om, "metalgit-s/boot")
	b.ReportMetric(pm, "dnsmasq-s/boot")
	b.ReportMetric(0, "ns/op")
}

// median of xs (not empty).
func median(xs []float64) float64 {
	s := slices.Sorted(slices.Values(xs))
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}
