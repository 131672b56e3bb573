package boot

import (
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseHostsFromIssueExample(t *testing.T) {
	tab, err := ParseHosts("hosts.yaml", []byte(`hosts:
  - mac: "02:00:00:00:00:01"
    address: 192.168.100.3/24
    gateway: 192.168.100.1
    dnsServers: [8.8.8.8]
    ntpServers: [192.168.100.1]
    hostname: server-01
    phase: inspect          # inspect | deploy | none
  - mac: 02:00:00:00:00:02
    address: 192.168.100.4/24
    phase: deploy
    bootMode: legacy
    name: rack1-u2
  - mac: 02-00-00-00-00-03
    address: 192.168.100.5/24
`))
	if err != nil {
		t.Fatal(err)
	}
	want := []Host{
		{MAC: net.HardwareAddr{2, 0, 0, 0, 0, 3}, Name: "02:00:00:00:00:03", Address: netip.MustParsePrefix("192.168.100.5/24"), Phase: PhaseInspect},
		{MAC: net.HardwareAddr{2, 0, 0, 0, 0, 2}, Name: "rack1-u2", Address: netip.MustParsePrefix("192.168.100.4/24"), Phase: PhaseDeploy, BootMode: BootModeLegacy},
		{MAC: net.HardwareAddr{2, 0, 0, 0, 0, 1}, Name: "server-01", Hostname: "server-01", Address: netip.MustParsePrefix("192.168.100.3/24"),
			Gateway: netip.MustParseAddr("192.168.100.1"), DNS: []netip.Addr{netip.MustParseAddr("8.8.8.8")},
			NTP: []netip.Addr{netip.MustParseAddr("192.168.100.1")}, Phase: PhaseInspect},
	}
	if diff := cmp.Diff(want, tab.Hosts(), cmp.Comparer(func(a, b netip.Addr) bool { return a == b }),
		cmp.Comparer(func(a, b netip.Prefix) bool { return a == b })); diff != "" {
		t.Errorf("hosts (-want +got):\n%s", diff)
	}
	h, ok := tab.Lookup(net.HardwareAddr{2, 0, 0, 0, 0, 1})
	if !ok || h.Name != "server-01" {
		t.Errorf("lookup: %+v %v", h, ok)
	}
	if _, ok := tab.Lookup(net.HardwareAddr{2, 0, 0, 0, 0, 9}); ok {
		t.Error("lookup of an unknown MAC succeeded")
	}
}

func TestParseHostsReportsEveryProblem(t *testing.T) {
	_, err := ParseHosts("lab/hosts.yaml", []byte(`hosts:
  - mac: "02:00:00:00:00:01"
    address: 192.168.100.3
  - mac: zz:00
    address: 192.168.100.4/24
    gatway: 192.168.100.1
  - address: 192.168.100.5/24
    phase: deploying
    dnsServers: 8.8.8.8
  - mac: "02:00:00:00:00:04"
    address: 192.168.100.6/24
    gateway: 10.0.0.1
  - mac: "02:00:00:00:00:04"
    address: 192.168.100.6/24
  - mac: "02:00:00:00:00:05"
    address: 192.168.100.6/24
extra: 1
`))
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{
		`lab/hosts.yaml:3: hosts[0].address: "192.168.100.3" is not an IPv4 address with a prefix length (192.168.100.3/24)`,
		`lab/hosts.yaml:4: hosts[1].mac: "zz:00" is not a MAC address`,
		`lab/hosts.yaml:6: hosts[1].gatway: unknown field; known fields: mac, name, address, gateway`,
		`lab/hosts.yaml:7: hosts[2].mac: required`,
		`lab/hosts.yaml:8: hosts[2].phase: "deploying" must be inspect, deploy or none`,
		`lab/hosts.yaml:9: hosts[2].dnsServers: must be a list of IPv4 addresses`,
		`lab/hosts.yaml:10: hosts[3]: gateway 10.0.0.1 is not an IPv4 address inside 192.168.100.0/24`,
		`lab/hosts.yaml:17: extra: unknown key; the file has one key, hosts`,
		`host 02:00:00:00:00:05: address 192.168.100.6 is also host 02:00:00:00:00:04's`,
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not contain\n  %s\nerror:\n%v", want, err)
		}
	}
	// Duplicates are table-level problems: reported once the entries parse.
	_, err = ParseHosts("dups.yaml", []byte(`hosts:
  - {mac: "02:00:00:00:00:04", address: 192.168.100.6/24, name: a}
  - {mac: "02:00:00:00:00:04", address: 192.168.100.7/24, name: b}
  - {mac: "02:00:00:00:00:05", address: 192.168.100.6/24, name: c}
`))
	for _, want := range []string{"host b: MAC 02:00:00:00:00:04 is also host a's", "host c: address 192.168.100.6 is also host a's"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("duplicates: want %q in %v", want, err)
		}
	}
}

func TestLoadHostsFileErrors(t *testing.T) {
	if _, err := LoadHostsFile(filepath.Join(t.TempDir(), "missing.yaml")); err == nil || !strings.Contains(err.Error(), "missing.yaml") {
		t.Errorf("missing file: %v", err)
	}
	bad := filepath.Join(t.TempDir(), "bad.yaml")
	if err := os.WriteFile(bad, []byte("hosts: [\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadHostsFile(bad); err == nil || !strings.Contains(err.Error(), "bad.yaml: not YAML") {
		t.Errorf("bad YAML: %v", err)
	}
	empty := filepath.Join(t.TempDir(), "empty.yaml")
	if err := os.WriteFile(empty, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if tab, err := LoadHostsFile(empty); err != nil || tab.Len() != 0 {
		t.Errorf("empty file: %v, %d hosts", err, tab.Len())
	}
}

func TestStoreAndURLs(t *testing.T) {
	var s Store
	if _, ok := s.Load().Lookup(net.HardwareAddr{2, 0, 0, 0, 0, 1}); ok {
		t.Error("empty store answered")
	}
	mac := net.HardwareAddr{2, 0xAB, 0, 0, 0, 1}
	if got := ScriptURL("http://10.0.0.1:8080/", mac); got != "http://10.0.0.1:8080/boot/02-ab-00-00-00-01.ipxe" {
		t.Errorf("ScriptURL = %s", got)
	}
	if got := BinaryURL("http://10.0.0.1:8080", EFIBinary); got != "http://10.0.0.1:8080/snponly.efi" {
		t.Errorf("BinaryURL = %s", got)
	}
}
