package httpboot

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/textproto"
	"net/url"
	"slices"
	"strings"
	"time"
)

// maxUpstreamHeader bounds the response header the image server may send.
const maxUpstreamHeader = 1 << 20

// upstream is one image request's connection to Ironic's image server.
// Each download has a connection of its own, closed when it ends: the
// body can then be moved from this connection to the client's by the
// kernel (see stream.go), and a download cut half-way leaves nothing
// behind to reuse.
type upstream struct {
	conn net.Conn
	// tcp is the connection when it is plain TCP (nil under TLS): the
	// body can be spliced from it.
	tcp *net.TCPConn
	br  *bufio.Reader
	// body is the response's body, closed with the connection.
	body io.Closer
	// stop undoes the close of conn on the request's cancellation.
	stop func() bool
}

// upstreamError is a failure to get the image server's response header.
type upstreamError struct {
	op  string
	err error
}

func (e *upstreamError) Error() string { return e.op + ": " + e.err.Error() }
func (e *upstreamError) Unwrap() error { return e.err }

// openUpstream sends in's image request to target on a new connection
// and reads the response header. Ending ctx (the client went away) closes
// the connection, which ends any read or write on it.
func (s *Server) openUpstream(ctx context.Context, target *url.URL, in *http.Request) (*upstream, *http.Response, error) {
	d := net.Dialer{Timeout: s.cfg.UpstreamDialTimeout, KeepAlive: 30 * time.Second}
	raw, err := d.DialContext(ctx, "tcp", hostPort(target))
	if err != nil {
		return nil, nil, &upstreamError{"connect", err}
	}
	u := &upstream{conn: raw, stop: context.AfterFunc(ctx, func() { _ = raw.Close() })}
	resp, err := u.start(ctx, s, target, in)
	if err != nil {
		u.close()
		return nil, nil, err
	}
	return u, resp, nil
}

func (u *upstream) start(ctx context.Context, s *Server, target *url.URL, in *http.Request) (*http.Response, error) {
	if target.Scheme == "https" {
		_ = u.conn.SetDeadline(time.Now().Add(s.cfg.UpstreamDialTimeout))
		tc := tls.Client(u.conn, &tls.Config{ServerName: target.Hostname(), MinVersion: tls.VersionTLS12})
		if err := tc.HandshakeContext(ctx); err != nil {
			return nil, &upstreamError{"TLS handshake", err}
		}
		u.conn = tc
	} else {
		u.tcp, _ = u.conn.(*net.TCPConn)
	}
	req := outRequest(in, target)
	_ = u.conn.SetDeadline(time.Now().Add(s.cfg.UpstreamHeaderTimeout))
	if err := req.Write(u.conn); err != nil {
		return nil, &upstreamError{"send the request", err}
	}
	hdr := &io.LimitedReader{R: u.conn, N: maxUpstreamHeader}
	u.br = bufio.NewReaderSize(hdr, 32<<10)
	// Informational (1xx) answers before the response are skipped.
	for range 8 {
		resp, err := http.ReadResponse(u.br, req)
		if err != nil {
			if hdr.N <= 0 {
				err = fmt.Errorf("response header larger than %d bytes", maxUpstreamHeader)
			}
			return nil, &upstreamError{"read the response", err}
		}
		if resp.StatusCode >= http.StatusOK {
			u.body = resp.Body
			// The body is read past the header's bound.
			hdr.N = 1<<63 - 1
			_ = u.conn.SetDeadline(time.Time{})
			return resp, nil
		}
		if resp.StatusCode == http.StatusSwitchingProtocols {
			return nil, &upstreamError{"read the response", errors.New("101 Switching Protocols to an image request")}
		}
	}
	return nil, &upstreamError{"read the response", errors.New("more than 8 informational responses")}
}

// close closes the connection, then the body (which cannot wait for
// the rest of a body any more).
func (u *upstream) close() {
	u.stop()
	_ = u.conn.Close()
	if u.body != nil {
		_ = u.body.Close()
	}
}

// hostPort is target's host and port, the scheme's port when it has none.
func hostPort(target *url.URL) string {
	if port := target.Port(); port != "" {
		return net.JoinHostPort(target.Hostname(), port)
	}
	if target.Scheme == "https" {
		return net.JoinHostPort(target.Hostname(), "443")
	}
	return net.JoinHostPort(target.Hostname(), "80")
}

// outRequest is the request sent upstream: in's method on target, with
// only PassedHeaders, no User-Agent of Go's own, and "Connection: close".
func outRequest(in *http.Request, target *url.URL) *http.Request {
	h := make(http.Header, len(PassedHeaders))
	for _, k := range PassedHeaders {
		if v, ok := in.Header[k]; ok {
			h[k] = slices.Clone(v)
		}
	}
	if _, ok := h["User-Agent"]; !ok {
		h["User-Agent"] = []string{""}
	}
	return &http.Request{Method: in.Method, URL: target, Host: target.Host, Header: h, Close: true,
		Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1}
}

// hopHeaders are a connection's own headers (RFC 9110, 7.6.1): they are
// not passed from the image server's response to the client's.
var hopHeaders = []string{"Connection", "Proxy-Connection", "Keep-Alive", "Proxy-Authenticate",
	"Proxy-Authorization", "Te", "Trailer", "Transfer-Encoding", "Upgrade"}

// copyResponseHeader copies the image server's end-to-end headers to dst.
// Of a response with a body, Content-Length is the body's length as read
// (none when unknown: the client's response is then chunked); of one
// without (HEAD, 304), it is passed as sent.
func copyResponseHeader(dst http.Header, resp *http.Response, hasBody bool) {
	drop := map[string]bool{}
	for _, h := range hopHeaders {
		drop[h] = true
	}
	for _, v := range resp.Header["Connection"] {
		for f := range strings.SplitSeq(v, ",") {
			drop[textproto.CanonicalMIMEHeaderKey(strings.TrimSpace(f))] = true
		}
	}
	for k, v := range resp.Header {
		if !drop[k] {
			dst[k] = slices.Clone(v)
		}
	}
	if hasBody {
		dst.Del("Content-Length")
		if resp.ContentLength >= 0 {
			dst.Set("Content-Length", fmt.Sprint(resp.ContentLength))
		}
	}
}
