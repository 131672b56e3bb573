package main

import (
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/metalgit/metalgit/alloc/state"
	"github.com/metalgit/metalgit/apply"
	"github.com/metalgit/metalgit/schemas"
)

// reportProblems ends plan or allocate on an invalid inventory or state:
// the problems go to stderr as text, or to stdout as the JSON or Markdown
// the command was asked for, so that CI can post them.
func reportProblems(stdout, stderr io.Writer, format, title, verb string, problems schemas.Problems) error {
	problems.Sort()
	problems = problems.Truncate(schemas.MaxProblems)
	switch format {
	case formatJSON:
		if err := writeJSON(stdout, invalidJSON{Valid: false, Problems: problems}); err != nil {
			return err
		}
		return reportedError{}
	case formatMarkdown:
		var b strings.Builder
		fmt.Fprintf(&b, "### metalgit %s: `%s`\n\n**%s**; nothing can be planned until they are fixed:\n\n", verb, title, problemCount(problems))
		for _, p := range problems {
			b.WriteString("- " + strings.ReplaceAll(p.String(), "\n", " ") + "\n")
		}
		if _, err := io.WriteString(stdout, b.String()); err != nil {
			return fmt.Errorf("writing result: %w", err)
		}
	}
	return printProblems(stderr, problems)
}

func newPlanCmd() *cobra.Command {
	var flags inventoryFlags
	var output string
	var kept, failOnProblems bool
	var cluster apply.ClusterConfig
	cmd := &cobra.Command{
		Use:   "plan [PATH]",
		Short: "Show what allocate would change, without writing anything",
		Long: `Plan validates the inventory at PATH, reads its state and prints what
'metalgit allocate' would change: new, kept and released bindings and
allocations, machines that cannot bind and pools that are exhausted. It
writes nothing. It checks what validate checks, the state and what render
would reject in the state the allocation gives (templates executed for
each machine, size limits): any problem ends it with exit code 1. With
-o markdown the output suits a pull-request comment; with -o json a
program can read it: {"valid": true, "bindings": ...}, or, with
problems, {"valid": false, "problems": [...]} (and exit code 1).

With --kubeconfig (or --in-cluster) it also renders the state the
allocation gives and asks the cluster what applying it would change: a
server-side dry-run apply of every object as field manager metalgit, and
the objects metalgit applied earlier that prune would delete; it prints the
objects added, removed and changed, field by field, Secret values masked,
and the objects an apply would refuse (in the way without metalgit's
labels). Nothing in the cluster changes. Text and markdown only.`,
		Example: `  metalgit plan examples/dc1
  metalgit plan --kubeconfig ~/.kube/config .
  metalgit plan -o markdown . > plan.md
  metalgit plan -o json . | jq '.allocations[] | select(.status == "new")'`,
		Args: maxOnePath,
		RunE: func(cmd *cobra.Command, args []string) error {
			if !slices.Contains(planFormats(), output) {
				return usageError{fmt.Errorf("unknown output format %q; use %s", output, strings.Join(planFormats(), ", "))}
			}
			if cluster.Enabled() && output == formatJSON {
				return usageError{fmt.Errorf("--kubeconfig and --in-cluster print text or markdown; -o json has no cluster changes")}
			}
			root := pathArg(args)
			c, err := checkInventory(cmd.Context(), root, flags, true)
			if err != nil {
				return err
			}
			if len(c.problems) > 0 {
				return reportProblems(cmd.OutOrStdout(), cmd.ErrOrStderr(), output, root, "plan", c.problems)
			}
			plan := c.plan
			if err := writeReport(cmd.OutOrStdout(), plan, output, reportOptions{Title: root, Kept: kept}); err != nil {
				return err
			}
			if cluster.Enabled() {
				if err := planCluster(cmd, cluster, root, c, output); err != nil {
					return err
				}
			}
			if failOnProblems && len(plan.Problems) > 0 {
				return reportedError{fmt.Sprintf("%d machines or owners could not be served", len(plan.Problems))}
			}
			return nil
		},
	}
	flags.register(cmd.Flags())
	cmd.Flags().StringVarP(&output, "output", "o", formatText, "output format: text, markdown or json")
	cmd.Flags().BoolVar(&kept, "show-kept", false, "list kept bindings and allocations one by one (text and markdown)")
	cmd.Flags().StringVar(&cluster.Kubeconfig, "kubeconfig", "", "also show what applying the plan would change in this cluster (server-side dry-run)")
	cmd.Flags().BoolVar(&cluster.InCluster, "in-cluster", false, "as --kubeconfig, for the cluster metalgit runs in")
	cmd.Flags().BoolVar(&failOnProblems, "fail-on-problems", false, "exit 1 when a machine cannot bind or a pool is exhausted")
	return cmd
}

func newAllocateCmd() *cobra.Command {
	var flags inventoryFlags
	var output string
	var failOnProblems bool
	cmd := &cobra.Command{
		Use:   "allocate [PATH]",
		Short: "Bind machines, allocate addresses and write the state directory",
		Long: `Allocate validates the inventory at PATH, computes the same pass as
'metalgit plan' and writes the result to the state directory (default
PATH/state): bindings.yaml and allocations.yaml. It prints what changed.
Nothing is written when the inventory or the state has a problem, or when
render would reject the state it would write (as plan checks); a machine
that cannot bind or a pool that is exhausted is reported without holding back
the others. Running it again changes nothing. No Git is involved.`,
		Example: `  metalgit allocate examples/dc1
  metalgit allocate --state-dir state inventory/`,
		Args: maxOnePath,
		RunE: func(cmd *cobra.Command, args []string) error {
			if !slices.Contains(planFormats(), output) {
				return usageError{fmt.Errorf("unknown output format %q; use %s", output, strings.Join(planFormats(), ", "))}
			}
			root := pathArg(args)
			c, err := checkInventory(cmd.Context(), root, flags, true)
			if err != nil {
				return err
			}
			if len(c.problems) > 0 {
				return reportProblems(cmd.OutOrStdout(), cmd.ErrOrStderr(), output, root, "allocate", c.problems)
			}
			plan := c.plan
			changed, err := state.Write(c.stateDir, plan.Next)
			if err != nil {
				return err
			}
			if err := writeReport(cmd.OutOrStdout(), plan, output, reportOptions{Title: root, Past: true}); err != nil {
				return err
			}
			if output == formatText {
				for _, f := range changed {
					fmt.Fprintf(cmd.OutOrStdout(), "wrote %s\n", f)
				}
			}
			if failOnProblems && len(plan.Problems) > 0 {
				return reportedError{fmt.Sprintf("%d machines or owners could not be served", len(plan.Problems))}
			}
			return nil
		},
	}
	flags.register(cmd.Flags())
	cmd.Flags().StringVarP(&output, "output", "o", formatText, "output format: text, markdown or json")
	cmd.Flags().BoolVar(&failOnProblems, "fail-on-problems", false, "exit 1 when a machine cannot bind or a pool is exhausted")
	return cmd
}
