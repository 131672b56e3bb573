package tftp

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/metalgit/metalgit/internal/netnstest"
	"github.com/metalgit/metalgit/internal/testlog"
)

// The environment of the server process the namespace tests start: this
// test binary, run again inside the server namespace. The server opens a
// socket per transfer on goroutines of its own, on whatever thread they
// run, so the whole process must be in the namespace; an in-process
// server cannot be.
const (
	helperRoot = "METALGIT_TFTP_TEST_SERVER_ROOT"
	helperMACs = "METALGIT_TFTP_TEST_SERVER_MACS" // ip=mac,ip=mac
)

func TestMain(m *testing.M) {
	if root := os.Getenv(helperRoot); root != "" {
		os.Exit(serverMain(root, os.Getenv(helperMACs)))
	}
	os.Exit(m.Run())
}

// serverMain serves root on 0.0.0.0:69 until SIGTERM, logging JSON to
// stderr.
func serverMain(root, macs string) int {
	known := map[netip.Addr]net.HardwareAddr{}
	for _, kv := range strings.Split(macs, ",") {
		if ip, mac, ok := strings.Cut(kv, "="); ok {
			known[netip.MustParseAddr(ip)] = mustMAC(mac)
		}
	}
	log := slog.New(slog.NewJSONHandler(os.Stderr, nil))
	srv, err := New(Config{Root: root, Logger: log, MACOf: func(a netip.Addr) (net.HardwareAddr, bool) {
		mac, ok := known[a]
		return mac, ok
	}})
	if err != nil {
		log.Error("server", "err", err)
		return 1
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM)
	defer stop()
	if err := srv.ListenAndServe(ctx); err != nil {
		log.Error("server", "err", err)
		return 1
	}
	return 0
}

// nsLab is the server process in the server namespace of a pair, on port
// 69 of every address.
type nsLab struct {
	pair  *netnstest.Pair
	logs  *testlog.Buffer
	files map[string][]byte
}

func startNSLab(t *testing.T) *nsLab {
	t.Helper()
	pair := netnstest.NewPair(t)
	_, root, files := newRoot(t)
	// The test's temporary directories are private to root; the server
	// runs as root too, but keep the tree readable like a package's.
	if err := os.Chmod(filepath.Dir(root), 0o755); err != nil {
		t.Fatal(err)
	}
	l := &nsLab{pair: pair, logs: &testlog.Buffer{}, files: files}
	ctx, cancel := context.WithCancel(context.Background())
	cmd := pair.Server.NS.Command(ctx, os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), helperRoot+"="+root,
		helperMACs+"="+pair.Client.Addr.Addr().String()+"="+pair.Client.MAC.String())
	cmd.Stdout, cmd.Stderr = l.logs, l.logs
	// Stopped by its PID: SIGTERM first (a graceful stop), the context's
	// kill if it does not end.
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.WaitDelay = 10 * time.Second
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cancel()
		// A clean exit after SIGTERM is reported as the context's error;
		// any other exit as itself.
		if err := cmd.Wait(); err != nil && !errors.Is(err, context.Canceled) {
			t.Errorf("server process: %v\n%s", err, l.logs.String())
		}
	})
	deadline := time.Now().Add(20 * time.Second)
	for !strings.Contains(l.logs.String(), "tftp server listening") {
		if time.Now().After(deadline) {
			t.Fatalf("the server process did not start:\n%s", l.logs.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	return l
}

// transfers waits for n transfer log lines and returns them.
func (l *nsLab) transfers(t *testing.T, n int) []map[string]any {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		var out []map[string]any
		for _, line := range strings.Split(l.logs.String(), "\n") {
			var m map[string]any
			if json.Unmarshal([]byte(line), &m) == nil && m["msg"] == "tftp transfer" {
				out = append(out, m)
			}
		}
		if len(out) >= n {
			return out
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d transfer log lines, want %d:\n%s", len(out), n, l.logs.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestClientsInNamespaces: tftp-hpa, curl and busybox in the client
// namespace fetch a file from port 69 over a veth, each with its block
// size (the MTU is 1500, so a server clamping to it would still grant
// 1468), and the log names each client by address and MAC.
func TestClientsInNamespaces(t *testing.T) {
	netnstest.RequireCommands(t, "tftp", "curl", "busybox")
	l := startNSLab(t)
	server := l.pair.Server.Addr.Addr().String()
	dir := t.TempDir()
	clients := []struct {
		name    string
		args    []string
		blksize int
	}{
		{"tftp-hpa", []string{"tftp", "-m", "binary", server, "-c", "get", "5MiB", filepath.Join(dir, "tftp-hpa")}, 512},
		{"curl", []string{"curl", "-sS", "--tftp-blksize", "1468", "-o", filepath.Join(dir, "curl"), "tftp://" + server + "/5MiB"}, 1468},
		{"busybox", []string{"busybox", "tftp", "-g", "-b", "1468", "-l", filepath.Join(dir, "busybox"), "-r", "5MiB", server}, 1468},
	}
	for _, c := range clients {
		ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
		out, err := l.pair.Client.NS.Command(ctx, c.args[0], c.args[1:]...).CombinedOutput()
		cancel()
		if err != nil || strings.Contains(string(out), "Error") {
			t.Fatalf("%s: %v\n%s", c.name, err, out)
		}
		got, err := os.ReadFile(filepath.Join(dir, c.name))
		if err != nil || !bytes.Equal(got, l.files["5MiB"]) {
			t.Fatalf("%s fetched %d bytes (%v), want the %d of 5MiB", c.name, len(got), err, len(l.files["5MiB"]))
		}
	}
	logs := l.transfers(t, len(clients))
	for i, c := range clients {
		want := map[string]any{"ip": l.pair.Client.Addr.Addr().String(), "mac": l.pair.Client.MAC.String(),
			"file": "5MiB", "result": "completed", "blksize": float64(c.blksize)}
		for k, v := range want {
			if logs[i][k] != v {
				t.Errorf("%s: log %s = %v, want %v", c.name, k, logs[i][k], v)
			}
		}
	}
}

// TestRepliesFromTheAddressAsked: a request to a second address of the
// server's interface (a VIP) is answered from that address, not from the
// interface's first one, which clients would not accept.
func TestRepliesFromTheAddressAsked(t *testing.T) {
	l := startNSLab(t)
	vip := netip.MustParseAddr("10.77.0.3")
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	if out, err := exec.CommandContext(ctx, "ip", "-n", l.pair.Server.NS.Name, "addr", "add", vip.String()+"/24",
		"dev", l.pair.Server.Interface).CombinedOutput(); err != nil {
		t.Fatalf("add %s: %v\n%s", vip, err, out)
	}
	for _, to := range []netip.Addr{l.pair.Server.Addr.Addr(), vip} {
		var c *rawClient
		if err := l.pair.Client.NS.Do(func() error {
			conn, err := net.ListenUDP("udp4", nil)
			c = &rawClient{conn: conn, server: net.UDPAddrFromAddrPort(netip.AddrPortFrom(to, 69))}
			return err
		}); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = c.conn.Close() })
		c.rrq(t, "3x1468", "octet", "blksize", "1468", "tsize", "0")
		p := c.recv(t)
		if got := p.from.AddrPort().Addr().Unmap(); got != to || p.op != opOACK {
			t.Fatalf("asked %s: %s came from %s", to, p, got)
		}
		c.ack(t, 0)
		if got := c.receiveFrom(t, c.recv(t), 1468); !bytes.Equal(got, l.files["3x1468"]) {
			t.Errorf("asked %s: got %d bytes", to, len(got))
		}
	}
	if n := len(l.transfers(t, 2)); n != 2 {
		t.Errorf("%d transfers logged", n)
	}
}
