package dhcp

import (
	"strconv"

	"github.com/insomniacslk/dhcp/dhcpv4"

	"github.com/metalgit/metalgit/boot/trace"
)

// traceKinds are the boot trace kinds of the outcomes recorded; the
// other outcomes (a packet that is no request of an Ethernet client)
// have no MAC worth recording.
var traceKinds = map[Outcome]string{
	OutcomeOffer:       trace.KindDHCPOffer,
	OutcomeAck:         trace.KindDHCPAck,
	OutcomeNak:         trace.KindDHCPNak,
	OutcomeInformAck:   trace.KindDHCPInform,
	OutcomeRelease:     trace.KindDHCPRelease,
	OutcomeDecline:     trace.KindDHCPDecline,
	OutcomeOtherServer: trace.KindDHCPOtherServer,
	OutcomeIgnored:     trace.KindDHCPIgnored,
	OutcomeUnknownMAC:  trace.KindDHCPUnknown,
}

// record adds one exchange to the boot trace; it is called again with
// sendErr when the reply could not be sent.
func (s *Server) record(req *dhcpv4.DHCPv4, res Result, sendErr error) {
	if s.cfg.Trace == nil {
		return
	}
	kind, ok := traceKinds[res.Outcome]
	if !ok || (res.Outcome == OutcomeIgnored && res.Host.MAC == nil) {
		return
	}
	attrs := requestAttrs(req)
	if res.Host.Address.IsValid() {
		attrs[trace.AttrAddress] = res.Host.Address.Addr().String()
	}
	if res.Reason != "" {
		attrs[trace.AttrReason] = res.Reason
	}
	if res.Boot != nil {
		attrs[trace.AttrOffered] = res.Boot.File
		switch {
		case res.Boot.Script:
			attrs[trace.AttrOffer] = trace.OfferScript
		case res.Boot.TFTP:
			attrs[trace.AttrOffer] = trace.OfferTFTP
		default:
			attrs[trace.AttrOffer] = trace.OfferHTTPBoot
		}
	}
	if res.Reply != nil && res.Outcome != OutcomeNak {
		attrs[trace.AttrSiaddr] = s.cfg.ServerIP.String()
	}
	if sid := req.ServerIdentifier(); sid != nil && res.Outcome == OutcomeOtherServer {
		attrs[trace.AttrServerID] = sid.String()
	}
	e := trace.Event{Server: trace.ServerDHCP, Kind: kind, Detail: s.detail(req, res),
		Failed: res.Outcome == OutcomeNak || res.Outcome == OutcomeDecline || sendErr != nil, Attrs: attrs}
	if sendErr != nil {
		e.Detail = "the " + res.Reply.MessageType().String() + " could not be sent: " + sendErr.Error()
	}
	if res.Outcome == OutcomeUnknownMAC {
		s.cfg.Trace.RecordUnknown(req.ClientHWAddr, e)
		return
	}
	s.cfg.Trace.Record(req.ClientHWAddr, e)
}

// requestAttrs are the facts of the request a diagnosis reads: options
// 93, 60 and 77, and giaddr.
func requestAttrs(req *dhcpv4.DHCPv4) map[string]string {
	attrs := make(map[string]string, 10)
	if archs := req.ClientArch(); len(archs) > 0 {
		attrs[trace.AttrArch] = strconv.Itoa(int(archs[0]))
	}
	if c := req.ClassIdentifier(); c != "" {
		attrs[trace.AttrVendorClass] = c
	}
	if uc := req.Options.Get(dhcpv4.OptionUserClassInformation); uc != nil {
		attrs[trace.AttrUserClass] = string(uc)
	}
	if isSet(req.GatewayIPAddr) {
		attrs[trace.AttrRelay] = req.GatewayIPAddr.String()
	}
	return attrs
}

// detail is the event's line: the request, the answer and what it offers.
func (s *Server) detail(req *dhcpv4.DHCPv4, res Result) string {
	in := req.MessageType().String()
	addr := ""
	if res.Host.Address.IsValid() {
		addr = " " + res.Host.Address.Addr().String()
	}
	switch res.Outcome {
	case OutcomeOffer, OutcomeAck, OutcomeInformAck:
		out := in + " → " + res.Reply.MessageType().String() + addr
		switch {
		case res.Boot == nil:
			return out + ", no boot file: " + res.Reason
		case res.Boot.TFTP:
			return out + ", " + res.Boot.File + " over TFTP from " + s.cfg.ServerIP.String()
		}
		return out + ", " + res.Boot.File
	case OutcomeNak:
		return in + " → NAK: " + res.Reason
	case OutcomeRelease:
		return "RELEASE of" + addr
	case OutcomeDecline:
		return "DECLINE of" + addr + ": the client found the address in use"
	case OutcomeOtherServer:
		return in + " ignored: " + res.Reason
	case OutcomeUnknownMAC:
		return in + " ignored: the MAC is not in the host table"
	}
	return in + " ignored: " + res.Reason
}
