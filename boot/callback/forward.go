package callback

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/metalgit/metalgit/boot"
	"github.com/metalgit/metalgit/boot/trace"
)

// Routes, as metrics and logs name them.
const (
	routeRoot       = "root"
	routeV1         = "v1"
	routeLookup     = "lookup"
	routeHeartbeat  = "heartbeat"
	routeInspection = "continue_inspection"
	routeInspector  = "inspector_continue"
	routeAgent      = "agent"
)

// Reasons a request is refused.
const (
	reasonPath      = "path"
	reasonBusy      = "busy"
	reasonNotLease  = "not_a_lease"
	reasonLookupMAC = "lookup_other_mac"
	reasonBody      = "body"
	reasonCallback  = "callback_url"
	reasonNoUpper   = "no_upstream"
	reasonNoAgent   = "unknown_agent"
	reasonFromLease = "agent_route_from_lease"
)

// PassedHeaders are the request headers forwarded, in both directions;
// every other header of the caller is dropped.
var PassedHeaders = []string{"Content-Type", "Accept", "User-Agent", "X-Openstack-Ironic-Api-Version",
	"Openstack-Api-Version", "X-Openstack-Request-Id"}

// passHeaders keeps only PassedHeaders of h.
func passHeaders(in http.Header) http.Header {
	out := http.Header{}
	for _, k := range PassedHeaders {
		if v, ok := in[k]; ok {
			out[k] = v
		}
	}
	return out
}

// exchange is what one forwarded request learns, for the trace.
type exchange struct {
	route, direction string
	mac              string
	detail           string
	attrs            map[string]string
	start            time.Time
}

// toIronic forwards an agent's request to Ironic (or to ironic-inspector
// for routeInspector), from a lease of the table only; check refuses a
// request its host may not make.
func (s *Server) toIronic(route string, limit int64, check func(*http.Request, boot.Host) string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		host, ok := s.fromLease(w, r, route)
		if !ok {
			return
		}
		if check != nil {
			if why := check(r, host); why != "" {
				s.refuse(w, r, http.StatusForbidden, reasonLookupMAC, toIronic, route, "forbidden: "+why)
				return
			}
		}
		base := s.ironicURL()
		if route == routeInspector {
			base = s.up.inspector
		}
		if base == nil {
			what := noIronic
			if route == routeInspector {
				what = "no ironic-inspector: the boot proxy was started without --ironic-inspector-url"
			}
			s.refuse(w, r, http.StatusServiceUnavailable, reasonNoUpper, toIronic, route, what)
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, limit)
		x := &exchange{route: route, direction: toIronic, mac: host.MAC.String(), start: time.Now(),
			detail: r.Method + " " + r.URL.Path}
		s.forward(w, r, x, s.ironic, ironicTarget(base, r.URL), nil)
	}
}

// noIronic says why there is no Ironic to forward to.
const noIronic = "no Ironic API: neither --ironic-api-url nor the Site's bootProxy.ironic.apiURL is set"

// ironicURL is Ironic's API: Config.IronicAPIURL, else the host table's
// Site's (nil when neither is set).
func (s *Server) ironicURL() *url.URL {
	if s.up.ironic != nil {
		return s.up.ironic
	}
	if t := s.cfg.Hosts.Load(); t != nil && t.Site.IronicAPIURL != "" {
		u, err := baseURL(t.Site.IronicAPIURL, false)
		if err == nil {
			return u
		}
	}
	return nil
}

// ironicTarget is the upstream URL of a request: the same path and query
// under base.
func ironicTarget(base, in *url.URL) *url.URL {
	t := *base
	t.Path = base.Path + in.Path
	t.RawPath, t.RawQuery = "", in.RawQuery
	return &t
}

// fromLease refuses a request whose address is not the lease of a host
// in the table.
func (s *Server) fromLease(w http.ResponseWriter, r *http.Request, route string) (boot.Host, bool) {
	addr := clientAddr(r)
	host, ok := s.cfg.Hosts.Load().LookupAddr(addr)
	if !ok {
		s.refuse(w, r, http.StatusForbidden, reasonNotLease, toIronic, route,
			fmt.Sprintf("forbidden: %s is not the address of a host the boot proxy serves", addr))
		return boot.Host{}, false
	}
	return host, true
}

// checkLookup: a lookup must name the MAC of the host whose lease asks
// (IPA sends all its MACs): no machine may learn another's node or its
// one-time agent token.
func checkLookup(r *http.Request, host boot.Host) string {
	// With node_uuid, Ironic ignores the addresses: a host could name
	// another's node and take its token.
	if r.URL.Query().Has("node_uuid") {
		return "a lookup through the proxy is by addresses only (node_uuid is refused)"
	}
	want := host.MAC.String()
	for _, a := range strings.Split(r.URL.Query().Get("addresses"), ",") {
		if strings.EqualFold(strings.TrimSpace(a), want) {
			return ""
		}
	}
	return fmt.Sprintf("a lookup from %s must name its own MAC %s in addresses", clientAddr(r), want)
}

// forward proxies r to target through rt, streaming both ways; done (when
// not nil) sees the response before it is sent back.
func (s *Server) forward(w http.ResponseWriter, r *http.Request, x *exchange, rt http.RoundTripper, target *url.URL,
	done func(*http.Response)) {
	timeout := s.cfg.IronicTimeout
	if x.direction == toAgent {
		timeout = s.cfg.AgentTimeout
	}
	bound(w, timeout)
	ctx, cancel := context.WithTimeout(r.Context(), timeout)
	defer cancel()
	status := 0
	p := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.Out.URL = target
			pr.Out.Host = ""
			pr.Out.Header = passHeaders(pr.In.Header)
		},
		Transport: rt,
		ModifyResponse: func(resp *http.Response) error {
			status = resp.StatusCode
			if done != nil {
				done(resp)
			}
			return nil
		},
		ErrorHandler: func(w http.ResponseWriter, _ *http.Request, err error) {
			status = http.StatusBadGateway
			var tooBig *http.MaxBytesError
			switch {
			case errors.As(err, &tooBig):
				status = http.StatusRequestEntityTooLarge
				s.metrics.refused.WithLabelValues(reasonBody).Inc()
			case errors.Is(err, context.DeadlineExceeded) || time.Since(x.start) >= timeout:
				// The connection's read deadline (bound) may end the
				// request a moment before its context does.
				status = http.StatusGatewayTimeout
				s.metrics.upstream.WithLabelValues(x.direction).Inc()
			default:
				s.metrics.upstream.WithLabelValues(x.direction).Inc()
			}
			// The query may hold the agent token: it stays out of logs.
			s.cfg.Logger.Warn("callback proxy: forwarding failed", "route", x.route,
				"target", target.Scheme+"://"+target.Host+target.Path, "err", redactQuery(err, target))
			http.Error(w, fmt.Sprintf("%s: %s", http.StatusText(status), upstreamName(x.direction)), status)
		},
		ErrorLog: nil,
	}
	p.ServeHTTP(w, r.WithContext(ctx))
	s.metrics.requests.WithLabelValues(x.direction, x.route, strconv.Itoa(status)).Inc()
	s.metrics.durations.WithLabelValues(x.direction).Observe(time.Since(x.start).Seconds())
	s.record(x, status)
}

// redactQuery keeps the target's query (an agent token) out of an error
// that quotes the URL.
func redactQuery(err error, target *url.URL) string {
	if target.RawQuery == "" {
		return err.Error()
	}
	return strings.ReplaceAll(err.Error(), target.RawQuery, "…")
}

func upstreamName(direction string) string {
	if direction == toAgent {
		return "the agent did not answer"
	}
	return "Ironic did not answer"
}

// kinds maps a route to its trace event.
var kinds = map[string]string{routeLookup: trace.KindLookup, routeHeartbeat: trace.KindHeartbeat,
	routeInspection: trace.KindInspection, routeInspector: trace.KindInspection, routeAgent: trace.KindCommand}

// record adds the exchange to the boot trace (the version documents of
// routeRoot and routeV1 are left out).
func (s *Server) record(x *exchange, status int) {
	kind, ok := kinds[x.route]
	if !ok || s.cfg.Trace == nil {
		return
	}
	mac, err := net.ParseMAC(x.mac)
	if err != nil {
		return
	}
	attrs := map[string]string{trace.AttrStatus: strconv.Itoa(status)}
	for k, v := range x.attrs {
		attrs[k] = v
	}
	s.cfg.Trace.Record(mac, trace.Event{Server: trace.ServerCallback, Kind: kind, Failed: status/100 != 2,
		Detail: fmt.Sprintf("%s → %d", x.detail, status), Attrs: attrs})
}

// refuse answers a request without forwarding it.
func (s *Server) refuse(w http.ResponseWriter, r *http.Request, code int, reason, direction, route, msg string) {
	s.metrics.refused.WithLabelValues(reason).Inc()
	if direction != "" {
		s.metrics.requests.WithLabelValues(direction, route, strconv.Itoa(code)).Inc()
	}
	s.cfg.Logger.Info("callback proxy: refused", "client", r.RemoteAddr, "method", r.Method,
		"path", strconv.Quote(shorten(r.URL.Path)), "reason", reason)
	http.Error(w, msg, code)
}

// shorten bounds a client's path in logs.
func shorten(s string) string {
	if len(s) > 200 {
		return s[:200] + "…"
	}
	return s
}

// answerGrace is how long past a request's bound its error answer may
// take to be written.
const answerGrace = 10 * time.Second

// readGrace puts a request's read deadline just past its context's, so
// that a silent upstream ends as a 504 rather than a dropped connection.
const readGrace = time.Second

// bound ends the connection of a request that is not read within timeout
// and readGrace,
// or answered within timeout and answerGrace: a client that trickles its
// body, or never reads the answer, holds no slot for longer.
func bound(w http.ResponseWriter, timeout time.Duration) {
	rc := http.NewResponseController(w)
	now := time.Now()
	_ = rc.SetReadDeadline(now.Add(timeout + readGrace))
	_ = rc.SetWriteDeadline(now.Add(timeout + answerGrace))
}

// readBody reads a whole bounded body; tooBig tells the limit was hit.
func readBody(w http.ResponseWriter, r *http.Request, limit int64) (b []byte, tooBig bool, err error) {
	b, err = io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return nil, true, err
	}
	return b, false, err
}

// setBody replaces a request's body.
func setBody(r *http.Request, b []byte) {
	r.Body = io.NopCloser(bytes.NewReader(b))
	r.ContentLength = int64(len(b))
	r.Header.Set("Content-Length", strconv.Itoa(len(b)))
}
