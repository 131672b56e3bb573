package tftp

import (
	"fmt"
	"net"
	"net/netip"

	"golang.org/x/net/ipv4"
	"golang.org/x/net/ipv6"
)

// requestConn reads requests from the server's socket with the address
// each came to (IP_PKTINFO / IPV6_PKTINFO): a transfer answers from that
// address, which a server listening on 0.0.0.0 or on an interface with
// several addresses (a VIP) would not know otherwise.
type requestConn struct {
	v4 *ipv4.PacketConn
	v6 *ipv6.PacketConn
}

// incoming is where a request came from and to.
type incoming struct {
	client netip.AddrPort
	// local is the address the request came to (invalid when the
	// kernel did not say); ifIndex the interface it came in on.
	local   netip.Addr
	ifIndex int
}

func newRequestConn(c net.PacketConn) (*requestConn, error) {
	la, ok := c.LocalAddr().(*net.UDPAddr)
	if !ok {
		return nil, fmt.Errorf("not a UDP socket: %s", c.LocalAddr())
	}
	if a, _ := netip.AddrFromSlice(la.IP); a.Unmap().Is4() {
		pc := ipv4.NewPacketConn(c)
		if err := pc.SetControlMessage(ipv4.FlagDst|ipv4.FlagInterface, true); err != nil {
			return nil, fmt.Errorf("ask for the destination address of requests: %w", err)
		}
		return &requestConn{v4: pc}, nil
	}
	pc := ipv6.NewPacketConn(c)
	if err := pc.SetControlMessage(ipv6.FlagDst|ipv6.FlagInterface, true); err != nil {
		return nil, fmt.Errorf("ask for the destination address of requests: %w", err)
	}
	return &requestConn{v6: pc}, nil
}

// read reads one packet.
func (rc *requestConn) read(b []byte) (int, incoming, error) {
	var (
		n    int
		from net.Addr
		dst  net.IP
		in   incoming
		err  error
	)
	if rc.v4 != nil {
		var cm *ipv4.ControlMessage
		n, cm, from, err = rc.v4.ReadFrom(b)
		if cm != nil {
			dst, in.ifIndex = cm.Dst, cm.IfIndex
		}
	} else {
		var cm *ipv6.ControlMessage
		n, cm, from, err = rc.v6.ReadFrom(b)
		if cm != nil {
			dst, in.ifIndex = cm.Dst, cm.IfIndex
		}
	}
	if err != nil {
		return 0, incoming{}, err
	}
	if ua, ok := from.(*net.UDPAddr); ok {
		in.client = ua.AddrPort()
	}
	if a, ok := netip.AddrFromSlice(dst); ok {
		in.local = a.Unmap()
	}
	return n, in, nil
}
