package tftp

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// benchSize is the file BenchmarkFetch32MiB fetches.
const benchSize = 32 << 20

// benchClientCPU, when set, is the CPU list curl runs on (taskset -c):
// hack/bench/tftp.sh pins the test binary, and with it both servers, to
// one CPU and the client to another.
const benchClientCPU = "METALGIT_BENCH_CLIENT_CPU"

// BenchmarkFetch32MiB fetches a 32 MiB file at blksize 1468 with curl
// from this server, from tftpd-hpa (in.tftpd in the foreground on a
// loopback port) and from dnsmasq's TFTP server (on 127.0.0.1:69), the
// peers started and stopped by their PIDs, one after the other:
// with -count N the two alternate N times. ns/op is one whole fetch,
// curl's start included. hack/bench/tftp.sh runs it and sums it up.
func BenchmarkFetch32MiB(b *testing.B) {
	requireCommands(b, "curl")
	dir := b.TempDir()
	// tftpd-hpa reads as nobody after its chroot: the tree must be
	// readable by all.
	if err := os.Chmod(dir, 0o755); err != nil {
		b.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "32MiB"), randomBytes(b, benchSize), 0o644); err != nil {
		b.Fatal(err)
	}
	b.Run("server=metalgit", func(b *testing.B) {
		srv, err := New(Config{Root: dir, Listen: netip.MustParseAddrPort("127.0.0.1:0"), Registerer: prometheus.NewRegistry(),
			Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
		if err != nil {
			b.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		conn, err := srv.Listen(ctx)
		if err != nil {
			cancel()
			b.Fatal(err)
		}
		done := make(chan error, 1)
		go func() { done <- srv.Serve(ctx, conn) }()
		defer func() {
			cancel()
			if err := <-done; err != nil {
				b.Error(err)
			}
		}()
		benchCurl(b, conn.LocalAddr().String())
	})
	b.Run("server=tftpd-hpa", func(b *testing.B) {
		requireCommands(b, "in.tftpd")
		if os.Geteuid() != 0 {
			b.Skip("in.tftpd -s (chroot) needs root")
		}
		addr := freeUDPAddr(b)
		ctx, cancel := context.WithCancel(context.Background())
		cmd := exec.CommandContext(ctx, "in.tftpd", "-L", "-a", addr, "-s", dir)
		cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
		cmd.WaitDelay = 5 * time.Second
		if err := cmd.Start(); err != nil {
			cancel()
			b.Fatal(err)
		}
		defer func() {
			cancel()
			if err := cmd.Wait(); err != nil && !stoppedBySIGTERM(err) {
				b.Errorf("in.tftpd: %v", err)
			}
		}()
		benchCurl(b, addr)
	})
	b.Run("server=dnsmasq", func(b *testing.B) {
		requireCommands(b, "dnsmasq")
		if os.Geteuid() != 0 {
			b.Skip("dnsmasq's TFTP listens on port 69 only: needs root")
		}
		// dnsmasq's TFTP server has no port option: it takes 127.0.0.1:69,
		// which must be free. DNS and DHCP are off.
		ctx, cancel := context.WithCancel(context.Background())
		cmd := exec.CommandContext(ctx, "dnsmasq", "--keep-in-foreground", "--conf-file=/dev/null", "--port=0",
			"--listen-address=127.0.0.1", "--bind-interfaces", "--enable-tftp", "--tftp-root="+dir, "--pid-file=",
			// The test's temporary directories are private to root.
			"--user=root")
		cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
		cmd.WaitDelay = 5 * time.Second
		if err := cmd.Start(); err != nil {
			cancel()
			b.Fatal(err)
		}
		defer func() {
			cancel()
			if err := cmd.Wait(); err != nil && !stoppedBySIGTERM(err) {
				b.Errorf("dnsmasq: %v", err)
			}
		}()
		benchCurl(b, "127.0.0.1:69")
	})
}

// benchCurl waits for the server at addr to serve the file once, checks
// it, then times b.N fetches.
func benchCurl(b *testing.B, addr string) {
	b.Helper()
	out := filepath.Join(b.TempDir(), "out")
	url := "tftp://" + addr + "/32MiB"
	fetch := func() error {
		args := []string{"curl", "-sS", "--tftp-blksize", "1468", "-o", out, url}
		if cpu := os.Getenv(benchClientCPU); cpu != "" {
			args = append([]string{"taskset", "-c", cpu}, args...)
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if o, err := exec.CommandContext(ctx, args[0], args[1:]...).CombinedOutput(); err != nil { //nolint:gosec // the test's own command line
			return errors.Join(err, errors.New(string(o)))
		}
		fi, err := os.Stat(out)
		if err == nil && fi.Size() != benchSize {
			err = errors.New("fetched " + strconv.FormatInt(fi.Size(), 10) + " bytes")
		}
		return err
	}
	deadline := time.Now().Add(10 * time.Second)
	for err := fetch(); err != nil; err = fetch() {
		if time.Now().After(deadline) {
			b.Fatalf("no good fetch from %s: %v", addr, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	b.SetBytes(benchSize)
	b.ResetTimer()
	for range b.N {
		if err := fetch(); err != nil {
			b.Fatal(err)
		}
	}
}

// freeUDPAddr returns a loopback UDP address nobody listens on now.
func freeUDPAddr(b *testing.B) string {
	b.Helper()
	c, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	addr := c.LocalAddr().String()
	if err := c.Close(); err != nil {
		b.Fatal(err)
	}
	return addr
}

// stoppedBySIGTERM reports whether a command's Wait error says it ended as
// its context's Cancel (SIGTERM) asked: the context's error when it exited
// cleanly, the signal when it died of it.
func stoppedBySIGTERM(err error) bool {
	if errors.Is(err, context.Canceled) {
		return true
	}
	var exit *exec.ExitError
	if !errors.As(err, &exit) {
		return false
	}
	ws, ok := exit.Sys().(syscall.WaitStatus)
	return ok && ws.Signaled() && ws.Signal() == syscall.SIGTERM
}
