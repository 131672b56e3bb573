package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"sync/atomic"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/sync/errgroup"

	"github.com/metalgit/metalgit/apply"
	"github.com/metalgit/metalgit/boot"
	"github.com/metalgit/metalgit/boot/trace"
	"github.com/metalgit/metalgit/reconciler"
)

// Serve defaults.
const (
	defaultListen     = "127.0.0.1:9090"
	webhookSecretEnv  = "METALGIT_WEBHOOK_SECRET" //nolint:gosec // the name of a variable, not a secret
	shutdownTimeout   = 10 * time.Second
	readHeaderTimeout = 10 * time.Second
	// idleTimeout closes keep-alive connections that send no request:
	// without it anyone who reaches --listen could hold connections open
	// for ever.
	idleTimeout = time.Minute
)

type serveOptions struct {
	cfg               reconciler.Config
	apply             applyFlags
	leader            leaderFlags
	interval          time.Duration
	followWindow      time.Duration
	passTimeout       time.Duration
	listen            string
	webhookSecretFile string
	noWebhook         bool
	verbose           bool
	withBoot          bool
	boot              bootOptions
	// dhcpAddr is where the boot proxy's DHCP server listens (with --boot).
	dhcpAddr net.Addr
}

func newServeCmd() *cobra.Command {
	var o serveOptions
	cmd := &cobra.Command{
		Use:   "serve --repo URL [--branch BRANCH] [--path DIR] [--output OUTDIR] [--listen ADDR:PORT] --webhook-secret-file F",
		Short: "Run the controller: reconcile on an interval and on webhooks, serve health, status and metrics",
		Long: `Serve runs reconcile passes (see 'metalgit reconcile') at once, every
--interval and whenever a verified push webhook arrives, and serves on --listen:

  POST /hook     GitHub (X-Hub-Signature-256) or GitLab (X-Gitlab-Token) push
                 webhook, verified with the shared secret; 202 and a pass, or 401
  GET  /healthz  200 while the process runs
  GET  /readyz   200 once a pass has succeeded, else 503
  GET  /status   JSON: last good source and state commit and time, last error
                 with its commit, consecutive failures
  GET  /metrics  Prometheus metrics (metalgit_ namespace)

With --boot it also runs the boot proxy (DHCP and IPv6 router advertisements;
flags as for 'metalgit boot') on the host table of the last good pass: every
inventory host with a boot MAC and an address; hosts with a machine bound
boot the deploy ramdisk, the others the inspection ramdisk. Until the first
pass succeeds the proxy answers nobody. GET /debug/boot/MAC then answers the
boot trace of a MAC ('metalgit boot trace').

The webhook secret is read from --webhook-secret-file or the environment
variable METALGIT_WEBHOOK_SECRET, never from a flag value; serve refuses to
start without one unless --no-webhook is given. SIGINT or SIGTERM stops it
cleanly: a pass in flight finishes (its commit is pushed or not, never cut
half-way) and open requests are answered.

Several controllers may reconcile one branch (replicas, or clusters sharing an
inventory). A controller whose push was refused because another one had
already committed the same changes follows that one: for its next changes it
makes and renders the state commit locally, pushes nothing and passes again
when the branch moves (the other controller's push, seen by webhook or
--interval) or after --follow-window, when it pushes whatever is still missing
itself. It stops following once a push of its own lands. Refused pushes and
duplicate planning stop after the first race; deferred passes are counted as
result="deferred" in the metrics and in /status.`,
		Example: `  METALGIT_WEBHOOK_SECRET=… metalgit serve --repo https://git.example/fleet.git \
    --token-file /run/secrets/token --output out/ --listen :9090`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := o.checkFlags(); err != nil {
				return usageError{err}
			}
			secret, err := o.webhookSecret()
			if err != nil {
				return usageError{err}
			}
			level := slog.LevelInfo
			if o.verbose {
				level = slog.LevelDebug
			}
			o.cfg.Logger = slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), &slog.HandlerOptions{Level: level}))
			o.cfg.FollowWindow = o.followWindow
			if o.followWindow == 0 {
				o.cfg.FollowWindow = -1 // off
			}
			return o.run(cmd.Context(), secret, nil)
		},
	}
	f := cmd.Flags()
	addGitFlags(f, &o.cfg)
	addApplyFlags(f, &o.apply)
	addLeaderFlags(f, &o.leader)
	f.DurationVar(&o.interval, "interval", reconciler.DefaultInterval, "time between passes when no webhook arrives")
	f.DurationVar(&o.followWindow, "follow-window", reconciler.DefaultFollowWindow, "how long a controller whose push lost to another writer's identical commit leaves its next changes to that writer before pushing them itself; 0 turns following off")
	f.DurationVar(&o.passTimeout, "pass-timeout", reconciler.DefaultPassTimeout, "upper bound of one pass (shutdown waits for a pass in flight up to this)")
	f.StringVar(&o.listen, "listen", defaultListen, "HTTP listen address ADDR:PORT (use :9090 to accept webhooks from other hosts)")
	f.StringVar(&o.webhookSecretFile, "webhook-secret-file", "", "file holding the webhook secret (default: $"+webhookSecretEnv+")")
	f.BoolVar(&o.noWebhook, "no-webhook", false, "serve no /hook endpoint and poll on --interval alone")
	f.BoolVarP(&o.verbose, "verbose", "v", false, "log debug detail to stderr")
	f.BoolVar(&o.withBoot, "boot", false, "also run the boot proxy (DHCP) from each good pass's allocations; see 'metalgit boot' for its flags")
	addBootFlags(f, &o.boot)
	return cmd
}

// checkFlags refuses the durations that cannot be meant (an interval or
// pass timeout at or below zero, a negative follow window; 0 turns
// following off) and, with --boot, the boot proxy's flags, before
// anything starts.
func (o *serveOptions) checkFlags() error {
	errs := []error{positiveDuration("interval", o.interval), positiveDuration("pass-timeout", o.passTimeout)}
	if o.followWindow < 0 {
		errs = append(errs, fmt.Errorf("--follow-window must be >= 0 (0 turns following off), got %s", o.followWindow))
	}
	if o.withBoot {
		errs = append(errs, o.boot.check())
	}
	errs = append(errs, o.leader.check())
	return errors.Join(errs...)
}

// webhookSecret reads the secret from the file or the environment.
func (o *serveOptions) webhookSecret() ([]byte, error) {
	if o.noWebhook {
		if o.webhookSecretFile != "" {
			return nil, errors.New("--no-webhook and --webhook-secret-file exclude each other")
		}
		return nil, nil
	}
	var secret string
	if o.webhookSecretFile != "" {
		b, err := os.ReadFile(o.webhookSecretFile)
		if err != nil {
			return nil, fmt.Errorf("reading the webhook secret: %w", err)
		}
		secret = strings.TrimSpace(string(b))
		if secret == "" {
			return nil, fmt.Errorf("webhook secret file %s is empty", o.webhookSecretFile)
		}
	} else {
		secret = strings.TrimSpace(os.Getenv(webhookSecretEnv))
	}
	if secret == "" {
		return nil, fmt.Errorf("the webhook needs a secret: set --webhook-secret-file or $%s, or pass --no-webhook", webhookSecretEnv)
	}
	return []byte(secret), nil
}

// run serves until ctx is done; listening is called with the bound address.
func (o *serveOptions) run(ctx context.Context, secret []byte, listening func(net.Addr)) error {
	log := o.cfg.Logger
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	metrics := reconciler.NewMetrics()
	var serveBoot func(context.Context) error
	cfg := o.cfg
	store := &boot.Store{}
	if o.withBoot {
		cfg.OnResult = func(t *reconciler.HostTable) { publishHosts(store, t, log) }
	}
	var ctl *reconciler.Controller
	var ctlReady atomic.Bool
	cluster, rc, err := o.apply.applier(metrics.Registry, func(apply.Key) {
		// Another hand changed an object: a pass takes it back.
		if ctlReady.Load() {
			ctl.Trigger()
		}
	}, &cfg)
	if err != nil {
		return err
	}
	if cluster != nil {
		defer cluster.Close()
		if err := metrics.Registry.Register(apply.NewHostsCollector(cluster)); err != nil {
			return fmt.Errorf("host metrics: %w", err)
		}
	}
	r, err := reconciler.New(cfg)
	if err != nil {
		return usageError{err}
	}
	defer func() { _ = r.Close() }()
	if o.withBoot {
		o.boot.trace = trace.New(trace.Config{})
		if err := o.boot.trace.Register(metrics.Registry); err != nil {
			return fmt.Errorf("boot trace metrics: %w", err)
		}
		var dhcpAddr net.Addr
		if serveBoot, dhcpAddr, err = o.boot.start(ctx, store, metrics.Registry, log); err != nil {
			return err
		}
		o.dhcpAddr = dhcpAddr
	}
	ctl = reconciler.NewController(r, reconciler.ControllerConfig{
		Interval: o.interval, PassTimeout: o.passTimeout, Metrics: metrics, Logger: log,
	})
	ctlReady.Store(true)
	ln, err := (&net.ListenConfig{}).Listen(ctx, "tcp", o.listen)
	if err != nil {
		return fmt.Errorf("listening: %w", err)
	}
	log.Info("serving", "addr", ln.Addr().String(), "webhook", len(secret) > 0, "interval", o.interval)
	if listening != nil {
		listening(ln.Addr())
	}
	handler := ctl.Handler(secret)
	if o.withBoot {
		mux := http.NewServeMux()
		mux.Handle("GET /debug/boot/{mac}", trace.Handler(o.boot.trace, store))
		mux.Handle("/", handler)
		handler = mux
	}
	srv := &http.Server{Handler: handler, ReadHeaderTimeout: readHeaderTimeout, IdleTimeout: idleTimeout}

	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error {
		if cluster != nil && o.leader.enabled {
			return o.leader.lead(gctx, rc, ctl, log)
		}
		return ctl.Run(gctx)
	})
	if serveBoot != nil {
		g.Go(func() error { return serveBoot(gctx) })
	}
	serveHTTP(gctx, g, srv, ln)
	if err := g.Wait(); err != nil && !errors.Is(err, context.Canceled) {
		return err
	}
	log.Info("stopped")
	return nil
}

// publishHosts converts the reconciler's host table into the boot proxy's
// and swaps it in. Hosts without a boot MAC or an address cannot be
// answered and are left out (logged at debug).
func publishHosts(store *boot.Store, t *reconciler.HostTable, log *slog.Logger) {
	hosts := make([]boot.Host, 0, len(t.Hosts))
	for _, e := range t.Hosts {
		mac, err := net.ParseMAC(e.MAC)
		if err != nil || !e.Address.IsValid() {
			log.Debug("boot proxy: host left out (no boot MAC or no address)", "host", e.Name)
			continue
		}
		// Validation refuses both already; one host the boot proxy
		// cannot serve must not freeze the table of all the others.
		kp := boot.KernelParams{Inspector: e.KernelParamsInspector, Installer: e.KernelParamsInstaller}
		if err := errors.Join(boot.CheckMAC(mac), checkHostname(e.Hostname), kp.Check()); err != nil {
			log.Warn("boot proxy: host left out", "host", e.Name, "err", err)
			continue
		}
		phase := boot.PhaseInspect
		if e.Phase == reconciler.PhaseBound {
			phase = boot.PhaseDeploy
		}
		hosts = append(hosts, boot.Host{MAC: mac, Name: e.Name, Address: e.Address, Gateway: e.Gateway,
			DNS: e.DNS, NTP: e.NTP, Hostname: e.Hostname, Phase: phase, KernelParams: kp})
	}
	bt, err := boot.NewTable(t.SourceCommit, hosts)
	if err == nil {
		bt, err = bt.WithSite(boot.Site{
			KernelParams: boot.KernelParams{Inspector: t.Site.KernelParamsInspector, Installer: t.Site.KernelParamsInstaller},
			IronicAPIURL: t.Site.IronicAPIURL, IronicHTTPURL: t.Site.IronicHTTPURL,
		})
	}
	if err != nil {
		log.Error("boot proxy: host table refused; still serving the previous one", "commit", t.SourceCommit, "err", err)
		return
	}
	store.Swap(bt)
	log.Info("boot proxy: host table updated", "commit", t.SourceCommit, "hosts", bt.Len())
}

// checkHostname is boot.CheckHostname for a host that may have none.
func checkHostname(name string) error {
	if name == "" {
		return nil
	}
	return boot.CheckHostname(name)
}

// serveHTTP serves srv on ln in g until ctx is done, then shuts it down
// with a fresh deadline, so that open requests get shutdownTimeout to
// finish after ctx is cancelled.
func serveHTTP(ctx context.Context, g *errgroup.Group, srv *http.Server, ln net.Listener) {
	g.Go(func() error {
		if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			return fmt.Errorf("serving HTTP: %w", err)
		}
		return nil
	})
	g.Go(func() error {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), shutdownTimeout)
		defer cancel()
		return srv.Shutdown(sctx)
	})
}
