package httpboot

import (
	"bufio"
	"crypto/sha256"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
)

// A download through Serve's own listener is spliced and arrives whole;
// one of unknown length (chunked) is copied through a buffer. Spliced,
// the body's bytes are read by a system call once, by the client: this
// process's rchar (/proc/self/io) grows by the image's size, not twice it
// as when the proxy reads them too.
func TestImageProxySplicesThroughServe(t *testing.T) {
	o := newOrigin(t)
	chunked := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for range 4 {
			_, _ = w.Write(kernelBytes)
			_ = http.NewResponseController(w).Flush()
		}
	}))
	t.Cleanup(chunked.Close)
	for _, tc := range []struct {
		name, origin string
		size         int64
		spliced      bool
	}{
		{"known length", o.URL, bigSize, true},
		{"chunked", chunked.URL, 4 * int64(len(kernelBytes)), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, addr := startServing(t, Config{IronicHTTPURL: tc.origin})
			rchar := readChars(t)
			req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, "http://"+addr+"/images/big", nil)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			h := sha256.New()
			n, err := io.Copy(h, resp.Body)
			_ = resp.Body.Close()
			if err != nil || n != tc.size {
				t.Fatalf("read %d bytes of %d: %v", n, tc.size, err)
			}
			if tc.spliced {
				want := sha256.New()
				_, _ = io.Copy(want, &generated{size: bigSize})
				if string(h.Sum(nil)) != string(want.Sum(nil)) {
					t.Error("the image changed on its way")
				}
			}
			read := readChars(t) - rchar
			if tc.spliced && read > tc.size*3/2 {
				t.Errorf("%d KiB read by system calls for a %d KiB image: the proxy copied it", read>>10, tc.size>>10)
			}
			if !tc.spliced && read < 2*tc.size {
				t.Errorf("%d KiB read by system calls for a %d KiB image: the proxy did not copy it", read>>10, tc.size>>10)
			}
		})
	}
}

// startServing runs a server with Serve (its own listener and limits, as
// metalgit boot runs it) on a loopback port until t ends, and returns it
// with its address. cfg's URLs, root and hosts are filled as newEnv's.
func startServing(t *testing.T, cfg Config) (*Server, string) {
	t.Helper()
	cfg.HTTPURL, cfg.CallbackURL, cfg.Root, cfg.Hosts, cfg.Listen = "http://x:8080", "http://x:8081", t.TempDir(), testHosts(t), netip127()
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := s.Listen(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = s.Serve(t.Context(), ln) }()
	return s, ln.Addr().String()
}

// readChars is the bytes this process has read with read(2) and the
// like (rchar in /proc/self/io).
func readChars(t *testing.T) int64 {
	t.Helper()
	b, err := os.ReadFile("/proc/self/io")
	if err != nil {
		t.Fatal(err)
	}
	for line := range strings.Lines(string(b)) {
		if v, ok := strings.CutPrefix(line, "rchar: "); ok {
			n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			return n
		}
	}
	t.Fatalf("no rchar in /proc/self/io: %q", b)
	return 0
}

// A client that stops reading is cut off after StallTimeout, and it is
// the client's doing, not the image server's.
func TestImageProxyClientStalls(t *testing.T) {
	o := newOrigin(t)
	env := newEnv(t, Config{IronicHTTPURL: o.URL, StallTimeout: 300 * time.Millisecond})
	c, err := net.Dial("tcp", env.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = c.Close() }()
	// A small receive buffer: the stall shows sooner.
	tc, ok := c.(*net.TCPConn)
	if !ok {
		t.Fatalf("%T is not TCP", c)
	}
	if err := tc.SetReadBuffer(64 << 10); err != nil {
		t.Fatal(err)
	}
	if _, err := io.WriteString(c, "GET /images/big HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(env.logs.String(), "route=image") {
		if time.Now().After(deadline) {
			t.Fatalf("no log line of the stalled download:\n%s", env.logs.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	logs := env.logs.String()
	if !strings.Contains(logs, "reason=aborted") || !strings.Contains(logs, "the client took nothing for 300ms") {
		t.Errorf("the stall is not the client's:\n%s", logs)
	}
	if got := testutil.ToFloat64(env.srv.metrics.upstreamErrors); got != 0 {
		t.Errorf("upstream errors %v, want 0", got)
	}
}

// An image server that closes the connection before the body's end cuts
// the client's download (no short 200 that looks whole) and is counted.
func TestImageProxyUpstreamCut(t *testing.T) {
	cut := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "2000000")
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write(make([]byte, 1000000))
		_ = http.NewResponseController(w).Flush()
		conn, _, err := http.NewResponseController(w).Hijack()
		if err == nil {
			_ = conn.Close()
		}
	}))
	t.Cleanup(cut.Close)
	env := newEnv(t, Config{IronicHTTPURL: cut.URL})
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, env.url+"/images/x", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	n, err := io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	if err == nil || n >= 2000000 {
		t.Errorf("read %d bytes, err %v; want a cut download", n, err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for testutil.ToFloat64(env.srv.metrics.upstreamErrors) != 1 {
		if time.Now().After(deadline) {
			t.Fatalf("upstream errors %v, want 1:\n%s", testutil.ToFloat64(env.srv.metrics.upstreamErrors), env.logs.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	if !strings.Contains(env.logs.String(), "bytes short") {
		t.Errorf("the log does not say the body was short:\n%s", env.logs.String())
	}
}

// HEAD gets the image server's headers, its Content-Length included, and
// no body; an image server on https whose certificate is not trusted is
// not reached.
func TestImageProxyHeadAndTLS(t *testing.T) {
	o := newOrigin(t)
	env := newEnv(t, Config{IronicHTTPURL: o.URL})
	c, err := net.Dial("tcp", env.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = c.Close() }()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	_, _ = io.WriteString(c, "HEAD /images/ironic-python-agent.kernel HTTP/1.1\r\nHost: x\r\n\r\n")
	resp, err := http.ReadResponse(bufio.NewReader(c), &http.Request{Method: http.MethodHead})
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Length") != "65536" || resp.Header.Get("Etag") != `"kernel-1"` {
		t.Errorf("HEAD: %d %v", resp.StatusCode, resp.Header)
	}

	tlsOrigin := httptest.NewTLSServer(http.NotFoundHandler())
	t.Cleanup(tlsOrigin.Close)
	tenv := newEnv(t, Config{IronicHTTPURL: tlsOrigin.URL})
	r, body := get(t, tenv.url+"/images/x", nil)
	if r.StatusCode != http.StatusBadGateway || !strings.Contains(body, "cannot be reached") ||
		!strings.Contains(tenv.logs.String(), "certificate") {
		t.Errorf("untrusted TLS image server: %d %q\n%s", r.StatusCode, body, tenv.logs.String())
	}
}

// The listener of Serve holds MaxConns connections at once and keeps
// their io.ReaderFrom.
func TestLimitListener(t *testing.T) {
	inner, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ln := newLimitListener(inner, 1)
	t.Cleanup(func() { _ = ln.Close() })
	accepted := make(chan net.Conn, 2)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			accepted <- c
		}
	}()
	for range 2 {
		c, err := net.Dial("tcp", inner.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = c.Close() })
	}
	first := <-accepted
	if _, ok := first.(io.ReaderFrom); !ok {
		t.Error("an accepted connection has no ReadFrom")
	}
	select {
	case <-accepted:
		t.Fatal("a second connection was accepted while the first is open")
	case <-time.After(200 * time.Millisecond):
	}
	_ = first.Close()
	select {
	case c := <-accepted:
		_ = c.Close()
	case <-time.After(10 * time.Second):
		t.Fatal("the second connection was not accepted after the first closed")
	}
}

// Clients that reset their connection mid-download (a machine power
// cycled while it fetched its ramdisk) are the clients' doing: no
// upstream error is counted, however the splice sees the reset.
func TestImageProxyClientResets(t *testing.T) {
	o := newOrigin(t)
	s, addr := startServing(t, Config{IronicHTTPURL: o.URL})
	for range 20 {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		_ = c.SetDeadline(time.Now().Add(30 * time.Second))
		if _, err := io.WriteString(c, "GET /images/big HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
			t.Fatal(err)
		}
		if _, err := io.CopyN(io.Discard, c, 8<<20); err != nil {
			t.Fatal(err)
		}
		if tc, ok := c.(*net.TCPConn); ok {
			_ = tc.SetLinger(0) // close with a reset
		}
		_ = c.Close()
	}
	// Let the downloads' ends be accounted.
	deadline := time.Now().Add(20 * time.Second)
	for testutil.ToFloat64(s.metrics.inFlight) != 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if got := testutil.ToFloat64(s.metrics.upstreamErrors); got != 0 {
		t.Errorf("upstream errors %v after 20 client resets, want 0", got)
	}
}
