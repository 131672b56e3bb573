package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/insomniacslk/dhcp/dhcpv4"
	"github.com/insomniacslk/dhcp/dhcpv4/nclient4"
	"github.com/insomniacslk/dhcp/iana"
	"github.com/spf13/cobra"
)

type probeOptions struct {
	server    string
	mac       string
	port      uint16
	arch      int
	vendor    string
	userClass string
	timeout   time.Duration
}

func newProbeCmd() *cobra.Command {
	var o probeOptions
	cmd := &cobra.Command{
		Use:   "probe --server ADDR:PORT --mac MAC",
		Short: "Ask a DHCP server for a MAC's lease and boot offer, as firmware would, and print the answers",
		Long: `Probe runs DISCOVER/OFFER/REQUEST/ACK against one DHCP server (unicast) for
--mac, with the options PXE firmware sends (--arch for option 93, --vendor-class
for 60, --user-class for 77), and prints the OFFER and ACK. It listens for the
replies on --port (68 by default; a server started with --dhcp-reply-port P
answers there). Exit 1 when no answer comes (an unknown MAC gets none) or the
server NAKs.`,
		Example: `  metalgit boot probe --server 127.0.0.1:1067 --port 1068 --mac aa:bb:cc:dd:ee:01 --arch 0 --vendor-class PXEClient:Arch:00000:UNDI:002001`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return o.run(cmd.Context(), cmd.OutOrStdout())
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.server, "server", "", "DHCP server ADDR:PORT (required)")
	f.StringVar(&o.mac, "mac", "", "client MAC address (required)")
	f.Uint16Var(&o.port, "port", 68, "local UDP port for the replies")
	f.IntVar(&o.arch, "arch", -1, "option 93 client architecture (0 BIOS, 7 x64 UEFI, 16 x64 UEFI HTTP, …); -1 sends none")
	f.StringVar(&o.vendor, "vendor-class", "", "option 60 vendor class (PXEClient:Arch:00000:UNDI:002001, HTTPClient…)")
	f.StringVar(&o.userClass, "user-class", "", "option 77 user class (iPXE)")
	f.DurationVar(&o.timeout, "timeout", 2*time.Second, "wait for each answer (tried 3 times)")
	return cmd
}

func (o *probeOptions) modifiers() []dhcpv4.Modifier {
	var mods []dhcpv4.Modifier
	if o.arch >= 0 {
		mods = append(mods, dhcpv4.WithOption(dhcpv4.OptClientArch(iana.Arch(o.arch)))) //nolint:gosec // checked in run
	}
	if o.vendor != "" {
		mods = append(mods, dhcpv4.WithOption(dhcpv4.OptClassIdentifier(o.vendor)))
	}
	if o.userClass != "" {
		mods = append(mods, dhcpv4.WithGeneric(dhcpv4.OptionUserClassInformation, []byte(o.userClass)))
	}
	return mods
}

func (o *probeOptions) run(ctx context.Context, w io.Writer) error {
	var errs []error
	hw, err := net.ParseMAC(o.mac)
	if err != nil || len(hw) != 6 {
		errs = append(errs, fmt.Errorf("--mac %q: want a MAC address (02:00:00:00:00:01)", o.mac))
	}
	server, err := net.ResolveUDPAddr("udp4", o.server)
	if err != nil || o.server == "" {
		errs = append(errs, fmt.Errorf("--server %q: want ADDR:PORT", o.server))
	}
	if o.arch > 0xffff {
		errs = append(errs, fmt.Errorf("--arch %d: want 0 to 65535, or -1", o.arch))
	}
	if err := positiveDuration("timeout", o.timeout); err != nil {
		errs = append(errs, err)
	}
	if len(errs) > 0 {
		return usageError{errors.Join(errs...)}
	}
	conn, err := (&net.ListenConfig{}).ListenPacket(ctx, "udp4", ":"+strconv.Itoa(int(o.port)))
	if err != nil {
		return fmt.Errorf("listening for replies: %w", err)
	}
	c, err := nclient4.NewWithConn(conn, hw, nclient4.WithServerAddr(server), nclient4.WithTimeout(o.timeout), nclient4.WithRetry(3))
	if err != nil {
		_ = conn.Close()
		return fmt.Errorf("DHCP client: %w", err)
	}
	defer func() { _ = c.Close() }()
	offer, err := c.DiscoverOffer(ctx, o.modifiers()...)
	if err != nil {
		return fmt.Errorf("no OFFER from %s for %s (is the MAC in its host table?): %w", server, hw, err)
	}
	fmt.Fprintln(w, describeReply(offer))
	lease, err := c.RequestFromOffer(ctx, offer, o.modifiers()...)
	var nak *nclient4.ErrNak
	if errors.As(err, &nak) {
		fmt.Fprintln(w, describeReply(nak.Nak))
		return fmt.Errorf("NAK from %s: %s", server, nak.Nak.Message())
	}
	if err != nil {
		return fmt.Errorf("no ACK from %s for %s: %w", server, hw, err)
	}
	fmt.Fprintln(w, describeReply(lease.ACK))
	return nil
}

// describeReply is one line per reply: type, address and what it says.
func describeReply(r *dhcpv4.DHCPv4) string {
	parts := []string{fmt.Sprintf("%-5s %s", r.MessageType(), r.YourIPAddr)}
	add := func(k, v string) {
		if v != "" && v != "<nil>" && v != "[]" {
			parts = append(parts, k+"="+v)
		}
	}
	if m := r.SubnetMask(); m != nil {
		ones, _ := m.Size()
		add("prefix", strconv.Itoa(ones))
	}
	add("server", fmt.Sprint(r.ServerIdentifier()))
	add("gateway", joinIPs(r.Router()))
	add("dns", joinIPs(r.DNS()))
	add("ntp", joinIPs(r.NTPServers()))
	add("hostname", r.HostName())
	if r.Options.Has(dhcpv4.OptionIPAddressLeaseTime) {
		add("lease", r.IPAddressLeaseTime(0).String())
	}
	add("siaddr", r.ServerIPAddr.String())
	add("tftp", r.TFTPServerName())
	add("file", r.BootFileNameOption())
	add("class", r.ClassIdentifier())
	if v := r.Options.Get(dhcpv4.OptionVendorSpecificInformation); v != nil {
		add("vendor", fmt.Sprintf("%x", v))
	}
	add("message", r.Message())
	return strings.Join(parts, " ")
}

func joinIPs(ips []net.IP) string {
	s := make([]string, len(ips))
	for i, ip := range ips {
		s[i] = ip.String()
	}
	return strings.Join(s, ",")
}
