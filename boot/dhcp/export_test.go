package dhcp

import "golang.org/x/net/ipv4"

func ipv4cm(ifindex int) *ipv4.ControlMessage { return &ipv4.ControlMessage{IfIndex: ifindex} }
