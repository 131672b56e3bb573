package trace

import (
	"fmt"
	"strings"
)

// Stages of a network boot, in the order of the PXE boot chain: where
// Diagnose says a boot stopped.
const (
	// StageDHCP: the firmware's DHCP exchange.
	StageDHCP = "dhcp"
	// StageBootFile: the iPXE binary, over TFTP or HTTP (UEFI HTTP boot).
	StageBootFile = "boot-file"
	// StageIPXE: iPXE's own DHCP exchange, which offers the script.
	StageIPXE = "ipxe"
	// StageScript: the host's iPXE script.
	StageScript = "script"
	// StageImage: the kernel and initramfs (and disk images).
	StageImage = "image"
	// StageInspection: the agent's inspection data (phase inspect).
	StageInspection = "inspection"
	// StageLookup: the agent looking up its node in Ironic.
	StageLookup = "lookup"
	// StageHeartbeat: the agent's heartbeats.
	StageHeartbeat = "heartbeat"
	// StageAgent: Ironic's commands to the agent.
	StageAgent = "agent"
)

// The stages in chain order, to compare them.
const (
	dhcpStage = iota
	bootFileStage
	ipxeStage
	scriptStage
	imageStage
	inspectionStage
	lookupStage
	heartbeatStage
	agentStage
)

// Verdict says where a boot stopped and the likely cause.
type Verdict struct {
	// Stage is the last stage of the boot chain the trace shows (one of
	// the Stage constants).
	Stage string `json:"stage"`
	// Message is one line: what happened last and what to check.
	Message string `json:"message"`
	// OK is true when nothing is wrong as far as the trace tells: the
	// boot is going on, or stops where it should (phase none).
	OK bool `json:"ok"`
}

func (v Verdict) String() string {
	state := "stopped at"
	if v.OK {
		state = "at"
	}
	return fmt.Sprintf("%s %s: %s", state, v.Stage, v.Message)
}

// Diagnose reads a MAC's events (oldest first, as Ring.Events returns
// them) and says where its last boot stopped and why, following the PXE
// boot chain: DHCP, the iPXE binary (TFTP or HTTP boot), iPXE's DHCP,
// the script, the images, the agent's inspection data, lookup,
// heartbeats and Ironic's commands. known says whether the MAC is in the
// host table now.
func Diagnose(events []Event, known bool) Verdict {
	if !known {
		return diagnoseUnknown(events)
	}
	var seen []Event
	unknown := 0
	for _, e := range events {
		if e.Kind == KindDHCPUnknown {
			unknown++
			continue
		}
		seen = append(seen, e)
	}
	if len(seen) == 0 {
		if unknown > 0 {
			return Verdict{Stage: StageDHCP, Message: fmt.Sprintf("%d DHCP request(s) came while the MAC was not in the host table "+
				"(the last at %s), none since it was added: restart the host's network boot", unknown, events[len(events)-1].Time.Format(timeFormat))}
		}
		return Verdict{Stage: StageDHCP, Message: "no DHCP request from this MAC: the machine did not PXE boot on this NIC, " +
			"or DHCP does not reach the proxy (VLAN, relay, another DHCP server answered first)"}
	}
	a := lastAttempt(seen)
	// The agent may send its inspection data after its lookup: refused
	// data is the verdict wherever the chain got to.
	if insp := a.of(inspectionStage); len(insp) > 0 && insp[len(insp)-1].Failed {
		return a.inspection()
	}
	switch a.reached {
	case dhcpStage:
		return a.dhcp()
	case bootFileStage:
		return a.bootFile()
	case ipxeStage:
		return a.ipxe()
	case scriptStage:
		return a.script()
	case imageStage:
		return a.image()
	case inspectionStage:
		return a.inspection()
	case lookupStage:
		return a.lookup()
	case heartbeatStage:
		return a.heartbeat()
	}
	return a.agent()
}

// timeFormat is how a verdict names a time.
const timeFormat = "2006-01-02 15:04:05 MST"

func diagnoseUnknown(events []Event) Verdict {
	n := 0
	var last Event
	for _, e := range events {
		if e.Kind == KindDHCPUnknown {
			n++
			last = e
		}
	}
	const add = "add the host (hosts file, BareMetalHost spec.bootMACAddress, or the inventory's bootMACAddress), " +
		"or check that this is the MAC of its boot interface"
	switch {
	case n > 0:
		return Verdict{Stage: StageDHCP, Message: fmt.Sprintf("the MAC is not in the host table: its %d DHCP request(s) "+
			"were ignored (the last at %s%s): %s", n, last.Time.Format(timeFormat), describeClient(last), add)}
	case len(events) > 0:
		return Verdict{Stage: StageDHCP, Message: "the MAC is no longer in the host table (the trace holds events from when it was): " +
			"the proxy ignores it now; " + add}
	}
	return Verdict{Stage: StageDHCP, Message: "the MAC is not in the host table and no request from it was seen: " + add}
}

// describeClient names the client's DHCP options, after a time.
func describeClient(e Event) string {
	var parts []string
	if v := e.Attrs[AttrArch]; v != "" {
		parts = append(parts, "option 93 "+v)
	}
	if v := e.Attrs[AttrVendorClass]; v != "" {
		parts = append(parts, "option 60 "+v)
	}
	if v := e.Attrs[AttrUserClass]; v != "" {
		parts = append(parts, "option 77 "+v)
	}
	if len(parts) == 0 {
		return ""
	}
	return ", " + strings.Join(parts, ", ")
}

// stageOf is the stage an event belongs to; a DHCP exchange offering
// the iPXE script belongs to iPXE's.
func stageOf(e Event) int {
	switch e.Kind {
	case KindTFTP, KindBinary:
		return bootFileStage
	case KindScript:
		return scriptStage
	case KindImage:
		return imageStage
	case KindInspection:
		return inspectionStage
	case KindLookup:
		return lookupStage
	case KindHeartbeat:
		return heartbeatStage
	case KindCommand:
		return agentStage
	}
	if e.Attrs[AttrOffer] == OfferScript {
		return ipxeStage
	}
	return dhcpStage
}

// bootOffer reports whether e is a DHCP reply with a boot file.
func bootOffer(e Event) bool {
	return (e.Kind == KindDHCPOffer || e.Kind == KindDHCPAck) && e.Attrs[AttrOffered] != ""
}

// attempt is the events of the last boot: from the last boot offer that
// started over a chain already further on (a reboot).
type attempt struct {
	events  []Event
	reached int // the furthest stage
	// firmware is the last boot offer of an iPXE binary (nil when the
	// client was iPXE from the start, or its DHCP left the trace), at
	// index firmwareAt of events.
	firmware   *Event
	firmwareAt int
}

func lastAttempt(events []Event) attempt {
	start, reached := 0, dhcpStage
	for i, e := range events {
		s := stageOf(e)
		if bootOffer(e) && reached > s {
			start, reached = i, s
		}
		reached = max(reached, s)
	}
	a := attempt{events: events[start:], reached: reached}
	for i := range a.events {
		if e := a.events[i]; bootOffer(e) && e.Attrs[AttrOffer] != OfferScript {
			a.firmware, a.firmwareAt = &a.events[i], i
		}
	}
	return a
}

// of returns the attempt's events of a stage.
func (a attempt) of(stage int) []Event {
	var out []Event
	for _, e := range a.events {
		if stageOf(e) == stage {
			out = append(out, e)
		}
	}
	return out
}

// ok reports whether any event succeeded, and returns the last event.
func ok(events []Event) (bool, Event) {
	okay := false
	for _, e := range events {
		okay = okay || !e.Failed
	}
	return okay, events[len(events)-1]
}

func attr(e Event, k, def string) string {
	if v := e.Attrs[k]; v != "" {
		return v
	}
	return def
}
