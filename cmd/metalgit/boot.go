package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/spf13/cobra"
	"golang.org/x/sync/errgroup"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/metalgit/metalgit/boot"
	"github.com/metalgit/metalgit/boot/bmh"
	"github.com/metalgit/metalgit/boot/trace"
)

// Boot proxy defaults.
const (
	defaultBootListen = "127.0.0.1:9091"
	// raStartTimeout is how long router advertisements wait for the
	// interface's link-local address to leave duplicate address
	// detection.
	raStartTimeout = 10 * time.Second
)

type bootCmdOptions struct {
	boot       bootOptions
	hostsFile  string
	kubeconfig string
	inCluster  bool
	namespace  string
	listen     string
	verbose    bool
	// hostsInterval is how often the hosts file is looked at; zero means
	// boot.DefaultHostsFileInterval (tests shorten it).
	hostsInterval time.Duration
}

func newBootCmd() *cobra.Command {
	var o bootCmdOptions
	cmd := &cobra.Command{
		Use:   "boot (--hosts FILE | --kubeconfig FILE | --in-cluster) [flags]",
		Short: "Run the boot proxy alone: DHCP for PXE from a hosts file or from BareMetalHosts",
		Long: `Boot runs the boot proxy's DHCP server (and IPv6 router advertisements on
--interface; with --tftp-listen, a read-only TFTP server for the iPXE binaries
in --tftp-root). DHCP answers only the MAC addresses of its host table, read from

  --hosts FILE         a YAML hosts file (see docs/boot.md), reloaded when it
                       changes; a broken edit is reported and the previous
                       table kept
  --kubeconfig FILE    BareMetalHosts in the cluster (metalgit.dev/ip-address
  --in-cluster         annotations), watched

and serves GET /healthz and /metrics (metalgit_dhcp_…, metalgit_ra_…, with
--tftp-listen metalgit_tftp_… and, for a hosts file,
metalgit_hosts_file_reloads_total; for BareMetalHosts,
metalgit_bmh_…, metalgit_trace_…) and GET /debug/boot/MAC (the boot trace: see
'metalgit boot trace') on --listen. 'metalgit serve --boot' runs the same proxy from the
reconciler's allocations.`,
		Example: `  metalgit boot --hosts hosts.yaml --interface eth1
  metalgit boot --hosts hosts.yaml --dhcp-listen 127.0.0.1:1067 --dhcp-reply-port 1068`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			level := slog.LevelInfo
			if o.verbose {
				level = slog.LevelDebug
			}
			log := slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), &slog.HandlerOptions{Level: level}))
			return o.run(cmd.Context(), log, nil)
		},
	}
	f := cmd.Flags()
	addBootFlags(f, &o.boot)
	f.StringVar(&o.hostsFile, "hosts", "", "hosts file (YAML)")
	f.StringVar(&o.kubeconfig, "kubeconfig", "", "kubeconfig of the cluster whose BareMetalHosts to serve")
	f.BoolVar(&o.inCluster, "in-cluster", false, "serve the BareMetalHosts of the cluster this pod runs in")
	f.StringVar(&o.namespace, "namespace", "", "BareMetalHost namespace (default: all)")
	f.StringVar(&o.listen, "listen", defaultBootListen, "HTTP address for /healthz and /metrics ('' for none)")
	f.BoolVarP(&o.verbose, "verbose", "v", false, "log every DHCP exchange (debug)")
	cmd.AddCommand(newProbeCmd(), newBootTraceCmd())
	return cmd
}

// run serves until ctx ends; ready is called with the HTTP (nil when
// none) and DHCP addresses once everything listens.
func (o *bootCmdOptions) run(ctx context.Context, log *slog.Logger, ready func(http, dhcp net.Addr)) error {
	sources := 0
	for _, set := range []bool{o.hostsFile != "", o.kubeconfig != "", o.inCluster} {
		if set {
			sources++
		}
	}
	if sources != 1 {
		return usageError{errors.New("give exactly one host source: --hosts FILE, --kubeconfig FILE or --in-cluster")}
	}
	// The flags are checked before the host source is read.
	if err := o.boot.check(); err != nil {
		return usageError{err}
	}
	reg := prometheus.NewRegistry()
	store := &boot.Store{}
	o.boot.trace = trace.New(trace.Config{})
	if err := o.boot.trace.Register(reg); err != nil {
		return fmt.Errorf("boot trace metrics: %w", err)
	}
	var watch func(context.Context) error
	if o.hostsFile != "" {
		t, err := boot.LoadHostsFile(o.hostsFile)
		if err != nil {
			return err
		}
		store.Swap(t)
		log.Info("hosts loaded", "file", o.hostsFile, "hosts", t.Len())
		watch = func(ctx context.Context) error {
			return boot.WatchHostsFile(ctx, boot.HostsFileConfig{Path: o.hostsFile, Store: store, Interval: o.hostsInterval,
				Logger: log, Registerer: reg})
		}
	} else {
		rc, err := o.restConfig()
		if err != nil {
			return usageError{err}
		}
		watch = func(ctx context.Context) error {
			return bmh.Run(ctx, bmh.Config{RESTConfig: rc, Namespace: o.namespace, Store: store, Logger: log, Registerer: reg,
				OnChange: func(t *boot.Table) { log.Info("hosts from BareMetalHosts", "hosts", t.Len()) }})
		}
	}
	var ln net.Listener
	if o.listen != "" {
		var err error
		if ln, err = (&net.ListenConfig{}).Listen(ctx, "tcp", o.listen); err != nil {
			return fmt.Errorf("listening: %w", err)
		}
	}
	serve, dhcpAddr, err := o.boot.start(ctx, store, reg, log)
	if err != nil {
		if ln != nil {
			_ = ln.Close()
		}
		return err
	}
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return watch(gctx) })
	g.Go(func() error { return serve(gctx) })
	var addr net.Addr
	if ln != nil {
		addr = ln.Addr()
		mux := http.NewServeMux()
		mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok\n")) })
		mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
		mux.Handle("GET /debug/boot/{mac}", trace.Handler(o.boot.trace, store))
		srv := &http.Server{Handler: mux, ReadHeaderTimeout: readHeaderTimeout, IdleTimeout: idleTimeout}
		serveHTTP(gctx, g, srv, ln)
	}
	if ready != nil {
		ready(addr, dhcpAddr)
	}
	if err := g.Wait(); err != nil && !errors.Is(err, context.Canceled) {
		return err
	}
	log.Info("stopped")
	return nil
}

func (o *bootCmdOptions) restConfig() (*rest.Config, error) {
	if o.inCluster {
		rc, err := rest.InClusterConfig()
		if err != nil {
			return nil, fmt.Errorf("--in-cluster: %w", err)
		}
		return rc, nil
	}
	rc, err := clientcmd.BuildConfigFromFlags("", o.kubeconfig)
	if err != nil {
		return nil, fmt.Errorf("--kubeconfig %s: %w", o.kubeconfig, err)
	}
	return rc, nil
}
