package apply

import (
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// hostStates are the Bare Metal Operator's provisioning states (v0.13),
// exported at zero so that a dashboard finds every series.
var hostStates = []string{"unknown", "registering", "inspecting", "match profile", "preparing", "available",
	"provisioning", "provisioned", "externally provisioned", "deprovisioning", "powering off before delete",
	"deleting", "unmanaged", "detached"}

// hostErrorTypes are the operator's status.errorType values.
var hostErrorTypes = []string{"registration error", "inspection error", "preparation error", "provisioning error",
	"provisioned registration error", "power management error", "detach error", "servicing error"}

// historyOps are the states the operator times in
// status.operationHistory, with the operation's key there.
var historyOps = map[string]string{"registering": "register", "inspecting": "inspect", "provisioning": "provision",
	"deprovisioning": "deprovision"}

// HostsCollector exports the state of metalgit's BareMetalHosts as the
// Cluster's watches hold them: a scrape reads no API server.
type HostsCollector struct {
	c   *Cluster
	now func() time.Time
	mu  sync.Mutex
	// seen is when each host (by UID) was first seen in its state, by
	// the scrapes so far.
	seen   map[string]stateSince
	states *prometheus.GaugeVec
	errors *prometheus.GaugeVec
	ages   *prometheus.GaugeVec
}

// stateSince is a host's state and when it was first seen in it.
type stateSince struct {
	state string
	since time.Time
}

// NewHostsCollector returns the collector of c's hosts.
func NewHostsCollector(c *Cluster) *HostsCollector {
	return &HostsCollector{c: c, now: time.Now, seen: map[string]stateSince{},
		states: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "metalgit_hosts",
			Help: "metalgit's BareMetalHosts in the cluster, by the operator's provisioning state (from the apply watch).",
		}, []string{"state"}),
		errors: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "metalgit_host_errors",
			Help: "metalgit's BareMetalHosts the operator reports in error, by error type.",
		}, []string{"type"}),
		ages: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "metalgit_host_state_max_age_seconds",
			Help: "How long the BareMetalHost longest in each provisioning state has been in it (0: none is). " +
				"Registering, inspecting, provisioning and deprovisioning from the operator's status.operationHistory, " +
				"the other states from when serve first saw the host in them.",
		}, []string{"state"}),
	}
}

// Describe implements prometheus.Collector.
func (h *HostsCollector) Describe(ch chan<- *prometheus.Desc) {
	h.states.Describe(ch)
	h.errors.Describe(ch)
	h.ages.Describe(ch)
}

// Collect implements prometheus.Collector.
func (h *HostsCollector) Collect(ch chan<- prometheus.Metric) {
	hosts := h.c.bareMetalHosts()
	h.mu.Lock()
	defer h.mu.Unlock()
	c := takeCensus(hosts, h.seen, h.now())
	h.seen = c.seen
	h.states.Reset()
	h.errors.Reset()
	h.ages.Reset()
	for s, n := range c.states {
		h.states.WithLabelValues(s).Set(float64(n))
	}
	for e, n := range c.errors {
		h.errors.WithLabelValues(e).Set(float64(n))
	}
	for s, d := range c.maxAge {
		h.ages.WithLabelValues(s).Set(d.Seconds())
	}
	h.states.Collect(ch)
	h.errors.Collect(ch)
	h.ages.Collect(ch)
}

// census is what one scrape exports: hosts by state and by error type,
// the longest time a host has been in each state (every known state and
// error type present, at zero when none), and when each host was first
// seen in its state, for the next scrape.
type census struct {
	states, errors map[string]int
	maxAge         map[string]time.Duration
	seen           map[string]stateSince
}

// takeCensus counts hosts at now; seen is the previous census's.
func takeCensus(hosts []*unstructured.Unstructured, seen map[string]stateSince, now time.Time) census {
	c := census{states: map[string]int{}, errors: map[string]int{}, maxAge: map[string]time.Duration{},
		seen: make(map[string]stateSince, len(hosts))}
	for _, s := range hostStates {
		c.states[s], c.maxAge[s] = 0, 0
	}
	for _, e := range hostErrorTypes {
		c.errors[e] = 0
	}
	for _, u := range hosts {
		state, _, _ := unstructured.NestedString(u.Object, "status", "provisioning", "state")
		if state == "" {
			state = "unknown"
		}
		c.states[state]++
		if t, _, _ := unstructured.NestedString(u.Object, "status", "errorType"); t != "" {
			c.errors[t]++
		}
		key := string(u.GetUID())
		if key == "" {
			key = u.GetNamespace() + "/" + u.GetName()
		}
		first := stateSince{state: state, since: now}
		if prev, ok := seen[key]; ok && prev.state == state {
			first = prev
		}
		c.seen[key] = first
		entered := first.since
		if start, ok := operationStart(u, state); ok {
			entered = start
		}
		c.maxAge[state] = max(c.maxAge[state], now.Sub(entered))
	}
	return c
}

// operationStart is when the operation of state began, from the
// operator's status.operationHistory: its start, when the operation has
// not ended since (an end before the start is a previous run's).
func operationStart(u *unstructured.Unstructured, state string) (time.Time, bool) {
	op, ok := historyOps[state]
	if !ok {
		return time.Time{}, false
	}
	start, ok := historyTime(u, op, "start")
	if !ok {
		return time.Time{}, false
	}
	if end, ok := historyTime(u, op, "end"); ok && !end.Before(start) {
		return time.Time{}, false
	}
	return start, true
}

// historyTime reads status.operationHistory.<op>.<field>.
func historyTime(u *unstructured.Unstructured, op, field string) (time.Time, bool) {
	s, _, _ := unstructured.NestedString(u.Object, "status", "operationHistory", op, field)
	if s == "" {
		return time.Time{}, false
	}
	t, err := time.Parse(time.RFC3339, s)
	return t, err == nil
}

// bareMetalHosts lists the BareMetalHosts every Site's watch holds.
func (c *Cluster) bareMetalHosts() []*unstructured.Unstructured {
	c.mu.Lock()
	appliers := make([]*Applier, 0, len(c.appliers))
	for _, a := range c.appliers {
		appliers = append(appliers, a)
	}
	c.mu.Unlock()
	var out []*unstructured.Unstructured
	for _, a := range appliers {
		out = append(out, a.live.list(bmhGVR)...)
	}
	return out
}
