package httpboot

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/url"
	"os"
	"path"
	"strings"
	"sync"

	"github.com/metalgit/metalgit/boot"
)

// PassedHeaders are the only client headers an image request carries
// upstream: what a download, a resumed download and a cache check need.
// Every other header (Authorization, Cookie, X-Forwarded-*, Forwarded,
// Via, …) is dropped: the provisioning network is not trusted.
var PassedHeaders = []string{"Range", "If-Range", "If-Modified-Since", "If-None-Match", "If-Match",
	"If-Unmodified-Since", "Accept", "User-Agent"}

// copyBuffer is the size of the buffers the proxy copies a body through:
// large enough for few system calls per megabyte.
const copyBuffer = 256 << 10

// serveImage answers GET and HEAD /images/…: a streaming proxy to
// Config.IronicHTTPURL (upstream.go, stream.go).
func (s *Server) serveImage(x *exchange, r *http.Request) {
	x.file = shorten(strings.TrimPrefix(r.URL.Path, "/"))
	upstream := s.upstreamFor(siteOf(s.cfg.Hosts.Load()))
	if upstream == nil {
		s.refuse(x, http.StatusServiceUnavailable, reasonUpstream,
			"no image server: neither --ironic-http-url nor the Site's bootProxy.ironic.httpURL is set")
		return
	}
	target, why := imageTarget(upstream, r.URL)
	if why != "" {
		s.refuse(x, http.StatusBadRequest, reasonBadPath, "bad request: "+why)
		return
	}
	select {
	case s.imageSlots <- struct{}{}:
		defer func() { <-s.imageSlots }()
	default:
		s.refuse(x, http.StatusServiceUnavailable, reasonBusy, "busy: too many image downloads, try again")
		return
	}
	u, resp, err := s.openUpstream(r.Context(), target, r) //nolint:bodyclose // u.close closes it
	if err != nil {
		s.upstreamFailed(x, r, err)
		return
	}
	defer u.close()
	hasBody := r.Method != http.MethodHead && resp.ContentLength != 0 && bodyAllowed(resp.StatusCode)
	copyResponseHeader(x.w.Header(), resp, hasBody)
	x.w.WriteHeader(resp.StatusCode)
	if !hasBody {
		return
	}
	serr := s.streamBody(x, u, resp)
	if serr == nil {
		return
	}
	if serr.upstream && r.Context().Err() == nil {
		s.metrics.upstreamErrors.Inc()
		x.reason, x.err = reasonUpstream, serr.err
	} else {
		x.reason, x.err = reasonAborted, serr.err
	}
	// The client must see a cut download, not a short one: the server
	// drops the connection.
	panic(http.ErrAbortHandler)
}

// bodyAllowed: responses of these statuses have no body (RFC 9110).
func bodyAllowed(status int) bool {
	return status >= http.StatusOK && status != http.StatusNoContent && status != http.StatusNotModified
}

// upstreamFailed answers a request whose response header never came:
// 504 when the image server timed out, else 502, with a short text.
func (s *Server) upstreamFailed(x *exchange, r *http.Request, err error) {
	if r.Context().Err() != nil {
		// The client went away: not the image server's failure.
		x.reason, x.err = reasonAborted, err
		x.w.WriteHeader(http.StatusBadGateway)
		return
	}
	s.metrics.upstreamErrors.Inc()
	x.reason, x.err = reasonUpstream, err
	var ne net.Error
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, os.ErrDeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout()) {
		http.Error(x.w, "gateway timeout: the image server did not answer in time", http.StatusGatewayTimeout)
		return
	}
	http.Error(x.w, "bad gateway: the image server cannot be reached", http.StatusBadGateway)
}

// imageTarget maps a request path under /images/ to its upstream URL,
// under the upstream's own /images/. It refuses what could leave that
// directory: "." and ".." segments, empty segments, backslashes, NUL and
// encoded dots, slashes and backslashes (%2e, %2f, %5c), which a server
// behind might decode again.
func imageTarget(upstream, u *url.URL) (*url.URL, string) {
	rest, ok := strings.CutPrefix(u.Path, "/images/")
	if !ok || rest == "" {
		return nil, "an image path is /images/<file>"
	}
	raw := strings.ToLower(u.EscapedPath())
	for _, enc := range []string{"%2e", "%2f", "%5c", "%00"} {
		if strings.Contains(raw, enc) {
			return nil, "encoded dot, slash, backslash or NUL in the path"
		}
	}
	if strings.ContainsAny(rest, "\\\x00") {
		return nil, "backslash or NUL in the path"
	}
	for _, seg := range strings.Split(rest, "/") {
		if seg == "" || seg == "." || seg == ".." {
			return nil, "empty, . or .. segment in the path"
		}
	}
	base := upstream.Path + "/images/"
	p := path.Clean(base + rest)
	if !strings.HasPrefix(p, base) {
		return nil, "the path leaves /images/"
	}
	t := *upstream
	t.Path, t.RawPath, t.RawQuery = p, "", ""
	return &t, ""
}

// upstreamFor is Ironic's image server: Config.IronicHTTPURL, else the
// host table's Site's (nil when neither is set).
func (s *Server) upstreamFor(site boot.Site) *url.URL {
	if s.upstream != nil || site.IronicHTTPURL == "" {
		return s.upstream
	}
	u, err := parseUpstream(site.IronicHTTPURL)
	if err != nil {
		return nil
	}
	return u
}

// bufferPool lends the proxy its copy buffers.
type bufferPool struct{ p sync.Pool }

func newBufferPool() *bufferPool {
	return &bufferPool{p: sync.Pool{New: func() any { b := make([]byte, copyBuffer); return &b }}}
}

func (b *bufferPool) Get() []byte {
	if p, ok := b.p.Get().(*[]byte); ok {
		return *p
	}
	return make([]byte, copyBuffer)
}

func (b *bufferPool) Put(p []byte) { b.p.Put(&p) }
