package dhcp

import (
	"bytes"
	"context"
	"log/slog"
	"net"
	"net/netip"
	"time"

	"github.com/insomniacslk/dhcp/dhcpv4"
	"github.com/insomniacslk/dhcp/iana"

	"github.com/metalgit/metalgit/boot"
)

// Outcome names what the server did with one request; it is the label of
// the metrics and the "event" attribute of the logs.
type Outcome string

// Outcomes.
const (
	OutcomeOffer       Outcome = "offer"
	OutcomeAck         Outcome = "ack"
	OutcomeNak         Outcome = "nak"
	OutcomeInformAck   Outcome = "inform-ack"
	OutcomeRelease     Outcome = "release"
	OutcomeDecline     Outcome = "decline"
	OutcomeUnknownMAC  Outcome = "unknown-mac"
	OutcomeOtherServer Outcome = "other-server"
	OutcomeIgnored     Outcome = "ignored"
)

// Result is the server's answer to one request.
type Result struct {
	// Reply is nil when the server stays silent.
	Reply   *dhcpv4.DHCPv4
	Outcome Outcome
	// Host is the table entry of the client (zero when unknown).
	Host boot.Host
	// Boot is the boot offer in Reply (nil: lease only); Reason says why
	// there is none, or why the request was ignored.
	Boot   *Offer
	Reason string
}

// Respond computes the answer to one request from the current host
// table. It never blocks and never touches the network.
func (s *Server) Respond(req *dhcpv4.DHCPv4) Result {
	if req.OpCode != dhcpv4.OpcodeBootRequest {
		return Result{Outcome: OutcomeIgnored, Reason: "not a BOOTREQUEST"}
	}
	if req.HWType != iana.HWTypeEthernet || len(req.ClientHWAddr) != 6 {
		return Result{Outcome: OutcomeIgnored, Reason: "not an Ethernet client"}
	}
	mt := req.MessageType()
	h, ok := s.cfg.Hosts.Load().Lookup(req.ClientHWAddr)
	if !ok {
		if mt == dhcpv4.MessageTypeNone {
			return Result{Outcome: OutcomeIgnored, Reason: "BOOTP without a DHCP message type"}
		}
		return Result{Outcome: OutcomeUnknownMAC, Reason: "MAC not in the host table"}
	}
	switch mt {
	case dhcpv4.MessageTypeDiscover:
		return s.reply(req, h, dhcpv4.MessageTypeOffer, OutcomeOffer)
	case dhcpv4.MessageTypeRequest:
		return s.request(req, h)
	case dhcpv4.MessageTypeInform:
		return s.reply(req, h, dhcpv4.MessageTypeAck, OutcomeInformAck)
	case dhcpv4.MessageTypeRelease:
		return Result{Outcome: OutcomeRelease, Host: h}
	case dhcpv4.MessageTypeDecline:
		return Result{Outcome: OutcomeDecline, Host: h, Reason: "client found the address in use"}
	}
	return Result{Outcome: OutcomeIgnored, Host: h, Reason: "message type " + mt.String() + " is not for a server"}
}

// request handles the four REQUEST states of RFC 2131 §4.3.2.
func (s *Server) request(req *dhcpv4.DHCPv4, h boot.Host) Result {
	want := h.Address.Addr()
	if sid := req.ServerIdentifier(); sid != nil {
		// SELECTING: the client chose an offer; ours only if 54 is us.
		if ip, _ := netip.AddrFromSlice(sid.To4()); ip != s.cfg.ServerIP {
			return Result{Outcome: OutcomeOtherServer, Host: h, Reason: "client selected server " + sid.String()}
		}
	}
	var got net.IP
	switch {
	case req.RequestedIPAddress() != nil:
		got = req.RequestedIPAddress() // SELECTING or INIT-REBOOT
	case !req.ClientIPAddr.IsUnspecified() && req.ClientIPAddr != nil:
		got = req.ClientIPAddr // RENEWING or REBINDING
	default:
		return Result{Outcome: OutcomeIgnored, Host: h, Reason: "REQUEST names no address (neither option 50 nor ciaddr)"}
	}
	if ip, _ := netip.AddrFromSlice(got.To4()); ip != want {
		return s.nak(req, h, "requested "+got.String()+", the host's address is "+want.String())
	}
	return s.reply(req, h, dhcpv4.MessageTypeAck, OutcomeAck)
}

func (s *Server) nak(req *dhcpv4.DHCPv4, h boot.Host, why string) Result {
	r := newReply(req,
		dhcpv4.WithMessageType(dhcpv4.MessageTypeNak),
		dhcpv4.WithOption(dhcpv4.OptServerIdentifier(s.serverIP)),
		dhcpv4.WithOption(dhcpv4.OptMessage(why)),
	)
	if !req.GatewayIPAddr.IsUnspecified() && req.GatewayIPAddr != nil {
		r.SetBroadcast() // RFC 2131 §4.3.2: the relay broadcasts it
	}
	return Result{Reply: r, Outcome: OutcomeNak, Host: h, Reason: why}
}

// reply builds an OFFER or ACK (or the ACK to an INFORM, which carries
// no lease).
func (s *Server) reply(req *dhcpv4.DHCPv4, h boot.Host, mt dhcpv4.MessageType, out Outcome) Result {
	mods := make([]dhcpv4.Modifier, 0, 16) // room for every option below: no regrowth per packet
	mods = append(mods,
		dhcpv4.WithMessageType(mt),
		dhcpv4.WithServerIP(s.serverIP),
		dhcpv4.WithOption(dhcpv4.OptServerIdentifier(s.serverIP)),
		dhcpv4.WithNetmask(net.CIDRMask(h.Address.Bits(), 32)),
	)
	if out != OutcomeInformAck {
		lease := s.cfg.LeaseTime
		mods = append(mods,
			dhcpv4.WithYourIP(h.Address.Addr().AsSlice()),
			dhcpv4.WithLeaseTime(uint32(lease/time.Second)), //nolint:gosec // withDefaults bounds it to 32 bits
			dhcpv4.WithOption(dhcpv4.OptRenewTimeValue(lease/2)),
			dhcpv4.WithOption(dhcpv4.OptRebindingTimeValue(lease*7/8)),
		)
	}
	if h.Gateway.IsValid() {
		mods = append(mods, dhcpv4.WithOption(dhcpv4.OptRouter(h.Gateway.AsSlice())))
	}
	if len(h.DNS) > 0 {
		mods = append(mods, dhcpv4.WithOption(dhcpv4.OptDNS(ips(h.DNS)...)))
	}
	if len(h.NTP) > 0 {
		mods = append(mods, dhcpv4.WithOption(dhcpv4.OptNTPServers(ips(h.NTP)...)))
	}
	if h.Hostname != "" {
		mods = append(mods, dhcpv4.WithOption(dhcpv4.OptHostName(h.Hostname)))
	}
	if uuid := req.Options.Get(dhcpv4.OptionClientMachineIdentifier); uuid != nil {
		mods = append(mods, dhcpv4.WithGeneric(dhcpv4.OptionClientMachineIdentifier, bytes.Clone(uuid)))
	}
	offer, why := Decide(&s.cfg, req, h)
	if offer != nil {
		mods = append(mods, bootModifiers(offer, s.cfg.ServerIP)...)
	}
	return Result{Reply: newReply(req, mods...), Outcome: out, Host: h, Boot: offer, Reason: why}
}

// newReply builds the reply to req exactly as dhcpv4.NewReplyFromRequest
// does (BOOTREPLY with the request's hardware type and address,
// transaction ID, flags and giaddr; options 82 and 61 copied back; then
// mods), but without drawing a random transaction ID first: that costs a
// crypto/rand read and a context timer per packet, only to be overwritten
// by the request's.
func newReply(req *dhcpv4.DHCPv4, mods ...dhcpv4.Modifier) *dhcpv4.DHCPv4 {
	op := dhcpv4.OpcodeBootReply
	if req.OpCode != dhcpv4.OpcodeBootRequest {
		op = dhcpv4.OpcodeBootRequest
	}
	r := &dhcpv4.DHCPv4{
		OpCode:        op,
		HWType:        req.HWType,
		ClientHWAddr:  req.ClientHWAddr,
		TransactionID: req.TransactionID,
		Flags:         req.Flags,
		ClientIPAddr:  net.IPv4zero,
		YourIPAddr:    net.IPv4zero,
		ServerIPAddr:  net.IPv4zero,
		GatewayIPAddr: req.GatewayIPAddr,
		Options:       make(dhcpv4.Options),
	}
	for _, code := range [...]dhcpv4.OptionCode{dhcpv4.OptionRelayAgentInformation, dhcpv4.OptionClientIdentifier} {
		if v := req.Options.Get(code); v != nil {
			r.UpdateOption(dhcpv4.OptGeneric(code, v))
		}
	}
	for _, m := range mods {
		m(r)
	}
	return r
}

func bootModifiers(o *Offer, server netip.Addr) []dhcpv4.Modifier {
	mods := []dhcpv4.Modifier{dhcpv4.WithOption(dhcpv4.OptBootFileName(o.File))}
	if len(o.File) < 128 {
		mods = append(mods, func(d *dhcpv4.DHCPv4) { d.BootFileName = o.File })
	}
	if o.TFTP {
		mods = append(mods, dhcpv4.WithOption(dhcpv4.OptTFTPServerName(server.String())))
	}
	if o.Class != "" {
		mods = append(mods, dhcpv4.WithOption(dhcpv4.OptClassIdentifier(o.Class)))
	}
	if o.Vendor != nil {
		mods = append(mods, dhcpv4.WithGeneric(dhcpv4.OptionVendorSpecificInformation, o.Vendor))
	}
	return mods
}

func ips(as []netip.Addr) []net.IP {
	out := make([]net.IP, len(as))
	for i, a := range as {
		out[i] = a.AsSlice()
	}
	return out
}

// logResult writes one structured log line per handled request: debug
// for the ordinary, info for a lease handed out, warn for NAK and DECLINE.
func (s *Server) logResult(req *dhcpv4.DHCPv4, res Result, dst net.Addr) {
	level := slog.LevelDebug
	switch res.Outcome {
	case OutcomeAck:
		level = slog.LevelInfo
	case OutcomeNak, OutcomeDecline:
		level = slog.LevelWarn
	}
	log := s.cfg.Logger
	if !log.Enabled(context.Background(), level) {
		return
	}
	attrs := []slog.Attr{
		slog.String("event", string(res.Outcome)),
		slog.String("mac", req.ClientHWAddr.String()),
		slog.String("xid", req.TransactionID.String()),
	}
	if res.Host.Address.IsValid() {
		attrs = append(attrs, slog.String("ip", res.Host.Address.Addr().String()), slog.String("host", res.Host.Name))
	}
	if !req.GatewayIPAddr.IsUnspecified() && req.GatewayIPAddr != nil {
		attrs = append(attrs, slog.String("relay", req.GatewayIPAddr.String()))
	}
	if res.Boot != nil {
		attrs = append(attrs, slog.String("boot", res.Boot.File))
	}
	if res.Reason != "" {
		attrs = append(attrs, slog.String("reason", res.Reason))
	}
	if dst != nil {
		attrs = append(attrs, slog.String("to", dst.String()))
	}
	log.LogAttrs(context.Background(), level, "dhcp "+req.MessageType().String(), attrs...)
}
