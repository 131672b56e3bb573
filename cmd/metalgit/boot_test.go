package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/insomniacslk/dhcp/dhcpv4"
	"github.com/insomniacslk/dhcp/dhcpv4/nclient4"

	"github.com/metalgit/metalgit/internal/testlog"
	"github.com/metalgit/metalgit/reconciler"
)

// dhcpClient runs nclient4 exchanges on loopback from one UDP port, the
// boot proxy's reply port.
type dhcpClient struct{ port uint16 }

func newDHCPClient(t *testing.T) *dhcpClient {
	t.Helper()
	c, err := net.ListenPacket("udp4", "0.0.0.0:0")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = c.Close() }()
	a, ok := c.LocalAddr().(*net.UDPAddr)
	if !ok {
		t.Fatalf("client address %v", c.LocalAddr())
	}
	return &dhcpClient{port: uint16(a.Port)} //nolint:gosec // a port fits 16 bits
}

// lease runs DISCOVER/OFFER/REQUEST/ACK for mac against server.
func (c *dhcpClient) lease(t *testing.T, server net.Addr, mac string) (*dhcpv4.DHCPv4, error) {
	t.Helper()
	hw, err := net.ParseMAC(mac)
	if err != nil {
		t.Fatal(err)
	}
	ua, ok := server.(*net.UDPAddr)
	if !ok {
		t.Fatalf("DHCP address %v", server)
	}
	// nclient4 closes its socket: each exchange binds the port anew.
	conn, err := net.ListenPacket("udp4", fmt.Sprintf("0.0.0.0:%d", c.port))
	if err != nil {
		t.Fatal(err)
	}
	cl, err := nclient4.NewWithConn(conn, hw, nclient4.WithServerAddr(ua), nclient4.WithTimeout(time.Second), nclient4.WithRetry(2))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cl.Close() }()
	l, err := cl.Request(context.Background(), dhcpv4.WithGeneric(dhcpv4.OptionUserClassInformation, []byte("iPXE")))
	if err != nil {
		return nil, err
	}
	return l.ACK, nil
}

func httpGet(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url) //nolint:gosec,noctx // a test URL on loopback
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// metricValue scrapes url (a /metrics endpoint) and returns the value of
// the series, such as `metalgit_dhcp_hosts` or
// `metalgit_hosts_file_reloads_total{result="refused"}`; -1 when absent.
func metricValue(t *testing.T, url, series string) float64 {
	t.Helper()
	for line := range strings.Lines(httpGet(t, url)) {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), series+" "); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				t.Fatalf("%s: %q is not a number", series, v)
			}
			return f
		}
	}
	return -1
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

const testHostsFile = `hosts:
  - mac: "02:00:00:00:00:01"
    address: 192.168.100.3/24
    gateway: 192.168.100.1
    dnsServers: [8.8.8.8]
    ntpServers: [192.168.100.1]
    hostname: server-01
    phase: inspect
`

func TestBootCommandServesAndReloadsHostsFile(t *testing.T) {
	hosts := filepath.Join(t.TempDir(), "hosts.yaml")
	if err := os.WriteFile(hosts, []byte(testHostsFile), 0o600); err != nil {
		t.Fatal(err)
	}
	client := newDHCPClient(t)
	logs := &testlog.Buffer{}
	o := bootCmdOptions{hostsFile: hosts, listen: "127.0.0.1:0", hostsInterval: 10 * time.Millisecond}
	o.boot = bootOptions{dhcpListen: "127.0.0.1:0", dhcpReplyPort: client.port, leaseTime: time.Hour,
		efiBinary: "snponly.efi", userClass: "iPXE", ra: true}
	ctx, cancel := context.WithCancel(context.Background())
	type addrs struct{ http, dhcp net.Addr }
	ready, done := make(chan addrs, 1), make(chan error, 1)
	go func() {
		done <- o.run(ctx, slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
			func(h, d net.Addr) { ready <- addrs{h, d} })
	}()
	var a addrs
	select {
	case a = <-ready:
	case err := <-done:
		t.Fatalf("boot stopped: %v\n%s", err, logs)
	}

	ack, err := client.lease(t, a.dhcp, "02:00:00:00:00:01")
	if err != nil {
		t.Fatalf("lease: %v\n%s", err, logs)
	}
	if ack.YourIPAddr.String() != "192.168.100.3" || ack.ServerIdentifier().String() != "127.0.0.1" ||
		ack.BootFileNameOption() != "http://127.0.0.1:8080/boot/02-00-00-00-00-01.ipxe" {
		t.Fatalf("ack: %s", ack.Summary())
	}
	if _, err := client.lease(t, a.dhcp, "02:00:00:00:00:02"); err == nil {
		t.Fatal("a MAC not in the hosts file got a lease")
	}
	metricsURL := "http://" + a.http.String() + "/metrics"
	metrics := httpGet(t, metricsURL)
	for _, want := range []string{`metalgit_dhcp_requests_total{outcome="ack"} 1`, `metalgit_dhcp_unknown_macs_total 2`,
		`metalgit_dhcp_packets_received_total{type="discover"} 3`, "metalgit_dhcp_reply_duration_seconds_bucket",
		"metalgit_dhcp_hosts 1", `metalgit_hosts_file_reloads_total{result="reloaded"} 0`} {
		if !strings.Contains(metrics, want) {
			t.Errorf("/metrics lacks %s:\n%s", want, metrics)
		}
	}

	// An edit that adds a host is picked up.
	added := testHostsFile + "  - mac: \"02:00:00:00:00:02\"\n    address: 192.168.100.4/24\n"
	if err := os.WriteFile(hosts, []byte(added), 0o600); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the reload", func() bool {
		return metricValue(t, metricsURL, `metalgit_hosts_file_reloads_total{result="reloaded"}`) == 1
	})
	if n := metricValue(t, metricsURL, "metalgit_dhcp_hosts"); n != 2 {
		t.Errorf("metalgit_dhcp_hosts = %v after the reload, want 2", n)
	}
	if ack, err := client.lease(t, a.dhcp, "02:00:00:00:00:02"); err != nil || ack.YourIPAddr.String() != "192.168.100.4" {
		t.Fatalf("added host: %v %v", ack, err)
	}
	// A broken edit is reported; the table in service stays.
	if err := os.WriteFile(hosts, []byte(added+"  - mac: nope\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the refused reload", func() bool {
		return metricValue(t, metricsURL, `metalgit_hosts_file_reloads_total{result="refused"}`) == 1
	})
	if n := metricValue(t, metricsURL, "metalgit_dhcp_hosts"); n != 2 {
		t.Errorf("metalgit_dhcp_hosts = %v after a broken edit, want 2", n)
	}
	// The operator reads why in the log.
	if !strings.Contains(logs.String(), `hosts[2].mac: \"nope\" is not a MAC address`) {
		t.Errorf("reload error does not name the field:\n%s", logs)
	}
	if ack, err := client.lease(t, a.dhcp, "02:00:00:00:00:02"); err != nil || ack.YourIPAddr.String() != "192.168.100.4" {
		t.Fatalf("after a broken edit: %v %v", ack, err)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("run: %v", err)
	}
}

// leaseRange is the end of every --lease-time refusal.
const leaseRange = "must be from 1s to 1193046h28m14s (option 51 holds whole seconds in 32 bits); the default is 1h0m0s\n"

func TestBootCommandErrors(t *testing.T) {
	hosts := filepath.Join(t.TempDir(), "hosts.yaml")
	if err := os.WriteFile(hosts, []byte("hosts:\n  - mac: 02:00:00:00:00:01\n    address: 10.0.0.1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		args []string
		code int
		want string
	}{
		{[]string{"boot"}, exitUsage, "give exactly one host source"},
		{[]string{"boot", "--hosts", hosts, "--kubeconfig", "k"}, exitUsage, "give exactly one host source"},
		{[]string{"boot", "--hosts", hosts}, 1, hosts + `:3: hosts[0].address: "10.0.0.1" is not an IPv4 address with a prefix length`},
		{[]string{"boot", "--hosts", filepath.Join(filepath.Dir(hosts), "missing.yaml")}, 1, "missing.yaml"},
		{[]string{"boot", "--kubeconfig", filepath.Join(filepath.Dir(hosts), "missing-kubeconfig")}, exitUsage, "--kubeconfig"},
		// The flags are checked before the hosts file is read.
		{[]string{"boot", "--hosts", "x", "--dhcp-listen", "nope"}, exitUsage, `--dhcp-listen "nope": want ADDR:PORT`},
		{[]string{"boot", "--hosts", "x", "--lease-time", "0"}, exitUsage, "--lease-time 0s: must be from 1s"},
		{[]string{"boot", "--hosts", hosts, "--dhcp-reply-port", "70000"}, exitUsage, "dhcp-reply-port"},
	}
	for _, tc := range cases {
		code, _, stderr := runCLI(t, tc.args...)
		if code != tc.code || !strings.Contains(stderr, tc.want) {
			t.Errorf("%v: exit %d (want %d), stderr:\n%s", tc.args, code, tc.code, stderr)
		}
	}
	hostile := filepath.Join(t.TempDir(), "hostile.yaml")
	if err := os.WriteFile(hostile, []byte(`hosts:
  - {mac: "ff:ff:ff:ff:ff:ff", address: 10.0.0.2/24}
  - {mac: "02:00:00:00:00:03", address: 10.0.0.3/24, hostname: "x;reboot"}
`), 0o600); err != nil {
		t.Fatal(err)
	}
	code, _, stderr := runCLI(t, "boot", "--hosts", hostile, "--listen", "")
	for _, want := range []string{
		hostile + ": 2 problem(s):\n",
		hostile + ":2: hosts[0].mac: MAC ff:ff:ff:ff:ff:ff is the broadcast address; use the MAC address of the host's boot interface\n",
		hostile + `:3: hosts[1].hostname: hostname "x;reboot" is not a DNS name: ';' at byte 1 is not allowed; use lower-case letters`,
	} {
		if code != 1 || !strings.Contains(stderr, want) {
			t.Errorf("hostile hosts file: exit %d, stderr does not hold %q:\n%s", code, want, stderr)
		}
	}
	good := filepath.Join(t.TempDir(), "good.yaml")
	if err := os.WriteFile(good, []byte(testHostsFile), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ flags, want string }{
		{"--dhcp-listen nope", `--dhcp-listen "nope": want ADDR:PORT`},
		{"--dhcp-listen 0.0.0.0:0", "no server IP"},
		{"--dhcp-listen 127.0.0.1:0 --server-ip ::1", `--server-ip "::1": want an IPv4 address`},
		{"--dhcp-listen 127.0.0.1:0 --efi-binary grub.efi", `--efi-binary "grub.efi"`},
		{"--dhcp-listen 127.0.0.1:0 --http-listen 127.0.0.1:0 --tftp-listen= --http-url ftp://x", `--http-url "ftp://x": want an absolute http:// or https:// URL`},
		// 0 is refused, not taken for the default.
		{"--dhcp-listen 127.0.0.1:0 --lease-time 0", "Error: --lease-time 0s: " + leaseRange},
		{"--dhcp-listen 127.0.0.1:0 --lease-time 0s", "Error: --lease-time 0s: " + leaseRange},
		{"--dhcp-listen 127.0.0.1:0 --lease-time 0h0m", "Error: --lease-time 0s: " + leaseRange},
		{"--dhcp-listen 127.0.0.1:0 --lease-time=-1h", "Error: --lease-time -1h0m0s: " + leaseRange},
		{"--dhcp-listen 127.0.0.1:0 --lease-time -1ns", "Error: --lease-time -1ns: " + leaseRange},
		{"--dhcp-listen 127.0.0.1:0 --lease-time 999ms", "Error: --lease-time 999ms: " + leaseRange},
		{"--dhcp-listen 127.0.0.1:0 --lease-time 1193046h28m15s", "Error: --lease-time 1193046h28m15s: " + leaseRange},
	} {
		code, _, stderr := runCLI(t, append([]string{"boot", "--hosts", good, "--listen", ""}, strings.Fields(tc.flags)...)...)
		if code != exitUsage || !strings.Contains(stderr, tc.want) {
			t.Errorf("%s: exit %d, stderr:\n%s", tc.flags, code, stderr)
		}
	}
}

// TestServeRunsBootProxy: serve --boot answers DHCP from the reconciler's
// allocations once the first pass is good.
func TestServeRunsBootProxy(t *testing.T) {
	remote := bareRemote(t)
	client := newDHCPClient(t)
	logs := &testlog.Buffer{}
	o := serveOptions{listen: "127.0.0.1:0", interval: time.Hour, noWebhook: true, withBoot: true}
	o.boot = bootOptions{dhcpListen: "127.0.0.1:0", dhcpReplyPort: client.port, leaseTime: time.Hour,
		efiBinary: "snponly.efi", userClass: "iPXE", ra: true}
	o.cfg = reconciler.Config{URL: "file://" + remote, Output: filepath.Join(t.TempDir(), "out"), WorkDir: t.TempDir(),
		Logger: slog.New(slog.NewTextHandler(logs, nil))}
	ctx, cancel := context.WithCancel(context.Background())
	addrs, done := make(chan net.Addr, 1), make(chan error, 1)
	go func() { done <- o.run(ctx, nil, func(a net.Addr) { addrs <- a }) }()
	base := "http://" + (<-addrs).String()
	waitFor(t, "the first pass's host table", func() bool { return metricValue(t, base+"/metrics", "metalgit_dhcp_hosts") > 0 })
	// examples/dc1: server-01 (aa:bb:cc:dd:ee:01) gets the first provisioning address.
	ack, err := client.lease(t, o.dhcpAddr, "aa:bb:cc:dd:ee:01")
	if err != nil {
		t.Fatalf("lease: %v\n%s", err, logs)
	}
	if ack.YourIPAddr.String() != "192.168.100.3" || ack.HostName() == "" {
		t.Errorf("ack: %s", ack.Summary())
	}
	if m := httpGet(t, base+"/metrics"); !strings.Contains(m, `metalgit_dhcp_requests_total{outcome="ack"} 1`) {
		t.Errorf("/metrics lacks the DHCP metrics:\n%s", m)
	}
	// The boot trace is on serve's HTTP server.
	if body := httpGet(t, base+"/debug/boot/aa:bb:cc:dd:ee:01"); !strings.Contains(body, `"kind": "dhcp-ack"`) ||
		!strings.Contains(body, `"host": "server-01"`) {
		t.Errorf("/debug/boot/aa:bb:cc:dd:ee:01:\n%s", body)
	}
	if m := httpGet(t, base+"/metrics"); !strings.Contains(m, `metalgit_trace_events_total{kind="dhcp-ack",server="dhcp"} 1`) {
		t.Errorf("/metrics lacks the trace metrics:\n%s", m)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

func TestBootProbe(t *testing.T) {
	hosts := filepath.Join(t.TempDir(), "hosts.yaml")
	if err := os.WriteFile(hosts, []byte(testHostsFile), 0o600); err != nil {
		t.Fatal(err)
	}
	client := newDHCPClient(t)
	o := bootCmdOptions{hostsFile: hosts}
	o.boot = bootOptions{dhcpListen: "127.0.0.1:0", dhcpReplyPort: client.port, leaseTime: time.Hour,
		efiBinary: "snponly.efi", userClass: "iPXE"}
	ctx, cancel := context.WithCancel(context.Background())
	ready, done := make(chan net.Addr, 1), make(chan error, 1)
	go func() {
		done <- o.run(ctx, slog.New(slog.NewTextHandler(io.Discard, nil)), func(_, d net.Addr) { ready <- d })
	}()
	server := (<-ready).String()
	port := fmt.Sprint(client.port)
	code, stdout, stderr := runCLI(t, "boot", "probe", "--server", server, "--port", port, "--mac", "02:00:00:00:00:01",
		"--arch", "7", "--vendor-class", "PXEClient:Arch:00007:UNDI:003000")
	want := "OFFER 192.168.100.3 prefix=24 server=127.0.0.1 gateway=192.168.100.1 dns=8.8.8.8 ntp=192.168.100.1 hostname=server-01 " +
		"lease=1h0m0s siaddr=127.0.0.1 tftp=127.0.0.1 file=snponly.efi class=PXEClient vendor=060108ff\n"
	if code != 0 || !strings.HasPrefix(stdout, want) || !strings.Contains(stdout, "\nACK   192.168.100.3 ") {
		t.Errorf("probe: exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	code, _, stderr = runCLI(t, "boot", "probe", "--server", server, "--port", port, "--mac", "02:00:00:00:00:77", "--timeout", "200ms")
	if code != 1 || !strings.Contains(stderr, "no OFFER from "+server+" for 02:00:00:00:00:77 (is the MAC in its host table?)") {
		t.Errorf("unknown MAC: exit %d, stderr:\n%s", code, stderr)
	}
	code, _, stderr = runCLI(t, "boot", "probe", "--server", "x", "--mac", "y")
	if code != exitUsage || !strings.Contains(stderr, `--mac "y"`) || !strings.Contains(stderr, `--server "x"`) {
		t.Errorf("bad flags: exit %d, stderr:\n%s", code, stderr)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}
