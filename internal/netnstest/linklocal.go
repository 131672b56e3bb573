package netnstest

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"testing"
	"time"
)

// ipAddrShow is the part of `ip -j addr show` output WaitLinkLocal reads.
type ipAddrShow []struct {
	AddrInfo []struct {
		Family    string `json:"family"`
		Local     string `json:"local"`
		Scope     string `json:"scope"`
		Tentative bool   `json:"tentative"`
		DADFailed bool   `json:"dadfailed"`
	} `json:"addr_info"`
}

// WaitLinkLocal waits until the endpoint's veth has a usable IPv6
// link-local address (present and no longer tentative) and returns it.
// The kernel adds the address only after it sees the carrier, which can
// lag a moment behind NewPair; DAD itself is off in a Pair's namespaces.
// It fails t after timeout.
func (e *Endpoint) WaitLinkLocal(t testing.TB, timeout time.Duration) netip.Addr {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		addr, err := e.linkLocal()
		if err == nil && addr.IsValid() {
			return addr
		}
		if time.Now().After(deadline) {
			t.Fatalf("netnstest: no usable link-local address on %s in %s after %v (last error: %v)",
				e.Interface, e.NS.Name, timeout, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// linkLocal returns the veth's usable link-local address, or the zero
// Addr if it has none yet.
func (e *Endpoint) linkLocal() (netip.Addr, error) {
	out, err := ipCommand("-n", e.NS.Name, "-j", "-6", "addr", "show", "dev", e.Interface)
	if err != nil {
		return netip.Addr{}, fmt.Errorf("ip addr show: %w: %s", err, out)
	}
	var links ipAddrShow
	if err := json.Unmarshal(out, &links); err != nil {
		return netip.Addr{}, fmt.Errorf("parse ip -j addr show: %w", err)
	}
	for _, l := range links {
		for _, a := range l.AddrInfo {
			if a.Family != "inet6" || a.Scope != "link" || a.Tentative || a.DADFailed {
				continue
			}
			ip, err := netip.ParseAddr(a.Local)
			if err == nil && ip.IsLinkLocalUnicast() {
				return ip.WithZone(e.Interface), nil
			}
		}
	}
	return netip.Addr{}, nil
}
