package httpboot

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/metalgit/metalgit/boot"
	"github.com/metalgit/metalgit/internal/netnstest"
)

// BenchmarkImageProxyLink measures the image proxy where a machine meets
// it: across a network link. A client namespace fetches a 256 MiB image
// with curl over a veth shaped to the link's rate (tc tbf on the server
// end; "none" leaves the veth as it is, bound by the CPU alone), once
// from the origin directly and once through the proxy. The
// origin is a file server on the same file (sendfile, as Ironic's httpd)
// and sits beside the proxy in the server namespace, so both downloads
// cross the same link and only the proxy's hop differs. hack/bench/image.sh
// runs the sub-benchmarks in interleaved rounds.
//
// The proxy runs as a process of its own in the server namespace (this
// test binary, re-executed: its upstream connections must start there
// too). Besides MB/s the sub-benchmarks report the CPU time the origin
// and the proxy spent per GB moved, and the proxy's peak resident memory
// (a 256 MiB image must not show in it). Needs root, curl and tc
// (iproute2).
//
//	go test -run '^$' -bench 'ImageProxyLink/link=10gbit' ./boot/httpboot/
func BenchmarkImageProxyLink(b *testing.B) {
	const size = 256 << 20
	netnstest.RequireCommands(b, "curl", "tc")
	pair := netnstest.NewPair(b)
	dir := b.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "images"), 0o755); err != nil {
		b.Fatal(err)
	}
	writeGenerated(b, filepath.Join(dir, "images", "big"), size)
	srvIP := pair.Server.Addr.Addr().String()
	origin := serveIn(b, pair.Server.NS, srvIP, http.FileServer(http.Dir(dir)))
	proxy, proxyPID := startProxyIn(b, pair.Server.NS, srvIP, "http://"+origin)
	// "none" first: the veth as it is, bound by the CPU only.
	for _, rate := range []string{"none", "1gbit", "10gbit"} {
		if rate != "none" {
			shape(b, pair.Server, rate)
		}
		for _, c := range []struct{ name, addr string }{{"direct", origin}, {"proxy", proxy}} {
			b.Run("link="+rate+"/"+c.name, func(b *testing.B) {
				url := "http://" + c.addr + "/images/big"
				b.SetBytes(size)
				origin, proxy := cpuTime(b, 0), cpuTime(b, proxyPID)
				for b.Loop() {
					curlSize(b, pair.Client.NS, url, size)
				}
				gb := float64(b.N) * size / 1e9
				b.ReportMetric((cpuTime(b, 0)-origin).Seconds()/gb, "origin-cpu-s/GB")
				if c.name == "proxy" {
					b.ReportMetric((cpuTime(b, proxyPID)-proxy).Seconds()/gb, "proxy-cpu-s/GB")
					b.ReportMetric(float64(peakRSS(b, proxyPID))/(1<<20), "proxy-peak-RSS-MiB")
				}
			})
		}
	}
}

// writeGenerated writes size bytes of generated content to path.
func writeGenerated(b *testing.B, path string, size int64) {
	b.Helper()
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := f.ReadFrom(&generated{size: size}); err != nil {
		b.Fatal(err)
	}
	if err := f.Close(); err != nil {
		b.Fatal(err)
	}
}

// serveIn serves h on a free port of ip inside ns until the benchmark
// ends, and returns the address.
func serveIn(b *testing.B, ns *netnstest.NS, ip string, h http.Handler) string {
	b.Helper()
	var ln net.Listener
	if err := ns.Do(func() (err error) { ln, err = net.Listen("tcp", net.JoinHostPort(ip, "0")); return err }); err != nil {
		b.Fatal(err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	b.Cleanup(func() { _ = srv.Close() })
	return ln.Addr().String()
}

// shape limits what e's end of the veth sends (towards the client) to
// rate with a token bucket whose burst is 10 ms at that rate.
func shape(b *testing.B, e netnstest.Endpoint, rate string) {
	b.Helper()
	bits, err := strconv.ParseInt(strings.TrimSuffix(rate, "gbit"), 10, 64)
	if err != nil {
		b.Fatalf("rate %q", rate)
	}
	burst := bits * 1e9 / 8 / 100
	ctx, cancel := context.WithTimeout(b.Context(), 30*time.Second)
	defer cancel()
	out, err := e.NS.Command(ctx, "tc", "qdisc", "replace", "dev", e.Interface, "root", "tbf",
		"rate", rate, "burst", strconv.FormatInt(burst, 10), "latency", "20ms").CombinedOutput()
	if err != nil {
		b.Fatalf("tc: %v: %s", err, out)
	}
}

// curlSize downloads url with curl inside ns and checks the size.
func curlSize(b *testing.B, ns *netnstest.NS, url string, size int64) {
	b.Helper()
	ctx, cancel := context.WithTimeout(b.Context(), 2*time.Minute)
	defer cancel()
	out, err := ns.Command(ctx, "curl", "-sS", "--fail", "-o", "/dev/null", "-w", "%{size_download}", url).Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			b.Fatalf("curl %s: %v: %s", url, err, ee.Stderr)
		}
		b.Fatalf("curl %s: %v", url, err)
	}
	if got := strings.TrimSpace(string(out)); got != fmt.Sprint(size) {
		b.Fatalf("curl %s: %s bytes, want %d", url, got, size)
	}
}

// cpuTime is the user and system CPU time so far of the process pid, or
// of this process for 0.
func cpuTime(b *testing.B, pid int) time.Duration {
	b.Helper()
	if pid == 0 {
		var ru syscall.Rusage
		if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
			b.Fatal(err)
		}
		return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	}
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		b.Fatal(err)
	}
	// The fields after the command's closing parenthesis; utime and
	// stime are the 14th and 15th of the line, in clock ticks (100 Hz).
	_, rest, _ := strings.Cut(string(stat), ") ")
	f := strings.Fields(rest)
	if len(f) < 13 {
		b.Fatalf("/proc/%d/stat: %q", pid, stat)
	}
	ticks := int64(0)
	for _, s := range f[11:13] {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			b.Fatalf("/proc/%d/stat: %q", pid, stat)
		}
		ticks += n
	}
	return time.Duration(ticks) * 10 * time.Millisecond
}

// peakRSS is the largest resident set the process pid has had, in bytes.
func peakRSS(b *testing.B, pid int) int64 {
	b.Helper()
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		b.Fatal(err)
	}
	for line := range strings.Lines(string(status)) {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			if err != nil {
				b.Fatalf("/proc/%d/status: %q", pid, line)
			}
			return kb << 10
		}
	}
	b.Fatalf("/proc/%d/status: no VmHWM", pid)
	return 0
}

// proxyHelper names the environment variable that makes this test binary
// the image proxy of BenchmarkImageProxyLink: "LISTEN-IP UPSTREAM-URL".
const proxyHelper = "METALGIT_TEST_IMAGE_PROXY"

func TestMain(m *testing.M) {
	if v := os.Getenv(proxyHelper); v != "" {
		os.Exit(proxyMain(v))
	}
	os.Exit(m.Run())
}

// proxyMain serves the image proxy on a free port with Server.Serve (its
// listener and limits, as metalgit boot runs it) until SIGTERM, after
// printing its address on stdout.
func proxyMain(arg string) int {
	ip, upstream, _ := strings.Cut(arg, " ")
	s, err := New(Config{HTTPURL: "http://x:8080", CallbackURL: "http://x:8081", IronicHTTPURL: upstream,
		Root: os.TempDir(), Hosts: &boot.Store{}, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	ln, err := net.Listen("tcp", net.JoinHostPort(ip, "0"))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	fmt.Println(ln.Addr())
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM)
	defer stop()
	if err := s.Serve(ctx, ln); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

// startProxyIn starts this test binary as the image proxy in ns and
// returns its address and PID; it is stopped (by PID) when b ends.
func startProxyIn(b *testing.B, ns *netnstest.NS, ip, upstream string) (string, int) {
	b.Helper()
	cmd := ns.Command(context.WithoutCancel(b.Context()), os.Args[0])
	cmd.Env = append(os.Environ(), proxyHelper+"="+ip+" "+upstream)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		_ = cmd.Wait()
	})
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		b.Fatalf("image proxy helper: %v", err)
	}
	return strings.TrimSpace(line), cmd.Process.Pid
}
