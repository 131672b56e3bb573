package callback_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/metalgit/metalgit/boot"
	"github.com/metalgit/metalgit/boot/callback"
)

// fakeIronic records the requests that reach it and answers as Ironic's
// ramdisk API does: 202 to heartbeats, a node to lookups.
type fakeIronic struct {
	*httptest.Server
	mu      sync.Mutex
	seen    []string
	headers []http.Header
	bodies  []string
}

func startFakeIronic(t *testing.T, delay time.Duration) *fakeIronic {
	t.Helper()
	f := &fakeIronic{}
	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		f.mu.Lock()
		f.seen = append(f.seen, r.Method+" "+r.URL.RequestURI())
		f.headers = append(f.headers, r.Header.Clone())
		f.bodies = append(f.bodies, string(b))
		f.mu.Unlock()
		select {
		case <-time.After(delay):
		case <-r.Context().Done():
			return
		}
		switch {
		case strings.HasPrefix(r.URL.Path, "/v1/heartbeat/"):
			w.WriteHeader(http.StatusAccepted)
		default:
			_, _ = w.Write([]byte(`{"node": {"uuid": "n1"}, "config": {"agent_token": "tok"}}`))
		}
	}))
	t.Cleanup(f.Close)
	return f
}

func (f *fakeIronic) requests() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.seen...)
}

// TestRefusals: what the proxy answers without forwarding, and that
// nothing of it reaches Ironic.
func TestRefusals(t *testing.T) {
	ir := startFakeIronic(t, 0)
	l := startProxy(t, ir.URL, "", hostTable(t), func(c *callback.Config) { c.MaxBodyBytes = 1024 })
	stranger := clientFrom("127.0.0.9")
	big := `{"callback_url": "http://127.0.0.2:9999", "pad": "` + strings.Repeat("x", 2000) + `"}`
	for _, tc := range []struct {
		name         string
		client       *http.Client
		method, path string
		body         string
		code         int
		says         string
	}{
		{"Ironic's node API", l.agent, "GET", "/v1/nodes", "", 404, "passes only"},
		{"Ironic's ports", l.agent, "POST", "/v1/ports", "{}", 404, "passes only"},
		{"a deep path", l.agent, "GET", "/v1/lookup/../nodes", "", 404, ""},
		{"a lookup by POST", l.agent, "POST", "/v1/lookup", "{}", 404, "passes only"},
		{"a heartbeat by GET", l.agent, "GET", "/v1/heartbeat/n1", "", 404, "passes only"},
		{"a stranger's lookup", stranger, "GET", "/v1/lookup?addresses=" + hostMAC.String(), "", 403, "not the address of a host"},
		{"a stranger's heartbeat", stranger, "POST", "/v1/heartbeat/n1", heartbeatBody("http://127.0.0.9:9999", "t"), 403, "not the address"},
		{"a lookup of another MAC", l.agent, "GET", "/v1/lookup?addresses=52:54:00:00:00:99", "", 403, "its own MAC"},
		{"a lookup by node", l.agent, "GET", "/v1/lookup?addresses=" + hostMAC.String() + "&node_uuid=n2", "", 403, "node_uuid is refused"},
		{"a heartbeat without callback_url", l.agent, "POST", "/v1/heartbeat/n1", `{"agent_token": "t"}`, 400, "no callback_url"},
		{"a heartbeat that is not JSON", l.agent, "POST", "/v1/heartbeat/n1", `callback_url=x`, 400, "not a JSON object"},
		{"a heartbeat naming a name", l.agent, "POST", "/v1/heartbeat/n1", heartbeatBody("http://localhost:9999", "t"), 400, "does not name the address"},
		{"a heartbeat to ftp", l.agent, "POST", "/v1/heartbeat/n1", heartbeatBody("ftp://127.0.0.2:21", "t"), 400, "not an http(s) URL"},
		{"a bad node", l.agent, "POST", "/v1/heartbeat/a%20b", heartbeatBody("http://127.0.0.2:9999", "t"), 400, "UUID or a name"},
		{"a heartbeat too big", l.agent, "POST", "/v1/heartbeat/n1", big, 413, "heartbeat body"},
		{"a bad CA", l.agent, "POST", "/v1/heartbeat/n1", `{"callback_url": "https://127.0.0.2:9999", "agent_verify_ca": "junk"}`, 400, "not a PEM"},
		{"inspector without one", l.agent, "POST", "/v1/continue", `{}`, 503, "--ironic-inspector-url"},
		{"agent routes from a lease", l.agent, "POST", "/agents/n1/v1/commands/", `{}`, 403, "Ironic's"},
		{"an unknown agent", http.DefaultClient, "POST", "/agents/n9/v1/commands/", `{}`, 503, "no agent known"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, body := do(t, tc.client, tc.method, l.url+tc.path, tc.body)
			if code != tc.code || !strings.Contains(body, tc.says) {
				t.Fatalf("%s %s: %d %q, want %d saying %q", tc.method, tc.path, code, body, tc.code, tc.says)
			}
		})
	}
	if got := ir.requests(); len(got) != 0 {
		t.Fatalf("refused requests reached Ironic: %v", got)
	}
}

// TestHeadersAndBodiesPass: the allowed headers and the body reach Ironic
// untouched; the others are dropped; the heartbeat's callback_url and
// agent_verify_ca are the only changes.
func TestHeadersAndBodiesPass(t *testing.T) {
	ir := startFakeIronic(t, 0)
	l := startProxy(t, ir.URL, "http://cluster.example:8081/proxy", hostTable(t), nil)
	req, _ := http.NewRequest(http.MethodGet, l.url+"/v1/lookup?addresses="+hostMAC.String()+"&wait=1", nil)
	req.Header.Set("X-OpenStack-Ironic-API-Version", "1.80")
	req.Header.Set("X-OpenStack-Request-Id", "req-1")
	req.Header.Set("Authorization", "Bearer stolen")
	req.Header.Set("X-Forwarded-For", "10.0.0.1")
	req.Header.Set("Cookie", "a=b")
	resp, err := l.agent.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	code, _ := post(t, l.agent, l.url+"/v1/heartbeat/n1",
		`{"callback_url": "http://127.0.0.2:9999", "agent_token": "tok", "agent_version": "9.0.0", "agent_status": "start"}`)
	if code != http.StatusAccepted {
		t.Fatalf("heartbeat: %d", code)
	}
	ir.mu.Lock()
	defer ir.mu.Unlock()
	if want := "GET /v1/lookup?addresses=" + hostMAC.String() + "&wait=1"; ir.seen[0] != want {
		t.Errorf("Ironic got %q, want %q", ir.seen[0], want)
	}
	h := ir.headers[0]
	if h.Get("X-Openstack-Ironic-Api-Version") != "1.80" || h.Get("X-Openstack-Request-Id") != "req-1" {
		t.Errorf("allowed headers lost: %v", h)
	}
	for _, k := range []string{"Authorization", "X-Forwarded-For", "Cookie"} {
		if h.Get(k) != "" {
			t.Errorf("%s reached Ironic: %v", k, h)
		}
	}
	want := `{"agent_status":"start","agent_token":"tok","agent_version":"9.0.0","callback_url":"http://cluster.example:8081/proxy/agents/n1"}`
	if ir.bodies[1] != want {
		t.Errorf("Ironic got the heartbeat\n%s\nwant\n%s", ir.bodies[1], want)
	}
}

// TestIronicTimeoutBounded: an Ironic that does not answer gets the
// agent a 504 within the bound.
func TestIronicTimeoutBounded(t *testing.T) {
	ir := startFakeIronic(t, time.Minute)
	l := startProxy(t, ir.URL, "", hostTable(t), func(c *callback.Config) { c.IronicTimeout = 300 * time.Millisecond })
	start := time.Now()
	code, _ := do(t, l.agent, http.MethodGet, l.url+"/v1/lookup?addresses="+hostMAC.String(), "")
	if code != http.StatusGatewayTimeout {
		t.Fatalf("lookup with a silent Ironic: %d, want 504", code)
	}
	if d := time.Since(start); d > 20*time.Second {
		t.Fatalf("answered after %s", d)
	}
}

// TestTLSAgent: an agent with IPA's automatic TLS is dialled over TLS,
// verified against the certificate it sent; a heartbeat with another
// certificate makes Ironic's next command fail instead of reaching an
// impostor.
func TestTLSAgent(t *testing.T) {
	ir := startFakeIronic(t, 0)
	l := startProxy(t, ir.URL, "", hostTable(t), nil)
	ln, err := net.Listen("tcp4", hostLease.Addr().String()+":0")
	if err != nil {
		t.Fatal(err)
	}
	// IPA's automatic TLS: a self-signed certificate for its address.
	cert, certPEM := selfSigned(t, hostLease.Addr().String())
	agent := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = fmt.Fprintf(w, `{"tls": true, "path": %q}`, r.URL.RequestURI())
	}))
	agent.Listener = ln
	agent.TLS = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	agent.StartTLS()
	t.Cleanup(agent.Close)
	hb := func(ca string) int {
		body := fmt.Sprintf(`{"callback_url": %q, "agent_token": "t", "agent_verify_ca": %q}`, agent.URL, ca)
		code, _ := post(t, l.agent, l.url+"/v1/heartbeat/n1", body)
		return code
	}
	if code := hb(certPEM); code != http.StatusAccepted {
		t.Fatalf("heartbeat: %d", code)
	}
	ir.mu.Lock()
	sent := ir.bodies[0]
	ir.mu.Unlock()
	if strings.Contains(sent, "agent_verify_ca") || !strings.Contains(sent, `"callback_url":"`+l.url+`/agents/n1"`) {
		t.Fatalf("Ironic was told %s", sent)
	}
	code, body := post(t, http.DefaultClient, l.url+"/agents/n1/v1/commands/?agent_token=t", `{}`)
	if code != http.StatusOK || !strings.Contains(body, `"path": "/v1/commands/?agent_token=t"`) {
		t.Fatalf("command to the TLS agent: %d %s", code, body)
	}
	// Another certificate: the real agent's no longer verifies.
	_, otherPEM := selfSigned(t, hostLease.Addr().String())
	if code := hb(otherPEM); code != http.StatusAccepted {
		t.Fatalf("heartbeat: %d", code)
	}
	if code, body := post(t, http.DefaultClient, l.url+"/agents/n1/v1/commands/", `{}`); code != http.StatusBadGateway {
		t.Fatalf("command to an agent whose certificate does not verify: %d %s, want 502", code, body)
	}
}

// selfSigned makes a certificate for ip, as IPA's automatic TLS does.
func selfSigned(t *testing.T, ip string) (tls.Certificate, string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: ip},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP(ip)}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, BasicConstraintsValid: true, IsCA: true}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key},
		string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
}

// TestIronicFromTheSite: without --ironic-api-url, the host table's Site
// names Ironic (serve --boot); with neither, the agent gets 503.
func TestIronicFromTheSite(t *testing.T) {
	ir := startFakeIronic(t, 0)
	store := hostTable(t)
	l := startProxy(t, "", "", store, nil)
	if code, body := do(t, l.agent, http.MethodGet, l.url+"/v1/lookup?addresses="+hostMAC.String(), ""); code != http.StatusServiceUnavailable ||
		!strings.Contains(body, "bootProxy.ironic.apiURL") {
		t.Fatalf("lookup with no Ironic: %d %s", code, body)
	}
	tab, err := store.Load().WithSite(boot.Site{IronicAPIURL: ir.URL})
	if err != nil {
		t.Fatal(err)
	}
	store.Swap(tab)
	if code, _ := do(t, l.agent, http.MethodGet, l.url+"/v1/lookup?addresses="+hostMAC.String(), ""); code != http.StatusOK {
		t.Fatalf("lookup with the Site's Ironic: %d", code)
	}
	if got := ir.requests(); len(got) != 1 || !strings.HasPrefix(got[0], "GET /v1/lookup") {
		t.Fatalf("Ironic got %v", got)
	}
}

// TestTrickledBodyBounded: a heartbeat whose body never finishes holds
// its connection no longer than the bound.
func TestTrickledBodyBounded(t *testing.T) {
	ir := startFakeIronic(t, 0)
	l := startProxy(t, ir.URL, "", hostTable(t), func(c *callback.Config) { c.IronicTimeout = 300 * time.Millisecond })
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(hostLease.Addr().String())}}
	conn, err := d.Dial("tcp4", l.ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = conn.Close() }()
	if _, err := fmt.Fprintf(conn, "POST /v1/heartbeat/n1 HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{\"call"); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	_ = conn.SetReadDeadline(time.Now().Add(20 * time.Second))
	_, _ = io.Copy(io.Discard, conn) // until the proxy answers and closes, or gives up
	if d := time.Since(start); d > 15*time.Second {
		t.Fatalf("the connection was held %s", d)
	}
	if got := ir.requests(); len(got) != 0 {
		t.Fatalf("a body that never finished reached Ironic: %v", got)
	}
}
