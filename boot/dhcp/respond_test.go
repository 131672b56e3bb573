package dhcp

import (
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/insomniacslk/dhcp/dhcpv4"
	"github.com/insomniacslk/dhcp/iana"

	"github.com/metalgit/metalgit/boot"
)

var (
	macKnown   = net.HardwareAddr{2, 0, 0, 0, 0, 1}
	macNone    = net.HardwareAddr{2, 0, 0, 0, 0, 2}
	macUnknown = net.HardwareAddr{2, 0, 0, 0, 0, 0x99}
)

func testTable(t testing.TB) *boot.Store {
	t.Helper()
	tab, err := boot.NewTable("test", []boot.Host{
		{MAC: macKnown, Name: "server-01", Address: netip.MustParsePrefix("192.168.100.3/24"),
			Gateway: netip.MustParseAddr("192.168.100.1"), DNS: []netip.Addr{netip.MustParseAddr("192.168.100.53")},
			NTP: []netip.Addr{netip.MustParseAddr("192.168.100.123")}, Hostname: "server-01", Phase: boot.PhaseInspect},
		{MAC: macNone, Name: "server-02", Address: netip.MustParsePrefix("192.168.100.4/24"), Phase: boot.PhaseNone},
	})
	if err != nil {
		t.Fatal(err)
	}
	s := &boot.Store{}
	s.Swap(tab)
	return s
}

func testServer(t testing.TB, mod func(*Config)) *Server {
	t.Helper()
	cfg := Config{Hosts: testTable(t), ServerIP: netip.MustParseAddr("192.168.100.2"), HTTPURL: "http://192.168.100.2:8080",
		Logger: slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelDebug}))}
	if mod != nil {
		mod(&cfg)
	}
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func discover(t testing.TB, mac net.HardwareAddr, mods ...dhcpv4.Modifier) *dhcpv4.DHCPv4 {
	t.Helper()
	d, err := dhcpv4.NewDiscovery(mac, mods...)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// Observed requests of real firmware (see testing.md).
func biosIPXE() []dhcpv4.Modifier {
	return []dhcpv4.Modifier{
		dhcpv4.WithOption(dhcpv4.OptClientArch(iana.INTEL_X86PC)),
		dhcpv4.WithOption(dhcpv4.OptClassIdentifier("PXEClient:Arch:00000:UNDI:002001")),
		dhcpv4.WithGeneric(dhcpv4.OptionUserClassInformation, []byte("iPXE")),
		dhcpv4.WithGeneric(dhcpv4.OptionClientMachineIdentifier, []byte{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16}),
	}
}

func edk2PXE() []dhcpv4.Modifier {
	return []dhcpv4.Modifier{
		dhcpv4.WithOption(dhcpv4.OptClientArch(iana.EFI_X86_64)),
		dhcpv4.WithOption(dhcpv4.OptClassIdentifier("PXEClient:Arch:00007:UNDI:003000")),
		dhcpv4.WithBroadcast(true),
	}
}

func pxeArch(a iana.Arch) []dhcpv4.Modifier {
	return []dhcpv4.Modifier{
		dhcpv4.WithOption(dhcpv4.OptClientArch(a)),
		dhcpv4.WithOption(dhcpv4.OptClassIdentifier(fmt.Sprintf("PXEClient:Arch:%05d:UNDI:003000", uint16(a)))),
	}
}

func httpArch(a iana.Arch) []dhcpv4.Modifier {
	return []dhcpv4.Modifier{
		dhcpv4.WithOption(dhcpv4.OptClientArch(a)),
		dhcpv4.WithOption(dhcpv4.OptClassIdentifier("HTTPClient:Arch:00016:UNDI:003000")),
	}
}

// bootFacts is what a reply says about booting, for table comparisons.
type bootFacts struct {
	File, Opt67, Opt66, Class string
	Siaddr                    string
	Vendor                    []byte
}

func factsOf(r *dhcpv4.DHCPv4) bootFacts {
	return bootFacts{
		File: r.BootFileName, Opt67: r.BootFileNameOption(), Opt66: r.TFTPServerName(),
		Class: r.ClassIdentifier(), Siaddr: r.ServerIPAddr.String(),
		Vendor: r.Options.Get(dhcpv4.OptionVendorSpecificInformation),
	}
}

func TestBootOfferByClient(t *testing.T) {
	const script = "http://192.168.100.2:8080/boot/02-00-00-00-00-01.ipxe"
	pxeVendor := []byte{6, 1, 8, 255}
	cases := []struct {
		name string
		mods []dhcpv4.Modifier
		cfg  func(*Config)
		want bootFacts
	}{
		{"BIOS iPXE ROM gets its script and 60 PXEClient", biosIPXE(), nil,
			bootFacts{File: script, Opt67: script, Class: "PXEClient", Siaddr: "192.168.100.2"}},
		{"UEFI iPXE gets its script", []dhcpv4.Modifier{
			dhcpv4.WithOption(dhcpv4.OptClientArch(iana.EFI_X86_64)),
			dhcpv4.WithOption(dhcpv4.OptClassIdentifier("PXEClient:Arch:00007:UNDI:003010")),
			dhcpv4.WithGeneric(dhcpv4.OptionUserClassInformation, []byte("iPXE")),
		}, nil, bootFacts{File: script, Opt67: script, Class: "PXEClient", Siaddr: "192.168.100.2"}},
		{"iPXE without option 60 gets no 60", []dhcpv4.Modifier{
			dhcpv4.WithGeneric(dhcpv4.OptionUserClassInformation, []byte("iPXE")),
		}, nil, bootFacts{File: script, Opt67: script, Siaddr: "192.168.100.2"}},
		{"RFC 3004 encoded user class", []dhcpv4.Modifier{
			dhcpv4.WithOption(dhcpv4.OptRFC3004UserClass([]string{"iPXE"})),
		}, nil, bootFacts{File: script, Opt67: script, Siaddr: "192.168.100.2"}},
		{"configured user class of an embedded script", []dhcpv4.Modifier{
			dhcpv4.WithGeneric(dhcpv4.OptionUserClassInformation, []byte("metalgit")),
			dhcpv4.WithOption(dhcpv4.OptClientArch(iana.INTEL_X86PC)),
		}, func(c *Config) { c.UserClass = "metalgit" }, bootFacts{File: script, Opt67: script, Siaddr: "192.168.100.2"}},
		{"other user class is not iPXE: BIOS chainloads undionly.kpxe", []dhcpv4.Modifier{
			dhcpv4.WithGeneric(dhcpv4.OptionUserClassInformation, []byte("iPXE")),
			dhcpv4.WithOption(dhcpv4.OptClientArch(iana.INTEL_X86PC)),
		}, func(c *Config) { c.UserClass = "metalgit" }, bootFacts{File: "undionly.kpxe", Opt67: "undionly.kpxe", Opt66: "192.168.100.2", Siaddr: "192.168.100.2"}},
		{"EDK2 native PXE gets snponly.efi with 60 and 43 {6: 8}", edk2PXE(), nil,
			bootFacts{File: "snponly.efi", Opt67: "snponly.efi", Opt66: "192.168.100.2", Class: "PXEClient", Siaddr: "192.168.100.2", Vendor: pxeVendor}},
		{"ipxe.efi selectable", edk2PXE(), func(c *Config) { c.EFIBinary = boot.EFIFullBinary },
			bootFacts{File: "ipxe.efi", Opt67: "ipxe.efi", Opt66: "192.168.100.2", Class: "PXEClient", Siaddr: "192.168.100.2", Vendor: pxeVendor}},
		{"93=0 BIOS PXE ROM", pxeArch(iana.INTEL_X86PC), nil,
			bootFacts{File: "undionly.kpxe", Opt67: "undionly.kpxe", Opt66: "192.168.100.2", Class: "PXEClient", Siaddr: "192.168.100.2", Vendor: pxeVendor}},
		{"93=6 EFI IA32", pxeArch(iana.EFI_IA32), nil,
			bootFacts{File: "snponly.efi", Opt67: "snponly.efi", Opt66: "192.168.100.2", Class: "PXEClient", Siaddr: "192.168.100.2", Vendor: pxeVendor}},
		{"93=9 EFI BC", pxeArch(iana.EFI_BC), nil,
			bootFacts{File: "snponly.efi", Opt67: "snponly.efi", Opt66: "192.168.100.2", Class: "PXEClient", Siaddr: "192.168.100.2", Vendor: pxeVendor}},
		{"93=11 ARM64 EFI", pxeArch(iana.EFI_ARM64), nil,
			bootFacts{File: "snp-arm64.efi", Opt67: "snp-arm64.efi", Opt66: "192.168.100.2", Class: "PXEClient", Siaddr: "192.168.100.2", Vendor: pxeVendor}},
		{"93=7 without option 60: no 60, no 43", []dhcpv4.Modifier{dhcpv4.WithOption(dhcpv4.OptClientArch(iana.EFI_X86_64))}, nil,
			bootFacts{File: "snponly.efi", Opt67: "snponly.efi", Opt66: "192.168.100.2", Siaddr: "192.168.100.2"}},
		{"93=15 x86 UEFI HTTP boot", httpArch(iana.EFI_X86_HTTP), nil,
			bootFacts{File: "http://192.168.100.2:8080/snponly.efi", Opt67: "http://192.168.100.2:8080/snponly.efi", Class: "HTTPClient", Siaddr: "192.168.100.2"}},
		{"93=16 x64 UEFI HTTP boot", httpArch(iana.EFI_X86_64_HTTP), nil,
			bootFacts{File: "http://192.168.100.2:8080/snponly.efi", Opt67: "http://192.168.100.2:8080/snponly.efi", Class: "HTTPClient", Siaddr: "192.168.100.2"}},
		{"93=18 ARM UEFI HTTP boot", httpArch(iana.EFI_ARM32_HTTP), nil,
			bootFacts{File: "http://192.168.100.2:8080/snp-arm64.efi", Opt67: "http://192.168.100.2:8080/snp-arm64.efi", Class: "HTTPClient", Siaddr: "192.168.100.2"}},
		{"93=19 ARM64 UEFI HTTP boot", httpArch(iana.EFI_ARM64_HTTP), nil,
			bootFacts{File: "http://192.168.100.2:8080/snp-arm64.efi", Opt67: "http://192.168.100.2:8080/snp-arm64.efi", Class: "HTTPClient", Siaddr: "192.168.100.2"}},
		{"93=20 BIOS HTTP boot", httpArch(iana.INTEL_X86PC_HTTP), nil,
			bootFacts{File: "http://192.168.100.2:8080/undionly.kpxe", Opt67: "http://192.168.100.2:8080/undionly.kpxe", Class: "HTTPClient", Siaddr: "192.168.100.2"}},
		{"other architectures get the lease only", pxeArch(iana.PPC_OPEN_FIRMWARE), nil,
			bootFacts{Siaddr: "192.168.100.2"}},
		{"no option 93: plain DHCP client, lease only", nil, nil, bootFacts{Siaddr: "192.168.100.2"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := testServer(t, tc.cfg)
			res := s.Respond(discover(t, macKnown, tc.mods...))
			if res.Outcome != OutcomeOffer || res.Reply == nil {
				t.Fatalf("outcome %s (%s), want an offer", res.Outcome, res.Reason)
			}
			if diff := cmp.Diff(tc.want, factsOf(res.Reply)); diff != "" {
				t.Errorf("boot facts (-want +got):\n%s", diff)
			}
			if got := res.Reply.ServerIdentifier().String(); got != "192.168.100.2" {
				t.Errorf("option 54 = %s, want 192.168.100.2", got)
			}
		})
	}
}

func TestLeaseOptions(t *testing.T) {
	s := testServer(t, nil)
	req := discover(t, macKnown, biosIPXE()...)
	res := s.Respond(req)
	r := res.Reply
	if r == nil {
		t.Fatalf("no reply: %s", res.Reason)
	}
	got := map[string]string{
		"type": r.MessageType().String(), "yiaddr": r.YourIPAddr.String(), "mask": net.IP(r.SubnetMask()).String(),
		"router": r.Router()[0].String(), "dns": r.DNS()[0].String(), "ntp": r.NTPServers()[0].String(),
		"hostname": r.HostName(), "lease": r.IPAddressLeaseTime(0).String(), "t1": r.IPAddressRenewalTime(0).String(),
		"t2": r.IPAddressRebindingTime(0).String(), "xid": r.TransactionID.String(), "chaddr": r.ClientHWAddr.String(),
		"uuid": string(r.Options.Get(dhcpv4.OptionClientMachineIdentifier)),
	}
	want := map[string]string{
		"type": "OFFER", "yiaddr": "192.168.100.3", "mask": "255.255.255.0", "router": "192.168.100.1",
		"dns": "192.168.100.53", "ntp": "192.168.100.123", "hostname": "server-01", "lease": "1h0m0s",
		"t1": "30m0s", "t2": "52m30s", "xid": req.TransactionID.String(), "chaddr": macKnown.String(),
		"uuid": string(req.Options.Get(dhcpv4.OptionClientMachineIdentifier)),
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("offer (-want +got):\n%s", diff)
	}
	s2 := testServer(t, func(c *Config) { c.LeaseTime = 600e9 })
	if lt := s2.Respond(req).Reply.IPAddressLeaseTime(0).String(); lt != "10m0s" {
		t.Errorf("configured lease time: %s, want 10m0s", lt)
	}
}

func TestPhaseNoneGetsLeaseWithoutBoot(t *testing.T) {
	s := testServer(t, nil)
	res := s.Respond(discover(t, macNone, biosIPXE()...))
	if res.Reply == nil || res.Reply.YourIPAddr.String() != "192.168.100.4" {
		t.Fatalf("want an offer of 192.168.100.4, got %v (%s)", res.Reply, res.Reason)
	}
	if f := factsOf(res.Reply); f.File != "" || f.Opt67 != "" || f.Class != "" {
		t.Errorf("phase none: boot facts %+v, want none", f)
	}
}

func request(t testing.TB, mac net.HardwareAddr, mods ...dhcpv4.Modifier) *dhcpv4.DHCPv4 {
	t.Helper()
	r, err := dhcpv4.New(append([]dhcpv4.Modifier{dhcpv4.WithHwAddr(mac), dhcpv4.WithMessageType(dhcpv4.MessageTypeRequest)}, mods...)...)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestMessageTypes(t *testing.T) {
	ip := func(s string) net.IP { return net.ParseIP(s).To4() }
	msg := func(mac net.HardwareAddr, mt dhcpv4.MessageType, mods ...dhcpv4.Modifier) *dhcpv4.DHCPv4 {
		return request(t, mac, append([]dhcpv4.Modifier{dhcpv4.WithMessageType(mt)}, mods...)...)
	}
	cases := []struct {
		name    string
		req     *dhcpv4.DHCPv4
		want    Outcome
		replyMT dhcpv4.MessageType // MessageTypeNone: no reply
		yiaddr  string
	}{
		{"discover", discover(t, macKnown), OutcomeOffer, dhcpv4.MessageTypeOffer, "192.168.100.3"},
		{"request selecting us", request(t, macKnown, dhcpv4.WithOption(dhcpv4.OptServerIdentifier(ip("192.168.100.2"))),
			dhcpv4.WithOption(dhcpv4.OptRequestedIPAddress(ip("192.168.100.3")))), OutcomeAck, dhcpv4.MessageTypeAck, "192.168.100.3"},
		{"request selecting another server", request(t, macKnown, dhcpv4.WithOption(dhcpv4.OptServerIdentifier(ip("192.168.100.9"))),
			dhcpv4.WithOption(dhcpv4.OptRequestedIPAddress(ip("192.168.100.3")))), OutcomeOtherServer, dhcpv4.MessageTypeNone, ""},
		{"request selecting us, wrong address", request(t, macKnown, dhcpv4.WithOption(dhcpv4.OptServerIdentifier(ip("192.168.100.2"))),
			dhcpv4.WithOption(dhcpv4.OptRequestedIPAddress(ip("192.168.100.77")))), OutcomeNak, dhcpv4.MessageTypeNak, "0.0.0.0"},
		{"init-reboot, right address", request(t, macKnown, dhcpv4.WithOption(dhcpv4.OptRequestedIPAddress(ip("192.168.100.3")))),
			OutcomeAck, dhcpv4.MessageTypeAck, "192.168.100.3"},
		{"init-reboot, wrong address", request(t, macKnown, dhcpv4.WithOption(dhcpv4.OptRequestedIPAddress(ip("10.0.0.5")))),
			OutcomeNak, dhcpv4.MessageTypeNak, "0.0.0.0"},
		{"renewing", request(t, macKnown, dhcpv4.WithClientIP(ip("192.168.100.3"))), OutcomeAck, dhcpv4.MessageTypeAck, "192.168.100.3"},
		{"rebinding with a wrong ciaddr", request(t, macKnown, dhcpv4.WithClientIP(ip("192.168.100.8")), dhcpv4.WithBroadcast(true)),
			OutcomeNak, dhcpv4.MessageTypeNak, "0.0.0.0"},
		{"request naming no address", request(t, macKnown), OutcomeIgnored, dhcpv4.MessageTypeNone, ""},
		{"inform", msg(macKnown, dhcpv4.MessageTypeInform, dhcpv4.WithClientIP(ip("192.168.100.3"))), OutcomeInformAck, dhcpv4.MessageTypeAck, "0.0.0.0"},
		{"release", msg(macKnown, dhcpv4.MessageTypeRelease, dhcpv4.WithClientIP(ip("192.168.100.3"))), OutcomeRelease, dhcpv4.MessageTypeNone, ""},
		{"decline", msg(macKnown, dhcpv4.MessageTypeDecline, dhcpv4.WithOption(dhcpv4.OptRequestedIPAddress(ip("192.168.100.3")))),
			OutcomeDecline, dhcpv4.MessageTypeNone, ""},
		{"unknown MAC discover", discover(t, macUnknown), OutcomeUnknownMAC, dhcpv4.MessageTypeNone, ""},
		{"unknown MAC request", request(t, macUnknown, dhcpv4.WithOption(dhcpv4.OptRequestedIPAddress(ip("192.168.100.3")))),
			OutcomeUnknownMAC, dhcpv4.MessageTypeNone, ""},
		{"unknown MAC inform", msg(macUnknown, dhcpv4.MessageTypeInform, dhcpv4.WithClientIP(ip("192.168.100.50"))), OutcomeUnknownMAC, dhcpv4.MessageTypeNone, ""},
		{"server message from a client port", msg(macKnown, dhcpv4.MessageTypeOffer), OutcomeIgnored, dhcpv4.MessageTypeNone, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res := testServer(t, nil).Respond(tc.req)
			if res.Outcome != tc.want {
				t.Fatalf("outcome %s (%s), want %s", res.Outcome, res.Reason, tc.want)
			}
			if tc.replyMT == dhcpv4.MessageTypeNone {
				if res.Reply != nil {
					t.Fatalf("reply %s, want none", res.Reply.MessageType())
				}
				return
			}
			r := res.Reply
			if r == nil {
				t.Fatalf("no reply, want %s", tc.replyMT)
			}
			if r.MessageType() != tc.replyMT || r.YourIPAddr.String() != tc.yiaddr {
				t.Errorf("reply %s yiaddr %s, want %s yiaddr %s", r.MessageType(), r.YourIPAddr, tc.replyMT, tc.yiaddr)
			}
			if r.ServerIdentifier().String() != "192.168.100.2" {
				t.Errorf("option 54 = %v", r.ServerIdentifier())
			}
			if tc.want == OutcomeInformAck && r.Options.Has(dhcpv4.OptionIPAddressLeaseTime) {
				t.Errorf("ACK to INFORM carries a lease time")
			}
			if tc.want == OutcomeNak && !strings.Contains(r.Message(), "the host's address is 192.168.100.3") {
				t.Errorf("NAK message %q does not say the host's address", r.Message())
			}
		})
	}
}

func TestNotForUs(t *testing.T) {
	s := testServer(t, nil)
	reply := discover(t, macKnown)
	reply.OpCode = dhcpv4.OpcodeBootReply
	if res := s.Respond(reply); res.Reply != nil || res.Outcome != OutcomeIgnored {
		t.Errorf("BOOTREPLY: %+v", res)
	}
	tokenRing := discover(t, macKnown)
	tokenRing.HWType = iana.HWTypeIEEE802
	if res := s.Respond(tokenRing); res.Reply != nil {
		t.Errorf("non-Ethernet: %+v", res)
	}
	bootp := discover(t, macUnknown)
	bootp.Options.Del(dhcpv4.OptionDHCPMessageType)
	if res := s.Respond(bootp); res.Reply != nil {
		t.Errorf("BOOTP: %+v", res)
	}
}

func TestTableSwapIsSeen(t *testing.T) {
	s := testServer(t, nil)
	if res := s.Respond(discover(t, macUnknown)); res.Outcome != OutcomeUnknownMAC {
		t.Fatalf("before: %s", res.Outcome)
	}
	tab, err := boot.NewTable("swapped", []boot.Host{{MAC: macUnknown, Name: "new", Address: netip.MustParsePrefix("10.1.0.9/16"), Phase: boot.PhaseDeploy}})
	if err != nil {
		t.Fatal(err)
	}
	s.cfg.Hosts.Swap(tab)
	res := s.Respond(discover(t, macUnknown))
	if res.Reply == nil || res.Reply.YourIPAddr.String() != "10.1.0.9" || net.IP(res.Reply.SubnetMask()).String() != "255.255.0.0" {
		t.Fatalf("after swap: %+v", res)
	}
	if res := s.Respond(discover(t, macKnown)); res.Outcome != OutcomeUnknownMAC {
		t.Errorf("host dropped from the table still answered: %s", res.Outcome)
	}
}

func TestConfigErrors(t *testing.T) {
	_, err := New(Config{Listen: netip.MustParseAddrPort("0.0.0.0:67"), HTTPURL: "ftp://x", LeaseTime: -1})
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{"no host table", "no server IP", "HTTP URL \"ftp://x\"", "lease time"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
}

// A Config built in code takes DefaultLeaseTime for 0; anything else must
// fit option 51 (whole seconds, 32 bits, not 0xffffffff).
func TestLeaseTime(t *testing.T) {
	const rng = ": must be from 1s to 1193046h28m14s (option 51 holds whole seconds in 32 bits); the default is 1h0m0s"
	tests := map[string]struct {
		d    time.Duration
		want string // "" for good
	}{
		"one second":     {d: time.Second},
		"a day":          {d: 24 * time.Hour},
		"the maximum":    {d: MaxLeaseTime},
		"zero":           {d: 0, want: "0s" + rng},
		"negative":       {d: -time.Hour, want: "-1h0m0s" + rng},
		"a nanosecond":   {d: 1, want: "1ns" + rng},
		"under a second": {d: 999 * time.Millisecond, want: "999ms" + rng},
		"infinite":       {d: 0xffffffff * time.Second, want: "1193046h28m15s" + rng},
		"over 32 bits":   {d: 1 << 62, want: time.Duration(1<<62).String() + rng},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			got := ""
			if err := CheckLeaseTime(tt.d); err != nil {
				got = err.Error()
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("CheckLeaseTime(%s) (-want +got):\n%s", tt.d, diff)
			}
		})
	}
	s := testServer(t, func(c *Config) { c.LeaseTime = 0 })
	if s.cfg.LeaseTime != DefaultLeaseTime {
		t.Errorf("zero LeaseTime became %s, want %s", s.cfg.LeaseTime, DefaultLeaseTime)
	}
	_, err := New(Config{Listen: netip.MustParseAddrPort("127.0.0.1:67"), Hosts: &boot.Store{}, LeaseTime: 500 * time.Millisecond})
	if want := "dhcp: lease time 500ms" + rng; err == nil || err.Error() != want {
		t.Errorf("New with a 500ms lease: %v, want %s", err, want)
	}
}
