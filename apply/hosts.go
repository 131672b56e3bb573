package apply

import (
	"sync"

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

// HostsCollector exports the state of metalgit's BareMetalHosts as the
// Cluster's watches hold them: a scrape reads no API server.
type HostsCollector struct {
	c      *Cluster
	mu     sync.Mutex
	states *prometheus.GaugeVec
	errors *prometheus.GaugeVec
}

// NewHostsCollector returns the collector of c's hosts.
func NewHostsCollector(c *Cluster) *HostsCollector {
	return &HostsCollector{c: c,
		states: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "metalgit_hosts",
			Help: "metalgit's BareMetalHosts in the cluster, by the operator's provisioning state (from the apply watch).",
		}, []string{"state"}),
		errors: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "metalgit_host_errors",
			Help: "metalgit's BareMetalHosts the operator reports in error, by error type.",
		}, []string{"type"}),
	}
}

// Describe implements prometheus.Collector.
func (h *HostsCollector) Describe(ch chan<- *prometheus.Desc) {
	h.states.Describe(ch)
	h.errors.Describe(ch)
}

// Collect implements prometheus.Collector.
func (h *HostsCollector) Collect(ch chan<- prometheus.Metric) {
	states, errs := map[string]int{}, map[string]int{}
	for _, s := range hostStates {
		states[s] = 0
	}
	for _, e := range hostErrorTypes {
		errs[e] = 0
	}
	for _, u := range h.c.bareMetalHosts() {
		state, _, _ := unstructured.NestedString(u.Object, "status", "provisioning", "state")
		if state == "" {
			state = "unknown"
		}
		states[state]++
		if t, _, _ := unstructured.NestedString(u.Object, "status", "errorType"); t != "" {
			errs[t]++
		}
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	h.states.Reset()
	h.errors.Reset()
	for s, n := range states {
		h.states.WithLabelValues(s).Set(float64(n))
	}
	for e, n := range errs {
		h.errors.WithLabelValues(e).Set(float64(n))
	}
	h.states.Collect(ch)
	h.errors.Collect(ch)
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
