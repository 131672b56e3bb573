package httpboot

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// streamError is a download cut half-way, and which side cut it.
type streamError struct {
	// upstream: the image server failed (else the client did).
	upstream bool
	err      error
}

// streamBody sends the body of resp, a response with a body, to x's
// client. Over plain TCP with a known length the kernel moves it from the
// image server's socket to the client's (splice: no copy through this
// process); otherwise it is copied through a buffer.
func (s *Server) streamBody(x *exchange, u *upstream, resp *http.Response) *streamError {
	// The stall watchdog needs the kernel's count of bytes received
	// (Linux 4.1 and later); without it the body is copied.
	if rf, ok := x.w.ResponseWriter.(io.ReaderFrom); ok && u.tcp != nil && resp.ContentLength > 0 &&
		len(resp.TransferEncoding) == 0 && u.bytesReceived() > 0 {
		return s.spliceBody(x, u, resp.ContentLength, rf)
	}
	return s.copyBody(x, u, resp.Body)
}

// spliceBody moves length bytes from u to the client: first those the
// header's read left buffered, then the rest in one call of the client
// connection's ReadFrom, which splices from a TCP source. A watchdog
// (watchStall) cuts the download when it stalls.
func (s *Server) spliceBody(x *exchange, u *upstream, length int64, rf io.ReaderFrom) *streamError {
	remain := length
	if n := int(min(int64(u.br.Buffered()), remain)); n > 0 {
		p, _ := u.br.Peek(n)
		if _, err := x.w.Write(p); err != nil {
			return &streamError{err: err}
		}
		remain -= int64(n)
	}
	if remain == 0 {
		return nil
	}
	// No write deadline while splicing: the watchdog bounds it (and
	// sets one in the past to end a stall).
	x.w.clearWriteDeadline()
	var stalled atomic.Pointer[streamError]
	stop := s.watchStall(x, u, &stalled)
	n, err := x.w.readFrom(rf, &io.LimitedReader{R: u.tcp, N: remain})
	stop()
	remain -= n
	switch {
	case err == nil && remain == 0:
		// Complete, whatever the watchdog saw at the last moment.
		return nil
	case stalled.Load() != nil:
		return stalled.Load()
	case err != nil:
		// The client's: a broken pipe, or any error while the image
		// server's connection is still open (a client that reset its
		// connection; the request's context may not know yet).
		return &streamError{upstream: !errors.Is(err, syscall.EPIPE) && !u.established(), err: err}
	case remain > 0:
		return &streamError{upstream: true, err: fmt.Errorf("the image server closed the connection %d bytes short", remain)}
	}
	return nil
}

// watchStall checks, every Config.StallTimeout while a body is spliced,
// that the image server's connection received something. When nothing
// came, the download has stalled: it records whose fault that is (the
// image server's when its socket is open with nothing to read, else the
// client's, which stopped taking data and so held the image server back)
// and ends the splice with deadlines in the past. It returns the stop of
// the watch.
func (s *Server) watchStall(x *exchange, u *upstream, stalled *atomic.Pointer[streamError]) func() {
	done := make(chan struct{})
	exited := make(chan struct{})
	go func() {
		defer close(exited)
		tick := time.NewTicker(s.cfg.StallTimeout)
		defer tick.Stop()
		last := u.bytesReceived()
		for {
			select {
			case <-done:
				return
			case <-tick.C:
			}
			if now := u.bytesReceived(); now != last {
				last = now
				continue
			}
			se := &streamError{err: fmt.Errorf("the client took nothing for %s", s.cfg.StallTimeout)}
			if u.idle() {
				se = &streamError{upstream: true, err: fmt.Errorf("the image server sent nothing for %s", s.cfg.StallTimeout)}
			}
			stalled.Store(se)
			past := time.Unix(1, 0)
			_ = u.tcp.SetReadDeadline(past)
			_ = x.w.rc.SetWriteDeadline(past)
			return
		}
	}()
	return func() {
		close(done)
		<-exited
	}
}

// tcpEstablished is TCP_ESTABLISHED, tcp_info's state of an open
// connection (include/net/tcp_states.h).
const tcpEstablished = 1

// idle reports whether the image server's connection is open with
// nothing received to read.
func (u *upstream) idle() bool {
	idle := true
	u.control(func(fd int) {
		queued, err := unix.IoctlGetInt(fd, unix.SIOCINQ)
		info, err2 := unix.GetsockoptTCPInfo(fd, unix.IPPROTO_TCP, unix.TCP_INFO)
		if err == nil && err2 == nil {
			idle = queued == 0 && info.State == tcpEstablished
		}
	})
	return idle
}

// established reports whether the image server's connection is still
// open both ways.
func (u *upstream) established() bool {
	open := false
	u.control(func(fd int) {
		if info, err := unix.GetsockoptTCPInfo(fd, unix.IPPROTO_TCP, unix.TCP_INFO); err == nil {
			open = info.State == tcpEstablished
		}
	})
	return open
}

// bytesReceived is what the image server's connection has received so
// far (tcp_info's bytes_received), -1 when unknown.
func (u *upstream) bytesReceived() int64 {
	n := int64(-1)
	u.control(func(fd int) {
		if info, err := unix.GetsockoptTCPInfo(fd, unix.IPPROTO_TCP, unix.TCP_INFO); err == nil {
			n = int64(info.Bytes_received) //nolint:gosec // a byte count
		}
	})
	return n
}

// control runs f on the descriptor of the image server's connection.
func (u *upstream) control(f func(fd int)) {
	rc, err := u.tcp.SyscallConn()
	if err != nil {
		return
	}
	_ = rc.Control(func(fd uintptr) { f(int(fd)) }) //nolint:gosec // a descriptor
}

// copyBody copies body to the client through a buffer, each read of the
// image server bounded by Config.StallTimeout (the client's writes are
// bounded by the recorder).
func (s *Server) copyBody(x *exchange, u *upstream, body io.Reader) *streamError {
	buf := s.buffers.Get()
	defer s.buffers.Put(buf)
	for {
		_ = u.conn.SetReadDeadline(time.Now().Add(s.cfg.StallTimeout))
		n, rerr := body.Read(buf)
		if n > 0 {
			if _, err := x.w.Write(buf[:n]); err != nil {
				return &streamError{err: err}
			}
		}
		var ne net.Error
		switch {
		case errors.Is(rerr, io.EOF):
			return nil
		case errors.As(rerr, &ne) && ne.Timeout():
			return &streamError{upstream: true, err: fmt.Errorf("the image server sent nothing for %s", s.cfg.StallTimeout)}
		case rerr != nil:
			return &streamError{upstream: true, err: rerr}
		}
	}
}
