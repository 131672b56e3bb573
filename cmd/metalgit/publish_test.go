package main

import (
	"log/slog"
	"net"
	"net/netip"
	"testing"

	"github.com/metalgit/metalgit/boot"
	"github.com/metalgit/metalgit/reconciler"
)

// TestPublishHostsLeavesOutWhatCannotBeServed: a host whose boot MAC is
// not unicast or whose hostname is no DNS name is left out of the boot
// proxy's table; the others are served.
func TestPublishHostsLeavesOutWhatCannotBeServed(t *testing.T) {
	addr := netip.MustParsePrefix("192.168.100.10/24")
	entry := func(name, mac, hostname string) reconciler.HostEntry {
		return reconciler.HostEntry{Name: name, MAC: mac, Hostname: hostname, Phase: reconciler.PhaseAvailable, Address: addr}
	}
	var store boot.Store
	publishHosts(&store, &reconciler.HostTable{SourceCommit: "c", Hosts: []reconciler.HostEntry{
		entry("good", "aa:bb:cc:dd:ee:01", "good"),
		entry("multicast", "01:00:5e:00:00:01", "multicast"),
		entry("broadcast", "ff:ff:ff:ff:ff:ff", "broadcast"),
		entry("shell", "aa:bb:cc:dd:ee:02", "x;reboot"),
		entry("newline", "aa:bb:cc:dd:ee:03", "a\nb"),
		withParams(entry("bad-params", "aa:bb:cc:dd:ee:04", "bad-params"), "192.168.100.11/24", []string{"x=${net0/ip}"}, nil),
		withParams(entry("params", "aa:bb:cc:dd:ee:05", "params"), "192.168.100.12/24", []string{"ipa-debug=1"}, []string{"nomodeset"}),
	}}, slog.New(slog.DiscardHandler))
	tbl := store.Load()
	if tbl == nil || tbl.Len() != 2 {
		t.Fatalf("table %v, want only the good hosts", tbl)
	}
	if _, ok := tbl.Lookup(net.HardwareAddr{0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0x01}); !ok {
		t.Fatal("the good host is not served")
	}
	h, ok := tbl.Lookup(net.HardwareAddr{0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0x05})
	if !ok || h.KernelParams.For(boot.PhaseInspect)[0] != "ipa-debug=1" || h.KernelParams.For(boot.PhaseDeploy)[0] != "nomodeset" {
		t.Fatalf("the host with kernel params: %+v", h)
	}
}

// withParams gives an entry kernel params and an address of its own.
func withParams(e reconciler.HostEntry, addr string, inspector, installer []string) reconciler.HostEntry {
	e.KernelParamsInspector, e.KernelParamsInstaller = inspector, installer
	e.Address = netip.MustParsePrefix(addr)
	return e
}
