package trace_test

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/metalgit/metalgit/boot/trace"
)

// Event builders for the boot chain.

func dhcpEv(kind string, attrs map[string]string) trace.Event {
	return trace.Event{Server: trace.ServerDHCP, Kind: kind, Failed: kind == trace.KindDHCPNak || kind == trace.KindDHCPDecline,
		Attrs: attrs}
}

func offerOf(kind, offer, file string) trace.Event {
	return dhcpEv(kind, map[string]string{trace.AttrOffer: offer, trace.AttrOffered: file, trace.AttrSiaddr: "192.168.100.2",
		trace.AttrAddress: "192.168.100.3"})
}

// firmwareTFTP is the DORA of PXE firmware offered undionly.kpxe.
func firmwareTFTP() []trace.Event {
	return []trace.Event{offerOf(trace.KindDHCPOffer, trace.OfferTFTP, "undionly.kpxe"), offerOf(trace.KindDHCPAck, trace.OfferTFTP, "undionly.kpxe")}
}

const scriptURL = "http://192.168.100.2:8080/boot/02-00-00-00-00-01.ipxe"

// ipxeDORA is iPXE's DORA, offered the script.
func ipxeDORA() []trace.Event {
	return []trace.Event{offerOf(trace.KindDHCPOffer, trace.OfferScript, scriptURL), offerOf(trace.KindDHCPAck, trace.OfferScript, scriptURL)}
}

func tftpEv(result, reason string) trace.Event {
	e := trace.Event{Server: trace.ServerTFTP, Kind: trace.KindTFTP, Failed: result == "failed" || result == "refused",
		Attrs: map[string]string{trace.AttrFile: "undionly.kpxe", trace.AttrResult: result}}
	if reason != "" {
		e.Attrs[trace.AttrReason] = reason
	}
	return e
}

func httpEv(server, kind string, failed bool, attrs ...string) trace.Event {
	e := trace.Event{Server: server, Kind: kind, Failed: failed, Detail: kind + " detail", Attrs: map[string]string{}}
	for i := 0; i+1 < len(attrs); i += 2 {
		e.Attrs[attrs[i]] = attrs[i+1]
	}
	return e
}

func scriptEv(which string) trace.Event {
	return httpEv(trace.ServerHTTP, trace.KindScript, false, trace.AttrScript, which, trace.AttrStatus, "200")
}

func imageEv(file string, failed bool, status string) trace.Event {
	return httpEv(trace.ServerHTTP, trace.KindImage, failed, trace.AttrFile, file, trace.AttrStatus, status)
}

func cb(kind string, failed bool, status string) trace.Event {
	return httpEv(trace.ServerCallback, kind, failed, trace.AttrStatus, status, trace.AttrCallbackURL, "http://192.168.100.3:9999")
}

// chain joins event sequences.
func chain(parts ...any) []trace.Event {
	var out []trace.Event
	for _, p := range parts {
		switch p := p.(type) {
		case trace.Event:
			out = append(out, p)
		case []trace.Event:
			out = append(out, p...)
		}
	}
	return out
}

// booted is a whole inspection boot up to the agent's heartbeat.
func booted() []trace.Event {
	return chain(firmwareTFTP(), tftpEv("completed", ""), ipxeDORA(), scriptEv(trace.ScriptInspector),
		imageEv("vmlinuz", false, "200"), imageEv("initramfs", false, "200"), cb(trace.KindLookup, false, "200"),
		cb(trace.KindHeartbeat, false, "202"))
}

func TestDiagnose(t *testing.T) {
	cases := map[string]struct {
		events []trace.Event
		known  bool
		stage  string
		ok     bool
		says   string // a part of the message
	}{
		"nothing at all": {
			known: true, stage: trace.StageDHCP,
			says: "no DHCP request from this MAC: the machine did not PXE boot on this NIC, or DHCP does not reach the proxy (VLAN, relay, another DHCP server answered first)",
		},
		"unknown MAC, never seen": {stage: trace.StageDHCP, says: "the MAC is not in the host table and no request from it was seen"},
		"unknown MAC, requests ignored": {
			events: []trace.Event{dhcpEv(trace.KindDHCPUnknown, map[string]string{trace.AttrArch: "7"}), dhcpEv(trace.KindDHCPUnknown, map[string]string{trace.AttrArch: "7"})},
			stage:  trace.StageDHCP, says: "the MAC is not in the host table: its 2 DHCP request(s) were ignored",
		},
		"unknown MAC that was known": {
			events: firmwareTFTP(), stage: trace.StageDHCP, says: "the MAC is no longer in the host table",
		},
		"requests only from before the MAC was added": {
			events: []trace.Event{dhcpEv(trace.KindDHCPUnknown, nil)}, known: true,
			stage: trace.StageDHCP, says: "1 DHCP request(s) came while the MAC was not in the host table",
		},
		"offered, not requested": {
			events: firmwareTFTP()[:1], known: true,
			stage: trace.StageDHCP, says: "OFFER of undionly.kpxe sent but never REQUESTed",
		},
		"another server chosen": {
			events: chain(firmwareTFTP()[0], dhcpEv(trace.KindDHCPOtherServer, map[string]string{trace.AttrServerID: "10.9.9.9"})), known: true,
			stage: trace.StageDHCP, says: "the client chose the offer of another DHCP server (10.9.9.9)",
		},
		"NAK": {
			events: []trace.Event{dhcpEv(trace.KindDHCPNak, map[string]string{trace.AttrReason: "requested 10.0.0.5, the host's address is 192.168.100.3"})},
			known:  true, stage: trace.StageDHCP, says: "the proxy NAKed the host's REQUEST (requested 10.0.0.5",
		},
		"DECLINE": {
			events: chain(firmwareTFTP(), dhcpEv(trace.KindDHCPDecline, map[string]string{trace.AttrAddress: "192.168.100.3"})), known: true,
			stage: trace.StageDHCP, says: "the host declined its address 192.168.100.3: another machine",
		},
		"phase none": {
			events: []trace.Event{dhcpEv(trace.KindDHCPOffer, map[string]string{trace.AttrReason: "phase none", trace.AttrAddress: "192.168.100.3"})},
			known:  true, stage: trace.StageDHCP, ok: true, says: "phase none: the host gets its lease (192.168.100.3) but no boot offer",
		},
		"an OS's DHCP client": {
			events: []trace.Event{dhcpEv(trace.KindDHCPAck, map[string]string{trace.AttrReason: "no client architecture (option 93): not a network boot"})},
			known:  true, stage: trace.StageDHCP, says: "DHCP requests without option 93",
		},
		"unsupported architecture": {
			events: []trace.Event{dhcpEv(trace.KindDHCPOffer, map[string]string{trace.AttrReason: "client architecture 2 (EFI Itanium) is not booted by this server"})},
			known:  true, stage: trace.StageDHCP, says: "no boot file offered: client architecture 2",
		},
		"TFTP never fetched": {
			events: firmwareTFTP(), known: true, stage: trace.StageDHCP,
			says: "offered undionly.kpxe over TFTP from 192.168.100.2, never fetched: TFTP blocked (a firewall, no --tftp-listen) or wrong siaddr/next-server (--server-ip)",
		},
		"TFTP refused": {
			events: chain(firmwareTFTP(), tftpEv("refused", "not-found")), known: true, stage: trace.StageBootFile,
			says: "TFTP of undionly.kpxe refused (not-found): the file is not in --tftp-root",
		},
		"TFTP failed": {
			events: chain(firmwareTFTP(), tftpEv("failed", "timeout")), known: true, stage: trace.StageBootFile,
			says: "TFTP of undionly.kpxe failed (timeout): the client stopped acknowledging",
		},
		"TFTP probe only": {
			events: chain(firmwareTFTP(), tftpEv("probe", "")), known: true, stage: trace.StageBootFile, says: "only size probes of undionly.kpxe",
		},
		"TFTP failed, then fetched: iPXE never asked": {
			events: chain(firmwareTFTP(), tftpEv("failed", "timeout"), tftpEv("completed", "")), known: true, stage: trace.StageBootFile,
			says: "undionly.kpxe was fetched, but iPXE never asked DHCP for its script",
		},
		"chainload loop: user class not iPXE's": {
			events: chain(firmwareTFTP(), tftpEv("completed", ""),
				dhcpEv(trace.KindDHCPOffer, map[string]string{trace.AttrOffer: trace.OfferTFTP, trace.AttrOffered: "undionly.kpxe", trace.AttrUserClass: "metal"}),
				dhcpEv(trace.KindDHCPAck, map[string]string{trace.AttrOffer: trace.OfferTFTP, trace.AttrOffered: "undionly.kpxe", trace.AttrUserClass: "metal"}),
				tftpEv("completed", "")),
			known: true, stage: trace.StageBootFile, says: `answered user class "metal": if that is iPXE (an embedded script), set --user-class metal`,
		},
		"UEFI HTTP boot never fetched": {
			events: []trace.Event{offerOf(trace.KindDHCPOffer, trace.OfferHTTPBoot, "http://192.168.100.2:8080/snponly.efi"),
				offerOf(trace.KindDHCPAck, trace.OfferHTTPBoot, "http://192.168.100.2:8080/snponly.efi")},
			known: true, stage: trace.StageDHCP, says: "offered http://192.168.100.2:8080/snponly.efi for UEFI HTTP boot, never fetched",
		},
		"UEFI HTTP boot failed": {
			events: chain(offerOf(trace.KindDHCPAck, trace.OfferHTTPBoot, "http://x/snponly.efi"),
				httpEv(trace.ServerHTTP, trace.KindBinary, true, trace.AttrFile, "snponly.efi", trace.AttrStatus, "404")),
			known: true, stage: trace.StageBootFile, says: "HTTP boot of snponly.efi failed (status 404)",
		},
		"UEFI HTTP boot to the script, no TFTP": {
			events: chain(offerOf(trace.KindDHCPAck, trace.OfferHTTPBoot, "http://x/snponly.efi"),
				httpEv(trace.ServerHTTP, trace.KindBinary, false, trace.AttrFile, "snponly.efi", trace.AttrStatus, "200"), ipxeDORA()),
			known: true, stage: trace.StageIPXE, says: "iPXE was offered its script " + scriptURL + " but never fetched it: the HTTP server is unreachable",
		},
		"iPXE ROM: script offered, not requested": {
			events: ipxeDORA()[:1], known: true, stage: trace.StageIPXE, says: "but never REQUESTed it",
		},
		"script failed": {
			events: chain(ipxeDORA(), httpEv(trace.ServerHTTP, trace.KindScript, true, trace.AttrStatus, "500")), known: true,
			stage: trace.StageScript, says: "the iPXE script failed (status 500)",
		},
		"script for phase none": {
			events: chain(ipxeDORA(), scriptEv(trace.ScriptNone)), known: true, stage: trace.StageScript, ok: true,
			says: "the script for phase none was served",
		},
		"script of an unknown host": {
			events: chain(ipxeDORA(), scriptEv(trace.ScriptUnknown)), known: true, stage: trace.StageScript, says: "did not know this MAC",
		},
		"script, no images": {
			events: chain(ipxeDORA(), scriptEv(trace.ScriptInstaller)), known: true, stage: trace.StageScript,
			says: "the iPXE script was fetched but no kernel or initramfs was asked for",
		},
		"initramfs failed upstream": {
			events: chain(ipxeDORA(), scriptEv(trace.ScriptInspector), imageEv("vmlinuz", false, "200"), imageEv("initramfs", true, "502")),
			known:  true, stage: trace.StageImage, says: "initramfs failed (status 502): the image proxy's upstream (Ironic's HTTP server)",
		},
		"image failed, then fetched on retry": {
			events: chain(ipxeDORA(), scriptEv(trace.ScriptInspector), imageEv("vmlinuz", true, "502"), imageEv("vmlinuz", false, "200"),
				imageEv("initramfs", false, "200")),
			known: true, stage: trace.StageImage,
			says: "the kernel and initramfs were fetched, but the agent never called back: --callback-url unreachable from the host, or the ramdisk lacks network",
		},
		"lookup: node not in Ironic": {
			events: chain(booted()[:8], cb(trace.KindLookup, true, "404")), known: true, stage: trace.StageLookup,
			says: "the agent's lookup failed (status 404): the node is not in Ironic, or it has no port with this MAC",
		},
		"lookup, no heartbeat": {
			events: booted()[:9], known: true, stage: trace.StageLookup, says: "never heartbeated",
		},
		"heartbeats refused": {
			events: chain(booted(), cb(trace.KindHeartbeat, true, "409")), known: true, stage: trace.StageHeartbeat,
			says: "heartbeats refused (status 409, callback_url http://192.168.100.3:9999): a conflict: a changed callback_url",
		},
		"heartbeat accepted, waiting for Ironic": {
			events: booted(), known: true, stage: trace.StageHeartbeat, ok: true, says: "no agent command yet: fine",
		},
		"inspection data refused": {
			events: chain(booted()[:8], cb(trace.KindInspection, true, "400")), known: true, stage: trace.StageInspection,
			says: "the inspection data was refused (status 400)",
		},
		"inspection data refused after the heartbeats": {
			events: chain(booted(), cb(trace.KindInspection, true, "500")), known: true, stage: trace.StageInspection,
			says: "the inspection data was refused (status 500)",
		},
		"inspection data accepted, then heartbeats": {
			events: chain(booted()[:8], cb(trace.KindInspection, false, "202"), booted()[8:]), known: true, stage: trace.StageHeartbeat, ok: true,
			says: "no agent command yet",
		},
		"inspection data accepted, nothing after": {
			events: chain(booted()[:8], cb(trace.KindInspection, false, "202")), known: true, stage: trace.StageInspection, ok: true,
			says: "inspection data accepted",
		},
		"agent command failed": {
			events: chain(booted(), cb(trace.KindCommand, true, "502")), known: true, stage: trace.StageAgent,
			says: "Ironic's call to the agent failed (status 502)",
		},
		"agent working": {
			events: chain(booted(), cb(trace.KindCommand, false, "200")), known: true, stage: trace.StageAgent, ok: true,
			says: "the agent runs Ironic's commands",
		},
		"the ramdisk's own DHCP does not start a new boot": {
			events: chain(booted(), dhcpEv(trace.KindDHCPAck, map[string]string{trace.AttrReason: "no client architecture (option 93): not a network boot"})),
			known:  true, stage: trace.StageHeartbeat, ok: true, says: "no agent command yet",
		},
		"a reboot starts over": {
			events: chain(booted(), cb(trace.KindCommand, false, "200"), firmwareTFTP()), known: true, stage: trace.StageDHCP,
			says: "offered undionly.kpxe over TFTP from 192.168.100.2, never fetched",
		},
		"iPXE asking again after its script starts over": {
			events: chain(ipxeDORA(), scriptEv(trace.ScriptInspector), ipxeDORA()), known: true, stage: trace.StageIPXE,
			says: "but never fetched it",
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			at := time.Date(2026, 12, 4, 10, 0, 0, 0, time.UTC)
			for i := range tc.events {
				tc.events[i].Time = at.Add(time.Duration(i) * time.Second)
			}
			v := trace.Diagnose(tc.events, tc.known)
			if v.Stage != tc.stage || v.OK != tc.ok || !strings.Contains(v.Message, tc.says) {
				t.Errorf("verdict %s (ok %v)\nwant stage %s, ok %v, a message with %q", v, v.OK, tc.stage, tc.ok, tc.says)
			}
		})
	}
}

func TestVerdictString(t *testing.T) {
	for _, tc := range []struct {
		v    trace.Verdict
		want string
	}{
		{trace.Verdict{Stage: "tftp", Message: "x"}, "stopped at tftp: x"},
		{trace.Verdict{Stage: "agent", Message: "y", OK: true}, "at agent: y"},
	} {
		if diff := cmp.Diff(tc.want, tc.v.String()); diff != "" {
			t.Error(diff)
		}
	}
}
