package callback

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"regexp"
	"time"

	"github.com/metalgit/metalgit/boot/trace"
)

// nodeID is what a node's UUID or name may look like in a path.
var nodeID = regexp.MustCompile(`^[A-Za-z0-9._~-]{1,255}$`)

// AgentURL is the callback_url Ironic is given for a node's agent: a
// function of the node alone, the same on every heartbeat and across
// restarts of the proxy.
func AgentURL(agentProxy *url.URL, node string) string {
	u := *agentProxy
	u.Path = agentProxy.Path + "/agents/" + node
	u.RawPath = ""
	return u.String()
}

// heartbeat forwards POST /v1/heartbeat/{node} with its callback_url
// rewritten to AgentURL, and remembers the agent once Ironic accepted
// the heartbeat.
func (s *Server) heartbeat(w http.ResponseWriter, r *http.Request) {
	host, ok := s.fromLease(w, r, routeHeartbeat)
	if !ok {
		return
	}
	node := r.PathValue("node")
	if !nodeID.MatchString(node) {
		s.refuse(w, r, http.StatusBadRequest, reasonPath, toIronic, routeHeartbeat, "bad request: the node must be a UUID or a name")
		return
	}
	ironic := s.ironicURL()
	if ironic == nil {
		s.refuse(w, r, http.StatusServiceUnavailable, reasonNoUpper, toIronic, routeHeartbeat, noIronic)
		return
	}
	bound(w, s.cfg.IronicTimeout)
	b, tooBig, err := readBody(w, r, s.cfg.MaxBodyBytes)
	if err != nil {
		code := http.StatusBadRequest
		if tooBig {
			code = http.StatusRequestEntityTooLarge
		}
		s.refuse(w, r, code, reasonBody, toIronic, routeHeartbeat, fmt.Sprintf("heartbeat body: %v", err))
		return
	}
	ag, body, why := s.rewriteHeartbeat(b, node, clientAddr(r))
	if why != "" {
		s.refuse(w, r, http.StatusBadRequest, reasonCallback, toIronic, routeHeartbeat, "bad request: "+why)
		s.record(&exchange{route: routeHeartbeat, mac: host.MAC.String(), detail: "heartbeat refused: " + why}, http.StatusBadRequest)
		return
	}
	ag.mac = host.MAC.String()
	setBody(r, body)
	x := &exchange{route: routeHeartbeat, direction: toIronic, mac: ag.mac, start: time.Now(),
		detail: "heartbeat of node " + node + " from " + ag.addr.String(),
		attrs:  map[string]string{trace.AttrNode: node, trace.AttrCallbackURL: AgentURL(s.up.agentProxy, node)}}
	s.forward(w, r, x, s.ironic, ironicTarget(ironic, r.URL), func(resp *http.Response) {
		if resp.StatusCode/100 == 2 {
			s.metrics.agents.Set(float64(s.agents.put(ag)))
		}
	})
}

// rewriteHeartbeat checks a heartbeat's body and returns the agent it
// names and the body Ironic gets, or why it is refused. The callback_url
// must name the address the heartbeat came from; Ironic is told
// AgentURL, and not agent_verify_ca: it talks to the proxy, which
// verifies the agent.
func (s *Server) rewriteHeartbeat(b []byte, node string, from netip.Addr) (*agent, []byte, string) {
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(b, &fields); err != nil {
		return nil, nil, "the heartbeat is not a JSON object"
	}
	var cb string
	if err := json.Unmarshal(fields["callback_url"], &cb); err != nil || cb == "" {
		return nil, nil, "the heartbeat has no callback_url"
	}
	u, err := url.Parse(cb)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.User != nil || u.RawQuery != "" {
		return nil, nil, fmt.Sprintf("callback_url %q is not an http(s) URL of the agent", cb)
	}
	ip, err := netip.ParseAddr(u.Hostname())
	if err != nil || ip.Unmap() != from {
		return nil, nil, fmt.Sprintf("callback_url %q does not name the address the heartbeat came from (%s)", cb, from)
	}
	port := "9999" // IPA's default
	if p := u.Port(); p != "" {
		port = p
	}
	addr, err := netip.ParseAddrPort(net.JoinHostPort(ip.Unmap().String(), port))
	if err != nil || addr.Port() == 0 {
		return nil, nil, fmt.Sprintf("callback_url %q: bad port", cb)
	}
	var ca string
	if raw, ok := fields["agent_verify_ca"]; ok {
		if err := json.Unmarshal(raw, &ca); err != nil {
			return nil, nil, "agent_verify_ca is not a string"
		}
	}
	rt, ok := s.transports.forScheme(u.Scheme, []byte(ca))
	if !ok {
		return nil, nil, "agent_verify_ca is not a PEM certificate"
	}
	ag := &agent{node: node, scheme: u.Scheme, addr: addr,
		path: stripSlash(u.Path), transport: rt}
	fields["callback_url"], _ = json.Marshal(AgentURL(s.up.agentProxy, node))
	delete(fields, "agent_verify_ca")
	out, err := json.Marshal(fields)
	if err != nil {
		return nil, nil, "the heartbeat cannot be encoded again"
	}
	return ag, out, ""
}

func stripSlash(p string) string {
	for len(p) > 0 && p[len(p)-1] == '/' {
		p = p[:len(p)-1]
	}
	return p
}
