package httpboot

import (
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/metalgit/metalgit/boot/trace"
)

// Routes: the "route" label of the metrics and attribute of the logs.
const (
	RouteScript = "script" // GET /boot/<mac>.ipxe
	RouteImage  = "image"  // GET /images/…, proxied to Ironic
	RouteBinary = "binary" // GET /<file>, from Config.Root
)

// routes lists the routes, for the metrics' label values.
var routes = []string{RouteScript, RouteImage, RouteBinary}

// Reasons a request is refused or fails: the "reason" attribute of logs
// and traces.
const (
	reasonBusy        = "busy"
	reasonMethod      = "method"
	reasonBadPath     = "bad-path"
	reasonOutsideRoot = "outside-root"
	reasonNotFound    = "not-found"
	reasonNotAFile    = "not-a-file"
	reasonPermission  = "permission"
	reasonUpstream    = "upstream"
	reasonAborted     = "aborted"
)

// exchange is what the accounting of one request (log line, metrics,
// trace event) says; the route handlers fill it in.
type exchange struct {
	route  string
	start  time.Time
	client netip.Addr
	w      *recorder
	// mac is the MAC of a script's path, known whether the table has it.
	mac   net.HardwareAddr
	known bool
	// script is the kind of script served; file the binary or image.
	script string
	file   string
	reason string
	err    error
}

// serveHTTP serves one request: it bounds the requests served at once,
// routes the request and accounts for it.
func (s *Server) serveHTTP(w http.ResponseWriter, r *http.Request) {
	x := &exchange{route: routeOf(r.URL.Path), start: time.Now(), client: clientAddr(r)}
	x.w = newRecorder(w, s.cfg.StallTimeout)
	s.metrics.inFlight.Inc()
	defer func() {
		p := recover()
		s.metrics.inFlight.Dec()
		if p != nil && x.reason == "" {
			x.reason = reasonAborted
		}
		x.w.done()
		s.account(r, x, p != nil)
		if p != nil {
			// http.ErrAbortHandler from the proxy: the server drops the
			// connection, so the client sees a cut download.
			panic(p)
		}
	}()
	select {
	case s.slots <- struct{}{}:
		defer func() { <-s.slots }()
	default:
		s.refuse(x, http.StatusServiceUnavailable, reasonBusy, "busy: too many requests, try again")
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		x.w.Header().Set("Allow", "GET, HEAD")
		s.refuse(x, http.StatusMethodNotAllowed, reasonMethod, "method not allowed: this server answers GET and HEAD")
		return
	}
	switch x.route {
	case RouteScript:
		s.serveScript(x, r)
	case RouteImage:
		s.serveImage(x, r)
	default:
		s.serveBinary(x, r)
	}
}

// routeOf sorts a request path into its route.
func routeOf(path string) string {
	switch {
	case strings.HasPrefix(path, "/boot/"):
		return RouteScript
	case strings.HasPrefix(path, "/images/") || path == "/images":
		return RouteImage
	}
	return RouteBinary
}

// refuse answers a short text with code and records why.
func (s *Server) refuse(x *exchange, code int, reason, msg string) {
	x.reason = reason
	if code == http.StatusServiceUnavailable {
		x.w.Header().Set("Retry-After", "1")
	}
	http.Error(x.w, msg, code)
}

// clientAddr is the client's IP address (unmapped), invalid when the
// remote address does not parse.
func clientAddr(r *http.Request) netip.Addr {
	ap, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil {
		return netip.Addr{}
	}
	return ap.Addr().Unmap()
}

// account writes the log line, the metrics and the trace event of a
// request.
func (s *Server) account(r *http.Request, x *exchange, aborted bool) {
	status := x.w.status
	if status == 0 {
		status = http.StatusOK
	}
	elapsed := time.Since(x.start)
	s.metrics.request(x.route, status, x.w.bytes, elapsed)
	failed := aborted || status >= 400
	mac, known := x.mac, x.known
	if x.route != RouteScript {
		if h, ok := s.cfg.Hosts.Load().LookupAddr(x.client); ok {
			mac, known = h.MAC, true
		}
	}
	attrs := []any{"ip", x.client.String(), "route", x.route, "method", r.Method, "path", shorten(r.URL.Path),
		"status", status, "bytes", x.w.bytes, "duration", elapsed}
	if len(mac) > 0 {
		attrs = append(attrs, "mac", mac.String())
	}
	ev := trace.Event{Server: trace.ServerHTTP, Failed: failed,
		Attrs: map[string]string{"status": strconv.Itoa(status), "bytes": strconv.FormatInt(x.w.bytes, 10)}}
	switch x.route {
	case RouteScript:
		ev.Kind = trace.KindScript
		if x.script != "" {
			ev.Attrs["script"] = x.script
			attrs = append(attrs, "script", x.script)
		}
	case RouteImage:
		ev.Kind = trace.KindImage
	default:
		ev.Kind = trace.KindBinary
	}
	if x.file != "" {
		ev.Attrs["file"] = x.file
		attrs = append(attrs, "file", x.file)
	}
	if x.reason != "" {
		ev.Attrs["reason"] = x.reason
		attrs = append(attrs, "reason", x.reason)
	}
	if x.err != nil {
		attrs = append(attrs, "err", x.err.Error())
	}
	ev.Detail = fmt.Sprintf("%s %s: %d, %d bytes", r.Method, shorten(r.URL.Path), status, x.w.bytes)
	if aborted {
		ev.Detail += ", cut off"
	}
	switch {
	case len(mac) == 0:
	case known:
		s.cfg.Trace.Record(mac, ev)
	default:
		s.cfg.Trace.RecordUnknown(mac, ev)
	}
	level := slog.LevelInfo
	if failed || (x.route == RouteScript && x.script != ScriptInspector && x.script != ScriptInstaller) {
		level = slog.LevelWarn
	}
	s.cfg.Logger.Log(r.Context(), level, "http request", attrs...)
}

// shorten makes a client-chosen string (a decoded path) fit for logs and
// traces: bytes that are not printable ASCII are written %XX, as in a
// URL, so no newline or escape sequence reaches a terminal, and the
// result is cut to 200 bytes.
func shorten(s string) string {
	const keep = 200
	var b strings.Builder
	for i := 0; i < len(s) && b.Len() < keep; i++ {
		if c := s[i]; c >= 0x20 && c < 0x7f {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	if b.Len() >= keep && len(s) > keep {
		return b.String()[:keep] + "…"
	}
	return b.String()
}

// recorder is the ResponseWriter the handlers write to: it remembers the
// status and counts the bytes, and gives the client Config.StallTimeout
// for each write, so a client that stops reading is cut off rather than
// holding a slot (a whole download may take as long as it needs).
type recorder struct {
	http.ResponseWriter
	rc     *http.ResponseController
	stall  time.Duration
	status int
	bytes  int64
}

func newRecorder(w http.ResponseWriter, stall time.Duration) *recorder {
	r := &recorder{ResponseWriter: w, rc: http.NewResponseController(w), stall: stall}
	// A deadline left by an earlier response on this connection must not
	// cut this one.
	_ = r.rc.SetWriteDeadline(time.Now().Add(stall))
	return r
}

func (r *recorder) WriteHeader(code int) {
	if r.status == 0 && code >= 200 {
		r.status = code
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *recorder) Write(p []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	_ = r.rc.SetWriteDeadline(time.Now().Add(r.stall))
	n, err := r.ResponseWriter.Write(p)
	r.bytes += int64(n)
	return n, err
}

// readFrom moves src's bytes to the client with rf, the client
// connection's own ReaderFrom (which splices from a TCP source), under the
// write deadline the caller set (clearWriteDeadline: it bounds the move
// itself, watchStall).
func (r *recorder) readFrom(rf io.ReaderFrom, src io.Reader) (int64, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	n, err := rf.ReadFrom(src)
	r.bytes += n
	return n, err
}

// clearWriteDeadline lifts the client's write deadline.
func (r *recorder) clearWriteDeadline() { _ = r.rc.SetWriteDeadline(time.Time{}) }

// done bounds the flush of what the handler left buffered.
func (r *recorder) done() { _ = r.rc.SetWriteDeadline(time.Now().Add(r.stall)) }

// Unwrap lets http.ResponseController reach the connection (flushes).
func (r *recorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }
