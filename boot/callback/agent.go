package callback

import (
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/metalgit/metalgit/boot/trace"
)

// toAgent forwards Ironic's request to /agents/{node}/… to the node's
// agent: only to the address it heartbeated from, and only while that
// address is still the lease of the same host.
func (s *Server) toAgent(w http.ResponseWriter, r *http.Request) {
	tab := s.cfg.Hosts.Load()
	if _, lease := tab.LookupAddr(clientAddr(r)); lease {
		s.refuse(w, r, http.StatusForbidden, reasonFromLease, toAgent, routeAgent,
			"forbidden: the agent routes are Ironic's; a host on the provisioning network may not use them")
		return
	}
	node, rest := r.PathValue("node"), r.PathValue("rest")
	ag := s.agents.get(node)
	if ag == nil {
		s.refuse(w, r, http.StatusServiceUnavailable, reasonNoAgent, toAgent, routeAgent,
			fmt.Sprintf("no agent known for node %q: it has not heartbeated through this proxy since the proxy started", node))
		return
	}
	if h, ok := tab.LookupAddr(ag.addr.Addr()); !ok || h.MAC.String() != ag.mac {
		s.refuse(w, r, http.StatusServiceUnavailable, reasonNoAgent, toAgent, routeAgent,
			fmt.Sprintf("the agent of node %q at %s: that address is no longer the lease of host %s", node, ag.addr.Addr(), ag.mac))
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, s.cfg.MaxAgentBodyBytes)
	target := &url.URL{Scheme: ag.scheme, Host: ag.addr.String(), Path: ag.path + "/" + rest, RawQuery: r.URL.RawQuery}
	x := &exchange{route: routeAgent, direction: toAgent, mac: ag.mac, start: time.Now(),
		detail: fmt.Sprintf("Ironic: %s /%s to the agent at %s", r.Method, rest, ag.addr),
		attrs:  map[string]string{trace.AttrNode: node}}
	s.forward(w, r, x, ag.transport, target, nil)
}
