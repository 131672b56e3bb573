package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"

	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/sync/errgroup"

	"github.com/metalgit/metalgit/boot"
	"github.com/metalgit/metalgit/boot/callback"
	"github.com/metalgit/metalgit/boot/dhcp"
	"github.com/metalgit/metalgit/boot/httpboot"
	"github.com/metalgit/metalgit/boot/ra"
	"github.com/metalgit/metalgit/boot/tftp"
)

// bootProxy is the boot proxy's servers, created and listening, ready to
// serve in one errgroup.
type bootProxy struct {
	opts     *bootOptions
	log      *slog.Logger
	reg      prometheus.Registerer
	serverIP netip.Addr
	dhcp     *dhcp.Server
	dhcpConn net.PacketConn
	tftp     *tftp.Server
	tftpConn net.PacketConn
	http     *httpboot.Server
	httpLn   net.Listener
	callback *callback.Server
	cbLn     net.Listener
	// closers release the sockets when starting fails half-way.
	closers []io.Closer
}

func (p *bootProxy) close() {
	for _, c := range p.closers {
		_ = c.Close()
	}
}

// start checks the configuration and opens every socket of the boot
// proxy (DHCP, TFTP, HTTP, callback), then returns the DHCP address and
// the function that serves them all (and the router advertisements) until
// ctx ends. Problems with flags or sockets surface here, before anything
// runs. The HTTP and callback sockets open first, so that a port 0 is
// known when the URLs the scripts and DHCP advertise are made from it.
func (o *bootOptions) start(ctx context.Context, store *boot.Store, reg prometheus.Registerer, log *slog.Logger) (func(context.Context) error, net.Addr, error) {
	p := &bootProxy{opts: o, log: log, reg: reg}
	if err := p.open(ctx, store, reg); err != nil {
		p.close()
		return nil, nil, err
	}
	return p.serve, p.dhcpConn.LocalAddr(), nil
}

func (p *bootProxy) open(ctx context.Context, store *boot.Store, reg prometheus.Registerer) error {
	o := p.opts
	var err error
	if p.serverIP, err = o.resolveServerIP(); err != nil {
		return usageError{err}
	}
	if o.httpListen != "" {
		if p.httpLn, err = p.listenTCP(ctx, "--http-listen", o.httpListen); err != nil {
			return err
		}
	}
	if o.callbackListen != "" {
		if p.cbLn, err = p.listenTCP(ctx, "--callback-listen", o.callbackListen); err != nil {
			return err
		}
	}
	httpURL, err := advertised("--http-url", o.httpURL, p.serverIP, addrOf(p.httpLn))
	if err != nil {
		return usageError{err}
	}
	cfg, err := o.dhcpConfig(store, reg, p.log)
	if err != nil {
		return usageError{err}
	}
	if httpURL != nil {
		cfg.HTTPURL = httpURL.String()
	}
	cfg.Trace = o.trace
	if p.dhcp, err = dhcp.New(cfg); err != nil {
		return usageError{err}
	}
	if err := p.newTFTP(store, reg); err != nil {
		return err
	}
	if p.httpLn != nil {
		if err := p.newHTTP(store, reg, httpURL.String()); err != nil {
			return err
		}
	}
	if p.cbLn != nil {
		if err := p.newCallback(store, reg); err != nil {
			return err
		}
	}
	if p.dhcpConn, err = p.dhcp.Listen(ctx); err != nil {
		return err
	}
	p.closers = append(p.closers, p.dhcpConn)
	if p.tftp != nil {
		if p.tftpConn, err = p.tftp.Listen(ctx); err != nil {
			return err
		}
		p.closers = append(p.closers, p.tftpConn)
	}
	return nil
}

func (p *bootProxy) newTFTP(store *boot.Store, reg prometheus.Registerer) error {
	tcfg, err := p.opts.tftpConfig(p.serverIP, reg, p.log)
	if err != nil || tcfg == nil {
		return usageErrorOrNil(err)
	}
	tcfg.MACOf, tcfg.Trace = store.MACOf, p.opts.trace
	if p.tftp, err = tftp.New(*tcfg); err != nil {
		return usageError{fmt.Errorf("--tftp-root %s: %w", p.opts.tftpRoot, err)}
	}
	return nil
}

func (p *bootProxy) newHTTP(store *boot.Store, reg prometheus.Registerer, httpURL string) error {
	o := p.opts
	callbackURL, err := o.callbackBase(p.serverIP, addrOf(p.callbackLn()))
	if err != nil {
		return usageError{err}
	}
	if callbackURL == "" {
		return usageError{errors.New("--callback-url: required when --callback-listen is '' (the scripts give the agent a callback URL)")}
	}
	p.http, err = httpboot.New(httpboot.Config{
		HTTPURL: httpURL, CallbackURL: callbackURL, IronicInspector: o.ironicInspectorURL != "",
		InspectorCollectors: o.inspectorCollectors, InspectorParams: o.inspectorParams, InstallerParams: o.installerParams,
		Root: o.tftpRoot, IronicHTTPURL: o.ironicHTTPURL, Hosts: store, Trace: o.trace, Logger: p.log, Registerer: reg,
	})
	if err != nil {
		return usageError{err}
	}
	return nil
}

// callbackLn is the callback proxy's listener (nil for none).
func (p *bootProxy) callbackLn() net.Listener { return p.cbLn }

func (p *bootProxy) newCallback(store *boot.Store, reg prometheus.Registerer) error {
	o := p.opts
	callbackURL, err := o.callbackBase(p.serverIP, addrOf(p.cbLn))
	if err != nil {
		return usageError{err}
	}
	agentProxy := o.agentProxyURL
	if agentProxy == "" {
		agentProxy = callbackURL
	} else if _, err := parseBaseURL("--agent-proxy-url", agentProxy); err != nil {
		return usageError{err}
	}
	for _, f := range []struct{ flag, v string }{{"--ironic-api-url", o.ironicAPIURL}, {"--ironic-inspector-url", o.ironicInspectorURL}} {
		if f.v != "" {
			if _, err := parseBaseURL(f.flag, f.v); err != nil {
				return usageError{err}
			}
		}
	}
	p.callback, err = callback.New(callback.Config{
		IronicAPIURL: o.ironicAPIURL, InspectorURL: o.ironicInspectorURL, AgentProxyURL: agentProxy,
		InsecureSkipVerify: o.callbackInsecure, Hosts: store, Trace: o.trace, Logger: p.log, Registerer: reg,
	})
	if err != nil {
		return usageError{err}
	}
	return nil
}

// callbackBase is --callback-url, else http://SERVER-IP:PORT of the
// callback listener; "" when neither exists.
func (o *bootOptions) callbackBase(serverIP netip.Addr, ln net.Addr) (string, error) {
	u, err := advertised("--callback-url", o.callbackURL, serverIP, ln)
	if err != nil || u == nil {
		return "", err
	}
	return u.String(), nil
}

// listenTCP opens a TCP listener for a flag's ADDR:PORT (the server-IP
// placeholder resolved).
func (p *bootProxy) listenTCP(ctx context.Context, flag, addr string) (net.Listener, error) {
	ln, err := (&net.ListenConfig{}).Listen(ctx, "tcp", withServerIP(addr, p.serverIP))
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", flag, addr, err)
	}
	p.closers = append(p.closers, ln)
	return ln, nil
}

// serve runs every server until ctx ends; the first to fail stops the
// others.
func (p *bootProxy) serve(ctx context.Context) error {
	o := p.opts
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return p.dhcp.Serve(gctx, p.dhcpConn) })
	if p.tftp != nil {
		g.Go(func() error { return p.tftp.Serve(gctx, p.tftpConn) })
	}
	if p.http != nil {
		g.Go(func() error { return p.http.Serve(gctx, p.httpLn) })
	}
	if p.callback != nil {
		g.Go(func() error { return p.callback.Serve(gctx, p.cbLn) })
	}
	if o.ra && o.iface != "" {
		g.Go(func() error {
			err := ra.Run(gctx, ra.Config{Interface: o.iface, StartTimeout: raStartTimeout, Logger: p.log, Registerer: p.reg})
			if err != nil {
				return fmt.Errorf("router advertisements (disable with --ra=false): %w", err)
			}
			return nil
		})
	}
	return g.Wait()
}

// addrOf is a listener's address, nil for none.
func addrOf(ln net.Listener) net.Addr {
	if ln == nil {
		return nil
	}
	return ln.Addr()
}

// usageErrorOrNil wraps a non-nil error as a usage error.
func usageErrorOrNil(err error) error {
	if err == nil {
		return nil
	}
	return usageError{err}
}
