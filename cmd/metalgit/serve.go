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
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/sync/errgroup"

	"github.com/metalgit/metalgit/reconciler"
)

// Serve defaults.
const (
	defaultListen     = "127.0.0.1:9090"
	webhookSecretEnv  = "METALGIT_WEBHOOK_SECRET" //nolint:gosec // the name of a variable, not a secret
	shutdownTimeout   = 10 * time.Second
	readHeaderTimeout = 10 * time.Second
)

type serveOptions struct {
	cfg               reconciler.Config
	interval          time.Duration
	passTimeout       time.Duration
	listen            string
	webhookSecretFile string
	noWebhook         bool
	verbose           bool
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

The webhook secret is read from --webhook-secret-file or the environment
variable METALGIT_WEBHOOK_SECRET, never from a flag value; serve refuses to
start without one unless --no-webhook is given. SIGINT or SIGTERM stops it
cleanly: a pass in flight finishes (its commit is pushed or not, never cut
half-way) and open requests are answered.`,
		Example: `  METALGIT_WEBHOOK_SECRET=… metalgit serve --repo https://git.example/fleet.git \
    --token-file /run/secrets/token --output out/ --listen :9090`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			secret, err := o.webhookSecret()
			if err != nil {
				return usageError{err}
			}
			level := slog.LevelInfo
			if o.verbose {
				level = slog.LevelDebug
			}
			o.cfg.Logger = slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), &slog.HandlerOptions{Level: level}))
			return o.run(cmd.Context(), secret, nil)
		},
	}
	f := cmd.Flags()
	addGitFlags(f, &o.cfg)
	f.DurationVar(&o.interval, "interval", reconciler.DefaultInterval, "time between passes when no webhook arrives")
	f.DurationVar(&o.passTimeout, "pass-timeout", reconciler.DefaultPassTimeout, "upper bound of one pass (shutdown waits for a pass in flight up to this)")
	f.StringVar(&o.listen, "listen", defaultListen, "HTTP listen address ADDR:PORT (use :9090 to accept webhooks from other hosts)")
	f.StringVar(&o.webhookSecretFile, "webhook-secret-file", "", "file holding the webhook secret (default: $"+webhookSecretEnv+")")
	f.BoolVar(&o.noWebhook, "no-webhook", false, "serve no /hook endpoint and poll on --interval alone")
	f.BoolVarP(&o.verbose, "verbose", "v", false, "log debug detail to stderr")
	return cmd
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
	r, err := reconciler.New(o.cfg)
	if err != nil {
		return usageError{err}
	}
	defer func() { _ = r.Close() }()
	log := o.cfg.Logger
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	ctl := reconciler.NewController(r, reconciler.ControllerConfig{
		Interval: o.interval, PassTimeout: o.passTimeout, Metrics: reconciler.NewMetrics(), Logger: log,
	})
	ln, err := (&net.ListenConfig{}).Listen(ctx, "tcp", o.listen)
	if err != nil {
		return fmt.Errorf("listening: %w", err)
	}
	log.Info("serving", "addr", ln.Addr().String(), "webhook", len(secret) > 0, "interval", o.interval)
	if listening != nil {
		listening(ln.Addr())
	}
	srv := &http.Server{Handler: ctl.Handler(secret), ReadHeaderTimeout: readHeaderTimeout}

	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return ctl.Run(gctx) })
	g.Go(func() error {
		if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			return fmt.Errorf("serving HTTP: %w", err)
		}
		return nil
	})
	g.Go(func() error {
		<-gctx.Done()
		// A fresh deadline: open requests finish after ctx is cancelled.
		sctx, cancel := context.WithTimeout(context.WithoutCancel(gctx), shutdownTimeout)
		defer cancel()
		return srv.Shutdown(sctx)
	})
	if err := g.Wait(); err != nil && !errors.Is(err, context.Canceled) {
		return err
	}
	log.Info("stopped")
	return nil
}
