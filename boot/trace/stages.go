package trace

import (
	"fmt"
	"strings"
)

// The verdict of each stage reached last: what failed there, or what
// did not follow it.

// dhcp: the DHCP exchange is all there is.
func (a attempt) dhcp() Verdict {
	v := func(msg string) Verdict { return Verdict{Stage: StageDHCP, Message: msg} }
	evs := a.of(dhcpStage)
	last := evs[len(evs)-1]
	switch last.Kind {
	case KindDHCPDecline:
		return v(fmt.Sprintf("the host declined its address %s: another machine on the network holds it (find it by the address)",
			attr(last, AttrAddress, "")))
	case KindDHCPNak:
		return v("the proxy NAKed the host's REQUEST (" + attr(last, AttrReason, "") + "): the client asked for an address " +
			"another DHCP server gave it; it should start over with a DISCOVER")
	case KindDHCPOtherServer:
		return v(fmt.Sprintf("the client chose the offer of another DHCP server (%s): stop that server answering this MAC, "+
			"or keep it off the provisioning network", attr(last, AttrServerID, "unknown")))
	}
	if a.firmware != nil {
		f := *a.firmware
		if !acked(a.events, a.firmwareAt) {
			return v(fmt.Sprintf("OFFER of %s sent but never REQUESTed: the client took another DHCP server's offer, "+
				"or the OFFER does not reach it (relay, VLAN, --interface)", f.Attrs[AttrOffered]))
		}
		return a.firmwareNotFetched()
	}
	// Replies without a boot file.
	why := attr(last, AttrReason, "")
	switch {
	case why == "phase none":
		return Verdict{Stage: StageDHCP, OK: true, Message: fmt.Sprintf("phase none: the host gets its lease (%s) but no boot "+
			"offer, and boots from its disk; it boots from the network in phase inspect or deploy", attr(last, AttrAddress, ""))}
	case strings.HasPrefix(why, "no client architecture"):
		return v("DHCP requests without option 93 (an operating system's DHCP client, not PXE firmware): the host booted " +
			"from disk; put network boot first in its boot order, on this NIC")
	case why != "":
		return v("no boot file offered: " + why)
	}
	return v("the DHCP exchange did not finish: " + last.Detail)
}

// acked reports whether the reply evs[i] is an ACK or an ACK follows it.
func acked(evs []Event, i int) bool {
	for _, e := range evs[i:] {
		if e.Kind == KindDHCPAck {
			return true
		}
	}
	return false
}

// bootFile: the iPXE binary was asked for over TFTP or HTTP boot.
func (a attempt) bootFile() Verdict {
	v := func(msg string) Verdict { return Verdict{Stage: StageBootFile, Message: msg} }
	evs := a.of(bootFileStage)
	var fetched []Event // probes (not failed) are not fetches
	for _, e := range evs {
		if !e.Failed && e.Attrs[AttrResult] != "probe" {
			fetched = append(fetched, e)
		}
	}
	if len(fetched) > 0 {
		msg := fmt.Sprintf("%s was fetched, but iPXE never asked DHCP for its script: the binary did not start "+
			"(snponly.efi needs the firmware's network driver: try --efi-binary ipxe.efi), or its DHCP does not reach the proxy",
			fetched[len(fetched)-1].Attrs[AttrFile])
		if a.firmware != nil && a.firmware.Attrs[AttrUserClass] != "" {
			msg += fmt.Sprintf("; the last boot offer answered user class %q: if that is iPXE (an embedded script), "+
				"set --user-class %s, or it loops", a.firmware.Attrs[AttrUserClass], a.firmware.Attrs[AttrUserClass])
		}
		return Verdict{Stage: StageBootFile, OK: false, Message: msg}
	}
	last := evs[len(evs)-1]
	if !last.Failed {
		return v(fmt.Sprintf("only size probes of %s (EDK2 asks the size first), then nothing: the transfer itself never "+
			"came; a firewall dropping TFTP's data ports?", last.Attrs[AttrFile]))
	}
	if last.Kind == KindBinary {
		return v(fmt.Sprintf("HTTP boot of %s failed (status %s): %s", attr(last, AttrFile, "the binary"),
			attr(last, AttrStatus, "?"), last.Detail))
	}
	hint := map[string]string{
		"not-found":    "the file is not in --tftp-root",
		"outside-root": "a symbolic link out of --tftp-root (copy the file in)",
		"permission":   "the proxy may not read the file",
		"busy":         "too many transfers at once: the client should retry",
		"client-busy":  "too many transfers from this address at once: the client should retry",
		"evicted": "the client acknowledged nothing before newer requests needed the slot: a flood of TFTP requests " +
			"on the provisioning network, or a client that does not receive the server's packets",
	}[last.Attrs[AttrReason]]
	if hint == "" {
		hint = "the client stopped acknowledging: a firewall, or a block size the path's MTU drops"
	}
	return v(fmt.Sprintf("TFTP of %s %s (%s): %s", attr(last, AttrFile, "?"), attr(last, AttrResult, "failed"),
		attr(last, AttrReason, "?"), hint))
}

// ipxe reports on the firmware's offer when no binary was fetched, and on
// iPXE's DHCP when it was.
func (a attempt) ipxe() Verdict {
	at := -1
	for i, e := range a.events {
		if bootOffer(e) && e.Attrs[AttrOffer] == OfferScript {
			at = i
		}
	}
	url := a.events[at].Attrs[AttrOffered]
	if !acked(a.events, at) {
		return Verdict{Stage: StageIPXE, Message: fmt.Sprintf("iPXE was offered its script %s but never REQUESTed it: "+
			"it took another DHCP server's offer, or the OFFER does not reach it", url)}
	}
	return Verdict{Stage: StageIPXE, Message: fmt.Sprintf("iPXE was offered its script %s but never fetched it: the HTTP "+
		"server is unreachable from the host (wrong --http-url, a firewall)", url)}
}

// firmwareNotFetched is the verdict when the firmware's boot file was
// never asked for: called from dhcp's stage through Diagnose.
func (a attempt) firmwareNotFetched() Verdict {
	f := *a.firmware
	if f.Attrs[AttrOffer] == OfferHTTPBoot {
		return Verdict{Stage: StageDHCP, Message: fmt.Sprintf("offered %s for UEFI HTTP boot, never fetched: the HTTP server "+
			"is unreachable from the host (wrong --http-url, a firewall)", f.Attrs[AttrOffered])}
	}
	return Verdict{Stage: StageDHCP, Message: fmt.Sprintf("offered %s over TFTP from %s, never fetched: TFTP blocked "+
		"(a firewall, no --tftp-listen) or wrong siaddr/next-server (--server-ip)", f.Attrs[AttrOffered], attr(f, AttrSiaddr, "?"))}
}

func (a attempt) script() Verdict {
	v := func(msg string) Verdict { return Verdict{Stage: StageScript, Message: msg} }
	evs := a.of(scriptStage)
	last := evs[len(evs)-1]
	switch {
	case last.Failed:
		return v(fmt.Sprintf("the iPXE script failed (status %s): %s", attr(last, AttrStatus, "?"), last.Detail))
	case last.Attrs[AttrScript] == ScriptNone:
		return Verdict{Stage: StageScript, OK: true, Message: "the script for phase none was served: iPXE exits and the host " +
			"boots from its disk; it boots a ramdisk in phase inspect or deploy"}
	case last.Attrs[AttrScript] == ScriptUnknown:
		return v("the HTTP server did not know this MAC when iPXE asked for its script: the host left the table " +
			"between DHCP and HTTP?")
	}
	return v("the iPXE script was fetched but no kernel or initramfs was asked for: the script failed on the host " +
		"(see its console), or the image URLs in it are unreachable from the host")
}

func (a attempt) image() Verdict {
	evs := a.of(imageStage)
	lastOf := map[string]Event{}
	var files []string
	for _, e := range evs {
		f := attr(e, AttrFile, "the image")
		if _, ok := lastOf[f]; !ok {
			files = append(files, f)
		}
		lastOf[f] = e
	}
	for _, f := range files {
		if e := lastOf[f]; e.Failed {
			return Verdict{Stage: StageImage, Message: fmt.Sprintf("%s failed (status %s): the image proxy's upstream "+
				"(Ironic's HTTP server) answered an error or the transfer broke: %s", f, attr(e, AttrStatus, "?"), e.Detail)}
		}
	}
	return Verdict{Stage: StageImage, Message: "the kernel and initramfs were fetched, but the agent never called back: " +
		"--callback-url unreachable from the host, or the ramdisk lacks network (drivers, kernel params)"}
}

func (a attempt) inspection() Verdict {
	evs := a.of(inspectionStage)
	if good, last := ok(evs); !good || last.Failed {
		return Verdict{Stage: StageInspection, Message: fmt.Sprintf("the inspection data was refused (status %s): %s",
			attr(last, AttrStatus, "?"), last.Detail)}
	}
	return Verdict{Stage: StageInspection, OK: true, Message: "inspection data accepted; no lookup yet: Ironic ends " +
		"the inspection (the agent looks its node up when Ironic keeps it running)"}
}

func (a attempt) lookup() Verdict {
	evs := a.of(lookupStage)
	if good, last := ok(evs); !good {
		status := attr(last, AttrStatus, "?")
		why := "Ironic answered an error"
		if status == "404" {
			why = "the node is not in Ironic, or it has no port with this MAC"
		}
		return Verdict{Stage: StageLookup, Message: fmt.Sprintf("the agent's lookup failed (status %s): %s", status, why)}
	}
	return Verdict{Stage: StageLookup, Message: "the agent looked its node up but never heartbeated: it stopped after " +
		"its lookup (see its log on the console), or the callback proxy is unreachable from it"}
}

func (a attempt) heartbeat() Verdict {
	evs := a.of(heartbeatStage)
	last := evs[len(evs)-1]
	if last.Failed {
		why := "Ironic refuses them"
		if attr(last, AttrStatus, "") == "409" {
			why = "a conflict: a changed callback_url, or the node is locked"
		}
		return Verdict{Stage: StageHeartbeat, Message: fmt.Sprintf("heartbeats refused (status %s, callback_url %s): %s",
			attr(last, AttrStatus, "?"), attr(last, AttrCallbackURL, "?"), why)}
	}
	return Verdict{Stage: StageHeartbeat, OK: true, Message: "heartbeats accepted, no agent command yet: fine, the agent " +
		"waits for Ironic (the node's provision state decides what comes next)"}
}

func (a attempt) agent() Verdict {
	evs := a.of(agentStage)
	last := evs[len(evs)-1]
	if last.Failed {
		return Verdict{Stage: StageAgent, Message: fmt.Sprintf("Ironic's call to the agent failed (status %s): %s; the proxy "+
			"reaches the agent on its lease address", attr(last, AttrStatus, "?"), last.Detail)}
	}
	return Verdict{Stage: StageAgent, OK: true, Message: "the agent runs Ironic's commands: " + last.Detail}
}
