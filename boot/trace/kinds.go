package trace

// Servers that record events.
const (
	ServerDHCP     = "dhcp"
	ServerTFTP     = "tftp"
	ServerHTTP     = "http"
	ServerCallback = "callback"
)

// Kinds of events, by server.
const (
	// DHCP: a DISCOVER answered with an OFFER, a REQUEST with an ACK or
	// NAK, an INFORM with an ACK; a RELEASE or DECLINE received; a
	// REQUEST selecting another server; a request of a known host
	// ignored; a request of an unknown MAC ignored (RecordUnknown).
	KindDHCPOffer       = "dhcp-offer"
	KindDHCPAck         = "dhcp-ack"
	KindDHCPNak         = "dhcp-nak"
	KindDHCPInform      = "dhcp-inform"
	KindDHCPRelease     = "dhcp-release"
	KindDHCPDecline     = "dhcp-decline"
	KindDHCPOtherServer = "dhcp-other-server"
	KindDHCPIgnored     = "dhcp-ignored"
	KindDHCPUnknown     = "dhcp-unknown-mac"
	// TFTP: a transfer ended (Failed when it did not complete).
	KindTFTP = "tftp"
	// HTTP: an iPXE script, a boot binary, an image (kernel, initramfs,
	// disk image) served or failed.
	KindScript = "script"
	KindBinary = "binary"
	KindImage  = "image"
	// Callback proxy: the agent's lookup, heartbeat and inspection data
	// passed to Ironic, and Ironic's calls to the agent.
	KindLookup     = "lookup"
	KindHeartbeat  = "heartbeat"
	KindInspection = "inspection"
	KindCommand    = "agent-command"
)

// kindsOf are the kinds each server records: the label values of
// metalgit_trace_events_total that exist from the start.
var kindsOf = map[string][]string{
	ServerDHCP: {KindDHCPOffer, KindDHCPAck, KindDHCPNak, KindDHCPInform, KindDHCPRelease, KindDHCPDecline,
		KindDHCPOtherServer, KindDHCPIgnored, KindDHCPUnknown},
	ServerTFTP:     {KindTFTP},
	ServerHTTP:     {KindScript, KindBinary, KindImage},
	ServerCallback: {KindLookup, KindHeartbeat, KindInspection, KindCommand},
}

// Attribute keys that Diagnose reads. Servers may add others.
const (
	// DHCP: the request's option 93 (decimal), 60 and 77; the boot file
	// offered (a TFTP file name, an HTTP boot URL or the iPXE script
	// URL) and what it is (AttrOffer: OfferTFTP, …); siaddr (next-server);
	// the host's address; giaddr when relayed; why no boot file was
	// offered, or why a request was refused or ignored; the server a
	// REQUEST selected (option 54).
	AttrArch        = "arch"
	AttrVendorClass = "vendorClass"
	AttrUserClass   = "userClass"
	AttrOffered     = "offered"
	AttrOffer       = "offer"
	AttrSiaddr      = "siaddr"
	AttrAddress     = "address"
	AttrRelay       = "relay"
	AttrReason      = "reason"
	AttrServerID    = "server"
	// TFTP and HTTP: the file, the bytes sent; TFTP: the block size, the
	// window (blocks per acknowledgement) and the result (completed,
	// probe, failed, refused).
	AttrFile       = "file"
	AttrBytes      = "bytes"
	AttrBlksize    = "blksize"
	AttrWindowsize = "windowsize"
	AttrResult     = "result"
	// HTTP and callback: the HTTP status answered (or Ironic's); HTTP:
	// which script was served (ScriptInspector, …).
	AttrStatus = "status"
	AttrScript = "script"
	// Callback: the Ironic node and the agent's callback URL.
	AttrNode        = "node"
	AttrCallbackURL = "callback_url"
)

// Values of AttrOffer: the boot file offered is an iPXE binary fetched
// over TFTP from siaddr, one fetched over HTTP (UEFI HTTP boot), or the
// host's iPXE script (the client is iPXE).
const (
	OfferTFTP     = "tftp"
	OfferHTTPBoot = "http-boot"
	OfferScript   = "ipxe-script"
)

// Values of AttrScript.
const (
	ScriptInspector = "inspector"
	ScriptInstaller = "installer"
	ScriptUnknown   = "unknown"
	ScriptNone      = "none"
)
