package boot

import (
	"errors"
	"net"
	"net/netip"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/util/validation"
)

func TestCheckMAC(t *testing.T) {
	const fix = "; use the MAC address of the host's boot interface"
	tests := map[string]struct {
		mac     string
		wantErr error
		want    string
	}{
		"locally administered": {mac: "02:00:00:00:00:01"},
		"QEMU":                 {mac: "52:54:00:aa:bb:01"},
		"vendor":               {mac: "aa:bb:cc:dd:ee:01"},
		"upper case":           {mac: "AC:1F:6B:00:00:01"},
		"last octet ff":        {mac: "02:ff:ff:ff:ff:ff"},
		"broadcast": {mac: "ff:ff:ff:ff:ff:ff", wantErr: ErrBroadcastMAC,
			want: "MAC ff:ff:ff:ff:ff:ff is the broadcast address" + fix},
		"broadcast, upper case dashes": {mac: "FF-FF-FF-FF-FF-FF", wantErr: ErrBroadcastMAC,
			want: "MAC ff:ff:ff:ff:ff:ff is the broadcast address" + fix},
		"broadcast, Cisco dots": {mac: "ffff.ffff.ffff", wantErr: ErrBroadcastMAC,
			want: "MAC ff:ff:ff:ff:ff:ff is the broadcast address" + fix},
		"IPv4 multicast": {mac: "01:00:5e:00:00:01", wantErr: ErrMulticastMAC,
			want: "MAC 01:00:5e:00:00:01 is a multicast address (the I/G bit, 0x01 of the first octet, is set)" + fix},
		"IPv6 multicast": {mac: "33:33:00:00:00:01", wantErr: ErrMulticastMAC,
			want: "MAC 33:33:00:00:00:01 is a multicast address (the I/G bit, 0x01 of the first octet, is set)" + fix},
		"spanning tree": {mac: "01-80-C2-00-00-00", wantErr: ErrMulticastMAC,
			want: "MAC 01:80:c2:00:00:00 is a multicast address (the I/G bit, 0x01 of the first octet, is set)" + fix},
		"multicast, locally administered": {mac: "03:00:00:00:00:00", wantErr: ErrMulticastMAC,
			want: "MAC 03:00:00:00:00:00 is a multicast address (the I/G bit, 0x01 of the first octet, is set)" + fix},
		"all but the I/G bit": {mac: "ff:ff:ff:ff:ff:fe", wantErr: ErrMulticastMAC,
			want: "MAC ff:ff:ff:ff:ff:fe is a multicast address (the I/G bit, 0x01 of the first octet, is set)" + fix},
		"zero": {mac: "00:00:00:00:00:00", wantErr: ErrZeroMAC,
			want: "MAC 00:00:00:00:00:00 is all zeros" + fix},
		"zero, dots": {mac: "0000.0000.0000", wantErr: ErrZeroMAC,
			want: "MAC 00:00:00:00:00:00 is all zeros" + fix},
		"EUI-64": {mac: "02:00:00:00:00:00:00:01", wantErr: ErrMACLength,
			want: "MAC 02:00:00:00:00:00:00:01 is not a 6-byte Ethernet address" + fix},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			mac, err := net.ParseMAC(tt.mac)
			if err != nil {
				t.Fatal(err)
			}
			err = CheckMAC(mac)
			if !errors.Is(err, tt.wantErr) || (err == nil) != (tt.wantErr == nil) {
				t.Fatalf("CheckMAC(%s) = %v, want an error wrapping %v", tt.mac, err, tt.wantErr)
			}
			if err != nil {
				if diff := cmp.Diff(tt.want, err.Error()); diff != "" {
					t.Errorf("message (-want +got):\n%s", diff)
				}
			}
		})
	}
	if err := CheckMAC(nil); !errors.Is(err, ErrMACLength) {
		t.Errorf("CheckMAC(nil) = %v, want ErrMACLength", err)
	}
}

func TestCheckHostname(t *testing.T) {
	const fix = "; use lower-case letters, digits and '-' in dot-separated labels of at most 63 characters, at most 253 in all (server-01 or server-01.example.com)"
	label63 := strings.Repeat("a", 63)
	long253 := label63 + "." + label63 + "." + label63 + "." + strings.Repeat("b", 61)
	tests := map[string]struct{ name, want string }{
		"plain":              {name: "server-01"},
		"one letter":         {name: "a"},
		"digits only":        {name: "0"},
		"leading digit":      {name: "1u-rack2"},
		"dotted":             {name: "server-01.dc1.example.com"},
		"63-character label": {name: label63},
		"253 characters":     {name: long253},
		"empty":              {name: "", want: `hostname "" is not a DNS name: it is empty` + fix},
		"space":              {name: "server 01", want: `hostname "server 01" is not a DNS name: ' ' at byte 6 is not allowed` + fix},
		"newline":            {name: "server-01\nrm -rf /", want: `hostname "server-01\nrm -rf /" is not a DNS name: '\n' at byte 9 is not allowed` + fix},
		"carriage return":    {name: "a\r", want: `hostname "a\r" is not a DNS name: '\r' at byte 1 is not allowed` + fix},
		"NUL":                {name: "a\x00b", want: `hostname "a\x00b" is not a DNS name: '\x00' at byte 1 is not allowed` + fix},
		"semicolon":          {name: "a;reboot", want: `hostname "a;reboot" is not a DNS name: ';' at byte 1 is not allowed` + fix},
		"command substitution": {name: "$(reboot)",
			want: `hostname "$(reboot)" is not a DNS name: '$' at byte 0 is not allowed` + fix},
		"backquote":  {name: "x`id`", want: "hostname \"x`id`\" is not a DNS name: '`' at byte 1 is not allowed" + fix},
		"pipe":       {name: "a|b", want: `hostname "a|b" is not a DNS name: '|' at byte 1 is not allowed` + fix},
		"ampersand":  {name: "a&&b", want: `hostname "a&&b" is not a DNS name: '&' at byte 1 is not allowed` + fix},
		"quote":      {name: `a'b`, want: `hostname "a'b" is not a DNS name: '\'' at byte 1 is not allowed` + fix},
		"slash":      {name: "ns/host", want: `hostname "ns/host" is not a DNS name: '/' at byte 2 is not allowed` + fix},
		"underscore": {name: "srv_01", want: `hostname "srv_01" is not a DNS name: '_' at byte 3 is not allowed` + fix},
		"upper case": {name: "Server-01", want: `hostname "Server-01" is not a DNS name: upper-case 'S' at byte 0 (write it in lower case)` + fix},
		"non-ASCII":  {name: "sérver", want: `hostname "sérver" is not a DNS name: 'é' at byte 1 is not allowed` + fix},
		"invalid UTF-8": {name: "a\xffb",
			want: `hostname "a\xffb" is not a DNS name: '�' at byte 1 is not allowed` + fix},
		"leading hyphen":  {name: "-server", want: `hostname "-server" is not a DNS name: label "-server" starts or ends with '-'` + fix},
		"trailing hyphen": {name: "a.server-", want: `hostname "a.server-" is not a DNS name: label "server-" starts or ends with '-'` + fix},
		"leading dot":     {name: ".server", want: `hostname ".server" is not a DNS name: label 1 is empty (a leading, trailing or doubled dot)` + fix},
		"trailing dot":    {name: "server.", want: `hostname "server." is not a DNS name: label 2 is empty (a leading, trailing or doubled dot)` + fix},
		"doubled dot":     {name: "a..b", want: `hostname "a..b" is not a DNS name: label 2 is empty (a leading, trailing or doubled dot)` + fix},
		"64-character label": {name: "x." + label63 + "a",
			want: `hostname "x.` + label63[:62] + `"… (66 bytes) is not a DNS name: label 2 has 64 characters, more than 63` + fix},
		"254 characters": {name: long253 + "b",
			want: `hostname "` + label63 + `."… (254 bytes) is not a DNS name: it has 254 characters, more than 253` + fix},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			err := CheckHostname(tt.name)
			got := ""
			if err != nil {
				got = err.Error()
				if !errors.Is(err, ErrBadHostname) {
					t.Errorf("error does not wrap ErrBadHostname: %v", err)
				}
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("CheckHostname(%q) (-want +got):\n%s", tt.name, diff)
			}
			// Kubernetes' own RFC 1123 checks agree on every case.
			if k8s := k8sHostnameOK(tt.name); k8s != (err == nil) {
				t.Errorf("CheckHostname(%q) = %v, but Kubernetes' validation says ok=%v", tt.name, err, k8s)
			}
		})
	}
}

// k8sHostnameOK is the oracle for CheckHostname: a DNS-1123 subdomain
// whose every label is a DNS-1123 label (IsDNS1123Subdomain alone does not
// bound the labels).
func k8sHostnameOK(name string) bool {
	if len(validation.IsDNS1123Subdomain(name)) > 0 {
		return false
	}
	for label := range strings.SplitSeq(name, ".") {
		if len(validation.IsDNS1123Label(label)) > 0 {
			return false
		}
	}
	return true
}

func TestCheckName(t *testing.T) {
	tests := map[string]struct{ name, want string }{
		"host":                {name: "server-01"},
		"namespace/name":      {name: "fleet/node-1"},
		"spaces and capitals": {name: "Rack 1, U2"},
		"newline": {name: "a\nhost evil: MAC is also",
			want: `name "a\nhost evil: MAC is also" is not a usable name: control character '\n' at byte 1; use printable characters only`},
		"escape": {name: "\x1b[31mred", want: `name "\x1b[31mred" is not a usable name: control character '\x1b' at byte 0; use printable characters only`},
		"invalid UTF-8": {name: "a\xff",
			want: `name "a\xff" is not a usable name: it is not valid UTF-8; use printable characters only`},
		"too long": {name: strings.Repeat("n", MaxNameLength+1),
			want: `name "` + strings.Repeat("n", 64) + `"… (321 bytes) is not a usable name: it has 321 bytes, more than 320; use printable characters only`},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			got := ""
			if err := CheckName(tt.name); err != nil {
				got = err.Error()
				if !errors.Is(err, ErrBadName) {
					t.Errorf("error does not wrap ErrBadName: %v", err)
				}
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("CheckName(%q) (-want +got):\n%s", tt.name, diff)
			}
		})
	}
}

// NewTable refuses hosts built in code with the same checks, so nothing
// but a DNS name reaches option 12 whatever the source.
func TestNewTableChecksMACsAndNames(t *testing.T) {
	good := func(edit func(*Host)) Host {
		h := Host{MAC: net.HardwareAddr{2, 0, 0, 0, 0, 1}, Name: "a", Address: mustPrefix("10.0.0.2/24"), Phase: PhaseInspect}
		edit(&h)
		return h
	}
	_, err := NewTable("code", []Host{
		good(func(h *Host) { h.Name, h.MAC = "bcast", net.HardwareAddr{0xff, 0xff, 0xff, 0xff, 0xff, 0xff} }),
		good(func(h *Host) {
			h.Name, h.MAC, h.Address = "mcast", net.HardwareAddr{1, 0, 0x5e, 0, 0, 1}, mustPrefix("10.0.0.3/24")
		}),
		good(func(h *Host) { h.Name, h.MAC, h.Address = "zero", make(net.HardwareAddr, 6), mustPrefix("10.0.0.4/24") }),
		good(func(h *Host) {
			h.Name, h.MAC, h.Address, h.Hostname = "shell", net.HardwareAddr{2, 0, 0, 0, 0, 5}, mustPrefix("10.0.0.5/24"), "x;reboot"
		}),
		good(func(h *Host) {
			h.Name, h.MAC, h.Address = "evil\nname", net.HardwareAddr{2, 0, 0, 0, 0, 6}, mustPrefix("10.0.0.6/24")
		}),
	})
	want := `code: 5 problem(s):
  host bcast: MAC ff:ff:ff:ff:ff:ff is the broadcast address; use the MAC address of the host's boot interface
  host "evil\nname": name "evil\nname" is not a usable name: control character '\n' at byte 4; use printable characters only
  host mcast: MAC 01:00:5e:00:00:01 is a multicast address (the I/G bit, 0x01 of the first octet, is set); use the MAC address of the host's boot interface
  host shell: hostname "x;reboot" is not a DNS name: ';' at byte 1 is not allowed; use lower-case letters, digits and '-' in dot-separated labels of at most 63 characters, at most 253 in all (server-01 or server-01.example.com)
  host zero: MAC 00:00:00:00:00:00 is all zeros; use the MAC address of the host's boot interface`
	if err == nil {
		t.Fatal("NewTable accepted the hosts")
	}
	if diff := cmp.Diff(want, err.Error()); diff != "" {
		t.Errorf("NewTable (-want +got):\n%s", diff)
	}
}

func mustPrefix(s string) netip.Prefix { return netip.MustParsePrefix(s) }
