package callback_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/metalgit/metalgit/boot"
	"github.com/metalgit/metalgit/boot/callback"
	"github.com/metalgit/metalgit/boot/trace"
	"github.com/metalgit/metalgit/internal/pxelab"
	"github.com/metalgit/metalgit/internal/testlog"
)

// The lab runs on loopback: the host's lease is 127.0.0.2 (the agent
// binds its client and its server there), 127.0.0.3 is another address
// that must never be dialled, and the proxy and Ironic listen on
// 127.0.0.1 (the cluster side).
var (
	hostMAC   = net.HardwareAddr{0x52, 0x54, 0x00, 0xca, 0x11, 0x01}
	hostLease = netip.MustParsePrefix("127.0.0.2/8")
	otherAddr = "127.0.0.3"
)

// agentServer is the agent's side: an HTTP server on the lease that
// records what it is asked.
type agentServer struct {
	ln   net.Listener
	mu   sync.Mutex
	reqs []string // METHOD path?query body
}

func startAgent(t *testing.T, addr string) *agentServer {
	t.Helper()
	ln, err := net.Listen("tcp4", addr+":0")
	if err != nil {
		t.Fatal(err)
	}
	a := &agentServer{ln: ln}
	srv := &http.Server{ReadHeaderTimeout: 5 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		a.mu.Lock()
		a.reqs = append(a.reqs, r.Method+" "+r.URL.RequestURI()+" "+string(b))
		a.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"command_status": "SUCCEEDED", "command_result": {"ok": true}}`))
	})}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return a
}

func (a *agentServer) port() string {
	_, port, _ := net.SplitHostPort(a.ln.Addr().String())
	return port
}

func (a *agentServer) requests() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]string(nil), a.reqs...)
}

// countingListener counts the connections made to an address that must
// never be dialled.
type countingListener struct {
	ln    net.Listener
	count atomic.Int64
}

func listenCounting(t *testing.T, addr string) *countingListener {
	t.Helper()
	ln, err := net.Listen("tcp4", addr+":0")
	if err != nil {
		t.Fatal(err)
	}
	c := &countingListener{ln: ln}
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			c.count.Add(1)
			_ = conn.Close()
		}
	}()
	t.Cleanup(func() { _ = ln.Close() })
	return c
}

// clientFrom is an HTTP client whose connections leave from addr.
func clientFrom(addr string) *http.Client {
	d := &net.Dialer{Timeout: 5 * time.Second, LocalAddr: &net.TCPAddr{IP: net.ParseIP(addr)}}
	return &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{DialContext: d.DialContext, Proxy: nil}}
}

type lab struct {
	url   string // the proxy
	ln    net.Listener
	agent *http.Client
	trace *trace.Ring
	store *boot.Store
	logs  *testlog.Buffer
}

func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = ln.Close() }()
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	return port
}

// startIronic runs a real Ironic for the test (skipped without it, a
// failure under CI).
func startIronic(t *testing.T) *pxelab.Ironic {
	t.Helper()
	return pxelab.StartIronic(t, exec.CommandContext, &http.Client{Timeout: 30 * time.Second}, "127.0.0.1", freePort(t))
}

func hostTable(t *testing.T) *boot.Store {
	t.Helper()
	tab, err := boot.NewTable("test", []boot.Host{{MAC: hostMAC, Name: "server-01", Address: hostLease, Phase: boot.PhaseInspect}})
	if err != nil {
		t.Fatal(err)
	}
	s := &boot.Store{}
	s.Swap(tab)
	return s
}

// startProxy serves a callback proxy on 127.0.0.1 whose agent URLs are
// based on agentProxyURL (its own URL when "").
func startProxy(t *testing.T, ironicURL, agentProxyURL string, store *boot.Store, mod func(*callback.Config)) *lab {
	t.Helper()
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	l := &lab{url: "http://" + ln.Addr().String(), ln: ln, agent: clientFrom(hostLease.Addr().String()),
		trace: trace.New(trace.Config{}), store: store, logs: &testlog.Buffer{}}
	if agentProxyURL == "" {
		agentProxyURL = l.url
	}
	cfg := callback.Config{IronicAPIURL: ironicURL, AgentProxyURL: agentProxyURL, Hosts: store, Trace: l.trace,
		Logger: slog.New(slog.NewTextHandler(l.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))}
	if mod != nil {
		mod(&cfg)
	}
	srv, err := callback.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	})
	return l
}

// do sends a request as c and returns status and body.
func do(t *testing.T, c *http.Client, method, url, body string) (int, string) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("X-OpenStack-Ironic-API-Version", pxelab.IronicAPIVersion)
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer func() { _ = resp.Body.Close() }()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// lookup asks Ironic for the host's node through the proxy, as IPA does.
func (l *lab) lookup(t *testing.T) (node, token string) {
	t.Helper()
	code, body := do(t, l.agent, http.MethodGet, l.url+"/v1/lookup?addresses="+url.QueryEscape(hostMAC.String()), "")
	if code != http.StatusOK {
		t.Fatalf("lookup: %d %s\nproxy log:\n%s", code, body, l.logs)
	}
	var got struct {
		Node   struct{ UUID string } `json:"node"`
		Config struct {
			AgentToken string `json:"agent_token"`
		} `json:"config"`
	}
	if err := json.Unmarshal([]byte(body), &got); err != nil {
		t.Fatal(err)
	}
	return got.Node.UUID, got.Config.AgentToken
}

func heartbeatBody(callbackURL, token string) string {
	b, _ := json.Marshal(map[string]string{"callback_url": callbackURL, "agent_token": token, "agent_version": "9.0.0"})
	return string(b)
}

func post(t *testing.T, c *http.Client, url, body string) (int, string) {
	t.Helper()
	return do(t, c, http.MethodPost, url, body)
}
