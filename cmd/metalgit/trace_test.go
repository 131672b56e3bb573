package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/pin/tftp/v3"

	"github.com/metalgit/metalgit/boot/trace"
	"github.com/metalgit/metalgit/internal/testlog"
)

// traceHostsFile has a host whose lease is 127.0.0.1, so that TFTP on
// loopback knows its MAC.
const traceHostsFile = `hosts:
  - mac: "02:00:00:00:00:05"
    address: 127.0.0.1/8
    hostname: server-05
    phase: inspect
`

// TestBootTrace: a real boot proxy, probed as BIOS PXE firmware would,
// then fetched from over TFTP and probed as iPXE: after each step 'boot
// trace' shows the exchanges and says where the boot stopped.
func TestBootTrace(t *testing.T) {
	dir := t.TempDir()
	hosts := filepath.Join(dir, "hosts.yaml")
	if err := os.WriteFile(hosts, []byte(traceHostsFile), 0o600); err != nil {
		t.Fatal(err)
	}
	root := filepath.Join(dir, "tftp")
	if err := os.Mkdir(root, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "undionly.kpxe"), bytes.Repeat([]byte("x"), 3000), 0o644); err != nil {
		t.Fatal(err)
	}
	client := newDHCPClient(t)
	tftpAddr := freeUDPAddr(t)
	logs := &testlog.Buffer{}
	o := bootCmdOptions{hostsFile: hosts, listen: "127.0.0.1:0"}
	o.boot = bootOptions{dhcpListen: "127.0.0.1:0", dhcpReplyPort: client.port, leaseTime: time.Hour,
		efiBinary: "snponly.efi", userClass: "iPXE", tftpListen: tftpAddr, tftpRoot: root}
	ctx, cancel := context.WithCancel(context.Background())
	type addrs struct{ http, dhcp net.Addr }
	ready, done := make(chan addrs, 1), make(chan error, 1)
	go func() {
		done <- o.run(ctx, slog.New(slog.NewTextHandler(logs, nil)), func(h, d net.Addr) { ready <- addrs{h, d} })
	}()
	var a addrs
	select {
	case a = <-ready:
	case err := <-done:
		t.Fatalf("boot stopped: %v\n%s", err, logs)
	}
	server := "http://" + a.http.String()
	const mac = "02:00:00:00:00:05"
	probe := func(flags ...string) {
		t.Helper()
		args := append([]string{"boot", "probe", "--server", a.dhcp.String(), "--port", fmt.Sprint(client.port), "--mac", mac}, flags...)
		if code, stdout, stderr := runCLI(t, args...); code != 0 {
			t.Fatalf("probe %v: exit %d\n%s%s\n%s", flags, code, stdout, stderr, logs)
		}
	}
	traceOf := func(mac string) string {
		t.Helper()
		code, stdout, stderr := runCLI(t, "boot", "trace", "--server", server, mac)
		if code != 0 {
			t.Fatalf("boot trace: exit %d\n%s%s", code, stdout, stderr)
		}
		return stdout
	}

	// BIOS PXE firmware: offered undionly.kpxe over TFTP.
	probe("--arch", "0", "--vendor-class", "PXEClient:Arch:00000:UNDI:002001")
	out := traceOf(mac)
	want := regexp.MustCompile(`^MAC 02:00:00:00:00:05: host server-05, phase inspect, address 127.0.0.1/8
events since \d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3} UTC:
   \+0\.000s  dhcp  dhcp-offer  DISCOVER → OFFER 127\.0\.0\.1, undionly\.kpxe over TFTP from 127\.0\.0\.1
   \+\d\.\d{3}s  dhcp  dhcp-ack    REQUEST → ACK 127\.0\.0\.1, undionly\.kpxe over TFTP from 127\.0\.0\.1
verdict: stopped at dhcp: offered undionly\.kpxe over TFTP from 127\.0\.0\.1, never fetched: TFTP blocked \(a firewall, no --tftp-listen\) or wrong siaddr/next-server \(--server-ip\)
$`)
	if !want.MatchString(out) {
		t.Errorf("trace after the firmware's DHCP:\n%s", out)
	}

	// The firmware fetches undionly.kpxe.
	c, err := tftp.NewClient(tftpAddr)
	if err != nil {
		t.Fatal(err)
	}
	c.SetTimeout(2 * time.Second)
	wt, err := c.Receive("undionly.kpxe", "octet")
	if err != nil {
		t.Fatalf("TFTP: %v\n%s", err, logs)
	}
	if _, err := wt.WriteTo(&bytes.Buffer{}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the TFTP event", func() bool { return strings.Contains(traceOf(mac), "  tftp  tftp  ") })
	out = traceOf(mac)
	if !strings.Contains(out, "undionly.kpxe completed: 3000 of 3000 bytes, blksize 512, windowsize 1, in ") ||
		!strings.HasSuffix(out, "verdict: stopped at boot-file: undionly.kpxe was fetched, but iPXE never asked DHCP for its script: "+
			"the binary did not start (snponly.efi needs the firmware's network driver: try --efi-binary ipxe.efi), or its DHCP does not reach the proxy\n") {
		t.Errorf("trace after TFTP:\n%s", out)
	}

	// iPXE asks DHCP: offered its script, which nobody serves yet.
	probe("--arch", "0", "--user-class", "iPXE")
	out = traceOf(mac)
	if !strings.HasSuffix(out, "verdict: stopped at ipxe: iPXE was offered its script http://127.0.0.1:8080/boot/02-00-00-00-00-05.ipxe "+
		"but never fetched it: the HTTP server is unreachable from the host (wrong --http-url, a firewall)\n") {
		t.Errorf("trace after iPXE's DHCP:\n%s", out)
	}

	// -o json is the proxy's answer.
	code, stdout, stderr := runCLI(t, "boot", "trace", "--server", server+"/", "-o", "json", "02-00-00-00-00-05")
	var rep trace.Report
	if err := json.Unmarshal([]byte(stdout), &rep); code != 0 || err != nil {
		t.Fatalf("-o json: exit %d, %v\n%s%s", code, err, stdout, stderr)
	}
	var kinds []string
	for _, e := range rep.Events {
		kinds = append(kinds, e.Kind)
	}
	if got := strings.Join(kinds, " "); got != "dhcp-offer dhcp-ack tftp dhcp-offer dhcp-ack" || rep.Verdict.Stage != trace.StageIPXE ||
		rep.Events[3].Attrs[trace.AttrUserClass] != "iPXE" || rep.Events[0].Attrs[trace.AttrArch] != "0" {
		t.Errorf("-o json: %s, %+v", got, rep)
	}

	// A MAC the proxy does not know: its requests are in the trace.
	if code, _, _ := runCLI(t, "boot", "probe", "--server", a.dhcp.String(), "--port", fmt.Sprint(client.port),
		"--mac", "02:00:00:00:00:77", "--timeout", "100ms"); code != 1 {
		t.Errorf("probe of an unknown MAC: exit %d", code)
	}
	if out := traceOf("02:00:00:00:00:77"); !strings.HasPrefix(out, "MAC 02:00:00:00:00:77: not in the host table\n") ||
		!strings.Contains(out, "verdict: stopped at dhcp: the MAC is not in the host table: its 3 DHCP request(s) were ignored") {
		t.Errorf("trace of an unknown MAC:\n%s", out)
	}
	if got := metricValue(t, server+"/metrics", `metalgit_trace_macs{known="false"}`); got != 1 {
		t.Errorf(`metalgit_trace_macs{known="false"} = %v`, got)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("run: %v\n%s", err, logs)
	}
}

func TestBootTraceErrors(t *testing.T) {
	// Something that is not a boot proxy, and one that answers junk.
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case strings.HasSuffix(r.URL.Path, "02:00:00:00:00:02"):
			_, _ = w.Write([]byte("not json"))
		case strings.HasSuffix(r.URL.Path, "02:00:00:00:00:03"):
			_, _ = w.Write(bytes.Repeat([]byte(" "), maxTraceBytes+1))
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	closed := httptest.NewServer(http.NotFoundHandler())
	closed.Close()
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"nope"}, exitUsage, `"nope" is not a MAC address: want 6 bytes`},
		{[]string{}, exitUsage, "boot trace takes one MAC address, got 0 arguments"},
		{[]string{"--server", "127.0.0.1:9091", "-o", "yaml", "--timeout", "0", "02:00:00:00:00:01"}, exitUsage,
			`--server "127.0.0.1:9091": want an http:// or https:// URL (http://127.0.0.1:9091)` + "\n" +
				`unknown output format "yaml"; use text or json` + "\n--timeout must be > 0, got 0s"},
		{[]string{"--server", srv.URL, "02:00:00:00:00:01"}, exitFailed, "404 Not Found: the server has no boot trace"},
		{[]string{"--server", srv.URL, "02:00:00:00:00:02"}, exitFailed, "not a boot trace"},
		{[]string{"--server", srv.URL, "02:00:00:00:00:03"}, exitFailed, "the answer is larger than 4194304 bytes"},
		{[]string{"--server", closed.URL, "02:00:00:00:00:01"}, exitFailed, "asking the boot proxy (is it running, and is --server its --listen address?)"},
	} {
		code, _, stderr := runCLI(t, append([]string{"boot", "trace"}, tc.args...)...)
		if code != tc.code || !strings.Contains(stderr, tc.want) {
			t.Errorf("%v: exit %d (want %d), stderr:\n%s", tc.args, code, tc.code, stderr)
		}
	}
}

func TestPrintTrace(t *testing.T) {
	at := time.Date(2026, 12, 4, 10, 0, 0, 0, time.UTC)
	rep := trace.Report{MAC: "02:00:00:00:00:01", Known: true, Host: "server-01", Phase: "deploy", Address: "192.168.100.3/24",
		Events: []trace.Event{
			{Time: at, Server: "dhcp", Kind: "dhcp-ack", Detail: "REQUEST → ACK"},
			{Time: at.Add(1500 * time.Millisecond), Server: "tftp", Kind: "tftp", Detail: "undionly.kpxe refused:\x1b[2J", Failed: true},
		},
		Verdict: trace.Verdict{Stage: "boot-file", Message: "TFTP refused"}}
	var buf bytes.Buffer
	if err := printTrace(&buf, rep); err != nil {
		t.Fatal(err)
	}
	want := `MAC 02:00:00:00:00:01: host server-01, phase deploy, address 192.168.100.3/24
events since 2026-12-04 10:00:00.000 UTC:
   +0.000s  dhcp  dhcp-ack  REQUEST → ACK
✗  +1.500s  tftp  tftp      undionly.kpxe refused:?[2J
verdict: stopped at boot-file: TFTP refused
`
	if buf.String() != want {
		t.Errorf("got:\n%s\nwant:\n%s", buf.String(), want)
	}
}
