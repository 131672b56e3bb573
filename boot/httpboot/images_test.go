package httpboot

import (
	"bytes"
	"crypto/sha256"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// generated is a file of size bytes that exists only as a function of
// the offset: large downloads need no disk and no memory.
type generated struct {
	size, off int64
}

func genByte(i int64) byte { return byte(i*7 + i>>13) }

func (g *generated) Read(p []byte) (int, error) {
	if g.off >= g.size {
		return 0, io.EOF
	}
	n := int(min(int64(len(p)), g.size-g.off))
	for i := range n {
		p[i] = genByte(g.off + int64(i))
	}
	g.off += int64(n)
	return n, nil
}

func (g *generated) Seek(off int64, whence int) (int64, error) {
	switch whence {
	case io.SeekStart:
		g.off = off
	case io.SeekCurrent:
		g.off += off
	case io.SeekEnd:
		g.off = g.size + off
	}
	return g.off, nil
}

// origin is a fake Ironic image server: it records what reaches it.
type origin struct {
	*httptest.Server
	mu       sync.Mutex
	requests []*http.Request
	release  chan struct{}
}

var originModTime = time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)

func newOrigin(t testing.TB) *origin {
	t.Helper()
	o := &origin{release: make(chan struct{})}
	o.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		o.mu.Lock()
		o.requests = append(o.requests, r.Clone(r.Context()))
		o.mu.Unlock()
		switch r.URL.Path {
		case "/images/ironic-python-agent.kernel", "/prefix/images/ironic-python-agent.kernel":
			w.Header().Set("ETag", `"kernel-1"`)
			http.ServeContent(w, r, "kernel", originModTime, bytes.NewReader(kernelBytes))
		case "/images/big":
			http.ServeContent(w, r, "big", originModTime, &generated{size: bigSize})
		case "/images/hang": // no headers until released
			select {
			case <-r.Context().Done():
			case <-o.release:
			}
		case "/images/stall": // half a body, then silence
			w.Header().Set("Content-Length", "2000000")
			_, _ = w.Write(make([]byte, 1000000))
			_ = http.NewResponseController(w).Flush()
			select {
			case <-r.Context().Done():
			case <-o.release:
			}
		case "/images/missing":
			http.NotFound(w, r)
		default:
			http.Error(w, "unexpected path "+r.URL.Path, http.StatusTeapot)
		}
	}))
	t.Cleanup(func() {
		close(o.release)
		o.Close()
	})
	return o
}

func (o *origin) seen() []*http.Request {
	o.mu.Lock()
	defer o.mu.Unlock()
	return slices.Clone(o.requests)
}

var kernelBytes = bytes.Repeat([]byte("0123456789abcdef"), 4096)

const bigSize = 256 << 20

func TestImageProxyRangeAndConditionals(t *testing.T) {
	o := newOrigin(t)
	env := newEnv(t, Config{IronicHTTPURL: o.URL})
	url := env.url + "/images/ironic-python-agent.kernel"

	resp, body := get(t, url, nil)
	if resp.StatusCode != http.StatusOK || body != string(kernelBytes) {
		t.Fatalf("GET: %d, %d bytes", resp.StatusCode, len(body))
	}
	resp, body = get(t, url, http.Header{"Range": {"bytes=16-31"}})
	if resp.StatusCode != http.StatusPartialContent || body != "0123456789abcdef" ||
		resp.Header.Get("Content-Range") != "bytes 16-31/65536" {
		t.Errorf("Range: %d %q %q", resp.StatusCode, resp.Header.Get("Content-Range"), body)
	}
	resp, body = get(t, url, http.Header{"Range": {"bytes=65530-"}, "If-Range": {`"kernel-1"`}})
	if resp.StatusCode != http.StatusPartialContent || body != "abcdef" {
		t.Errorf("If-Range, same ETag: %d %q", resp.StatusCode, body)
	}
	resp, body = get(t, url, http.Header{"Range": {"bytes=65530-"}, "If-Range": {`"kernel-0"`}})
	if resp.StatusCode != http.StatusOK || len(body) != len(kernelBytes) {
		t.Errorf("If-Range, other ETag: %d, %d bytes", resp.StatusCode, len(body))
	}
	resp, _ = get(t, url, http.Header{"If-None-Match": {`"kernel-1"`}})
	if resp.StatusCode != http.StatusNotModified {
		t.Errorf("If-None-Match: %d", resp.StatusCode)
	}
	resp, _ = get(t, url, http.Header{"If-Modified-Since": {originModTime.Format(http.TimeFormat)}})
	if resp.StatusCode != http.StatusNotModified {
		t.Errorf("If-Modified-Since: %d", resp.StatusCode)
	}
	resp, _ = get(t, url, http.Header{"If-Match": {`"other"`}})
	if resp.StatusCode != http.StatusPreconditionFailed {
		t.Errorf("If-Match: %d", resp.StatusCode)
	}
	resp, _ = get(t, env.url+"/images/missing", nil)
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("missing: %d", resp.StatusCode)
	}
	ev := env.ring.Events(mac1)
	if len(ev) != 8 || ev[1].Kind != "image" || ev[1].Attrs["status"] != "206" || ev[1].Attrs["file"] != "images/ironic-python-agent.kernel" {
		t.Errorf("trace: %+v", ev)
	}
}

// Only the listed headers reach the image server; the query is dropped;
// the upstream's own path prefix is kept.
func TestImageProxyDropsHeaders(t *testing.T) {
	o := newOrigin(t)
	env := newEnv(t, Config{IronicHTTPURL: o.URL + "/prefix/"})
	resp, _ := get(t, env.url+"/images/ironic-python-agent.kernel?token=x", http.Header{
		"Authorization":       {"Basic c2VjcmV0"},
		"Proxy-Authorization": {"Basic c2VjcmV0"},
		"Cookie":              {"session=secret"},
		"X-Forwarded-For":     {"10.9.9.9"},
		"X-Forwarded-Host":    {"evil"},
		"X-Forwarded-Proto":   {"https"},
		"Forwarded":           {"for=10.9.9.9"},
		"X-Real-Ip":           {"10.9.9.9"},
		"Via":                 {"1.1 evil"},
		"Te":                  {"trailers"},
		"Connection":          {"X-Custom"},
		"X-Custom":            {"1"},
		"Accept-Encoding":     {"gzip"},
		"Accept":              {"*/*"},
		"User-Agent":          {"iPXE/1.0.0+"},
		"Range":               {"bytes=0-9"},
	})
	if resp.StatusCode != http.StatusPartialContent {
		t.Fatalf("status %d", resp.StatusCode)
	}
	seen := o.seen()
	if len(seen) != 1 {
		t.Fatalf("%d upstream requests", len(seen))
	}
	r := seen[0]
	if r.URL.Path != "/prefix/images/ironic-python-agent.kernel" || r.URL.RawQuery != "" {
		t.Errorf("upstream URL %s", r.URL)
	}
	if r.Host != strings.TrimPrefix(o.URL, "http://") {
		t.Errorf("upstream Host %q", r.Host)
	}
	// Connection: close is the proxy's own: each download has a
	// connection of its own.
	want := http.Header{"Accept": {"*/*"}, "User-Agent": {"iPXE/1.0.0+"}, "Range": {"bytes=0-9"}, "Connection": {"close"}}
	if diff := cmp.Diff(want, r.Header); diff != "" {
		t.Errorf("upstream headers (-want +got):\n%s", diff)
	}
	// Without a User-Agent, none is sent (not Go's).
	_, _ = get(t, env.url+"/images/ironic-python-agent.kernel", http.Header{"User-Agent": {""}})
	if seen = o.seen(); len(seen[1].Header) != 1 || seen[1].Header.Get("Connection") != "close" {
		t.Errorf("upstream headers without the client's: %v", seen[1].Header)
	}
}

func TestImageProxyRefusesEscapes(t *testing.T) {
	o := newOrigin(t)
	env := newEnv(t, Config{IronicHTTPURL: o.URL + "/prefix"})
	for _, target := range []string{"/images/../secret", "/images/%2e%2e/secret", "/images/%2E%2E/secret", "/images/x/..%2f..%2fsecret",
		"/images/a%2fb", "/images/a%5cb", "/images/a%5Cb", "/images//x", "/images/./x", "/images/", "/images", "/images/x/..",
		"/images/a\\..\\b", "/images/%00"} {
		code, body := rawGet(t, env.addr, target)
		if code != http.StatusBadRequest {
			t.Errorf("GET %s: %d %q, want 400", target, code, body)
		}
	}
	if n := len(o.seen()); n != 0 {
		t.Errorf("%d requests reached the image server", n)
	}
}

// An image server that does not answer gets 504 within the bound; one
// that cannot be reached 502; one that stops sending mid-body is cut off.
func TestImageProxyUpstreamFailures(t *testing.T) {
	o := newOrigin(t)
	env := newEnv(t, Config{IronicHTTPURL: o.URL, UpstreamHeaderTimeout: 300 * time.Millisecond, StallTimeout: 300 * time.Millisecond})
	start := time.Now()
	resp, body := get(t, env.url+"/images/hang", nil)
	if resp.StatusCode != http.StatusGatewayTimeout || !strings.Contains(body, "did not answer in time") {
		t.Errorf("hang: %d %q", resp.StatusCode, body)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("hang: answered after %s, bound 300ms", d)
	}

	start = time.Now()
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, env.url+"/images/stall", nil)
	sr, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	n, err := io.Copy(io.Discard, sr.Body)
	_ = sr.Body.Close()
	if err == nil || n >= 2000000 {
		t.Errorf("stall: read %d bytes, err %v; want a cut download", n, err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("stall: cut after %s, bound 300ms", d)
	}

	down := newEnv(t, Config{IronicHTTPURL: "http://127.0.0.1:1"})
	resp, body = get(t, down.url+"/images/ironic-python-agent.kernel", nil)
	if resp.StatusCode != http.StatusBadGateway || !strings.Contains(body, "cannot be reached") {
		t.Errorf("unreachable: %d %q", resp.StatusCode, body)
	}
	if got := testutil.ToFloat64(env.srv.metrics.upstreamErrors); got != 2 {
		t.Errorf("upstream errors: %v, want 2 (hang, stall)", got)
	}
	if got := testutil.ToFloat64(down.srv.metrics.upstreamErrors); got != 1 {
		t.Errorf("upstream errors: %v, want 1 (unreachable)", got)
	}
	if !strings.Contains(env.logs.String(), "sent nothing for 300ms") {
		t.Errorf("no log of the stall:\n%s", env.logs.String())
	}
}

// Image downloads beyond MaxImageStreams get 503 at once.
func TestImageProxyBusy(t *testing.T) {
	o := newOrigin(t)
	env := newEnv(t, Config{IronicHTTPURL: o.URL, MaxImageStreams: 1})
	done := make(chan struct{})
	go func() {
		defer close(done)
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, env.url+"/images/hang", nil)
		if resp, err := http.DefaultClient.Do(req); err == nil {
			_ = resp.Body.Close()
		}
	}()
	for len(o.seen()) == 0 {
		time.Sleep(10 * time.Millisecond)
	}
	resp, body := get(t, env.url+"/images/ironic-python-agent.kernel", nil)
	if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") != "1" || !strings.Contains(body, "too many image downloads") {
		t.Errorf("second download: %d %q", resp.StatusCode, body)
	}
	if resp, _ = get(t, env.url+"/boot/02-00-00-00-00-01.ipxe", nil); resp.StatusCode != http.StatusOK {
		t.Errorf("a script while the images are busy: %d", resp.StatusCode)
	}
	o.release <- struct{}{}
	<-done
	if resp, _ = get(t, env.url+"/images/ironic-python-agent.kernel", nil); resp.StatusCode != http.StatusOK {
		t.Errorf("after the first download: %d", resp.StatusCode)
	}
}

// A 256 MiB image passes through the proxy whole, and the heap stays far
// below the image's size: the proxy streams.
func TestImageProxyLargeDownloadBoundedMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("256 MiB download")
	}
	o := newOrigin(t)
	env := newEnv(t, Config{IronicHTTPURL: o.URL})
	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	var peak atomic.Uint64
	stop := make(chan struct{})
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		var ms runtime.MemStats
		for {
			runtime.ReadMemStats(&ms)
			if ms.HeapInuse > peak.Load() {
				peak.Store(ms.HeapInuse)
			}
			select {
			case <-stop:
				return
			case <-time.After(20 * time.Millisecond):
			}
		}
	}()
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, env.url+"/images/big", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	h := sha256.New()
	n, err := io.Copy(h, resp.Body)
	_ = resp.Body.Close()
	close(stop)
	<-sampled
	if err != nil || n != bigSize {
		t.Fatalf("read %d bytes of %d: %v", n, bigSize, err)
	}
	want := sha256.New()
	if _, err := io.Copy(want, &generated{size: bigSize}); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(h.Sum(nil), want.Sum(nil)) {
		t.Error("the image changed on its way through the proxy")
	}
	const bound = 32 << 20
	growth := int64(peak.Load()) - int64(before.HeapInuse)
	t.Logf("heap in use: %d MiB before, peak %d MiB during a %d MiB download", before.HeapInuse>>20, peak.Load()>>20, bigSize>>20)
	if growth > bound {
		t.Errorf("the heap grew by %d MiB during the download, bound %d MiB: the proxy buffers", growth>>20, bound>>20)
	}
	if got := testutil.ToFloat64(env.srv.metrics.bytes.WithLabelValues(RouteImage)); got != bigSize {
		t.Errorf("metalgit_http_response_bytes_total{route=image} = %v", got)
	}
}
