package main

import (
	"fmt"
	"io"
	"sort"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/spf13/pflag"
	"k8s.io/client-go/rest"

	"github.com/metalgit/metalgit/apply"
	"github.com/metalgit/metalgit/reconciler"
)

// applyFlags are the cluster flags of reconcile and serve.
type applyFlags struct {
	cluster            apply.ClusterConfig
	adopt              bool
	inventoryNamespace string
}

func addApplyFlags(f *pflag.FlagSet, o *applyFlags) {
	f.StringVar(&o.cluster.Kubeconfig, "kubeconfig", "", "apply the rendered objects to the cluster this kubeconfig file names (server-side apply, field manager metalgit)")
	f.BoolVar(&o.cluster.InCluster, "in-cluster", false, "apply to the cluster metalgit runs in, as its service account")
	f.BoolVar(&o.adopt, "adopt", false, "take over objects that exist without metalgit's labels instead of reporting them as conflicts")
	f.StringVar(&o.inventoryNamespace, "inventory-namespace", apply.DefaultInventoryNamespace, "namespace of the ConfigMap recording what metalgit applied (created when missing)")
}

// applier returns the cluster to apply to and its configuration, or nils
// when no cluster is named; onChange (may be nil) hears of changes made by
// other hands.
func (o *applyFlags) applier(reg prometheus.Registerer, onChange func(apply.Key), cfg *reconciler.Config) (*apply.Cluster, *rest.Config, error) {
	if !o.cluster.Enabled() {
		if o.adopt {
			return nil, nil, usageError{fmt.Errorf("--adopt needs a cluster: give --kubeconfig or --in-cluster")}
		}
		return nil, nil, nil
	}
	rc, err := o.cluster.RESTConfig()
	if err != nil {
		return nil, nil, usageError{err}
	}
	metrics, err := apply.NewMetrics(reg)
	if err != nil {
		return nil, nil, err
	}
	c := apply.NewCluster(rc, apply.Config{Adopt: o.adopt, InventoryNamespace: o.inventoryNamespace,
		OnChange: onChange, Logger: cfg.Logger, Metrics: metrics})
	cfg.Applier = c
	return c, rc, nil
}

// printApplied writes what a pass did to the cluster.
func printApplied(w io.Writer, res *apply.Result) {
	if res == nil {
		return
	}
	outcomes := make([]string, 0, len(res.Counts))
	for o := range res.Counts {
		outcomes = append(outcomes, string(o))
	}
	sort.Strings(outcomes)
	fmt.Fprintf(w, "applied in %s:", res.Duration.Round(1e6))
	for _, o := range outcomes {
		fmt.Fprintf(w, " %d %s", res.Counts[apply.Outcome(o)], o)
	}
	fmt.Fprintln(w)
	for _, d := range res.Drift {
		fmt.Fprintf(w, "  took back %s %s (changed by %s)\n", d.Object, d.Field, d.Manager)
	}
	for _, r := range res.Objects {
		if r.Outcome == apply.Failed || r.Outcome == apply.Conflict {
			fmt.Fprintf(w, "  %s %s: %s\n", r.Outcome, r.Key, r.Error)
		}
	}
}
