package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"sigs.k8s.io/yaml"

	"github.com/metalgit/metalgit/apply"
	"github.com/metalgit/metalgit/clusterstatus"
	"github.com/metalgit/metalgit/reconciler"
)

// maxStatusBody bounds serve's /status answer read by status --server.
const maxStatusBody = 4 << 20

type statusOptions struct {
	cluster  apply.ClusterConfig
	site     string
	output   string
	watch    bool
	interval time.Duration
	server   string
}

// statusReport is what status prints as JSON or YAML.
type statusReport struct {
	*clusterstatus.Report
	// LastPass is serve's status (--server); omitted without it.
	LastPass *reconciler.Status `json:"lastPass,omitempty"`
}

func newStatusCmd() *cobra.Command {
	o := &statusOptions{}
	cmd := &cobra.Command{
		Use:   "status --kubeconfig FILE [--site NAME] [-o table|json|yaml] [--watch] [--server URL]",
		Short: "Show the fleet as the cluster holds it: one row per host, with the Bare Metal Operator's state",
		Long: `Status lists the BareMetalHosts metalgit applied (its labels), one row per
host: name, namespace, boot MAC, provisioning IP, machine, the operator's
provisioning state, operational status, power and error. Each host's BMC
credentials Secret is checked: a missing one, or one without username and
password, is a warning (the operator reports "BMC CredentialsName secret
doesn't exist" later). The hosts are counted by state.

--server names a running 'metalgit serve' (its --listen URL): its /status
adds the last pass — source and state commits, what it applied and pruned,
the fields it took back, its error. --watch prints again every --interval.`,
		Example: `  metalgit status --kubeconfig ~/.kube/config
  metalgit status --in-cluster --site dc1 -o json
  metalgit status --kubeconfig kc --server http://127.0.0.1:9090 --watch`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := o.check(); err != nil {
				return usageError{err}
			}
			rc, err := o.cluster.RESTConfig()
			if err != nil {
				return usageError{err}
			}
			dyn, err := dynamic.NewForConfig(rc)
			if err != nil {
				return err
			}
			kube, err := kubernetes.NewForConfig(rc)
			if err != nil {
				return err
			}
			for {
				if err := o.print(cmd.Context(), cmd.OutOrStdout(), dyn, kube); err != nil {
					return err
				}
				if !o.watch {
					return nil
				}
				select {
				case <-cmd.Context().Done():
					return nil
				case <-time.After(o.interval):
				}
			}
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.cluster.Kubeconfig, "kubeconfig", "", "the cluster's kubeconfig file")
	f.BoolVar(&o.cluster.InCluster, "in-cluster", false, "read the cluster metalgit runs in, as its service account")
	f.StringVar(&o.site, "site", "", "show the hosts of this Site only")
	f.StringVarP(&o.output, "output", "o", "table", "table, json or yaml")
	f.BoolVar(&o.watch, "watch", false, "print again every --interval until interrupted")
	f.DurationVar(&o.interval, "interval", 5*time.Second, "time between prints with --watch")
	f.StringVar(&o.server, "server", "", "a running 'metalgit serve' (its --listen URL), for the last pass")
	return cmd
}

func (o *statusOptions) check() error {
	var errs []error
	switch o.output {
	case "table", "json", "yaml":
	default:
		errs = append(errs, fmt.Errorf("-o %q: want table, json or yaml", o.output))
	}
	if o.interval < time.Second {
		errs = append(errs, fmt.Errorf("--interval must be at least 1s, got %s", o.interval))
	}
	if o.server != "" {
		if u, err := url.Parse(o.server); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			errs = append(errs, fmt.Errorf("--server %q: want an http:// or https:// URL", o.server))
		}
	}
	if !o.cluster.Enabled() {
		errs = append(errs, errors.New("no cluster: give --kubeconfig or --in-cluster"))
	}
	return errors.Join(errs...)
}

func (o *statusOptions) print(ctx context.Context, w io.Writer, dyn dynamic.Interface, kube kubernetes.Interface) error {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	rep, err := clusterstatus.Collect(ctx, dyn, kube, clusterstatus.Options{Site: o.site})
	if err != nil {
		return err
	}
	out := statusReport{Report: rep}
	if o.server != "" {
		if out.LastPass, err = serveStatus(ctx, o.server); err != nil {
			return err
		}
	}
	switch o.output {
	case "json":
		b, err := json.MarshalIndent(out, "", "  ")
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(w, "%s\n", b)
		return err
	case "yaml":
		b, err := yaml.Marshal(out)
		if err != nil {
			return err
		}
		_, err = w.Write(b)
		return err
	}
	printStatusTable(w, out)
	return nil
}

func printStatusTable(w io.Writer, r statusReport) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "HOST\tNAMESPACE\tBOOT MAC\tPROVISIONING IP\tMACHINE\tMACHINE IP\tSTATE\tOPERATIONAL\tPOWER\tERROR")
	for _, h := range r.Hosts {
		power := "off"
		if h.PoweredOn {
			power = "on"
		}
		state := h.State
		if h.Deleting {
			state += " (deleting)"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", h.Name, h.Namespace, h.BootMAC, dash(h.ProvisioningIP),
			dash(h.Machine), dash(h.MachineIP), dash(state), dash(h.OperationalStatus), power, dash(strings.TrimSpace(h.ErrorType+" "+h.Error)))
	}
	_ = tw.Flush()
	for _, h := range r.Hosts {
		for _, warn := range h.Warnings {
			fmt.Fprintf(w, "warning: %s: %s\n", h.Name, warn)
		}
	}
	states := make([]string, 0, len(r.States))
	for s := range r.States {
		states = append(states, s)
	}
	sort.Strings(states)
	parts := make([]string, 0, len(states))
	for _, s := range states {
		parts = append(parts, fmt.Sprintf("%d %s", r.States[s], s))
	}
	fmt.Fprintf(w, "%d hosts: %s\n", len(r.Hosts), strings.Join(parts, ", "))
	if p := r.LastPass; p != nil {
		if g := p.LastGood; g != nil {
			fmt.Fprintf(w, "last good pass: %s, source %s, state %s\n", g.Time.Format(time.RFC3339), g.SourceCommit, dash(g.StateCommit))
			if g.Summary != "" {
				fmt.Fprintf(w, "  %s\n", g.Summary)
			}
			for _, u := range g.Pools {
				fmt.Fprintf(w, "pool %s: %d of %d used, %d free\n", u.Pool, u.Used, u.Size, u.Free)
			}
		}
		if a := p.LastApply; a != nil {
			fmt.Fprintf(w, "last apply: %s, %d created, %d updated, %d pruned, %d deleting, %d failed, %d conflicts, %d fields taken back\n",
				a.Time.Format(time.RFC3339), a.Counts[apply.Created], a.Counts[apply.Updated], a.Counts[apply.Pruned],
				a.Counts[apply.Deleting], a.Counts[apply.Failed], a.Counts[apply.Conflict], len(a.Drift))
		}
		if e := p.LastError; e != nil {
			fmt.Fprintf(w, "last failed pass: %s, %s step: %s\n", e.Time.Format(time.RFC3339), e.Stage, e.Error)
		}
	}
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// serveStatus reads a running serve's /status.
func serveStatus(ctx context.Context, server string) (*reconciler.Status, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimRight(server, "/")+"/status", nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("--server: %w", err)
	}
	defer func() { _ = resp.Body.Close() }()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("--server: GET /status: %s", resp.Status)
	}
	var st reconciler.Status
	if err := json.NewDecoder(io.LimitReader(resp.Body, maxStatusBody)).Decode(&st); err != nil {
		return nil, fmt.Errorf("--server: reading /status: %w", err)
	}
	return &st, nil
}
