package dhcp

import (
	"errors"
	"net"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/insomniacslk/dhcp/dhcpv4"
	"github.com/insomniacslk/dhcp/iana"

	"github.com/metalgit/metalgit/boot/trace"
)

// TestTraceRecordsEachExchange: what one request leaves in the trace, by
// what it is and whom it comes from.
func TestTraceRecordsEachExchange(t *testing.T) {
	ip := func(s string) net.IP { return net.ParseIP(s).To4() }
	cases := map[string]struct {
		req     *dhcpv4.DHCPv4
		sendErr error
		want    []traced // of the request's MAC
	}{
		"EDK2 PXE: snponly.efi over TFTP": {
			req: discover(t, macKnown, edk2PXE()...),
			want: []traced{{trace.KindDHCPOffer, "DISCOVER → OFFER 192.168.100.3, snponly.efi over TFTP from 192.168.100.2", false,
				map[string]string{"arch": "7", "vendorClass": "PXEClient:Arch:00007:UNDI:003000", "address": "192.168.100.3",
					"siaddr": "192.168.100.2", "offered": "snponly.efi", "offer": "tftp"}}},
		},
		"UEFI HTTP boot": {
			req: discover(t, macKnown, dhcpv4.WithOption(dhcpv4.OptClientArch(iana.EFI_X86_64_HTTP)),
				dhcpv4.WithOption(dhcpv4.OptClassIdentifier("HTTPClient:Arch:00016:UNDI:003001"))),
			want: []traced{{trace.KindDHCPOffer, "DISCOVER → OFFER 192.168.100.3, http://192.168.100.2:8080/snponly.efi", false,
				map[string]string{"arch": "16", "vendorClass": "HTTPClient:Arch:00016:UNDI:003001", "address": "192.168.100.3",
					"siaddr": "192.168.100.2", "offered": "http://192.168.100.2:8080/snponly.efi", "offer": "http-boot"}}},
		},
		"phase none: the lease only": {
			req: discover(t, macNone, biosIPXE()...),
			want: []traced{{trace.KindDHCPOffer, "DISCOVER → OFFER 192.168.100.4, no boot file: phase none", false,
				map[string]string{"arch": "0", "vendorClass": "PXEClient:Arch:00000:UNDI:002001", "userClass": "iPXE",
					"address": "192.168.100.4", "siaddr": "192.168.100.2", "reason": "phase none"}}},
		},
		"REQUEST selecting another server": {
			req: request(t, macKnown, dhcpv4.WithOption(dhcpv4.OptServerIdentifier(ip("10.9.9.9"))),
				dhcpv4.WithOption(dhcpv4.OptRequestedIPAddress(ip("10.9.9.50")))),
			want: []traced{{trace.KindDHCPOtherServer, "REQUEST ignored: client selected server 10.9.9.9", false,
				map[string]string{"address": "192.168.100.3", "server": "10.9.9.9", "reason": "client selected server 10.9.9.9"}}},
		},
		"relayed": {
			req: discover(t, macKnown, dhcpv4.WithRelay(ip("10.0.0.1"))),
			want: []traced{{trace.KindDHCPOffer, "DISCOVER → OFFER 192.168.100.3, no boot file: no client architecture (option 93): not a network boot", false,
				map[string]string{"relay": "10.0.0.1", "address": "192.168.100.3", "siaddr": "192.168.100.2",
					"reason": "no client architecture (option 93): not a network boot"}}},
		},
		"reply not sent": {
			req:     discover(t, macKnown),
			sendErr: errors.New("network is unreachable"),
			want: []traced{{trace.KindDHCPOffer, "the OFFER could not be sent: network is unreachable", true,
				map[string]string{"address": "192.168.100.3", "siaddr": "192.168.100.2",
					"reason": "no client architecture (option 93): not a network boot"}}},
		},
		"not Ethernet: nothing": {
			req: func() *dhcpv4.DHCPv4 { d := discover(t, macKnown); d.HWType = iana.HWTypeIEEE802; return d }(),
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			ring := trace.New(trace.Config{})
			s := testServer(t, func(c *Config) { c.Trace = ring })
			s.record(tc.req, s.Respond(tc.req), tc.sendErr)
			if diff := cmp.Diff(tc.want, tracedEvents(ring, tc.req.ClientHWAddr)); diff != "" {
				t.Errorf("trace (-want +got):\n%s", diff)
			}
		})
	}
}

// TestTraceUnknownMACs: an unknown MAC is recorded in the unknown budget;
// a BOOTP request without a message type from it is not recorded.
func TestTraceUnknownMACs(t *testing.T) {
	ring := trace.New(trace.Config{})
	s := testServer(t, func(c *Config) { c.Trace = ring })
	req := discover(t, macUnknown, edk2PXE()...)
	s.record(req, s.Respond(req), nil)
	bootp := discover(t, net.HardwareAddr{2, 0, 0, 0, 0, 0x98})
	bootp.Options.Del(dhcpv4.OptionDHCPMessageType)
	s.record(bootp, s.Respond(bootp), nil)
	if k, u := ring.MACs(); k != 0 || u != 1 {
		t.Errorf("MACs: %d known, %d unknown; want 0, 1", k, u)
	}
	want := []traced{{trace.KindDHCPUnknown, "DISCOVER ignored: the MAC is not in the host table", false,
		map[string]string{"arch": "7", "vendorClass": "PXEClient:Arch:00007:UNDI:003000", "reason": "MAC not in the host table"}}}
	if diff := cmp.Diff(want, tracedEvents(ring, macUnknown)); diff != "" {
		t.Errorf("trace (-want +got):\n%s", diff)
	}
}
