package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/metalgit/metalgit/apply"
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
	return nil
}
