package apply

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
)

// host is a BareMetalHost with uid in state, with history as its
// status.operationHistory (nil: none).
func host(uid, state string, history map[string]any) *unstructured.Unstructured {
	status := map[string]any{"provisioning": map[string]any{"state": state}}
	if history != nil {
		status["operationHistory"] = history
	}
	u := &unstructured.Unstructured{Object: map[string]any{"status": status}}
	u.SetUID(types.UID(uid))
	return u
}

// TestCensusStateAges: a state the operator times in operationHistory
// is aged from the running operation's start; any other state, or an
// operation that ended, from the first scrape that saw the host in it.
// A host that changes state starts again at zero, and a host gone is
// forgotten.
func TestCensusStateAges(t *testing.T) {
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	started := t0.Add(-45 * time.Minute).Format(time.RFC3339)
	ended := t0.Add(-40 * time.Minute).Format(time.RFC3339)
	hosts := []*unstructured.Unstructured{
		host("a", "provisioning", map[string]any{"provision": map[string]any{"start": started, "end": nil}}),
		host("b", "inspecting", map[string]any{"inspect": map[string]any{"start": started, "end": ended}}),
		host("c", "available", nil),
		host("d", "deleting", nil),
	}
	c := takeCensus(hosts, nil, t0)
	want := map[string]time.Duration{"provisioning": 45 * time.Minute, "inspecting": 0, "available": 0, "deleting": 0}
	for s, d := range want {
		if c.maxAge[s] != d {
			t.Errorf("first scrape: %s aged %v, want %v", s, c.maxAge[s], d)
		}
	}

	// Ten minutes later: d is powering off, c is gone, a new host e is
	// available.
	hosts = []*unstructured.Unstructured{hosts[0], hosts[1], host("d", "powering off before delete", nil), host("e", "available", nil)}
	t1 := t0.Add(10 * time.Minute)
	c = takeCensus(hosts, c.seen, t1)
	want = map[string]time.Duration{"provisioning": 55 * time.Minute, "inspecting": 10 * time.Minute, "available": 0,
		"powering off before delete": 0, "deleting": 0, "registering": 0}
	for s, d := range want {
		if c.maxAge[s] != d {
			t.Errorf("second scrape: %s aged %v, want %v", s, c.maxAge[s], d)
		}
	}
	if _, ok := c.seen["c"]; ok {
		t.Error("a host gone is still remembered")
	}
	if diff := cmp.Diff(map[string]int{"provisioning": 1, "inspecting": 1, "available": 1, "powering off before delete": 1},
		nonZero(c.states)); diff != "" {
		t.Errorf("states (-want +got):\n%s", diff)
	}
	if len(c.maxAge) != len(hostStates) || len(c.errors) != len(hostErrorTypes) {
		t.Errorf("%d states and %d error types exported, want all %d and %d", len(c.maxAge), len(c.errors), len(hostStates), len(hostErrorTypes))
	}
}

// TestCensusHistoryStart: the operation's start counts only while the
// operation runs and parses; a host with no UID is known by its name.
func TestCensusHistoryStart(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	hour := now.Add(-time.Hour).Format(time.RFC3339)
	for _, tc := range []struct {
		name    string
		history map[string]any
		want    time.Duration
	}{
		{"running", map[string]any{"register": map[string]any{"start": hour}}, time.Hour},
		{"ended", map[string]any{"register": map[string]any{"start": hour, "end": now.Format(time.RFC3339)}}, 0},
		{"an earlier run's end", map[string]any{"register": map[string]any{"start": hour, "end": now.Add(-2 * time.Hour).Format(time.RFC3339)}}, time.Hour},
		{"another operation's", map[string]any{"inspect": map[string]any{"start": hour}}, 0},
		{"not a time", map[string]any{"register": map[string]any{"start": "yesterday"}}, 0},
		{"in the future", map[string]any{"register": map[string]any{"start": now.Add(time.Hour).Format(time.RFC3339)}}, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			u := host("", "registering", tc.history)
			u.SetNamespace("ns")
			u.SetName("h")
			c := takeCensus([]*unstructured.Unstructured{u}, nil, now)
			if got := c.maxAge["registering"]; got != tc.want {
				t.Errorf("registering aged %v, want %v", got, tc.want)
			}
			if _, ok := c.seen["ns/h"]; !ok {
				t.Errorf("host remembered as %v, want ns/h", c.seen)
			}
		})
	}
}

func nonZero(m map[string]int) map[string]int {
	out := map[string]int{}
	for k, v := range m {
		if v != 0 {
			out[k] = v
		}
	}
	return out
}
