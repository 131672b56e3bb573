package httpboot

import (
	"bufio"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/metalgit/metalgit/boot"
	"github.com/metalgit/metalgit/boot/trace"
	"github.com/metalgit/metalgit/internal/testlog"
)

// Test hosts: server-01 holds the lease 127.0.0.1, so requests from the
// tests' loopback client are traced under its MAC.
var (
	mac1 = net.HardwareAddr{2, 0, 0, 0, 0, 1}
	mac2 = net.HardwareAddr{2, 0, 0, 0, 0, 2}
	mac3 = net.HardwareAddr{2, 0, 0, 0, 0, 3}
)

func testHosts(t testing.TB) *boot.Store {
	t.Helper()
	tab, err := boot.NewTable("test", []boot.Host{
		{MAC: mac1, Name: "server-01", Address: netip.MustParsePrefix("127.0.0.1/8"), Phase: boot.PhaseInspect,
			KernelParams: boot.KernelParams{Inspector: []string{"host-inspector=1"}, Installer: []string{"host-installer=1"}}},
		{MAC: mac2, Name: "rack1/server 02", Address: netip.MustParsePrefix("192.168.100.4/24"), Phase: boot.PhaseDeploy,
			KernelParams: boot.KernelParams{Installer: []string{"host-installer=2"}}},
		{MAC: mac3, Name: "server-03", Address: netip.MustParsePrefix("192.168.100.5/24"), Phase: boot.PhaseNone},
	})
	if err != nil {
		t.Fatal(err)
	}
	st := &boot.Store{}
	st.Swap(tab)
	return st
}

// testEnv is a server under test with its handler on a loopback
// httptest server.
type testEnv struct {
	srv  *Server
	url  string
	addr string
	ring *trace.Ring
	logs *testlog.Buffer
}

// newEnv starts a server with cfg's zero fields filled for the tests
// (root, upstream, hosts, URLs) and its handler on httptest.
func newEnv(t testing.TB, cfg Config) *testEnv {
	t.Helper()
	logs := &testlog.Buffer{}
	if cfg.Root == "" {
		cfg.Root = t.TempDir()
	}
	if cfg.IronicHTTPURL == "" {
		cfg.IronicHTTPURL = "http://127.0.0.1:1" // nothing listens
	}
	if cfg.HTTPURL == "" {
		cfg.HTTPURL = "http://192.168.100.2:8080"
	}
	if cfg.CallbackURL == "" {
		cfg.CallbackURL = "http://192.168.100.2:8081"
	}
	if cfg.Hosts == nil {
		cfg.Hosts = testHosts(t)
	}
	if cfg.Trace == nil {
		cfg.Trace = trace.New(trace.Config{})
	}
	cfg.Logger = slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(s.Handler())
	t.Cleanup(hs.Close)
	return &testEnv{srv: s, url: hs.URL, addr: hs.Listener.Addr().String(), ring: cfg.Trace, logs: logs}
}

// reply is what get returns of a response: its body is read and closed.
type reply struct {
	StatusCode    int
	Header        http.Header
	ContentLength int64
}

// get sends a GET with headers and returns the response, its body read.
func get(t testing.TB, url string, header http.Header) (reply, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: reading the body: %v", url, err)
	}
	return reply{resp.StatusCode, resp.Header, resp.ContentLength}, string(body)
}

// rawGet sends "GET <target>" as written, without any client cleaning the
// path, and returns the status code and body.
func rawGet(t testing.TB, addr, target string) (int, string) {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = c.Close() }()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(c, "GET "+target+" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatalf("GET %s: %v", target, err)
	}
	defer func() { _ = resp.Body.Close() }()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, strings.TrimSpace(string(body))
}

// netip127 is a free-port loopback listen address.
func netip127() netip.AddrPort { return netip.MustParseAddrPort("127.0.0.1:0") }
