package httpboot

import (
	"context"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/metalgit/metalgit/boot"
	"github.com/metalgit/metalgit/internal/metricstest"
)

// New reports every problem of the configuration at once, each naming
// its field.
func TestNewChecksConfig(t *testing.T) {
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := New(Config{
		HTTPURL:             "http://192.168.100.2:8080/${net0/ip}",
		CallbackURL:         "ftp://x",
		IronicHTTPURL:       "http://user:pw@ironic:6180",
		InspectorCollectors: "default logs",
		SiteParams:          boot.KernelParams{Installer: []string{"a;b"}},
		InspectorParams:     []string{"initrd=x"},
		InstallerParams:     []string{""},
		Root:                file,
		MaxRequests:         -1,
		StallTimeout:        -time.Second,
	})
	if err == nil {
		t.Fatal("New accepted the configuration")
	}
	for _, want := range []string{
		`HTTPURL: cannot be written into an iPXE script: kernel parameter "url=http://192.168.100.2:8080/${net0/ip}" is not a usable kernel parameter: '$' at byte 30`,
		`CallbackURL: "ftp://x": the scheme must be http or https`,
		`IronicHTTPURL: "http://user:pw@ironic:6180": a base URL has no user, query or fragment`,
		`InspectorCollectors: kernel parameter "ipa-inspection-collectors=default logs" is not a usable kernel parameter: ' ' at byte 33`,
		`SiteParams: kernelParams.installer[0]: kernel parameter "a;b"`,
		`InspectorParams (--inspector-extra-kernel-param): [0]: kernel parameter "initrd=x" is not a usable kernel parameter: initrd is set by the boot proxy itself`,
		`InstallerParams (--installer-extra-kernel-param): [0]: kernel parameter "" is not a usable kernel parameter: it is empty`,
		"Root: " + file + ": not a directory",
		"Hosts: required",
		"MaxRequests: -1: must be positive",
		"StallTimeout: -1s: must be positive",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("the error lacks %q:\n%v", want, err)
		}
	}
	_, err = New(Config{HTTPURL: "http://x", CallbackURL: "http://y", IronicHTTPURL: "http://z", Hosts: &boot.Store{},
		Root: filepath.Join(t.TempDir(), "missing")})
	if err == nil || !strings.Contains(err.Error(), "no such file or directory (Debian's ipxe package installs the boot binaries in /usr/lib/ipxe)") {
		t.Errorf("missing root: %v", err)
	}
}

// Serve serves until its context ends, lets a running download finish
// within the shutdown grace, and returns nil.
func TestServeAndShutdown(t *testing.T) {
	o := newOrigin(t)
	s, err := New(Config{HTTPURL: "http://x:8080", CallbackURL: "http://x:8081", IronicHTTPURL: o.URL, Root: t.TempDir(),
		Hosts: testHosts(t), Listen: netip127(), ShutdownGrace: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := s.Listen(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx, ln) }()
	base := "http://" + ln.Addr().String()
	if resp, _ := get(t, base+"/boot/02-00-00-00-00-01.ipxe", nil); resp.StatusCode != http.StatusOK {
		t.Fatalf("script: %d", resp.StatusCode)
	}
	// A download whose headers are held by the origin, released after
	// the shutdown began: it completes.
	got := make(chan int, 1)
	go func() {
		resp, err := http.Get(base + "/images/hang")
		if err != nil {
			got <- -1
			return
		}
		_ = resp.Body.Close()
		got <- resp.StatusCode
	}()
	for len(o.seen()) < 1 {
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	time.Sleep(200 * time.Millisecond)
	if _, err := net.DialTimeout("tcp", ln.Addr().String(), time.Second); err == nil {
		t.Error("the listener still accepts after the shutdown began")
	}
	o.release <- struct{}{}
	if code := <-got; code != http.StatusOK {
		t.Errorf("the download running at shutdown: %d", code)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Serve: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Serve did not return")
	}
}

// A download still running after the shutdown grace is cut.
func TestShutdownGraceBounded(t *testing.T) {
	o := newOrigin(t)
	s, err := New(Config{HTTPURL: "http://x:8080", CallbackURL: "http://x:8081", IronicHTTPURL: o.URL, Root: t.TempDir(),
		Hosts: testHosts(t), Listen: netip127(), ShutdownGrace: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := s.Listen(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx, ln) }()
	go func() {
		if resp, err := http.Get("http://" + ln.Addr().String() + "/images/hang"); err == nil {
			_ = resp.Body.Close()
		}
	}()
	for len(o.seen()) < 1 {
		time.Sleep(10 * time.Millisecond)
	}
	start := time.Now()
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Serve: %v", err)
		}
		if d := time.Since(start); d > 2*time.Second {
			t.Errorf("Serve returned %s after the cancel, grace 200ms", d)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Serve did not return")
	}
}

// The listener's limits: headers too large get 431; a client that sends
// its headers too slowly is disconnected.
func TestServeLimits(t *testing.T) {
	_, addr := startServing(t, Config{IronicHTTPURL: "http://127.0.0.1:1", MaxHeaderBytes: 1024, ReadHeaderTimeout: 300 * time.Millisecond})
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, "http://"+addr+"/boot/02-00-00-00-00-01.ipxe", nil)
	req.Header.Set("X-Big", strings.Repeat("x", 8000))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
		t.Errorf("large headers: %d", resp.StatusCode)
	}
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = c.Close() }()
	_, _ = io.WriteString(c, "GET /boot/02-00-00-00-00-01.ipxe HTTP/1.1\r\n")
	start := time.Now()
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	_, err = io.ReadAll(c)
	if d := time.Since(start); err != nil || d > 3*time.Second {
		t.Errorf("slow headers: closed after %s (err %v), bound 300ms", d, err)
	}
}

// Requests beyond MaxRequests get 503 at once.
func TestMaxRequests(t *testing.T) {
	o := newOrigin(t)
	env := newEnv(t, Config{IronicHTTPURL: o.URL, MaxRequests: 1})
	done := make(chan struct{})
	go func() {
		defer close(done)
		if resp, err := http.Get(env.url + "/images/hang"); err == nil {
			_ = resp.Body.Close()
		}
	}()
	for len(o.seen()) == 0 {
		time.Sleep(10 * time.Millisecond)
	}
	resp, body := get(t, env.url+"/boot/02-00-00-00-00-01.ipxe", nil)
	if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") != "1" {
		t.Errorf("second request: %d %q", resp.StatusCode, body)
	}
	o.release <- struct{}{}
	<-done
	if got := testutil.ToFloat64(env.srv.metrics.requests.WithLabelValues(RouteScript, "503")); got != 1 {
		t.Errorf("metalgit_http_requests_total{route=script,code=503} = %v", got)
	}
}

// Scripts are traced under the MAC of their path: known hosts with
// Record, other MACs apart (RecordUnknown).
func TestScriptTrace(t *testing.T) {
	env := newEnv(t, scriptConfig())
	get(t, env.url+"/boot/02-00-00-00-00-01.ipxe", nil)
	get(t, env.url+"/boot/02-00-00-00-00-03.ipxe", nil)
	get(t, env.url+"/boot/02-00-00-00-00-99.ipxe", nil)
	for _, tt := range []struct {
		mac    net.HardwareAddr
		script string
	}{{mac1, ScriptInspector}, {mac3, ScriptNone}, {net.HardwareAddr{2, 0, 0, 0, 0, 0x99}, ScriptUnknown}} {
		ev := env.ring.Events(tt.mac)
		if len(ev) != 1 {
			t.Errorf("%s: %d events", tt.mac, len(ev))
			continue
		}
		if ev[0].Kind != "script" || ev[0].Server != "http" || ev[0].Attrs["script"] != tt.script || ev[0].Attrs["status"] != "200" {
			t.Errorf("%s: %+v", tt.mac, ev[0])
		}
	}
}

func TestMetricNames(t *testing.T) {
	reg := prometheus.NewRegistry()
	if err := RegisterMetrics(reg); err != nil {
		t.Fatal(err)
	}
	names, problems, err := metricstest.Lint(reg)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Error(p)
	}
	want := []string{"metalgit_http_request_duration_seconds", "metalgit_http_requests_in_flight", "metalgit_http_requests_total",
		"metalgit_http_response_bytes_total", "metalgit_http_upstream_errors_total"}
	if diff := cmp.Diff(want, names); diff != "" {
		t.Errorf("metrics (-want +got):\n%s", diff)
	}
}
