package main

import (
	"fmt"

	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/metalgit/metalgit/apply"
	"github.com/metalgit/metalgit/clusterstatus"
	"github.com/metalgit/metalgit/render"
	"github.com/metalgit/metalgit/render/diff"
)

// planCluster prints what applying the checked inventory's planned state
// would change in the cluster: a server-side dry-run of every rendered
// object against the live objects, and the conflicts an apply would
// report. Nothing in the cluster changes.
func planCluster(cmd *cobra.Command, cc apply.ClusterConfig, root string, c *check, output string) error {
	rc, err := cc.RESTConfig()
	if err != nil {
		return usageError{err}
	}
	manifests, _, err := render.Report(render.Input{Inventory: c.inv, State: c.plan.Next, Root: root},
		render.Options{Context: cmd.Context()})
	if err != nil {
		return err
	}
	cluster := apply.NewCluster(rc, apply.Config{})
	defer cluster.Close()
	site := ""
	if len(c.inv.Sites) > 0 {
		site = c.inv.Sites[0].Metadata.Name
	}
	p, err := cluster.Preview(cmd.Context(), site, manifests)
	if err != nil {
		return err
	}
	res, err := diff.Streams(p.Live, p.Planned)
	if err != nil {
		return fmt.Errorf("comparing the cluster with the plan: %w", err)
	}
	w := cmd.OutOrStdout()
	h := diff.Header{Path: root, Base: "the cluster", Head: "this plan applied"}
	fmt.Fprintln(w)
	if output == formatMarkdown {
		err = diff.WriteMarkdown(w, h, res)
	} else {
		err = diff.WriteText(w, h, res)
	}
	if err != nil {
		return err
	}
	for _, cf := range p.Conflicts {
		fmt.Fprintf(w, "conflict %s: %s\n", cf.Key, cf.Error)
	}
	return warnBMCSecrets(cmd, rc, manifests)
}

// warnBMCSecrets warns of each BMC credentials Secret a rendered
// BareMetalHost names that the cluster lacks (or that lacks username or
// password): metalgit never renders them, and the operator stops at
// registration without one.
func warnBMCSecrets(cmd *cobra.Command, rc *rest.Config, manifests []byte) error {
	kube, err := kubernetes.NewForConfig(rc)
	if err != nil {
		return err
	}
	objs, err := apply.Parse(manifests, "")
	if err != nil {
		return err
	}
	for _, o := range objs {
		if o.Key.Group != "metal3.io" || o.Key.Kind != "BareMetalHost" {
			continue
		}
		name, _, _ := unstructured.NestedString(o.Obj.Object, "spec", "bmc", "credentialsName")
		warn, err := clusterstatus.CheckBMCSecret(cmd.Context(), kube, o.Key.Namespace, name)
		if err != nil {
			return err
		}
		if warn != "" {
			fmt.Fprintf(cmd.OutOrStdout(), "warning: %s: %s\n", o.Key.Name, warn)
		}
	}
	return nil
}
