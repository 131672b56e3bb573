package boot

import (
	"bytes"
	"net/netip"
	"os"
	"strings"
	"testing"
)

// FuzzHostsFile feeds arbitrary bytes to the hosts file parser: it must
// not panic, its error must be bounded (at most MaxProblems problems, one
// line each, none of unbounded length), and every host of a table it
// returns must hold the invariants the DHCP server relies on: a unicast,
// non-zero 6-byte MAC, an IPv4 address with a prefix of 1 to 31 bits, a
// gateway inside it, IPv4 DNS and NTP servers, a DNS hostname or none, a
// printable name, a known phase and boot mode, MACs and addresses unique.
func FuzzHostsFile(f *testing.F) {
	for _, file := range []string{"../examples/boot/hosts.yaml", "../examples/boot/invalid-hosts.yaml"} {
		data, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	for _, s := range []string{
		"",
		"hosts:\n",
		"hosts: []\n",
		"hosts:\n  - {mac: \"02:00:00:00:00:01\", address: 192.168.100.3/24, hostname: server-01, gateway: 192.168.100.1}\n",
		"hosts:\n  - {mac: 02-00-00-00-00-02, address: 10.0.0.2/8, dnsServers: [8.8.8.8, 1.1.1.1], ntpServers: [10.0.0.1], phase: deploy, bootMode: UEFI, name: rack1-u2}\n",
		"hosts:\n  - {mac: \"ff:ff:ff:ff:ff:ff\", address: 192.168.100.3/24}\n  - {mac: \"01:00:5e:00:00:01\", address: 192.168.100.4/24}\n",
		"hosts:\n  - {mac: \"02:00:00:00:00:01\", address: 192.168.100.3/24, hostname: \"a\\nb\"}\n",
		"hosts:\n  - {mac: \"02:00:00:00:00:01\", address: 192.168.100.3/24}\n  - {mac: \"02:00:00:00:00:01\", address: 192.168.100.3/24}\n",
		"a: &a {mac: \"02:00:00:00:00:01\", address: 192.168.100.3/24}\nhosts: [*a, *a, {<<: *a}]\n",
		"hosts: &h [*h]\n",
		"hosts:\n  - mac: [1, 2]\n    address: {a: b}\n    dnsServers: x\n    hostname: [x]\n",
		"- 1\n- 2\n",
		"hosts: [\n",
		"\"bad\\nkey\": 1\nhosts: 5\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		tab, err := ParseHosts("fuzz.yaml", data)
		if err != nil {
			checkProblems(t, err.Error())
			return
		}
		if tab == nil {
			t.Fatal("no table and no error")
		}
		hosts := tab.Hosts()
		if tab.Len() != len(hosts) {
			t.Fatalf("Len %d, %d hosts", tab.Len(), len(hosts))
		}
		macs, addrs := map[string]bool{}, map[netip.Addr]bool{}
		for _, h := range hosts {
			checkHost(t, h)
			if macs[Key(h.MAC)] || addrs[h.Address.Addr()] {
				t.Fatalf("host %q: MAC %s or address %s twice", h.Name, h.MAC, h.Address)
			}
			macs[Key(h.MAC)], addrs[h.Address.Addr()] = true, true
			if got, ok := tab.Lookup(h.MAC); !ok || got.Name != h.Name {
				t.Fatalf("Lookup(%s) = %q, %v; want %q", h.MAC, got.Name, ok, h.Name)
			}
		}
	})
}

// checkProblems checks the shape of a ParseHosts error.
func checkProblems(t *testing.T, msg string) {
	t.Helper()
	if !strings.HasPrefix(msg, "fuzz.yaml: ") {
		t.Fatalf("error does not start with the file name: %q", msg)
	}
	if strings.HasPrefix(msg, "fuzz.yaml: not YAML: ") {
		if len(msg) > 4096 {
			t.Fatalf("YAML error of %d bytes: %.200q", len(msg), msg)
		}
		return
	}
	lines := strings.Split(msg, "\n")
	if len(lines) > MaxProblems+2 {
		t.Fatalf("%d lines, more than %d problems", len(lines), MaxProblems)
	}
	for _, l := range lines[1:] {
		if !strings.HasPrefix(l, "  ") || len(l) > 2048 {
			t.Fatalf("problem line not indented or longer than 2 KiB (%d bytes): %.200q", len(l), l)
		}
	}
}

// checkHost checks the invariants of one host of a table.
func checkHost(t *testing.T, h Host) {
	t.Helper()
	if len(h.MAC) != 6 || h.MAC[0]&1 != 0 || bytes.Equal(h.MAC, make([]byte, 6)) {
		t.Fatalf("host %q: MAC %s is not a unicast, non-zero Ethernet address", h.Name, h.MAC)
	}
	if !h.Address.IsValid() || !h.Address.Addr().Is4() || h.Address.Bits() < 1 || h.Address.Bits() > 31 {
		t.Fatalf("host %q: address %s", h.Name, h.Address)
	}
	if h.Gateway.IsValid() && (!h.Gateway.Is4() || !h.Address.Masked().Contains(h.Gateway)) {
		t.Fatalf("host %q: gateway %s outside %s", h.Name, h.Gateway, h.Address)
	}
	for _, a := range append(append([]netip.Addr{}, h.DNS...), h.NTP...) {
		if !a.Is4() {
			t.Fatalf("host %q: server %s is not IPv4", h.Name, a)
		}
	}
	if h.Hostname != "" && !k8sHostnameOK(h.Hostname) {
		t.Fatalf("host %q: hostname %q is not a DNS name", h.Name, h.Hostname)
	}
	if h.Name == "" || CheckName(h.Name) != nil {
		t.Fatalf("host name %q is empty or not printable", h.Name)
	}
	switch h.Phase {
	case PhaseInspect, PhaseDeploy, PhaseNone:
	default:
		t.Fatalf("host %q: phase %q", h.Name, h.Phase)
	}
	switch h.BootMode {
	case "", BootModeUEFI, BootModeLegacy:
	default:
		t.Fatalf("host %q: boot mode %q", h.Name, h.BootMode)
	}
}
