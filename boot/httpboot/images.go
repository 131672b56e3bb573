package httpboot

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"path"
	"strings"
	"sync"
	"sync/atomic"
	"time"

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

// proxyState is one image request's, shared by the proxy's hooks.
type proxyState struct {
	target *url.URL
	x      *exchange
	// cancel ends the upstream request: the transport then closes its
	// connection, which ends a read blocked on it.
	cancel context.CancelCauseFunc
	// body is the upstream body, once the response is in.
	body *stallBody
}

// serveImage answers GET /images/…: a streaming proxy to Config.IronicHTTPURL.
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
	ctx, cancel := context.WithCancelCause(r.Context())
	st := &proxyState{target: target, x: x, cancel: cancel}
	defer func() {
		cancel(nil)
		// A body cut by the upstream (not by a client that went away).
		if st.body != nil && r.Context().Err() == nil {
			if err := st.body.failure(); err != nil {
				s.metrics.upstreamErrors.Inc()
				x.reason, x.err = reasonUpstream, err
			}
		}
	}()
	s.proxyFor(st).ServeHTTP(x.w, r.WithContext(ctx))
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

// newTransport builds the transport to Ironic's image server, shared by
// all image requests.
func (s *Server) newTransport() *http.Transport {
	dialer := &net.Dialer{Timeout: s.cfg.UpstreamDialTimeout, KeepAlive: 30 * time.Second}
	transport := &http.Transport{
		// No environment proxy: the image server is where the flag says.
		Proxy:                 nil,
		DialContext:           dialer.DialContext,
		TLSHandshakeTimeout:   s.cfg.UpstreamDialTimeout,
		ResponseHeaderTimeout: s.cfg.UpstreamHeaderTimeout,
		// The client's Range must reach the upstream as sent, and the
		// body come back as stored: no transparent gzip.
		DisableCompression:  true,
		MaxIdleConnsPerHost: 16,
		IdleConnTimeout:     90 * time.Second,
		MaxConnsPerHost:     s.cfg.MaxImageStreams,
	}
	return transport
}

// proxyFor returns the reverse proxy of one image request: its hooks
// see the request's state (a ReverseProxy is a few words; the transport,
// buffers and logger are the server's).
func (s *Server) proxyFor(st *proxyState) *httputil.ReverseProxy {
	return &httputil.ReverseProxy{
		Rewrite:        func(pr *httputil.ProxyRequest) { rewrite(pr, st.target) },
		Transport:      s.transport,
		BufferPool:     s.buffers,
		ModifyResponse: func(resp *http.Response) error { s.modifyResponse(st, resp); return nil },
		ErrorHandler:   func(w http.ResponseWriter, r *http.Request, err error) { s.proxyError(st, w, r, err) },
		ErrorLog:       s.proxyLog,
	}
}

// rewrite sets the upstream URL and keeps only PassedHeaders.
func rewrite(pr *httputil.ProxyRequest, target *url.URL) {
	pr.Out.URL = target
	pr.Out.Host = ""
	h := make(http.Header, len(PassedHeaders))
	for _, k := range PassedHeaders {
		if v, ok := pr.In.Header[k]; ok {
			h[k] = append([]string(nil), v...)
		}
	}
	pr.Out.Header = h
	pr.Out.Body, pr.Out.ContentLength, pr.Out.Trailer = nil, 0, nil
}

// modifyResponse bounds the wait for each read of the upstream body.
func (s *Server) modifyResponse(st *proxyState, resp *http.Response) {
	st.body = newStallBody(resp.Body, s.cfg.StallTimeout, st.cancel)
	resp.Body = st.body
}

// proxyError answers a request the upstream failed: 504 when it timed
// out, else 502, with a short text.
func (s *Server) proxyError(st *proxyState, w http.ResponseWriter, r *http.Request, err error) {
	if r.Context().Err() != nil {
		// The client went away: not the upstream's failure.
		st.x.reason, st.x.err = reasonAborted, err
		w.WriteHeader(http.StatusBadGateway)
		return
	}
	s.metrics.upstreamErrors.Inc()
	st.x.reason, st.x.err = reasonUpstream, err
	var ne net.Error
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, os.ErrDeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout()) {
		http.Error(w, "gateway timeout: the image server did not answer in time", http.StatusGatewayTimeout)
		return
	}
	http.Error(w, "bad gateway: the image server cannot be reached", http.StatusBadGateway)
}

// stallBody is an upstream body whose every read must return within a
// bound: an upstream that sends nothing for that long is cut off (its
// request is cancelled, which ends the blocked read).
type stallBody struct {
	io.ReadCloser
	stall   time.Duration
	timer   *time.Timer
	stalled atomic.Bool
	mu      sync.Mutex
	err     error
}

// errStalled is the cause of an upstream request cut for its silence.
var errStalled = errors.New("the image server stalled")

func newStallBody(rc io.ReadCloser, stall time.Duration, cancel context.CancelCauseFunc) *stallBody {
	b := &stallBody{ReadCloser: rc, stall: stall}
	b.timer = time.AfterFunc(time.Hour, func() {
		b.stalled.Store(true)
		cancel(errStalled)
	})
	b.timer.Stop()
	return b
}

func (b *stallBody) Read(p []byte) (int, error) {
	b.timer.Reset(b.stall)
	n, err := b.ReadCloser.Read(p)
	b.timer.Stop()
	if err != nil && !errors.Is(err, io.EOF) {
		b.mu.Lock()
		if b.err == nil {
			b.err = err
			if b.stalled.Load() {
				b.err = fmt.Errorf("the image server sent nothing for %s", b.stall)
			}
		}
		b.mu.Unlock()
	}
	return n, err
}

func (b *stallBody) Close() error {
	b.timer.Stop()
	return b.ReadCloser.Close()
}

// failure returns the error reading the body ended with (nil for a body
// read to its end, or left because the client went away).
func (b *stallBody) failure() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.err
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
