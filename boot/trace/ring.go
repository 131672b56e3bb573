package trace

import (
	"container/list"
	"net"
	"sync"
	"time"
)

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
	// NAK, a request of an unknown MAC ignored.
	KindDHCPOffer   = "dhcp-offer"
	KindDHCPAck     = "dhcp-ack"
	KindDHCPNak     = "dhcp-nak"
	KindDHCPUnknown = "dhcp-unknown-mac"
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

// Event is one thing a server did for a MAC.
type Event struct {
	Time   time.Time `json:"time"`
	Server string    `json:"server"`
	Kind   string    `json:"kind"`
	// Detail is one human line: what was asked and what was answered.
	Detail string `json:"detail"`
	// Failed marks an event that did not succeed (a NAK, an aborted
	// transfer, an upstream error).
	Failed bool `json:"failed,omitempty"`
	// Attrs are the facts a diagnosis reads (file, arch, status, …).
	Attrs map[string]string `json:"attrs,omitempty"`
}

// Defaults of Config.
const (
	DefaultMaxEvents      = 128
	DefaultMaxMACs        = 4096
	DefaultMaxUnknownMACs = 256
)

// Config bounds a Ring.
type Config struct {
	// MaxEvents is the most events kept per MAC (DefaultMaxEvents).
	MaxEvents int
	// MaxMACs is the most MACs of known hosts kept (DefaultMaxMACs);
	// MaxUnknownMACs the most of unknown ones (DefaultMaxUnknownMACs).
	MaxMACs        int
	MaxUnknownMACs int
	// Now is the clock (time.Now when nil).
	Now func() time.Time
}

// Ring holds the recent events of each MAC. It is safe for concurrent
// use; the zero value is not: use New.
type Ring struct {
	cfg   Config
	mu    sync.Mutex
	macs  map[string]*entry
	known *list.List // of *entry, most recent first
	other *list.List
}

type entry struct {
	mac     string
	known   bool
	events  []Event // a ring of cfg.MaxEvents
	next    int     // where the next event goes once full
	element *list.Element
}

// New returns an empty ring.
func New(cfg Config) *Ring {
	if cfg.MaxEvents <= 0 {
		cfg.MaxEvents = DefaultMaxEvents
	}
	if cfg.MaxMACs <= 0 {
		cfg.MaxMACs = DefaultMaxMACs
	}
	if cfg.MaxUnknownMACs <= 0 {
		cfg.MaxUnknownMACs = DefaultMaxUnknownMACs
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Ring{cfg: cfg, macs: map[string]*entry{}, known: list.New(), other: list.New()}
}

// Record adds an event for a MAC of a host in the table. The event's
// Time is set when zero.
func (r *Ring) Record(mac net.HardwareAddr, e Event) { r.record(mac, true, e) }

// RecordUnknown adds an event for a MAC the host table does not know.
func (r *Ring) RecordUnknown(mac net.HardwareAddr, e Event) { r.record(mac, false, e) }

func (r *Ring) record(mac net.HardwareAddr, known bool, e Event) {
	if r == nil || len(mac) == 0 {
		return
	}
	if e.Time.IsZero() {
		e.Time = r.cfg.Now()
	}
	key := mac.String()
	r.mu.Lock()
	defer r.mu.Unlock()
	en := r.macs[key]
	if en != nil && known && !en.known {
		// A MAC that joined the table moves to the hosts' budget.
		r.other.Remove(en.element)
		en.known = true
		en.element = r.known.PushFront(en)
	}
	if en == nil {
		en = &entry{mac: key, known: known}
		l, limit := r.lists(known)
		if l.Len() >= limit {
			oldest := l.Back()
			delete(r.macs, oldest.Value.(*entry).mac)
			l.Remove(oldest)
		}
		en.element = l.PushFront(en)
		r.macs[key] = en
	}
	l, _ := r.lists(en.known)
	l.MoveToFront(en.element)
	if len(en.events) < r.cfg.MaxEvents {
		en.events = append(en.events, e)
		return
	}
	en.events[en.next] = e
	en.next = (en.next + 1) % r.cfg.MaxEvents
}

func (r *Ring) lists(known bool) (*list.List, int) {
	if known {
		return r.known, r.cfg.MaxMACs
	}
	return r.other, r.cfg.MaxUnknownMACs
}

// Events returns a MAC's events, oldest first (nil when none).
func (r *Ring) Events(mac net.HardwareAddr) []Event {
	if r == nil {
		return nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	en := r.macs[mac.String()]
	if en == nil {
		return nil
	}
	out := make([]Event, 0, len(en.events))
	out = append(out, en.events[en.next:]...)
	return append(out, en.events[:en.next]...)
}
