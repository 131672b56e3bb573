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
	}}, slog.New(slog.DiscardHandler))
	tbl := store.Load()
	if tbl == nil || tbl.Len() != 1 {
		t.Fatalf("table %v, want only the good host", tbl)
	}
	if _, ok := tbl.Lookup(net.HardwareAddr{0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0x01}); !ok {
		t.Fatal("the good host is not served")
	}
}
