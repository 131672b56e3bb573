package dhcp

import (
	"bytes"
	"io"
	"log/slog"
	"testing"

	"github.com/insomniacslk/dhcp/dhcpv4"
)

// FuzzRespond feeds arbitrary packets to the handler: it must not panic,
// must not answer anything that does not parse as DHCP or does not come
// from a MAC of the table, and every reply must serialize and parse back
// with the request's transaction ID.
func FuzzRespond(f *testing.F) {
	seed := func(mac []byte, mods ...dhcpv4.Modifier) {
		d, err := dhcpv4.NewDiscovery(mac, mods...)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(d.ToBytes())
	}
	seed(macKnown, biosIPXE()...)
	seed(macKnown, edk2PXE()...)
	seed(macUnknown, edk2PXE()...)
	seed(macNone)
	seed(macKnown, dhcpv4.WithMessageType(dhcpv4.MessageTypeRequest), dhcpv4.WithOption(dhcpv4.OptRequestedIPAddress([]byte{192, 168, 100, 3})))
	seed(macKnown, dhcpv4.WithMessageType(dhcpv4.MessageTypeInform))
	f.Add([]byte("garbage"))
	f.Add(bytes.Repeat([]byte{0xff}, 300))

	s := testServer(f, func(c *Config) { c.Logger = slog.New(slog.NewTextHandler(io.Discard, nil)) })
	f.Fuzz(func(t *testing.T, pkt []byte) {
		req, err := dhcpv4.FromBytes(pkt)
		if err != nil {
			return // the server drops what does not parse
		}
		res := s.Respond(req)
		if res.Reply == nil {
			return
		}
		if _, known := s.cfg.Hosts.Load().Lookup(req.ClientHWAddr); !known {
			t.Fatalf("answered unknown MAC %s with %s", req.ClientHWAddr, res.Reply.MessageType())
		}
		back, err := dhcpv4.FromBytes(res.Reply.ToBytes())
		if err != nil {
			t.Fatalf("reply does not parse back: %v", err)
		}
		if back.TransactionID != req.TransactionID || back.OpCode != dhcpv4.OpcodeBootReply {
			t.Fatalf("reply xid %s opcode %s, want %s BootReply", back.TransactionID, back.OpCode, req.TransactionID)
		}
		if back.ServerIdentifier() == nil {
			t.Fatal("reply without option 54")
		}
		switch req.MessageType() {
		case dhcpv4.MessageTypeDiscover, dhcpv4.MessageTypeRequest, dhcpv4.MessageTypeInform:
		default:
			t.Fatalf("answered a %s", req.MessageType())
		}
	})
}
