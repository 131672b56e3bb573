package tftp

import (
	"context"
	"errors"
	"net/netip"
	"slices"
	"sync"
)

// errEvicted ends a transfer whose slot a newer request took: its client
// had acknowledged nothing yet.
var errEvicted = errors.New("server busy: the transfer was not acknowledged and its slot went to a newer request")

// admission decides which requests get a transfer slot. At most limit
// transfers run, and at most perClient from one client address. When a
// request finds no free slot, it takes the slot of the oldest transfer
// that has not been acknowledged yet: from its own client when that
// client is at its limit, else from any client. A transfer whose client
// acknowledged a packet keeps its slot.
//
// A request with a forged source address is never acknowledged (its
// packets go to the owner of that address, if any), so a flood of them
// keeps no real client out: a real client acknowledges within a round
// trip, long before enough newer requests arrive to take its slot. A
// client that sends its request again (its first answer was lost) gets a
// slot too: its own unanswered transfer makes room.
type admission struct {
	limit, perClient int

	mu       sync.Mutex
	running  int
	byClient map[netip.Addr]int
	// unacked are the running transfers not acknowledged yet, oldest
	// first.
	unacked []*slot
}

// slot is one admitted transfer's place.
type slot struct {
	client netip.Addr
	// evict ends the transfer: it cancels the transfer's context.
	evict context.CancelCauseFunc
	// acked and gone are guarded by admission.mu: the client
	// acknowledged a packet; the slot was released or evicted.
	acked, gone bool
}

func newAdmission(limit, perClient int) *admission {
	return &admission{limit: limit, perClient: perClient, byClient: map[netip.Addr]int{}}
}

// take admits a transfer of client, whose context evict cancels, or
// returns the reason it is refused. It may evict an unacknowledged
// transfer to make room.
func (a *admission) take(client netip.Addr, evict context.CancelCauseFunc) (*slot, Reason) {
	a.mu.Lock()
	defer a.mu.Unlock()
	var victim *slot
	switch {
	case a.byClient[client] >= a.perClient:
		if victim = a.oldestUnacked(client); victim == nil {
			return nil, ReasonClientBusy
		}
	case a.running >= a.limit:
		if victim = a.oldestUnacked(netip.Addr{}); victim == nil {
			return nil, ReasonBusy
		}
	}
	if victim != nil {
		a.releaseLocked(victim)
		victim.evict(errEvicted)
	}
	s := &slot{client: client, evict: evict}
	a.running++
	a.byClient[client]++
	a.unacked = append(a.unacked, s)
	return s, ""
}

// oldestUnacked is the oldest unacknowledged transfer of client, or of
// any client for the zero Addr; nil when there is none.
func (a *admission) oldestUnacked(client netip.Addr) *slot {
	for _, s := range a.unacked {
		if !client.IsValid() || s.client == client {
			return s
		}
	}
	return nil
}

// acked records that s's client acknowledged a packet: s keeps its slot
// until it ends.
func (a *admission) acked(s *slot) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if s.acked || s.gone {
		return
	}
	s.acked = true
	a.unacked = slices.DeleteFunc(a.unacked, func(u *slot) bool { return u == s })
}

// release frees s's slot when its transfer ends (nothing when it was
// evicted: its slot is already another's).
func (a *admission) release(s *slot) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.releaseLocked(s)
}

func (a *admission) releaseLocked(s *slot) {
	if s.gone {
		return
	}
	s.gone = true
	a.running--
	if a.byClient[s.client]--; a.byClient[s.client] <= 0 {
		delete(a.byClient, s.client)
	}
	if !s.acked {
		a.unacked = slices.DeleteFunc(a.unacked, func(u *slot) bool { return u == s })
	}
}
