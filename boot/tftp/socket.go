package tftp

import (
	"errors"
	"fmt"
	"net/netip"
	"sync"
	"syscall"
	"time"
)

// transferSocket is a transfer's own UDP socket: bound to the address the
// request came to, on a new port (the server's transfer ID), connected to
// the client's address and port (so the kernel drops datagrams from any
// other), and blocking, with a receive timeout.
//
// It is blocking on purpose. A transfer is lock-step: a block, then its
// acknowledgement. On Go's network poller every acknowledgement costs a
// failed read, parking the goroutine and two epoll waits before it is
// read; a blocking read is woken by the kernel directly, as a C server's
// is. The thread it holds is bounded by Config.MaxTransfers.
type transferSocket struct {
	fd int
	// mu guards closed: Shutdown (from the abort) and Close must not
	// race, or the abort could shut down a descriptor number reused by
	// another socket.
	mu     sync.Mutex
	closed bool
}

// errTimeout is a receive that waited the whole timeout.
var errTimeout = errors.New("timed out")

// openTransferSocket opens the socket of a transfer from local to client.
// zone is the interface index of an IPv6 link-local client.
func openTransferSocket(local netip.Addr, client netip.AddrPort, zone int, timeout time.Duration) (*transferSocket, error) {
	local, client = local.Unmap(), netip.AddrPortFrom(client.Addr().Unmap(), client.Port())
	var laddr, raddr syscall.Sockaddr
	family := syscall.AF_INET
	if client.Addr().Is4() {
		la := &syscall.SockaddrInet4{}
		if local.Is4() {
			la.Addr = local.As4()
		}
		laddr, raddr = la, &syscall.SockaddrInet4{Port: int(client.Port()), Addr: client.Addr().As4()}
	} else {
		family = syscall.AF_INET6
		la := &syscall.SockaddrInet6{ZoneId: uint32(zone)} //nolint:gosec // an interface index
		if local.Is6() {
			la.Addr = local.As16()
		}
		laddr = la
		raddr = &syscall.SockaddrInet6{Port: int(client.Port()), Addr: client.Addr().As16(), ZoneId: uint32(zone)} //nolint:gosec // an interface index
	}
	fd, err := syscall.Socket(family, syscall.SOCK_DGRAM|syscall.SOCK_CLOEXEC, syscall.IPPROTO_UDP)
	if err != nil {
		return nil, fmt.Errorf("socket: %w", err)
	}
	s := &transferSocket{fd: fd}
	tv := syscall.NsecToTimeval(timeout.Nanoseconds())
	for _, step := range []struct {
		what string
		do   func() error
	}{
		{"set receive timeout", func() error { return syscall.SetsockoptTimeval(fd, syscall.SOL_SOCKET, syscall.SO_RCVTIMEO, &tv) }},
		{"set send timeout", func() error { return syscall.SetsockoptTimeval(fd, syscall.SOL_SOCKET, syscall.SO_SNDTIMEO, &tv) }},
		{"bind to " + local.String(), func() error { return syscall.Bind(fd, laddr) }},
		{"connect to " + client.String(), func() error { return syscall.Connect(fd, raddr) }},
	} {
		if err := step.do(); err != nil {
			s.Close()
			return nil, fmt.Errorf("%s: %w", step.what, err)
		}
	}
	return s, nil
}

// Send sends one datagram to the client.
func (s *transferSocket) Send(b []byte) error {
	for {
		_, err := syscall.Write(s.fd, b)
		if !errors.Is(err, syscall.EINTR) {
			return err
		}
	}
}

// Recv receives one datagram from the client, waiting until deadline at
// most (the socket's timeout bounds each wait; a signal may cut one
// short). It returns errTimeout when nothing came, and io.EOF-like 0
// bytes after Shutdown.
func (s *transferSocket) Recv(b []byte, deadline time.Time) (int, error) {
	for {
		n, err := syscall.Read(s.fd, b)
		switch {
		case err == nil:
			return n, nil
		case errors.Is(err, syscall.EAGAIN), errors.Is(err, syscall.EINTR):
			if !time.Now().Before(deadline) {
				return 0, errTimeout
			}
		default:
			return 0, err
		}
	}
}

// Shutdown wakes a Recv waiting on the socket (it returns 0 bytes); the
// socket can still send the ERROR that ends the transfer.
func (s *transferSocket) Shutdown() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.closed {
		_ = syscall.Shutdown(s.fd, syscall.SHUT_RD)
	}
}

// Close closes the socket.
func (s *transferSocket) Close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.closed {
		s.closed = true
		_ = syscall.Close(s.fd)
	}
}
