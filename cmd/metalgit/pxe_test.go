package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/metalgit/metalgit/internal/netnstest"
	"github.com/metalgit/metalgit/internal/pxelab"
	"github.com/metalgit/metalgit/internal/testlog"
)

// The end-to-end PXE lab: a server namespace with the boot proxy (the
// real `metalgit boot` process), Ironic and its image server, joined by a
// veth to a client namespace whose bridge a QEMU VM's tap sits on. The VM
// can reach only the proxy's addresses; Ironic and the image server
// listen on the server namespace's loopback, the cluster side.
const (
	labServerIP  = "10.77.0.1"
	labIronicAPI = "127.0.0.1:6385"
	labImages    = "127.0.0.1:6180"
	labTrace     = "127.0.0.1:9091"
)

type pxeLab struct {
	pair   *netnstest.Pair
	tap    string
	client *http.Client // dials inside the server namespace
	proxy  *testlog.Buffer
	ironic *pxelab.Ironic
}

// nsClient is an HTTP client whose connections are made inside ns.
func nsClient(ns *netnstest.NS) *http.Client {
	d := &net.Dialer{Timeout: 10 * time.Second}
	tr := &http.Transport{DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
		var c net.Conn
		err := ns.Do(func() error {
			var err error
			c, err = d.DialContext(ctx, network, addr)
			return err
		})
		return c, err
	}}
	return &http.Client{Transport: tr, Timeout: time.Minute}
}

// serveImages serves Ironic's HTTP root (images/ holds the agent's kernel
// and ramdisk) on the server namespace's loopback, as Ironic's httpd
// would.
func serveImages(ctx context.Context, t testing.TB, ns *netnstest.NS, kernel pxelab.Kernel) {
	t.Helper()
	dir := t.TempDir()
	writeImages(t, filepath.Join(dir, "images"), kernel)
	var ln net.Listener
	if err := ns.Do(func() error {
		var err error
		ln, err = net.Listen("tcp4", labImages)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.FileServer(http.Dir(dir)), ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	context.AfterFunc(ctx, func() { _ = srv.Close() })
}

// writeImages writes the agent's kernel and ramdisk into dir.
func writeImages(t testing.TB, dir string, kernel pxelab.Kernel) {
	t.Helper()
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	k, err := os.ReadFile(kernel.Image)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "ironic-python-agent.kernel"), k, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := pxelab.WriteInitramfs(filepath.Join(dir, "ironic-python-agent.initramfs"), kernel); err != nil {
		t.Fatal(err)
	}
}

// startMetalgit runs `metalgit args…` (this test binary, running main) in
// ns until the test ends; it is stopped by its PID with SIGTERM and must
// exit cleanly.
func startMetalgit(t testing.TB, ns *netnstest.NS, log *testlog.Buffer, args ...string) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	cmd := ns.Command(ctx, os.Args[0], args...)
	cmd.Env = append(os.Environ(), envRunMain+"=1")
	cmd.Stdout, cmd.Stderr = log, log
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.WaitDelay = 15 * time.Second
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cancel()
		if err := cmd.Wait(); err != nil && ctx.Err() == nil {
			t.Errorf("metalgit %s: %v\n%s", args[0], err, log.String())
		}
	})
}

// runMetalgit runs `metalgit args…` in ns and returns its output.
func runMetalgit(ctx context.Context, ns *netnstest.NS, args ...string) (string, error) {
	cmd := ns.Command(ctx, os.Args[0], args...)
	cmd.Env = append(os.Environ(), envRunMain+"=1")
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// waitHTTP waits until url answers in the server namespace.
func (l *pxeLab) waitHTTP(t testing.TB, url string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := l.client.Get(url)
		if err == nil {
			_ = resp.Body.Close()
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s never answered: %v\nproxy log:\n%s", url, err, l.proxy)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// agentCommand sends a command to the agent the way Ironic does, through
// the agent URL Ironic stored, and returns the answer.
func (l *pxeLab) agentCommand(t *testing.T, agentURL, token string) (int, string) {
	t.Helper()
	body := []byte(`{"name": "metalgit.test", "params": {}}`)
	url := strings.TrimSuffix(agentURL, "/") + "/v1/commands/?wait=true&agent_token=" + token
	resp, err := l.client.Post(url, "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatalf("POST %s: %v\nproxy log:\n%s", url, err, l.proxy)
	}
	defer func() { _ = resp.Body.Close() }()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	return resp.StatusCode, string(b)
}

// fieldAfter returns the value of key=VALUE in an agent line.
func fieldAfter(line, key string) string {
	for _, f := range strings.Fields(line) {
		if v, ok := strings.CutPrefix(f, key+"="); ok {
			return v
		}
	}
	return ""
}

func decodeJSON(t *testing.T, s string, v any) {
	t.Helper()
	if err := json.Unmarshal([]byte(s), v); err != nil {
		t.Fatalf("decoding %q: %v", s, err)
	}
}

// labHost is one VM of the lab: its MAC, lease and phase.
type labHost struct {
	name  string
	mac   net.HardwareAddr
	lease string
	phase string
	fw    pxelab.Firmware
}

var labHosts = []labHost{
	{"bios-ipxe", net.HardwareAddr{0x52, 0x54, 0x00, 0x6d, 0x67, 0x11}, "10.77.0.11/24", "inspect", pxelab.BIOSiPXE},
	{"uefi-pxe", net.HardwareAddr{0x52, 0x54, 0x00, 0x6d, 0x67, 0x12}, "10.77.0.12/24", "deploy", pxelab.UEFIPXE},
	{"bios-tftp", net.HardwareAddr{0x52, 0x54, 0x00, 0x6d, 0x67, 0x13}, "10.77.0.13/24", "inspect", pxelab.BIOSTFTP},
}

// startPXELab builds the namespaces, Ironic with a node per host, the
// image server and `metalgit boot` with every server on.
func startPXELab(t testing.TB) *pxeLab {
	t.Helper()
	kernel := pxelab.RequireKernel(t)
	pxelab.RequireFirmware(t)
	pxelab.RequireIronic(t)
	pair := netnstest.NewPair(t, netnstest.WithoutClientAddr())
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	l := &pxeLab{pair: pair, client: nsClient(pair.Server.NS), proxy: &testlog.Buffer{}}
	l.tap = pxelab.AddBridgedTap(ctx, t, pair.Client.NS, pair.Client.Interface)
	host, port, _ := net.SplitHostPort(labIronicAPI)
	l.ironic = pxelab.StartIronic(t, pair.Server.NS.Command, l.client, host, port)
	var hosts strings.Builder
	hosts.WriteString("hosts:\n")
	for _, h := range labHosts {
		if _, err := l.ironic.EnrollNode(h.name, h.mac.String()); err != nil {
			t.Fatalf("%v\n%s", err, l.ironic.Log)
		}
		fmt.Fprintf(&hosts, "  - {mac: %q, name: %s, hostname: %s, address: %s, phase: %s}\n", h.mac, h.name, h.name, h.lease, h.phase)
	}
	hostsFile := filepath.Join(t.TempDir(), "hosts.yaml")
	if err := os.WriteFile(hostsFile, []byte(hosts.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	serveImages(ctx, t, pair.Server.NS, kernel)
	startMetalgit(t, pair.Server.NS, l.proxy, "boot", "--hosts", hostsFile, "--interface", pair.Server.Interface,
		"--server-ip", labServerIP, "--http-listen", labServerIP+":8080", "--callback-listen", labServerIP+":8081",
		"--ironic-api-url", "http://"+labIronicAPI, "--ironic-http-url", "http://"+labImages,
		"--inspector-extra-kernel-param", "console=ttyS0", "--installer-extra-kernel-param", "console=ttyS0",
		"--listen", labTrace, "-v")
	l.waitHTTP(t, "http://"+labTrace+"/healthz")
	return l
}

// TestPXEToHeartbeat boots each VM of the lab from the network through
// metalgit's boot proxy to a heartbeat at real Ironic: BIOS with QEMU's
// iPXE ROM (script over HTTP), UEFI with EDK2's own PXE (snponly.efi over
// TFTP, then the script), BIOS with a plain PXE first stage (undionly.kpxe
// over TFTP, then the script). Then Ironic's stored agent URL carries a
// command to the VM's agent, and the boot trace of each MAC shows every
// step.
func TestPXEToHeartbeat(t *testing.T) {
	if testing.Short() {
		t.Skip("boots VMs")
	}
	l := startPXELab(t)
	for _, h := range labHosts {
		t.Run(h.name, func(t *testing.T) { l.bootToHeartbeat(t, h) })
	}
}

func (l *pxeLab) bootToHeartbeat(t *testing.T, h labHost) {
	ctx, cancel := context.WithTimeout(context.Background(), 6*time.Minute)
	defer cancel()
	vm := pxelab.StartVM(ctx, t, l.pair.Client.NS, l.tap, h.mac, h.fw)
	fail := func(format string, args ...any) {
		t.Helper()
		trace, _ := runMetalgit(context.Background(), l.pair.Server.NS, "boot", "trace", "--server", "http://"+labTrace, h.mac.String())
		t.Fatalf(format+"\nboot trace:\n%s\nconsole:\n%s\nproxy log:\n%s", append(args, trace, vm.Console, l.proxy)...)
	}
	lookup, err := vm.WaitLine(ctx, "lookup ")
	if err != nil {
		fail("%v", err)
	}
	if _, err := vm.WaitLine(ctx, "heartbeats done"); err != nil {
		fail("%v", err)
	}
	for i := 1; i <= 3; i++ {
		if _, err := vm.WaitLine(ctx, fmt.Sprintf("heartbeat %d accepted", i)); err != nil {
			fail("%v", err)
		}
	}
	node, token := fieldAfter(lookup, "node"), fieldAfter(lookup, "token")
	// Ironic takes heartbeats in the background: wait until it stored
	// the agent's URL.
	var agentURL string
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(200 * time.Millisecond) {
		n, err := l.ironic.GetNode(node)
		if err != nil {
			fail("%v", err)
		}
		if agentURL, err = n.AgentURL(); err == nil {
			break
		}
		if time.Now().After(deadline) {
			fail("%v", err)
		}
	}
	if want := "http://" + labServerIP + ":8081/agents/" + node; agentURL != want {
		fail("Ironic stored agent_url %q, want %q", agentURL, want)
	}
	code, body := l.agentCommand(t, agentURL, token)
	if code != http.StatusOK || !strings.Contains(body, "SUCCEEDED") {
		fail("command through the proxy: %d %s", code, body)
	}
	if _, err := vm.WaitLine(ctx, "command POST /v1/commands/?wait=true&agent_token="+token); err != nil {
		fail("%v", err)
	}
	out, err := runMetalgit(ctx, l.pair.Server.NS, "boot", "trace", "--server", "http://"+labTrace, "-o", "json", h.mac.String())
	if err != nil {
		fail("boot trace: %v\n%s", err, out)
	}
	var report struct {
		Events []struct {
			Server, Kind string
			Attrs        map[string]string
		} `json:"events"`
		Verdict struct {
			OK      bool   `json:"ok"`
			Message string `json:"message"`
		} `json:"verdict"`
	}
	decodeJSON(t, out, &report)
	seen := map[string]bool{}
	for _, e := range report.Events {
		seen[e.Kind] = true
		if e.Kind == "tftp" {
			seen["tftp "+e.Attrs["file"]] = true
			if e.Attrs["result"] == "completed" {
				seen["tftp "+e.Attrs["file"]+" windowsize "+e.Attrs["windowsize"]] = true
			}
		}
	}
	want := []string{"dhcp-offer", "dhcp-ack", "script", "image", "lookup", "heartbeat", "agent-command"}
	switch h.fw {
	case pxelab.UEFIPXE:
		// EDK2 asks for windowsize 4 (RFC 7440) and is granted it.
		want = append(want, "tftp snponly.efi", "tftp snponly.efi windowsize 4")
	case pxelab.BIOSTFTP:
		want = append(want, "tftp undionly.kpxe")
		if !strings.Contains(vm.Console.String(), "first stage: undionly.kpxe from "+labServerIP) {
			fail("the first stage was not offered undionly.kpxe")
		}
	}
	for _, k := range want {
		if !seen[k] {
			fail("the boot trace has no %s event: %s", k, out)
		}
	}
	if !report.Verdict.OK {
		fail("verdict: %s", report.Verdict.Message)
	}
	t.Logf("%s: %s", h.name, report.Verdict.Message)
}
