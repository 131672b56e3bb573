package main

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"net/url"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/spf13/pflag"

	"github.com/metalgit/metalgit/boot"
	"github.com/metalgit/metalgit/boot/dhcp"
	"github.com/metalgit/metalgit/boot/tftp"
	"github.com/metalgit/metalgit/boot/trace"
)

// bootOptions are the boot proxy's flags, shared by boot and serve.
type bootOptions struct {
	dhcpListen    string
	dhcpReplyPort uint16
	serverIP      string
	httpURL       string
	iface         string
	leaseTime     time.Duration
	efiBinary     string
	userClass     string
	ra            bool
	tftpListen    string
	tftpRoot      string
	// HTTP server (scripts, binaries, image proxy) and callback proxy.
	httpListen          string
	callbackListen      string
	callbackURL         string
	agentProxyURL       string
	ironicAPIURL        string
	ironicHTTPURL       string
	ironicInspectorURL  string
	inspectorCollectors string
	inspectorParams     []string
	installerParams     []string
	callbackInsecure    bool
	// trace records the servers' events (not a flag; nil for none).
	trace *trace.Ring
}

// serverIPPlaceholder in a flag's default stands for the resolved server
// IP (--server-ip, else the DHCP listen address, else --interface's).
const serverIPPlaceholder = "<server-ip>"

func addBootFlags(f *pflag.FlagSet, o *bootOptions) {
	f.StringVar(&o.dhcpListen, "dhcp-listen", dhcp.DefaultListen, "DHCP listen address ADDR:PORT")
	f.Uint16Var(&o.dhcpReplyPort, "dhcp-reply-port", 0, "send every DHCP reply to this port instead of 67/68 (tests, perfdhcp on loopback)")
	f.StringVar(&o.serverIP, "server-ip", "", "the boot proxy's address: DHCP option 54, siaddr, TFTP server (default: the listen address, else --interface's first IPv4 address)")
	f.StringVar(&o.httpURL, "http-url", "", "base URL of iPXE scripts and HTTP boot binaries (default http://SERVER-IP:8080)")
	f.StringVar(&o.iface, "interface", "", "provisioning interface: bind DHCP to it and send IPv6 router advertisements on it")
	f.DurationVar(&o.leaseTime, "lease-time", dhcp.DefaultLeaseTime, "DHCP lease time (option 51), from 1s; 0 is refused")
	f.StringVar(&o.efiBinary, "efi-binary", boot.EFIBinary, "x86 UEFI boot binary: "+boot.EFIBinary+" or "+boot.EFIFullBinary)
	f.StringVar(&o.userClass, "user-class", dhcp.DefaultUserClass, "DHCP option 77 value that marks iPXE (set it to the user class of an embedded script)")
	f.BoolVar(&o.ra, "ra", true, "send minimal IPv6 router advertisements on --interface (iPXE boots ~13 s sooner)")
	f.StringVar(&o.tftpListen, "tftp-listen", serverIPPlaceholder+":69", "TFTP listen address ADDR:PORT for the iPXE binaries ('' for no TFTP; HTTP boot still works)")
	f.StringVar(&o.tftpRoot, "tftp-root", tftp.DefaultRoot, "directory of the iPXE binaries TFTP and HTTP serve, read-only (Debian's ipxe package installs them there)")
	f.StringVar(&o.httpListen, "http-listen", ":8080", "HTTP listen address ADDR:PORT: iPXE scripts, boot binaries, image proxy ('' for none)")
	f.StringVar(&o.callbackListen, "callback-listen", ":8081", "callback proxy listen address ADDR:PORT between the agent and Ironic ('' for none)")
	f.StringVar(&o.callbackURL, "callback-url", "", "callback proxy URL the scripts give the agent: ipa-api-url, ipa-inspection-callback-url (default http://SERVER-IP:PORT of --callback-listen)")
	f.StringVar(&o.agentProxyURL, "agent-proxy-url", "", "base of the callback_url Ironic is given for the agent, reachable from Ironic (default --callback-url)")
	f.StringVar(&o.ironicAPIURL, "ironic-api-url", "", "Ironic API the callback proxy forwards to (serve --boot: the Site's bootProxy.ironic.apiURL)")
	f.StringVar(&o.ironicHTTPURL, "ironic-http-url", "", "Ironic's image server the image proxy forwards /images/ to (serve --boot: the Site's bootProxy.ironic.httpURL)")
	f.StringVar(&o.ironicInspectorURL, "ironic-inspector-url", "", "ironic-inspector: inspection data goes to its /v1/continue (default: Ironic's /v1/continue_inspection)")
	f.StringVar(&o.inspectorCollectors, "inspector-collectors", "", "ipa-inspection-collectors of the inspector script (default "+defaultCollectors+")")
	f.StringArrayVar(&o.inspectorParams, "inspector-extra-kernel-param", nil, "extra kernel parameter of the inspector script, after the Site's and the host's (repeatable)")
	f.StringArrayVar(&o.installerParams, "installer-extra-kernel-param", nil, "extra kernel parameter of the installer script, after the Site's and the host's (repeatable)")
	f.BoolVar(&o.callbackInsecure, "callback-insecure-skip-verify", false, "dial agents that use TLS without verifying their certificate (default: verify the agent_verify_ca of the heartbeat)")
}

// check refuses bad boot proxy flags before anything starts.
func (o *bootOptions) check() error {
	_, err := o.dhcpConfig(nil, nil, nil)
	errs := []error{err}
	serverIP, err := o.resolveServerIP()
	if err != nil {
		// A bad --server-ip or --dhcp-listen is in errs already; a
		// missing server IP is reported when the DHCP server starts,
		// after the host table was read.
		return errors.Join(errs...)
	}
	if cfg, err := o.tftpConfig(serverIP, nil, nil); err != nil {
		errs = append(errs, err)
	} else if cfg != nil {
		if _, err := tftp.New(*cfg); err != nil {
			errs = append(errs, fmt.Errorf("--tftp-root %s: %w", o.tftpRoot, err))
		}
	}
	return errors.Join(errs...)
}

// tftpConfig turns the TFTP flags into a server configuration; nil when
// --tftp-listen is empty (no TFTP).
func (o *bootOptions) tftpConfig(serverIP netip.Addr, reg prometheus.Registerer, log *slog.Logger) (*tftp.Config, error) {
	if o.tftpListen == "" {
		return nil, nil
	}
	listen, err := netip.ParseAddrPort(withServerIP(o.tftpListen, serverIP))
	if err != nil {
		return nil, fmt.Errorf("--tftp-listen %q: want ADDR:PORT (0.0.0.0:69)", o.tftpListen)
	}
	return &tftp.Config{Listen: listen, Root: o.tftpRoot, Logger: log, Registerer: reg}, nil
}

// dhcpConfig turns the flags into a DHCP server configuration.
func (o *bootOptions) dhcpConfig(store *boot.Store, reg prometheus.Registerer, log *slog.Logger) (dhcp.Config, error) {
	var errs []error
	cfg := dhcp.Config{
		ReplyPort: o.dhcpReplyPort, Interface: o.iface, HTTPURL: o.httpURL, LeaseTime: o.leaseTime,
		UserClass: o.userClass, EFIBinary: o.efiBinary, Hosts: store, Logger: log, Registerer: reg,
	}
	// 0 would mean "the default" to the library: refuse it here, where
	// it can only be a mistake.
	if err := dhcp.CheckLeaseTime(o.leaseTime); err != nil {
		errs = append(errs, fmt.Errorf("--lease-time %w", err))
	}
	listen, err := netip.ParseAddrPort(o.dhcpListen)
	if err != nil {
		errs = append(errs, fmt.Errorf("--dhcp-listen %q: want ADDR:PORT (0.0.0.0:67)", o.dhcpListen))
	}
	cfg.Listen = listen
	if o.serverIP != "" {
		ip, err := netip.ParseAddr(o.serverIP)
		if err != nil || !ip.Is4() {
			errs = append(errs, fmt.Errorf("--server-ip %q: want an IPv4 address", o.serverIP))
		}
		cfg.ServerIP = ip
	}
	if o.efiBinary != boot.EFIBinary && o.efiBinary != boot.EFIFullBinary {
		errs = append(errs, fmt.Errorf("--efi-binary %q: want %s or %s", o.efiBinary, boot.EFIBinary, boot.EFIFullBinary))
	}
	return cfg, errors.Join(errs...)
}

// defaultCollectors is what the inspector script asks the agent to
// collect when --inspector-collectors is empty.
const defaultCollectors = "default,extra-hardware,logs"

// serverIP resolves the boot proxy's address: --server-ip, else the DHCP
// listen address when it is not 0.0.0.0, else --interface's first IPv4
// address.
func (o *bootOptions) resolveServerIP() (netip.Addr, error) {
	if o.serverIP != "" {
		ip, err := netip.ParseAddr(o.serverIP)
		if err != nil || !ip.Is4() {
			return netip.Addr{}, fmt.Errorf("--server-ip %q: want an IPv4 address", o.serverIP)
		}
		return ip, nil
	}
	listen, err := netip.ParseAddrPort(o.dhcpListen)
	if err != nil {
		return netip.Addr{}, fmt.Errorf("--dhcp-listen %q: want ADDR:PORT (0.0.0.0:67)", o.dhcpListen)
	}
	ip, err := dhcp.DefaultServerIP(listen.Addr(), o.iface)
	if err != nil {
		return netip.Addr{}, fmt.Errorf("--server-ip: %w", err)
	}
	return ip, nil
}

// withServerIP replaces the server-IP placeholder of a flag value.
func withServerIP(v string, ip netip.Addr) string {
	return strings.ReplaceAll(v, serverIPPlaceholder, ip.String())
}

// advertised is the URL a flag gives, else http://SERVER-IP:PORT of the
// listener that serves it.
func advertised(flag, value string, serverIP netip.Addr, ln net.Addr) (*url.URL, error) {
	if value == "" {
		if ln == nil {
			return nil, nil
		}
		_, port, err := net.SplitHostPort(ln.String())
		if err != nil {
			return nil, fmt.Errorf("%s: %w", flag, err)
		}
		value = "http://" + net.JoinHostPort(serverIP.String(), port)
	}
	return parseBaseURL(flag, value)
}

// parseBaseURL checks a flag's URL (boot.ParseBaseURL).
func parseBaseURL(flag, value string) (*url.URL, error) {
	u, err := boot.ParseBaseURL(value)
	if err != nil {
		return nil, fmt.Errorf("%s %w", flag, err)
	}
	return u, nil
}
