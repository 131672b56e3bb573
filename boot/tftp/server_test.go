package tftp

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/pin/tftp/v3"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/metalgit/metalgit/boot/trace"
	"github.com/metalgit/metalgit/internal/metricstest"
	"github.com/metalgit/metalgit/internal/testlog"
)

// clientMAC is what the tests' MACOf says 127.0.0.1 is.
const clientMAC = "02:00:00:00:00:01"

func mustMAC(s string) net.HardwareAddr {
	mac, err := net.ParseMAC(s)
	if err != nil {
		panic(err)
	}
	return mac
}

// lab is a running server on 127.0.0.1 serving a temporary root.
type lab struct {
	srv   *Server
	trace *trace.Ring
	reg   *prometheus.Registry
	logs  *testlog.Buffer
	addr  *net.UDPAddr
	// dir holds root (the served directory) and secret (a file outside).
	dir, root string
	files     map[string][]byte
	cancel    context.CancelFunc
	done      chan error
}

// testFiles are the root's files: sizes around the block boundaries.
var testFiles = map[string]int{
	"empty": 0, "511": 511, "512": 512, "513": 513,
	"1468": 1468, "2x1468": 2 * 1468, "3x1468": 3 * 1468, "5MiB": 5 << 20,
	"100000": 100000,
}

func randomBytes(t testing.TB, n int) []byte {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b
}

// newRoot makes dir/root with testFiles, a sub-directory, a link that
// stays inside and dir/secret outside it.
func newRoot(t testing.TB) (dir, root string, files map[string][]byte) {
	t.Helper()
	dir = t.TempDir()
	root = filepath.Join(dir, "root")
	if err := os.MkdirAll(filepath.Join(root, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	files = map[string][]byte{}
	for name, size := range testFiles {
		files[name] = randomBytes(t, size)
		if err := os.WriteFile(filepath.Join(root, name), files[name], 0o644); err != nil {
			t.Fatal(err)
		}
	}
	files["sub/inner"] = []byte("inner file\n")
	if err := os.WriteFile(filepath.Join(root, "sub", "inner"), files["sub/inner"], 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("sub/inner", filepath.Join(root, "link-inside")); err != nil {
		t.Fatal(err)
	}
	files["link-inside"] = files["sub/inner"]
	if err := os.WriteFile(filepath.Join(dir, "secret"), []byte("outside the root\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir, root, files
}

func startLab(t *testing.T, mod func(*Config)) *lab {
	t.Helper()
	dir, root, files := newRoot(t)
	l := &lab{reg: prometheus.NewRegistry(), logs: &testlog.Buffer{}, dir: dir, root: root, files: files,
		trace: trace.New(trace.Config{})}
	cfg := Config{
		Trace:  l.trace,
		Listen: netip.MustParseAddrPort("127.0.0.1:0"), Root: root, Registerer: l.reg,
		Logger: slog.New(slog.NewJSONHandler(l.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		MACOf: func(a netip.Addr) (net.HardwareAddr, bool) {
			if a == netip.MustParseAddr("127.0.0.1") {
				return mustMAC(clientMAC), true
			}
			return nil, false
		},
	}
	if mod != nil {
		mod(&cfg)
	}
	srv, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	l.srv = srv
	ctx, cancel := context.WithCancel(context.Background())
	conn, err := srv.Listen(ctx)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	addr, ok := conn.LocalAddr().(*net.UDPAddr)
	if !ok {
		cancel()
		t.Fatalf("not a UDP socket: %v", conn.LocalAddr())
	}
	l.addr = addr
	l.cancel, l.done = cancel, make(chan error, 1)
	go func() { l.done <- srv.Serve(ctx, conn) }()
	t.Cleanup(func() {
		if l.stop() != nil {
			t.Errorf("Serve: %v", <-l.done)
		}
	})
	return l
}

// stop cancels Serve and returns its error (once).
func (l *lab) stop() error {
	l.cancel()
	select {
	case err := <-l.done:
		l.done <- err
		return err
	case <-time.After(30 * time.Second):
		return context.DeadlineExceeded
	}
}

// fetch gets name with pin/tftp's client: blksize 0 sends no option.
func (l *lab) fetch(t *testing.T, name string, blksize int, tsize bool) ([]byte, int64, bool, error) {
	t.Helper()
	c, err := tftp.NewClient(l.addr.String())
	if err != nil {
		t.Fatal(err)
	}
	c.SetTimeout(2 * time.Second)
	c.SetRetries(3)
	if blksize != 0 {
		c.SetBlockSize(blksize)
	}
	c.RequestTSize(tsize)
	wt, err := c.Receive(name, "octet")
	if err != nil {
		return nil, 0, false, err
	}
	var size int64
	var sizeOK bool
	if it, ok := wt.(tftp.IncomingTransfer); ok {
		size, sizeOK = it.Size()
	}
	var buf bytes.Buffer
	_, err = wt.WriteTo(&buf)
	return buf.Bytes(), size, sizeOK, err
}

// waitCounter waits until c reaches want.
func waitCounter(t *testing.T, c prometheus.Collector, want float64) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for testutil.ToFloat64(c) < want {
		if time.Now().After(deadline) {
			t.Fatalf("counter stayed at %v, want %v", testutil.ToFloat64(c), want)
		}
		time.Sleep(5 * time.Millisecond)
	}
	if got := testutil.ToFloat64(c); got != want {
		t.Fatalf("counter at %v, want %v", got, want)
	}
}

// transferLogs returns the "tftp transfer" log lines written so far.
func (l *lab) transferLogs(t *testing.T) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(l.logs.String()), "\n") {
		if line == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		if m["msg"] == "tftp transfer" {
			out = append(out, m)
		}
	}
	return out
}

func TestFetchWholeFiles(t *testing.T) {
	l := startLab(t, nil)
	var want float64
	var sent int
	for name, size := range testFiles {
		for _, blksize := range []int{0, 1468} {
			t.Run(name+"/"+map[int]string{0: "no options", 1468: "blksize 1468 tsize"}[blksize], func(t *testing.T) {
				got, tsize, tsizeOK, err := l.fetch(t, name, blksize, blksize != 0)
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(got, l.files[name]) {
					t.Fatalf("got %d bytes, want the %d of %s", len(got), size, name)
				}
				// tsize is the file's size, 0 for an empty file.
				if blksize != 0 && (!tsizeOK || tsize != int64(size)) {
					t.Errorf("tsize %d (%v), want %d", tsize, tsizeOK, size)
				}
			})
			want++
			sent += size
		}
	}
	m := l.srv.metrics
	waitCounter(t, m.byResult[ResultCompleted], want)
	if got := testutil.ToFloat64(m.sent); got != float64(sent) {
		t.Errorf("sent bytes %v, want %v", got, sent)
	}
	if n, err := testutil.GatherAndCount(l.reg, "metalgit_tftp_transfer_duration_seconds"); err != nil || n != 1 {
		t.Errorf("duration histogram: %d series, %v", n, err)
	}
	if got := testutil.ToFloat64(m.inFlight); got != 0 {
		t.Errorf("in flight after the transfers: %v", got)
	}
}

func TestLinkInsideRootServed(t *testing.T) {
	l := startLab(t, nil)
	for _, name := range []string{"link-inside", "sub/inner", "sub/../sub/inner"} {
		got, _, _, err := l.fetch(t, name, 1468, true)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if !bytes.Equal(got, l.files["sub/inner"]) {
			t.Errorf("%s: got %q", name, got)
		}
	}
}

// TestOptionsNegotiated sends the requests of real firmware and checks
// the OACK, then completes or aborts the transfer as the firmware does.
func TestOptionsNegotiated(t *testing.T) {
	const file = "100000"
	size := 100000
	cases := map[string]struct {
		opts []string
		// oack is the expected OACK; nil: DATA 1 comes directly, with
		// firstBlock bytes.
		oack       map[string]string
		firstBlock int
		// probe: abort after the OACK with error 8, as EDK2 does.
		probe bool
	}{
		"EDK2 size probe": {
			opts:  []string{"tsize", "0", "blksize", "1468", "windowsize", "4"},
			oack:  map[string]string{"tsize": "100000", "blksize": "1468", "windowsize": "4"},
			probe: true,
		},
		"EDK2 transfer": {
			opts: []string{"blksize", "1468", "windowsize", "4"},
			oack: map[string]string{"blksize": "1468", "windowsize": "4"},
		},
		"iPXE": {
			opts: []string{"blksize", "1432", "tsize", "0"},
			oack: map[string]string{"tsize": "100000", "blksize": "1432"},
		},
		"tftp-hpa: no options": {firstBlock: 512},
		"blksize at RFC 2348's maximum": {
			opts: []string{"blksize", "65464"},
			oack: map[string]string{"blksize": "65464"},
		},
		"blksize over the maximum: ignored": {opts: []string{"blksize", "65465"}, firstBlock: 512},
		"blksize under the minimum: ignored": {
			opts: []string{"blksize", "8", "tsize", "0"},
			oack: map[string]string{"tsize": "100000"},
		},
		"unknown option only": {opts: []string{"timeout", "6"}, firstBlock: 512},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			l := startLab(t, nil)
			c := dial(t, l.addr)
			c.rrq(t, file, "octet", tc.opts...)
			p := c.recv(t)
			m := l.srv.metrics
			if tc.oack == nil {
				if p.op != opDATA || p.block != 1 || len(p.data) != tc.firstBlock {
					t.Fatalf("first packet %s, want DATA 1 with %d bytes", p, tc.firstBlock)
				}
				got := c.receiveFrom(t, p, tc.firstBlock)
				if !bytes.Equal(got, l.files[file]) {
					t.Fatalf("got %d bytes, want %d", len(got), size)
				}
				waitCounter(t, m.byResult[ResultCompleted], 1)
				return
			}
			if p.op != opOACK {
				t.Fatalf("first packet %s, want an OACK", p)
			}
			if diff := cmp.Diff(tc.oack, p.opts); diff != "" {
				t.Fatalf("OACK options (-want +got):\n%s", diff)
			}
			if tc.probe {
				c.sendError(t, 8, "file size probe")
				waitCounter(t, m.byResult[ResultProbe], 1)
				if got := testutil.ToFloat64(m.byResult[ResultFailed]); got != 0 {
					t.Errorf("the probe counted as a failure too: %v", got)
				}
				if logs := l.transferLogs(t); len(logs) != 1 || logs[0]["result"] != "probe" || logs[0]["tsize"] != any(true) {
					t.Errorf("logs %v, want one probe line", logs)
				}
				if evs := l.trace.Events(mustMAC(clientMAC)); len(evs) != 1 || evs[0].Failed || evs[0].Attrs["result"] != "probe" {
					t.Errorf("trace %+v, want one probe that did not fail", evs)
				}
				return
			}
			blksize, window := MinBlockSize, 1
			if b, ok := tc.oack["blksize"]; ok {
				blksize = atoi(t, b)
			}
			if w, ok := tc.oack["windowsize"]; ok {
				window = atoi(t, w)
			}
			c.ack(t, 0)
			got := c.receiveWindows(t, c.recv(t), blksize, window)
			if !bytes.Equal(got, l.files[file]) {
				t.Fatalf("got %d bytes, want %d", len(got), size)
			}
			waitCounter(t, m.byResult[ResultCompleted], 1)
			if logs := l.transferLogs(t); len(logs) != 1 || logs[0]["blksize"] != float64(blksize) {
				t.Errorf("logs %v, want one line with blksize %d", logs, blksize)
			}
		})
	}
}

// TestRefusals: every request for something outside the served files,
// and every write, is answered with an ERROR packet and counted.
func TestRefusals(t *testing.T) {
	l := startLab(t, nil)
	root := l.root
	for _, link := range []struct{ target, name string }{
		{"../secret", "escape-relative"},
		{filepath.Join(l.dir, "secret"), "escape-absolute"},
		{"sub/../../secret", "escape-through-sub"},
		{"/etc/passwd", "escape-etc"},
		{"../root/../secret", "escape-back-and-out"},
		{"loop-b", "loop-a"},
		{"loop-a", "loop-b"},
		{l.dir, "escape-directory"},
	} {
		if err := os.Symlink(link.target, filepath.Join(root, link.name)); err != nil {
			t.Fatal(err)
		}
	}
	if err := syscall.Mkfifo(filepath.Join(root, "fifo"), 0o644); err != nil {
		t.Fatal(err)
	}
	cases := map[string]struct {
		file   string
		write  bool
		reason Reason
	}{
		"write":                          {file: "new-file", write: true, reason: ReasonWrite},
		"write over a file":              {file: "512", write: true, reason: ReasonWrite},
		"write outside":                  {file: "../new-file", write: true, reason: ReasonWrite},
		"..":                             {file: "../secret", reason: ReasonOutsideRoot},
		"sub/../..":                      {file: "sub/../../secret", reason: ReasonOutsideRoot},
		"the parent":                     {file: "..", reason: ReasonOutsideRoot},
		"absolute path outside":          {file: filepath.Join(l.dir, "secret"), reason: ReasonAbsolutePath},
		"absolute path of a served file": {file: filepath.Join(root, "512"), reason: ReasonAbsolutePath},
		"/etc/passwd":                    {file: "/etc/passwd", reason: ReasonAbsolutePath},
		"leading slash":                  {file: "/512", reason: ReasonAbsolutePath},
		"relative symlink out":           {file: "escape-relative", reason: ReasonOutsideRoot},
		"absolute symlink out":           {file: "escape-absolute", reason: ReasonOutsideRoot},
		"symlink out through sub":        {file: "escape-through-sub", reason: ReasonOutsideRoot},
		"symlink to /etc/passwd":         {file: "escape-etc", reason: ReasonOutsideRoot},
		"symlink back in and out":        {file: "escape-back-and-out", reason: ReasonOutsideRoot},
		"file under a symlinked dir":     {file: "escape-directory/secret", reason: ReasonOutsideRoot},
		"symlink loop":                   {file: "loop-a", reason: ReasonNotFound},
		"missing":                        {file: "missing.efi", reason: ReasonNotFound},
		"under a file":                   {file: "512/x", reason: ReasonNotFound},
		"empty name":                     {file: "", reason: ReasonNotFound},
		"directory":                      {file: "sub", reason: ReasonNotAFile},
		"root itself":                    {file: ".", reason: ReasonNotAFile},
		"FIFO (must not block)":          {file: "fifo", reason: ReasonNotAFile},
	}
	want := map[Reason]float64{}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			c := dial(t, l.addr)
			if tc.write {
				c.wrq(t, tc.file, "octet")
			} else {
				c.rrq(t, tc.file, "octet", "blksize", "1468", "tsize", "0")
			}
			p := c.recv(t)
			code := uint16(2) // access violation
			if tc.reason == ReasonNotFound {
				code = 1
			}
			if p.op != opERROR || p.code != code || p.msg != refusal(tc.reason).Error() {
				t.Fatalf("answer %s, want ERROR %d %q", p, code, refusal(tc.reason).Error())
			}
		})
		want[tc.reason]++
	}
	m := l.srv.metrics
	for _, r := range reasons {
		waitCounter(t, m.byReason[r], want[r])
	}
	waitCounter(t, m.byResult[ResultRefused], float64(len(cases)))
	for _, name := range []string{"new-file", filepath.Join("..", "new-file")} {
		if _, err := os.Stat(filepath.Join(root, name)); err == nil {
			t.Errorf("a write request created %s", name)
		}
	}
	if got := testutil.ToFloat64(m.sent); got != 0 {
		t.Errorf("sent %v bytes to refused requests", got)
	}
	for _, line := range l.transferLogs(t) {
		if line["result"] != "refused" || line["reason"] == "" || line["ip"] != "127.0.0.1" || line["mac"] != clientMAC {
			t.Errorf("log line %v", line)
		}
	}
}

func TestWriteRefusedToPinClient(t *testing.T) {
	l := startLab(t, nil)
	c, err := tftp.NewClient(l.addr.String())
	if err != nil {
		t.Fatal(err)
	}
	c.SetTimeout(2 * time.Second)
	_, err = c.Send("upload", "octet")
	if err == nil || !strings.Contains(err.Error(), "does not accept writes") {
		t.Fatalf("Send: %v, want the refusal", err)
	}
}

// TestLogLine: one line per transfer, with the client's address and MAC.
func TestLogLine(t *testing.T) {
	l := startLab(t, nil)
	if _, _, _, err := l.fetch(t, "3x1468", 1468, true); err != nil {
		t.Fatal(err)
	}
	waitCounter(t, l.srv.metrics.byResult[ResultCompleted], 1)
	logs := l.transferLogs(t)
	if len(logs) != 1 {
		t.Fatalf("%d transfer lines, want 1:\n%s", len(logs), l.logs.String())
	}
	line := logs[0]
	for _, k := range []string{"time", "msg", "duration", "port"} {
		delete(line, k)
	}
	want := map[string]any{"level": "INFO", "ip": "127.0.0.1", "mac": clientMAC, "file": "3x1468", "result": "completed",
		"bytes": float64(3 * 1468), "size": float64(3 * 1468), "blksize": float64(1468), "windowsize": float64(1), "tsize": true}
	if diff := cmp.Diff(want, line); diff != "" {
		t.Errorf("log line (-want +got):\n%s", diff)
	}
}

func TestUnknownClientLoggedWithoutMAC(t *testing.T) {
	l := startLab(t, func(c *Config) { c.MACOf = func(netip.Addr) (net.HardwareAddr, bool) { return nil, false } })
	if _, _, _, err := l.fetch(t, "512", 0, false); err != nil {
		t.Fatal(err)
	}
	waitCounter(t, l.srv.metrics.byResult[ResultCompleted], 1)
	if logs := l.transferLogs(t); len(logs) != 1 || logs[0]["mac"] != nil || logs[0]["ip"] != "127.0.0.1" {
		t.Errorf("logs %v", logs)
	}
	if k, u := l.trace.MACs(); k != 0 || u != 0 {
		t.Errorf("a client without a MAC is in the trace: %d, %d MACs", k, u)
	}
}

// TestTraceRecordsTransfers: each transfer of a client with a lease ends
// with one event: file, result, bytes, block size, the reason of a
// refusal or failure.
func TestTraceRecordsTransfers(t *testing.T) {
	l := startLab(t, nil)
	m := l.srv.metrics
	if _, _, _, err := l.fetch(t, "3x1468", 1468, true); err != nil {
		t.Fatal(err)
	}
	// The server sees the last acknowledgement after the client is done.
	waitCounter(t, m.byResult[ResultCompleted], 1)
	if _, _, _, err := l.fetch(t, "missing.efi", 0, false); err == nil {
		t.Fatal("a missing file was served")
	}
	waitCounter(t, m.byResult[ResultRefused], 1)
	type got struct {
		Server, Kind, Detail string
		Failed               bool
		Attrs                map[string]string
	}
	var evs []got
	for _, e := range l.trace.Events(mustMAC(clientMAC)) {
		detail, _, _ := strings.Cut(e.Detail, ", in ") // the duration varies
		evs = append(evs, got{e.Server, e.Kind, detail, e.Failed, e.Attrs})
	}
	want := []got{
		{"tftp", "tftp", "3x1468 completed: 4404 of 4404 bytes, blksize 1468, windowsize 1", false,
			map[string]string{"file": "3x1468", "result": "completed", "bytes": "4404", "blksize": "1468", "windowsize": "1"}},
		{"tftp", "tftp", "missing.efi refused: file not found", true,
			map[string]string{"file": "missing.efi", "result": "refused", "reason": "not-found"}},
	}
	if diff := cmp.Diff(want, evs); diff != "" {
		t.Errorf("trace (-want +got):\n%s", diff)
	}
}

// TestShutdownAbortsSlowTransfers: once Serve's context ends, the socket
// closes at once, and a transfer still running after the grace period is
// aborted with an ERROR packet.
func TestShutdownAbortsSlowTransfers(t *testing.T) {
	l := startLab(t, func(c *Config) { c.ShutdownGrace = 300 * time.Millisecond })
	c := dial(t, l.addr)
	c.rrq(t, "5MiB", "octet", "blksize", "512")
	p := c.recv(t)
	if p.op != opOACK {
		t.Fatalf("first packet %s", p)
	}
	tid := p.from
	c.ackTo(t, tid, 0)
	stopped := make(chan error, 1)
	start := time.Now()
	go func() { stopped <- l.stop() }()
	// Acknowledge slowly until the server gives up.
	for {
		p := c.recv(t)
		if p.op == opERROR {
			if p.msg != errShutdown.Error() {
				t.Fatalf("ERROR %q, want %q", p.msg, errShutdown)
			}
			break
		}
		if time.Since(start) > 10*time.Second {
			t.Fatal("still sending 10 s after the shutdown")
		}
		time.Sleep(20 * time.Millisecond)
		c.ackTo(t, tid, p.block)
	}
	if err := <-stopped; err != nil {
		t.Fatalf("Serve: %v", err)
	}
	if d := time.Since(start); d < 300*time.Millisecond {
		t.Errorf("aborted after %s, before the grace period", d)
	}
	waitCounter(t, l.srv.metrics.byResult[ResultFailed], 1)
	// The listening socket is closed: a new request gets nothing.
	c2 := dial(t, l.addr)
	c2.rrq(t, "512", "octet")
	if p, err := c2.tryRecv(300 * time.Millisecond); err == nil {
		t.Errorf("a request after the shutdown was answered: %s", p)
	}
}

func TestShutdownWaitsForTransfers(t *testing.T) {
	l := startLab(t, nil)
	c := dial(t, l.addr)
	c.rrq(t, "3x1468", "octet", "blksize", "1468")
	p := c.recv(t)
	tid := p.from
	stopped := make(chan error, 1)
	go func() { stopped <- l.stop() }()
	time.Sleep(100 * time.Millisecond)
	select {
	case err := <-stopped:
		t.Fatalf("Serve returned (%v) with a transfer running", err)
	default:
	}
	c.ackTo(t, tid, 0)
	got := c.receiveFrom(t, c.recv(t), 1468)
	if !bytes.Equal(got, l.files["3x1468"]) {
		t.Errorf("got %d bytes", len(got))
	}
	if err := <-stopped; err != nil {
		t.Fatal(err)
	}
	waitCounter(t, l.srv.metrics.byResult[ResultCompleted], 1)
}

func TestMaxTransferTime(t *testing.T) {
	l := startLab(t, func(c *Config) { c.MaxTransferTime = 200 * time.Millisecond })
	c := dial(t, l.addr)
	c.rrq(t, "5MiB", "octet")
	for {
		p := c.recv(t)
		if p.op == opERROR {
			if p.msg != errTooLong.Error() {
				t.Fatalf("ERROR %q", p.msg)
			}
			break
		}
		time.Sleep(10 * time.Millisecond)
		c.ackTo(t, p.from, p.block)
	}
	waitCounter(t, l.srv.metrics.byResult[ResultFailed], 1)
}

// TestSilentClientTimesOut: a client that never acknowledges costs at
// most 1+Retries sends of the block, Timeout apart.
func TestSilentClientTimesOut(t *testing.T) {
	l := startLab(t, func(c *Config) { c.Timeout = 100 * time.Millisecond; c.Retries = 2 })
	c := dial(t, l.addr)
	c.rrq(t, "512", "octet")
	sends := 0
	for {
		p, err := c.tryRecv(time.Second)
		if err != nil {
			break
		}
		if p.op == opDATA && p.block == 1 {
			sends++
		}
	}
	if sends != 3 {
		t.Errorf("DATA 1 sent %d times, want 3", sends)
	}
	waitCounter(t, l.srv.metrics.byResult[ResultFailed], 1)
	if got := testutil.ToFloat64(l.srv.metrics.inFlight); got != 0 {
		t.Errorf("in flight %v", got)
	}
}

// TestDropped: what is not a request is dropped without an answer.
func TestDropped(t *testing.T) {
	l := startLab(t, nil)
	c := dial(t, l.addr)
	for _, p := range [][]byte{{0, 4, 0, 1}, {0, 3, 0, 1, 'x'}, []byte("GET / HTTP/1.0\r\n\r\n"), {0}} {
		if _, err := c.conn.WriteTo(p, l.addr); err != nil {
			t.Fatal(err)
		}
	}
	waitCounter(t, l.srv.metrics.byDropped[dropMalformed], 4)
	if p, err := c.tryRecv(200 * time.Millisecond); err == nil {
		t.Errorf("answered %s", p)
	}
	// The server still serves.
	if got, _, _, err := l.fetch(t, "511", 0, false); err != nil || len(got) != 511 {
		t.Fatalf("fetch after the junk: %d bytes, %v", len(got), err)
	}
}

func TestNewChecksConfig(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "file")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	cases := map[string]struct {
		cfg  Config
		want []string
	}{
		"missing root": {Config{Root: filepath.Join(dir, "nope")}, []string{"root directory", "no such file"}},
		"root a file":  {Config{Root: file}, []string{"not a directory"}},
		"all negative": {Config{Root: dir, MaxTransfers: -1, MaxTransfersPerClient: -1, Retries: -1, Timeout: -1, MaxTransferTime: -1, ShutdownGrace: -1},
			[]string{"max transfers -1", "max transfers per client -1", "retries -1", "timeout -1ns", "max transfer time -1ns", "shutdown grace -1ns"}},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := New(tc.cfg)
			if err == nil {
				t.Fatal("accepted")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
		})
	}
	s, err := New(Config{Root: dir})
	if err != nil {
		t.Fatal(err)
	}
	got := s.Config()
	got.Logger = nil
	want := Config{Listen: netip.MustParseAddrPort(DefaultListen), Root: dir, MaxTransfers: DefaultMaxTransfers,
		MaxTransfersPerClient: DefaultMaxTransfersPerClient, Timeout: DefaultTimeout, Retries: DefaultRetries, MaxTransferTime: DefaultMaxTransferTime, ShutdownGrace: DefaultShutdownGrace}
	if diff := cmp.Diff(want, got, cmp.Comparer(func(a, b netip.AddrPort) bool { return a == b })); diff != "" {
		t.Errorf("defaults (-want +got):\n%s", diff)
	}
}

func TestSecondServerOnSamePortFails(t *testing.T) {
	l := startLab(t, nil)
	s, err := New(Config{Root: l.root, Listen: l.addr.AddrPort()})
	if err != nil {
		t.Fatal(err)
	}
	c, err := s.Listen(context.Background())
	if err == nil {
		_ = c.Close()
		t.Fatal("a second server on the same port started")
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
	want := []string{"metalgit_tftp_dropped_requests_total", "metalgit_tftp_evicted_total", "metalgit_tftp_refusals_total", "metalgit_tftp_sent_bytes_total",
		"metalgit_tftp_transfer_duration_seconds", "metalgit_tftp_transfers_in_flight", "metalgit_tftp_transfers_total"}
	if diff := cmp.Diff(want, names); diff != "" {
		t.Errorf("metrics (-want +got):\n%s", diff)
	}
}
