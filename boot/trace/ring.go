package trace

import (
	"container/list"
	"maps"
	"net"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"
)

// Event is one thing a server did for a MAC.
type Event struct {
	Time   time.Time `json:"time"`
	Server string    `json:"server"`
	Kind   string    `json:"kind"`
	// Detail is one human line: what was asked and what was answered
	// (at most MaxDetail bytes are kept).
	Detail string `json:"detail"`
	// Failed marks an event that did not succeed (a NAK, an aborted
	// transfer, an upstream error).
	Failed bool `json:"failed,omitempty"`
	// Attrs are the facts a diagnosis reads (file, arch, status, …); see
	// the Attr constants. At most MaxAttrs are kept, keys of at most
	// MaxAttrKey bytes, values of at most MaxAttrValue.
	Attrs map[string]string `json:"attrs,omitempty"`
}

// Defaults of Config.
const (
	DefaultMaxEvents      = 128
	DefaultMaxMACs        = 4096
	DefaultMaxUnknownMACs = 256
)

// Bounds of one event: what a client sends (a vendor class, a file
// name) ends up in it.
const (
	MaxDetail    = 512
	MaxAttrs     = 16
	MaxAttrKey   = 64
	MaxAttrValue = 256
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
// use; the zero value is not: use New. A nil *Ring records nothing and
// holds no events.
type Ring struct {
	cfg     Config
	metrics *metrics
	mu      sync.Mutex
	macs    map[string]*entry
	known   *list.List // of *entry, most recent first
	other   *list.List
}

type entry struct {
	mac     string
	known   bool
	events  []Event // a ring of cfg.MaxEvents
	next    int     // where the next event goes once full
	element *list.Element
}

// New returns an empty ring. Its metrics exist from the start; Register
// publishes them.
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
	return &Ring{cfg: cfg, metrics: newMetrics(), macs: map[string]*entry{}, known: list.New(), other: list.New()}
}

// Config returns the configuration with its defaults filled in.
func (r *Ring) Config() Config { return r.cfg }

// Record adds an event for a MAC of a host in the table. The event's
// Time is set when zero.
func (r *Ring) Record(mac net.HardwareAddr, e Event) { r.record(mac, true, e) }

// RecordUnknown adds an event for a MAC the host table does not know.
// Unknown MACs have their own budget (Config.MaxUnknownMACs): recording
// them never drops a known one.
func (r *Ring) RecordUnknown(mac net.HardwareAddr, e Event) { r.record(mac, false, e) }

func (r *Ring) record(mac net.HardwareAddr, known bool, e Event) {
	if r == nil || len(mac) == 0 {
		return
	}
	if e.Time.IsZero() {
		e.Time = r.cfg.Now()
	}
	e = bounded(e)
	key := mac.String()
	r.metrics.event(e.Server, e.Kind, known, e.Failed)
	r.mu.Lock()
	defer r.mu.Unlock()
	en := r.macs[key]
	switch {
	case en == nil:
		en = &entry{mac: key, known: known}
		r.makeRoom(known)
		l, _ := r.lists(known)
		en.element = l.PushFront(en)
		r.macs[key] = en
	case known && !en.known:
		// A MAC that joined the table moves to the hosts' budget, with
		// its events.
		r.other.Remove(en.element)
		r.makeRoom(true)
		en.known = true
		en.element = r.known.PushFront(en)
	default:
		l, _ := r.lists(en.known)
		l.MoveToFront(en.element)
	}
	r.metrics.macs(r.known.Len(), r.other.Len())
	if len(en.events) < r.cfg.MaxEvents {
		en.events = append(en.events, e)
		return
	}
	en.events[en.next] = e
	en.next = (en.next + 1) % r.cfg.MaxEvents
}

// makeRoom drops the least recently seen MAC of a budget when it is full.
func (r *Ring) makeRoom(known bool) {
	l, limit := r.lists(known)
	for l.Len() >= limit {
		oldest := l.Back()
		if en, ok := l.Remove(oldest).(*entry); ok {
			delete(r.macs, en.mac)
		}
		r.metrics.evicted(known)
	}
}

func (r *Ring) lists(known bool) (*list.List, int) {
	if known {
		return r.known, r.cfg.MaxMACs
	}
	return r.other, r.cfg.MaxUnknownMACs
}

// Events returns a MAC's events, oldest first (nil when none). The
// events' Attrs are shared and must not be changed.
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

// MACs returns how many MACs the ring holds, of known hosts and of
// unknown ones.
func (r *Ring) MACs() (known, unknown int) {
	if r == nil {
		return 0, 0
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.known.Len(), r.other.Len()
}

// bounded cuts an event to the bounds of one event and copies its
// attributes, so the caller's map is never shared.
func bounded(e Event) Event {
	e.Detail = cut(e.Detail, MaxDetail)
	if len(e.Attrs) == 0 {
		e.Attrs = nil
		return e
	}
	keys := slices.Sorted(maps.Keys(e.Attrs)) // the same ones are kept every time
	attrs := make(map[string]string, min(len(keys), MaxAttrs))
	for _, k := range keys[:min(len(keys), MaxAttrs)] {
		attrs[cut(k, MaxAttrKey)] = cut(e.Attrs[k], MaxAttrValue)
	}
	e.Attrs = attrs
	return e
}

// cut makes s printable (control characters and invalid UTF-8 become
// U+FFFD: a client's option 60 must not drive the terminal of whoever
// reads the trace) and shortens it to at most n bytes, on a rune
// boundary, marking the cut with "…".
func cut(s string, n int) string {
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return utf8.RuneError
		}
		return r
	}, strings.ToValidUTF8(s, string(utf8.RuneError)))
	if len(s) <= n {
		return s
	}
	const mark = "…"
	i := n - len(mark)
	for i > 0 && !utf8.RuneStart(s[i]) {
		i--
	}
	return s[:i] + mark
}
