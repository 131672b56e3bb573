package main

import (
	"bytes"
	"context"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pin/tftp/v3"

	"github.com/metalgit/metalgit/internal/testlog"
)

// TestBootServesTFTP: with --tftp-listen, boot serves --tftp-root over
// TFTP and counts the transfers on /metrics.
func TestBootServesTFTP(t *testing.T) {
	hosts := filepath.Join(t.TempDir(), "hosts.yaml")
	if err := os.WriteFile(hosts, []byte(testHostsFile), 0o600); err != nil {
		t.Fatal(err)
	}
	root := t.TempDir()
	want := bytes.Repeat([]byte("undionly"), 10000)
	if err := os.WriteFile(filepath.Join(root, "undionly.kpxe"), want, 0o644); err != nil {
		t.Fatal(err)
	}
	tftpAddr := freeUDPAddr(t)
	logs := &testlog.Buffer{}
	o := bootCmdOptions{hostsFile: hosts, listen: "127.0.0.1:0"}
	o.boot = bootOptions{dhcpListen: "127.0.0.1:0", dhcpReplyPort: newDHCPClient(t).port, leaseTime: time.Hour,
		efiBinary: "snponly.efi", userClass: "iPXE", tftpListen: tftpAddr, tftpRoot: root}
	ctx, cancel := context.WithCancel(context.Background())
	ready, done := make(chan net.Addr, 1), make(chan error, 1)
	go func() {
		done <- o.run(ctx, slog.New(slog.NewTextHandler(logs, nil)), func(h, _ net.Addr) { ready <- h })
	}()
	var httpAddr net.Addr
	select {
	case httpAddr = <-ready:
	case err := <-done:
		t.Fatalf("boot stopped: %v\n%s", err, logs)
	}
	c, err := tftp.NewClient(tftpAddr)
	if err != nil {
		t.Fatal(err)
	}
	c.SetBlockSize(1468)
	c.SetTimeout(2 * time.Second)
	wt, err := c.Receive("undionly.kpxe", "octet")
	if err != nil {
		t.Fatalf("TFTP: %v\n%s", err, logs)
	}
	var got bytes.Buffer
	if _, err := wt.WriteTo(&got); err != nil || !bytes.Equal(got.Bytes(), want) {
		t.Fatalf("fetched %d bytes (want %d): %v", got.Len(), len(want), err)
	}
	metricsURL := "http://" + httpAddr.String() + "/metrics"
	waitFor(t, "the transfer's count", func() bool {
		return metricValue(t, metricsURL, `metalgit_tftp_transfers_total{result="completed"}`) == 1
	})
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("run: %v\n%s", err, logs)
	}
}

func TestBootTFTPFlagErrors(t *testing.T) {
	good := filepath.Join(t.TempDir(), "good.yaml")
	if err := os.WriteFile(good, []byte(testHostsFile), 0o600); err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(t.TempDir(), "missing")
	for _, tc := range []struct{ flags, want string }{
		{"--tftp-listen nope", `--tftp-listen "nope": want ADDR:PORT`},
		{"--tftp-listen 127.0.0.1:0 --tftp-root " + missing, "--tftp-root " + missing + ": tftp: root directory " + missing + ": no such file or directory"},
	} {
		code, _, stderr := runCLI(t, append([]string{"boot", "--hosts", good, "--listen", "", "--dhcp-listen", "127.0.0.1:0"},
			strings.Fields(tc.flags)...)...)
		if code != exitUsage || !strings.Contains(stderr, tc.want) {
			t.Errorf("%s: exit %d, stderr:\n%s", tc.flags, code, stderr)
		}
	}
}

// freeUDPAddr is a loopback UDP address nobody listens on now.
func freeUDPAddr(t *testing.T) string {
	t.Helper()
	c, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = c.Close() }()
	return c.LocalAddr().String()
}
