package tftp

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"time"
)

// sender sends one file to one client: the OACK when the client asked for
// options, then the blocks, a window at a time (one block without
// windowsize), each window sent again until acknowledged (RFC 1350,
// RFC 2347, RFC 7440).
type sender struct {
	sock    *transferSocket
	req     request
	size    int64
	timeout time.Duration
	retries int
	// deadline ends the whole transfer (Config.MaxTransferTime).
	deadline time.Time
	// stop ends the transfer early: the server's abort (errShutdown) or
	// the transfer's eviction (errEvicted).
	stop context.Context
	// onAck is called at the first acknowledgement (nil: nothing is).
	onAck func()
	acks  int

	// blksize and window are what was granted.
	blksize, window int
	// acked is the data the client acknowledged.
	acked int64
	// dataSent: a DATA packet left (an ERROR after the OACK alone is a
	// size probe).
	dataSent bool
	// lastAck is the block number of the last acknowledgement awaited.
	lastAck uint16
	recvBuf []byte
}

// clientError is an ERROR packet from the client: it ended the transfer.
type clientError struct {
	code uint16
	msg  string
}

func (e *clientError) Error() string {
	return fmt.Sprintf("the client ended the transfer: error %d %q", e.code, e.msg)
}

// errNoAck: the client did not acknowledge after every retry.
var errNoAck = errors.New("no acknowledgement from the client")

// run sends the file read from r. The error is what ended the transfer
// early; the caller sends no ERROR packet for a clientError.
func (s *sender) run(r io.Reader) error {
	s.blksize, s.window = MinBlockSize, 1
	if s.req.blksize != 0 {
		s.blksize = s.req.blksize
	}
	if s.req.windowsize != 0 {
		s.window = s.req.windowsize
	}
	s.recvBuf = make([]byte, 1500)
	if s.req.hasOptions() {
		oack := appendOACK(nil, s.req, s.size)
		if err := s.exchange([][]byte{oack}, 0); err != nil {
			return err
		}
	}
	// blocks holds the window's packets; slots are reused as the window
	// moves.
	blocks := make([][]byte, 0, s.window)
	free := make([][]byte, 0, s.window)
	var next uint16 = 1 // the block number of the next block read
	last := false       // the block shorter than blksize was read
	for {
		for !last && len(blocks) < s.window {
			var b []byte
			if n := len(free); n > 0 {
				b, free = free[n-1], free[:n-1]
			} else {
				b = make([]byte, 4+s.blksize)
			}
			b = b[:4+s.blksize]
			binary.BigEndian.PutUint16(b, opDATA)
			binary.BigEndian.PutUint16(b[2:], next)
			n, err := io.ReadFull(r, b[4:])
			switch {
			case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
				last = true
			case err != nil:
				return fmt.Errorf("read the file: %w", err)
			}
			blocks = append(blocks, b[:4+n])
			next++ // block numbers wrap to 0 after 65535, as tftp-hpa's and iPXE's do
		}
		if len(blocks) == 0 {
			return nil
		}
		first := binary.BigEndian.Uint16(blocks[0][2:])
		if err := s.exchange(blocks, first); err != nil {
			return err
		}
		// exchange returned: the client acknowledged some of the window,
		// up to its last block when it got them all.
		n := int(s.lastAck-first) + 1
		for _, b := range blocks[:n] {
			s.acked += int64(len(b) - 4)
		}
		free = append(free, blocks[:n]...)
		blocks = append(blocks[:0], blocks[n:]...)
		if last && len(blocks) == 0 {
			return nil
		}
	}
}

// exchange sends packets (the window starting at block first, or the
// OACK as block 0) until the client acknowledges one of them, and
// records which in s.lastAck. An ERROR from the client, silence past the
// retries, the transfer's deadline and the server's abort end it.
func (s *sender) exchange(packets [][]byte, first uint16) error {
	for attempt := 0; ; attempt++ {
		if err := s.stopped(); err != nil {
			return err
		}
		if time.Now().After(s.deadline) {
			return errTooLong
		}
		if attempt > s.retries {
			return errNoAck
		}
		for _, p := range packets {
			if err := s.sock.Send(p); err != nil {
				return fmt.Errorf("send: %w", err)
			}
			if len(p) >= 4 && binary.BigEndian.Uint16(p) == opDATA {
				s.dataSent = true
			}
		}
		ok, err := s.await(first, len(packets))
		if ok || err != nil {
			return err
		}
	}
}

// stopped returns why the transfer must end now, or nil.
func (s *sender) stopped() error {
	if s.stop == nil || s.stop.Err() == nil {
		return nil
	}
	if errors.Is(context.Cause(s.stop), errEvicted) {
		return errEvicted
	}
	return errShutdown
}

// await waits up to the timeout for an acknowledgement of one of n
// packets starting at block first. A stale acknowledgement (of an earlier
// block: a duplicate, RFC 1350's "Sorcerer's Apprentice") and anything
// that is not an ACK or an ERROR is ignored.
func (s *sender) await(first uint16, n int) (bool, error) {
	// The wait ends at the transfer's deadline at the latest.
	wait := time.Now().Add(s.timeout)
	if wait.After(s.deadline) {
		wait = s.deadline
	}
	for {
		m, err := s.sock.Recv(s.recvBuf, wait)
		switch {
		case errors.Is(err, errTimeout):
			return false, nil
		case err != nil:
			return false, fmt.Errorf("receive: %w", err)
		}
		if m == 0 {
			if err := s.stopped(); err != nil {
				return false, err
			}
		}
		rep, ok := parseReply(s.recvBuf[:m])
		switch {
		case ok && rep.op == opERROR:
			return false, &clientError{code: rep.code, msg: rep.msg}
		case ok && rep.op == opACK && rep.block-first < uint16(n): //nolint:gosec // n ≤ maxWindow
			s.lastAck = rep.block
			if s.acks++; s.acks == 1 && s.onAck != nil {
				s.onAck()
			}
			return true, nil
		}
		if !time.Now().Before(wait) {
			return false, nil
		}
	}
}
