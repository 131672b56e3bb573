package boot

import (
	"errors"
	"fmt"
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

// Hostile or mistaken entries: MACs no interface has, hostnames that are
// not DNS names (nothing else may reach option 12), names and keys that
// would break a problem line. Every problem names the file, line, host
// and field.
func TestParseHostsRefusesBadMACsHostnamesAndKeys(t *testing.T) {
	const macFix = "; use the MAC address of the host's boot interface"
	const nameFix = "; use lower-case letters, digits and '-' in dot-separated labels of at most 63 characters, at most 253 in all (server-01 or server-01.example.com)"
	const mcast = " is a multicast address (the I/G bit, 0x01 of the first octet, is set)" + macFix
	_, err := ParseHosts("lab/hosts.yaml", []byte(`hosts:
  - {mac: "ff:ff:ff:ff:ff:ff", address: 192.168.100.3/24}
  - {mac: FF-FF-FF-FF-FF-FF, address: 192.168.100.4/24}
  - {mac: "01:00:5e:00:00:01", address: 192.168.100.5/24}
  - {mac: "33:33:00:00:00:fb", address: 192.168.100.6/24}
  - {mac: 0180.c200.0000, address: 192.168.100.7/24}
  - {mac: "00:00:00:00:00:00", address: 192.168.100.8/24}
  - {mac: "02:00:00:00:00:09", address: 192.168.100.9/24, hostname: "server 09"}
  - {mac: "02:00:00:00:00:0a", address: 192.168.100.10/24, hostname: "server-10\nfilename \"evil.efi\""}
  - {mac: "02:00:00:00:00:0b", address: 192.168.100.11/24, hostname: "$(reboot)"}
  - {mac: "02:00:00:00:00:0c", address: 192.168.100.12/24, hostname: Server-12}
  - {mac: "02:00:00:00:00:0d", address: 192.168.100.13/24, hostname: srv_13.lab}
  - {mac: "02:00:00:00:00:0e", address: 192.168.100.14/24, hostname: server-14.}
  - {mac: "02:00:00:00:00:0f", address: 192.168.100.15/24, hostname: -server-15}
  - {mac: "02:00:00:00:00:10", address: 192.168.100.16/24, hostname: ""}
  - {mac: "02:00:00:00:00:11", address: 192.168.100.17/24, name: "rack\nhost x: fine"}
  - {mac: "02:00:00:00:00:12", address: 192.168.100.18/24, "gate way\n": 192.168.100.1}
"bad\nkey": 1
`))
	want := `lab/hosts.yaml: 17 problem(s):
  lab/hosts.yaml:2: hosts[0].mac: MAC ff:ff:ff:ff:ff:ff is the broadcast address` + macFix + `
  lab/hosts.yaml:3: hosts[1].mac: MAC ff:ff:ff:ff:ff:ff is the broadcast address` + macFix + `
  lab/hosts.yaml:4: hosts[2].mac: MAC 01:00:5e:00:00:01` + mcast + `
  lab/hosts.yaml:5: hosts[3].mac: MAC 33:33:00:00:00:fb` + mcast + `
  lab/hosts.yaml:6: hosts[4].mac: MAC 01:80:c2:00:00:00` + mcast + `
  lab/hosts.yaml:7: hosts[5].mac: MAC 00:00:00:00:00:00 is all zeros` + macFix + `
  lab/hosts.yaml:8: hosts[6].hostname: hostname "server 09" is not a DNS name: ' ' at byte 6 is not allowed` + nameFix + `
  lab/hosts.yaml:9: hosts[7].hostname: hostname "server-10\nfilename \"evil.efi\"" is not a DNS name: '\n' at byte 9 is not allowed` + nameFix + `
  lab/hosts.yaml:10: hosts[8].hostname: hostname "$(reboot)" is not a DNS name: '$' at byte 0 is not allowed` + nameFix + `
  lab/hosts.yaml:11: hosts[9].hostname: hostname "Server-12" is not a DNS name: upper-case 'S' at byte 0 (write it in lower case)` + nameFix + `
  lab/hosts.yaml:12: hosts[10].hostname: hostname "srv_13.lab" is not a DNS name: '_' at byte 3 is not allowed` + nameFix + `
  lab/hosts.yaml:13: hosts[11].hostname: hostname "server-14." is not a DNS name: label 2 is empty (a leading, trailing or doubled dot)` + nameFix + `
  lab/hosts.yaml:14: hosts[12].hostname: hostname "-server-15" is not a DNS name: label "-server-15" starts or ends with '-'` + nameFix + `
  lab/hosts.yaml:15: hosts[13].hostname: hostname "" is not a DNS name: it is empty` + nameFix + `
  lab/hosts.yaml:16: hosts[14].name: name "rack\nhost x: fine" is not a usable name: control character '\n' at byte 4; use printable characters only
  lab/hosts.yaml:17: hosts[15]["gate way\n"]: unknown field; known fields: mac, name, address, gateway, dnsServers, ntpServers, hostname, bootMode, phase, kernelParams
  lab/hosts.yaml:18: ["bad\nkey"]: unknown key; the file has one key, hosts`
	if err == nil {
		t.Fatal("ParseHosts accepted the file")
	}
	if diff := cmp.Diff(want, err.Error()); diff != "" {
		t.Errorf("ParseHosts (-want +got):\n%s", diff)
	}
}

// A file with more problems than MaxProblems lists the first ones and
// says how many more there are.
func TestParseHostsBoundsProblems(t *testing.T) {
	var b strings.Builder
	b.WriteString("hosts:\n")
	for i := range MaxProblems + 50 {
		fmt.Fprintf(&b, "  - {mac: \"ff:ff:ff:ff:ff:ff\", address: 10.0.%d.%d/16}\n", i/250, i%250+1)
	}
	_, err := ParseHosts("many.yaml", []byte(b.String()))
	if err == nil {
		t.Fatal("ParseHosts accepted the file")
	}
	lines := strings.Split(err.Error(), "\n")
	if got, want := len(lines), 1+MaxProblems+1; got != want {
		t.Errorf("%d lines, want %d", got, want)
	}
	if got, want := lines[0], fmt.Sprintf("many.yaml: %d problem(s):", MaxProblems+50); got != want {
		t.Errorf("first line %q, want %q", got, want)
	}
	if got, want := lines[len(lines)-1], "  … and 50 more"; got != want {
		t.Errorf("last line %q, want %q", got, want)
	}
}

// LoadHostsFile reads at most MaxHostsFileSize bytes, whatever the path
// names.
func TestLoadHostsFileBounded(t *testing.T) {
	big := filepath.Join(t.TempDir(), "big.yaml")
	if err := os.WriteFile(big, []byte("hosts:\n"+strings.Repeat("#", MaxHostsFileSize)), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{big, "/dev/zero"} {
		_, err := LoadHostsFile(path)
		want := fmt.Sprintf("%s: hosts file too large: more than %d bytes; split the hosts over several boot proxies", path, MaxHostsFileSize)
		if !errors.Is(err, ErrHostsFileTooLarge) || err.Error() != want {
			t.Errorf("LoadHostsFile(%s) = %v, want %s", path, err, want)
		}
	}
}
