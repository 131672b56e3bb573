package tftp

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
)

// expectData receives the next packet and checks it is DATA block.
func expectData(t *testing.T, c *rawClient, block uint16) packet {
	t.Helper()
	p := c.recv(t)
	if p.op != opDATA || p.block != block {
		t.Fatalf("got %s, want DATA %d", p, block)
	}
	return p
}

// TestWindowsize: with windowsize 4 (RFC 7440, as EDK2 asks) the server
// sends four blocks per acknowledgement; an acknowledgement of a block
// inside the window (the client lost the next one) makes it go on from
// the block after it; silence makes it send the window again.
func TestWindowsize(t *testing.T) {
	l := startLab(t, func(c *Config) { c.Timeout = 300 * time.Millisecond })
	c := dial(t, l.addr)
	c.rrq(t, "100000", "octet", "blksize", "1468", "windowsize", "4")
	if p := c.recv(t); p.op != opOACK || p.opts["windowsize"] != "4" {
		t.Fatalf("first packet %s, want an OACK granting windowsize 4", p)
	}
	c.ack(t, 0)
	file := l.files["100000"]
	block := func(n int) []byte { return file[(n-1)*1468 : min(n*1468, len(file))] }
	for n := uint16(1); n <= 4; n++ {
		if p := expectData(t, c, n); !bytes.Equal(p.data, block(int(n))) {
			t.Fatalf("DATA %d: wrong bytes", n)
		}
	}
	// The client got blocks 1 and 2 only: the server goes on from 3.
	c.ack(t, 2)
	for n := uint16(3); n <= 6; n++ {
		expectData(t, c, n)
	}
	// A stale acknowledgement (a duplicate of 2) is ignored: nothing is
	// sent again for it...
	c.ack(t, 2)
	if p, err := c.tryRecv(100 * time.Millisecond); err == nil {
		t.Fatalf("a stale ACK was answered with %s", p)
	}
	// ...but silence is: after the timeout the same window comes again.
	for n := uint16(3); n <= 6; n++ {
		expectData(t, c, n)
	}
	c.ack(t, 6)
	var got []byte
	for n := 1; n <= 6; n++ {
		got = append(got, block(n)...)
	}
	got = append(got, c.receiveWindows(t, c.recv(t), 1468, 4)...)
	if !bytes.Equal(got, file) {
		t.Fatalf("got %d bytes, want %d", len(got), len(file))
	}
	waitCounter(t, l.srv.metrics.byResult[ResultCompleted], 1)
	if logs := l.transferLogs(t); len(logs) != 1 || logs[0]["windowsize"] != float64(4) {
		t.Errorf("logs %v, want one line with windowsize 4", logs)
	}
}

// TestWindowsizeBounded: a client asking for a huge window gets
// maxWindow blocks, the most a transfer holds.
func TestWindowsizeBounded(t *testing.T) {
	l := startLab(t, nil)
	c := dial(t, l.addr)
	c.rrq(t, "5MiB", "octet", "blksize", "65464", "windowsize", "65535")
	p := c.recv(t)
	if p.op != opOACK || p.opts["windowsize"] != "16" {
		t.Fatalf("first packet %s, want an OACK granting windowsize 16", p)
	}
	c.sendError(t, 0, "enough")
	waitCounter(t, l.srv.metrics.byResult[ResultFailed], 1)
}

// TestNetASCII: tftp-hpa's client asks for netascii unless told binary;
// the file comes with CR LF line ends and is stored back with LF.
func TestNetASCII(t *testing.T) {
	requireCommands(t, "tftp")
	l := startLab(t, nil)
	text := strings.Repeat("menu line\r\nwith a bare CR\r and LF\n", 100)
	if err := os.WriteFile(filepath.Join(l.root, "menu.txt"), []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "out")
	if log, err := run(t, "tftp", "-m", "netascii", "127.0.0.1", l.port(), "-c", "get", "menu.txt", out); err != nil ||
		strings.Contains(log, "Error") {
		t.Fatalf("tftp: %v\n%s", err, log)
	}
	got, err := os.ReadFile(out)
	if err != nil || string(got) != text {
		t.Fatalf("fetched %q (%v), want the file as it is", got, err)
	}
	// Asked for tsize, a netascii transfer gets none: the size sent is
	// not the file's.
	c := dial(t, l.addr)
	c.rrq(t, "menu.txt", "netascii", "tsize", "0", "blksize", "1468")
	if p := c.recv(t); p.op != opOACK || p.opts["tsize"] != "" || p.opts["blksize"] != "1468" {
		t.Fatalf("netascii with tsize: %s, want an OACK with blksize and no tsize", p)
	}
}

func TestNetASCIIReader(t *testing.T) {
	for in, want := range map[string]string{
		"":            "",
		"a\nb":        "a\r\nb",
		"a\rb":        "a\r\x00b",
		"\r\n":        "\r\x00\r\n",
		"no line end": "no line end",
	} {
		got, err := io.ReadAll(io.LimitReader(newNetASCIIReader(strings.NewReader(in)), 1<<20))
		if err != nil || string(got) != want {
			t.Errorf("netascii of %q: %q (%v), want %q", in, got, err, want)
		}
	}
}

func TestParseRequest(t *testing.T) {
	for name, tc := range map[string]struct {
		in   string
		want request
		bad  bool
	}{
		"plain":              {in: "\x00\x01file\x00octet\x00", want: request{op: opRRQ, file: "file", mode: "octet"}},
		"options any case":   {in: "\x00\x01f\x00OCTET\x00BLKSIZE\x001468\x00TSize\x000\x00WindowSize\x004\x00", want: request{op: opRRQ, file: "f", mode: "octet", blksize: 1468, tsize: true, windowsize: 4}},
		"write":              {in: "\x00\x02f\x00octet\x00", want: request{op: opWRQ, file: "f", mode: "octet"}},
		"bad values ignored": {in: "\x00\x01f\x00octet\x00blksize\x00x\x00windowsize\x000\x00tsize\x0012\x00", want: request{op: opRRQ, file: "f", mode: "octet"}},
		"window capped":      {in: "\x00\x01f\x00octet\x00windowsize\x0099\x00", want: request{op: opRRQ, file: "f", mode: "octet", windowsize: maxWindow}},
		"no NUL at the end":  {in: "\x00\x01f\x00octet", bad: true},
		"no mode":            {in: "\x00\x01f\x00", bad: true},
		"option no value":    {in: "\x00\x01f\x00octet\x00blksize\x00", bad: true},
		"not a request":      {in: "\x00\x04\x00\x01", bad: true},
		"empty":              {in: "", bad: true},
		"too long":           {in: "\x00\x01" + strings.Repeat("a", maxRequest) + "\x00octet\x00", bad: true},
	} {
		got, err := parseRequest([]byte(tc.in))
		if (err != nil) != tc.bad || (!tc.bad && got != tc.want) {
			t.Errorf("%s: %+v, %v; want %+v (malformed: %v)", name, got, err, tc.want, tc.bad)
		}
	}
}

// TestOtherSenderIgnored: a transfer takes acknowledgements only from the
// client's address and port. Another socket acknowledging (or aborting)
// the transfer's blocks changes nothing, and junk from the client itself
// does not keep a stalled transfer alive past its retries.
func TestOtherSenderIgnored(t *testing.T) {
	l := startLab(t, func(c *Config) { c.Timeout = 200 * time.Millisecond; c.Retries = 2 })
	c := dial(t, l.addr)
	c.rrq(t, "3x1468", "octet", "blksize", "1468")
	if p := c.recv(t); p.op != opOACK {
		t.Fatalf("first packet %s", p)
	}
	tid := c.tid
	other := dial(t, l.addr)
	other.ackTo(t, tid, 0)
	other.sendErrorTo(t, tid, 0, "not yours")
	// The OACK comes again: the other's ACK 0 did not count.
	if p := c.recv(t); p.op != opOACK {
		t.Fatalf("after another's ACK: %s, want the OACK again", p)
	}
	if p, err := other.tryRecv(100 * time.Millisecond); err == nil {
		t.Fatalf("the other socket got %s", p)
	}
	c.ack(t, 0)
	expectData(t, c, 1)
	start := time.Now()
	for time.Since(start) < 2*time.Second {
		// Junk: neither an ACK nor an ERROR.
		c.send(t, tid, []byte{0, 9, 0, 0})
		if testutil.ToFloat64(l.srv.metrics.byResult[ResultFailed]) == 1 {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	waitCounter(t, l.srv.metrics.byResult[ResultFailed], 1)
	// 3 sends of DATA 1, 200 ms apart: it gave up within about 600 ms.
	if d := time.Since(start); d > 1500*time.Millisecond {
		t.Errorf("a client sending junk kept the transfer for %s", d)
	}
}
