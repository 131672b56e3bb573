package httpboot

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/netip"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/metalgit/metalgit/boot"
	"github.com/metalgit/metalgit/boot/trace"
)

// Defaults.
const (
	DefaultListen = "0.0.0.0:8080"
	// DefaultRoot is where Debian's ipxe package puts the boot binaries.
	DefaultRoot = "/usr/lib/ipxe"
	// DefaultInspectorCollectors are IPA's inspection collectors, as
	// Metal3 runs them.
	DefaultInspectorCollectors = "default,extra-hardware,logs"
	// DefaultScriptRetries is how many times a script tries its kernel,
	// initrd and boot again after a failure, sleeping 1, 2, 4, … s.
	DefaultScriptRetries = 5
	// MaxScriptRetries bounds ScriptRetries: 10 retries sleep 17 minutes
	// in all.
	MaxScriptRetries = 10

	// DefaultMaxRequests bounds the requests served at once.
	DefaultMaxRequests = 256
	// DefaultMaxImageStreams bounds the image downloads proxied at once:
	// two racks fetching their ramdisk in the same minute.
	DefaultMaxImageStreams = 128
	// DefaultMaxConns bounds the open client connections.
	DefaultMaxConns = 1024
	// DefaultReadHeaderTimeout bounds the reading of a request's headers.
	DefaultReadHeaderTimeout = 10 * time.Second
	// DefaultMaxHeaderBytes bounds a request's headers.
	DefaultMaxHeaderBytes = 16 << 10
	// DefaultIdleTimeout closes an idle keep-alive connection.
	DefaultIdleTimeout = time.Minute
	// DefaultStallTimeout ends a response whose client reads nothing, or
	// whose upstream sends nothing, for that long.
	DefaultStallTimeout = 30 * time.Second
	// DefaultUpstreamDialTimeout bounds connecting to Ironic's image
	// server; DefaultUpstreamHeaderTimeout bounds the wait for its
	// response headers.
	DefaultUpstreamDialTimeout   = 5 * time.Second
	DefaultUpstreamHeaderTimeout = 30 * time.Second
	// DefaultShutdownGrace is how long running requests may go on once
	// the server is told to stop.
	DefaultShutdownGrace = 5 * time.Second
)

// Config configures a Server.
type Config struct {
	// Listen is the TCP address of Listen (DefaultListen).
	Listen netip.AddrPort
	// HTTPURL is this server's base URL as hosts reach it
	// (http://192.168.100.2:8080): scripts name the kernel and initramfs
	// under HTTPURL/images/. Required.
	HTTPURL string
	// CallbackURL is the callback proxy's base URL as the agent reaches
	// it: ipa-api-url, and the inspection callback under it. Required.
	CallbackURL string
	// IronicInspector makes the inspection callback
	// CallbackURL/v1/continue (a standalone ironic-inspector) instead of
	// CallbackURL/v1/continue_inspection (Ironic's own inspection, Ironic
	// 22.1 and later).
	IronicInspector bool
	// InspectorCollectors is ipa-inspection-collectors
	// (DefaultInspectorCollectors).
	InspectorCollectors string
	// SiteParams are the Site's extra kernel parameters; InspectorParams
	// and InstallerParams the flags' (--inspector-extra-kernel-param,
	// --installer-extra-kernel-param). A script's kernel line has the
	// proxy's own parameters, then the Site's, the host's and the flags':
	// a later one wins where the kernel or IPA reads one key twice.
	SiteParams      boot.KernelParams
	InspectorParams []string
	InstallerParams []string
	// ScriptRetries is how many times a script tries again after its
	// kernel, initrd or boot failed (DefaultScriptRetries, at most
	// MaxScriptRetries; -1 for none).
	ScriptRetries int
	// Root is the directory of the boot binaries (DefaultRoot). It must
	// exist when the server is created.
	Root string
	// IronicHTTPURL is Ironic's image server (http://ironic:6180), whose
	// /images/ holds the agent's kernel and initramfs. Without it,
	// /images/ answers 503 naming the missing flag.
	IronicHTTPURL string
	// Hosts is the host table; Trace records what was served (nil:
	// nothing is recorded).
	Hosts *boot.Store
	Trace *trace.Ring

	// Limits (the Default… constants when zero).
	MaxRequests           int
	MaxImageStreams       int
	MaxConns              int
	ReadHeaderTimeout     time.Duration
	MaxHeaderBytes        int
	IdleTimeout           time.Duration
	StallTimeout          time.Duration
	UpstreamDialTimeout   time.Duration
	UpstreamHeaderTimeout time.Duration
	ShutdownGrace         time.Duration

	// Logger (slog.Default when nil); Registerer receives the metrics
	// (none when nil).
	Logger     *slog.Logger
	Registerer prometheus.Registerer
}

// FieldError is a problem with one Config field.
type FieldError = boot.FieldError

// withDefaults fills the zero fields and checks the rest; every problem
// names its field.
func (c Config) withDefaults() (Config, *url.URL, error) {
	var errs []error
	if !c.Listen.IsValid() {
		c.Listen = netip.MustParseAddrPort(DefaultListen)
	}
	if err := checkScriptURL(c.HTTPURL); err != nil {
		errs = append(errs, &FieldError{Field: "HTTPURL", Err: err})
	}
	if err := checkScriptURL(c.CallbackURL); err != nil {
		errs = append(errs, &FieldError{Field: "CallbackURL", Err: err})
	}
	c.HTTPURL = strings.TrimSuffix(c.HTTPURL, "/")
	c.CallbackURL = strings.TrimSuffix(c.CallbackURL, "/")
	upstream, err := parseUpstream(c.IronicHTTPURL)
	if err != nil {
		errs = append(errs, &FieldError{Field: "IronicHTTPURL", Err: err})
	}
	if c.InspectorCollectors == "" {
		c.InspectorCollectors = DefaultInspectorCollectors
	}
	if err := boot.CheckKernelParam("ipa-inspection-collectors=" + c.InspectorCollectors); err != nil {
		errs = append(errs, &FieldError{Field: "InspectorCollectors", Err: err})
	}
	if err := c.SiteParams.Check(); err != nil {
		errs = append(errs, &FieldError{Field: "SiteParams", Err: err})
	}
	if err := boot.CheckKernelParams(c.InspectorParams); err != nil {
		errs = append(errs, &FieldError{Field: "InspectorParams (--inspector-extra-kernel-param)", Err: err})
	}
	if err := boot.CheckKernelParams(c.InstallerParams); err != nil {
		errs = append(errs, &FieldError{Field: "InstallerParams (--installer-extra-kernel-param)", Err: err})
	}
	switch {
	case c.ScriptRetries == 0:
		c.ScriptRetries = DefaultScriptRetries
	case c.ScriptRetries == -1:
		c.ScriptRetries = 0
	case c.ScriptRetries < 0 || c.ScriptRetries > MaxScriptRetries:
		errs = append(errs, &FieldError{Field: "ScriptRetries", Err: fmt.Errorf("%d: must be -1 (none) to %d", c.ScriptRetries, MaxScriptRetries)})
	}
	if c.Root == "" {
		c.Root = DefaultRoot
	}
	if fi, err := os.Stat(c.Root); err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		errs = append(errs, &FieldError{Field: "Root", Err: fmt.Errorf("%s: %w (Debian's ipxe package installs the boot binaries in %s)", c.Root, err, DefaultRoot)})
	} else if !fi.IsDir() {
		errs = append(errs, &FieldError{Field: "Root", Err: fmt.Errorf("%s: not a directory", c.Root)})
	}
	if c.Hosts == nil {
		errs = append(errs, &FieldError{Field: "Hosts", Err: errors.New("required (the host table the scripts are written from)")})
	}
	errs = append(errs, boot.ApplyLimits(
		boot.Limit[int]{Field: "MaxRequests", Value: &c.MaxRequests, Default: DefaultMaxRequests},
		boot.Limit[int]{Field: "MaxImageStreams", Value: &c.MaxImageStreams, Default: DefaultMaxImageStreams},
		boot.Limit[int]{Field: "MaxConns", Value: &c.MaxConns, Default: DefaultMaxConns},
		boot.Limit[int]{Field: "MaxHeaderBytes", Value: &c.MaxHeaderBytes, Default: DefaultMaxHeaderBytes}))
	errs = append(errs, boot.ApplyLimits(
		boot.Limit[time.Duration]{Field: "ReadHeaderTimeout", Value: &c.ReadHeaderTimeout, Default: DefaultReadHeaderTimeout},
		boot.Limit[time.Duration]{Field: "IdleTimeout", Value: &c.IdleTimeout, Default: DefaultIdleTimeout},
		boot.Limit[time.Duration]{Field: "StallTimeout", Value: &c.StallTimeout, Default: DefaultStallTimeout},
		boot.Limit[time.Duration]{Field: "UpstreamDialTimeout", Value: &c.UpstreamDialTimeout, Default: DefaultUpstreamDialTimeout},
		boot.Limit[time.Duration]{Field: "UpstreamHeaderTimeout", Value: &c.UpstreamHeaderTimeout, Default: DefaultUpstreamHeaderTimeout},
		boot.Limit[time.Duration]{Field: "ShutdownGrace", Value: &c.ShutdownGrace, Default: DefaultShutdownGrace}))
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return c, upstream, errors.Join(errs...)
}

// checkScriptURL checks a base URL the scripts carry: http or https, a
// host, no user, query or fragment, and only characters a kernel
// parameter may hold (boot.CheckKernelParam), since it is written into
// iPXE scripts and kernel command lines.
func checkScriptURL(s string) error {
	if s == "" {
		return errors.New("required")
	}
	u, err := url.Parse(s)
	switch {
	case err != nil:
		return fmt.Errorf("%q is not a URL", s)
	case u.Scheme != "http" && u.Scheme != "https":
		return fmt.Errorf("%q: the scheme must be http or https", s)
	case u.Host == "":
		return fmt.Errorf("%q: no host", s)
	case u.User != nil || u.RawQuery != "" || u.Fragment != "" || u.Opaque != "":
		return fmt.Errorf("%q: a base URL has no user, query or fragment", s)
	}
	if err := boot.CheckKernelParam("url=" + s); err != nil {
		return fmt.Errorf("cannot be written into an iPXE script: %w", err)
	}
	return nil
}

// parseUpstream checks Ironic's image server URL.
func parseUpstream(s string) (*url.URL, error) {
	if s == "" {
		// No image server: /images/ answers 503 saying so.
		return nil, nil
	}
	return boot.ParseBaseURL(s)
}
