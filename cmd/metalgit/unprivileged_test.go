package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pin/tftp/v3"

	"github.com/metalgit/metalgit/internal/netnstest"
	"github.com/metalgit/metalgit/internal/testlog"
)

// worldReadableDir makes a directory uid 65532 can read and traverse.
func worldReadableDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "metalgit-unpriv-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestBootUnprivileged runs the boot proxy the way the metalgit-boot-proxy
// chart runs it on a Multus attachment: as uid 65532 with no capability
// at all, in a network namespace whose net.ipv4.ip_unprivileged_port_start
// is 0, DHCP on 0.0.0.0:67 bound to the provisioning interface, TFTP and
// HTTP on the VIP. A client in another namespace gets its lease, the
// iPXE binary over TFTP and its script over HTTP.
func TestBootUnprivileged(t *testing.T) {
	netnstest.RequireCommands(t, "setpriv")
	pair := netnstest.NewPair(t)
	srv, cli := pair.Server, pair.Client
	if out, err := srv.NS.Command(t.Context(), "sh", "-c", "echo 0 > /proc/sys/net/ipv4/ip_unprivileged_port_start").CombinedOutput(); err != nil {
		t.Fatalf("sysctl in %s: %v %s", srv.NS.Name, err, out)
	}

	dir := worldReadableDir(t)
	bin := filepath.Join(dir, "metalgit")
	exe, err := os.ReadFile(os.Args[0])
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bin, exe, 0o755); err != nil { //nolint:gosec // the test binary, run as uid 65532
		t.Fatal(err)
	}
	root := filepath.Join(dir, "tftp")
	if err := os.Mkdir(root, 0o755); err != nil {
		t.Fatal(err)
	}
	kpxe := bytes.Repeat([]byte("undionly"), 4096)
	if err := os.WriteFile(filepath.Join(root, "undionly.kpxe"), kpxe, 0o644); err != nil { //nolint:gosec // read by uid 65532
		t.Fatal(err)
	}
	hosts := filepath.Join(dir, "hosts.yaml")
	client := netnstestClientHost(cli)
	if err := os.WriteFile(hosts, []byte(client), 0o644); err != nil { //nolint:gosec // read by uid 65532
		t.Fatal(err)
	}

	vip := srv.Addr.Addr().String()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	log := &testlog.Buffer{}
	proxy := srv.NS.Command(ctx, "setpriv", "--reuid=65532", "--regid=65532", "--clear-groups",
		"--inh-caps=-all", "--bounding-set=-all", "--no-new-privs", "--",
		bin, "boot", "--hosts", hosts, "--interface", srv.Interface, "--server-ip", vip,
		"--dhcp-listen", "0.0.0.0:67", "--tftp-listen", vip+":69", "--tftp-root", root,
		"--http-listen", vip+":8080", "--http-url", "http://"+vip+":8080",
		"--callback-listen", ":8081", "--ironic-api-url", "http://127.0.0.1:6385",
		"--ra=false", "--listen", vip+":9091")
	proxy.Env = append(os.Environ(), envRunMain+"=1")
	proxy.Stdout, proxy.Stderr = log, log
	proxy.WaitDelay = 10 * time.Second
	if err := proxy.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cancel()
		_ = proxy.Wait()
		if t.Failed() {
			t.Logf("boot proxy log:\n%s", log)
		}
	})

	// The lease, the way firmware asks (the probe's broadcast from the client namespace).
	mac := cli.MAC.String()
	deadline := time.Now().Add(30 * time.Second)
	for {
		out, err := runMetalgit(ctx, cli.NS, "boot", "probe", "--server", vip+":67", "--mac", mac, "--timeout", "2s")
		if err == nil && strings.Contains(out, "OFFER 10.77.0.2 ") && strings.Contains(out, "ACK   10.77.0.2 ") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no lease from the unprivileged proxy: %v\n%s", err, out)
		}
		time.Sleep(500 * time.Millisecond)
	}

	// The binary over TFTP and the script over HTTP, from the client namespace.
	err = cli.NS.Do(func() error {
		c, err := tftp.NewClient(net.JoinHostPort(vip, "69"))
		if err != nil {
			return err
		}
		c.SetTimeout(2 * time.Second)
		wt, err := c.Receive("undionly.kpxe", "octet")
		if err != nil {
			return fmt.Errorf("TFTP: %w", err)
		}
		var got bytes.Buffer
		if _, err := wt.WriteTo(&got); err != nil || !bytes.Equal(got.Bytes(), kpxe) {
			return fmt.Errorf("TFTP: %d bytes, want %d: %w", got.Len(), len(kpxe), err)
		}
		// Dialled here: the transport of net/http would dial from
		// another goroutine, outside the namespace.
		conn, err := net.DialTimeout("tcp", net.JoinHostPort(vip, "8080"), 5*time.Second)
		if err != nil {
			return err
		}
		defer func() { _ = conn.Close() }()
		_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
		if _, err := fmt.Fprintf(conn, "GET /boot/%s.ipxe HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n", mac, vip); err != nil {
			return err
		}
		resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
		if err != nil {
			return err
		}
		defer func() { _ = resp.Body.Close() }()
		body, err := io.ReadAll(resp.Body)
		if err != nil || resp.StatusCode != http.StatusOK || !strings.Contains(string(body), "ironic-python-agent.kernel") {
			return fmt.Errorf("script: %s %w\n%s", resp.Status, err, body)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}

	// It really runs as uid 65532 without a capability.
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", proxyPID(t, proxy)))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Uid:\t65532\t65532\t65532\t65532", "CapEff:\t0000000000000000", "CapPrm:\t0000000000000000"} {
		if !strings.Contains(string(status), want) {
			t.Errorf("the proxy's /proc status lacks %q:\n%s", want, status)
		}
	}
}

// netnstestClientHost is a hosts file that gives the client endpoint its
// own address, in deploy phase.
func netnstestClientHost(cli netnstest.Endpoint) string {
	return fmt.Sprintf("hosts:\n  - mac: %q\n    address: %s\n    hostname: client-01\n    phase: deploy\n", cli.MAC.String(), cli.Addr)
}

// proxyPID is the PID of the metalgit process `ip netns exec … setpriv …`
// became: ip netns exec and setpriv both exec, so it is the command's.
func proxyPID(t *testing.T, cmd *exec.Cmd) int {
	t.Helper()
	exe, err := os.Readlink(fmt.Sprintf("/proc/%d/exe", cmd.Process.Pid))
	if err != nil || filepath.Base(exe) != "metalgit" {
		t.Fatalf("process %d runs %q (%v), want metalgit", cmd.Process.Pid, exe, err)
	}
	return cmd.Process.Pid
}
