package tftp

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"net"
	"strconv"
	"testing"
	"time"
)

// rawClient speaks TFTP packet by packet, to send what firmware sends and
// see exactly what the server answers.
type rawClient struct {
	conn   *net.UDPConn
	server *net.UDPAddr
	// tid is where the transfer's packets come from (the server's
	// transfer socket), once one came.
	tid *net.UDPAddr
}

// packet is one packet received.
type packet struct {
	from  *net.UDPAddr
	op    uint16
	block uint16
	code  uint16
	msg   string
	opts  map[string]string
	data  []byte
}

func (p packet) String() string {
	switch p.op {
	case opDATA:
		return fmt.Sprintf("DATA %d (%d bytes)", p.block, len(p.data))
	case opACK:
		return fmt.Sprintf("ACK %d", p.block)
	case opERROR:
		return fmt.Sprintf("ERROR %d %q", p.code, p.msg)
	case opOACK:
		return fmt.Sprintf("OACK %v", p.opts)
	}
	return fmt.Sprintf("opcode %d", p.op)
}

func dial(t *testing.T, server *net.UDPAddr) *rawClient {
	t.Helper()
	return dialFrom(t, server, server.IP)
}

// dialFrom is dial from a local address of its own (any of 127.0.0.0/8
// on loopback): another client, as the server counts them.
func dialFrom(t *testing.T, server *net.UDPAddr, ip net.IP) *rawClient {
	t.Helper()
	conn, err := net.ListenUDP("udp4", &net.UDPAddr{IP: ip})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	return &rawClient{conn: conn, server: server}
}

func requestPacket(op uint16, file, mode string, opts ...string) []byte {
	b := binary.BigEndian.AppendUint16(nil, op)
	for _, s := range append([]string{file, mode}, opts...) {
		b = append(append(b, s...), 0)
	}
	return b
}

func (c *rawClient) send(t *testing.T, to *net.UDPAddr, b []byte) {
	t.Helper()
	if _, err := c.conn.WriteToUDP(b, to); err != nil {
		t.Fatal(err)
	}
}

// rrq sends a read request with options as name, value, name, value…
func (c *rawClient) rrq(t *testing.T, file, mode string, opts ...string) {
	t.Helper()
	c.send(t, c.server, requestPacket(opRRQ, file, mode, opts...))
}

func (c *rawClient) wrq(t *testing.T, file, mode string, opts ...string) {
	t.Helper()
	c.send(t, c.server, requestPacket(opWRQ, file, mode, opts...))
}

func (c *rawClient) ack(t *testing.T, block uint16) {
	t.Helper()
	c.ackTo(t, c.tid, block)
}

func (c *rawClient) ackTo(t *testing.T, to *net.UDPAddr, block uint16) {
	t.Helper()
	c.send(t, to, binary.BigEndian.AppendUint16([]byte{0, byte(opACK)}, block))
}

func (c *rawClient) sendError(t *testing.T, code uint16, msg string) {
	t.Helper()
	c.sendErrorTo(t, c.tid, code, msg)
}

func (c *rawClient) sendErrorTo(t *testing.T, to *net.UDPAddr, code uint16, msg string) {
	t.Helper()
	b := binary.BigEndian.AppendUint16([]byte{0, byte(opERROR)}, code)
	c.send(t, to, append(append(b, msg...), 0))
}

// recv waits up to 10 s for a packet.
func (c *rawClient) recv(t *testing.T) packet {
	t.Helper()
	p, err := c.tryRecv(10 * time.Second)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func (c *rawClient) tryRecv(timeout time.Duration) (packet, error) {
	buf := make([]byte, 65536)
	if err := c.conn.SetReadDeadline(time.Now().Add(timeout)); err != nil {
		return packet{}, err
	}
	n, from, err := c.conn.ReadFromUDP(buf)
	if err != nil {
		return packet{}, err
	}
	c.tid = from
	return parse(from, buf[:n])
}

func parse(from *net.UDPAddr, b []byte) (packet, error) {
	if len(b) < 2 {
		return packet{}, fmt.Errorf("short packet % x", b)
	}
	p := packet{from: from, op: binary.BigEndian.Uint16(b)}
	switch p.op {
	case opDATA, opACK:
		if len(b) < 4 {
			return packet{}, fmt.Errorf("short packet % x", b)
		}
		p.block = binary.BigEndian.Uint16(b[2:])
		p.data = append([]byte(nil), b[4:]...)
	case opERROR:
		if len(b) < 5 || b[len(b)-1] != 0 {
			return packet{}, fmt.Errorf("malformed ERROR % x", b)
		}
		p.code = binary.BigEndian.Uint16(b[2:])
		p.msg = string(b[4 : len(b)-1])
	case opOACK:
		fields := bytes.Split(bytes.TrimSuffix(b[2:], []byte{0}), []byte{0})
		if len(fields)%2 != 0 {
			return packet{}, fmt.Errorf("malformed OACK % x", b)
		}
		p.opts = map[string]string{}
		for i := 0; i < len(fields); i += 2 {
			p.opts[string(fields[i])] = string(fields[i+1])
		}
	default:
		return packet{}, fmt.Errorf("unexpected opcode %d", p.op)
	}
	return p, nil
}

// receiveFrom receives a file from DATA 1 on, in lock
// step, checking that every block but the last is blksize long.
func (c *rawClient) receiveFrom(t *testing.T, first packet, blksize int) []byte {
	t.Helper()
	if first.op != opDATA || first.block != 1 {
		t.Fatalf("got %s, want DATA 1", first)
	}
	return c.receiveWindows(t, first, blksize, 1)
}

// receiveWindows receives a file from its first DATA packet on,
// acknowledging the last block of each window of window blocks (RFC 7440;
// the first window starts at first) and the file's last block.
func (c *rawClient) receiveWindows(t *testing.T, first packet, blksize, window int) []byte {
	t.Helper()
	var out []byte
	p := first
	for want, count := first.block, 1; ; want, count = want+1, count+1 {
		if p.op != opDATA || p.block != want {
			t.Fatalf("got %s, want DATA %d", p, want)
		}
		if len(p.data) > blksize {
			t.Fatalf("DATA %d has %d bytes, more than blksize %d", p.block, len(p.data), blksize)
		}
		out = append(out, p.data...)
		if len(p.data) < blksize {
			c.ackTo(t, p.from, p.block)
			return out
		}
		if count%window == 0 {
			c.ackTo(t, p.from, p.block)
		}
		p = c.recv(t)
	}
}

func atoi(t *testing.T, s string) int {
	t.Helper()
	n, err := strconv.Atoi(s)
	if err != nil {
		t.Fatal(err)
	}
	return n
}
