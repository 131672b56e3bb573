package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/metalgit/metalgit/schemas"
)

func newValidateCmd() *cobra.Command {
	var flags inventoryFlags
	var output string
	cmd := &cobra.Command{
		Use:   "validate [PATH]",
		Short: "Check an inventory and report every problem",
		Long: `Validate loads the inventory at PATH (default: the current directory) and
checks every rule: YAML syntax, kinds and fields, names, MAC and BMC
addresses, pools and their overlaps, references between documents,
checksums, SSH keys and resource quantities. The state directory is checked
too: every address it holds must be allocatable in its pool. Last, it runs
what render would run on the state the next allocation gives: every
user-data and network-data template, executed for each machine (a node type
no machine is bound to is executed with a representative machine), and the
size limits. It prints one line per problem,
FILE:LINE: Kind/name: field.path: what is wrong and how to fix it, and
exits 1 if there is any.`,
		Example: `  metalgit validate examples/dc1
  metalgit validate -o json inventory/`,
		Args: maxOnePath,
		RunE: func(cmd *cobra.Command, args []string) error {
			if output != "text" && output != "json" {
				return usageError{fmt.Errorf("unknown output format %q; use text or json", output)}
			}
			root := pathArg(args)
			c, err := checkInventory(cmd.Context(), root, flags, true)
			if err != nil {
				return err
			}
			problems := c.problems
			problems.Sort()
			problems = problems.Truncate(schemas.MaxProblems)
			if output == "json" {
				if problems == nil {
					problems = schemas.Problems{}
				}
				if err := writeJSON(cmd.OutOrStdout(), invalidJSON{Valid: len(problems) == 0, Problems: problems}); err != nil {
					return err
				}
				if len(problems) > 0 {
					return reportedError{}
				}
				return nil
			}
			if len(problems) > 0 {
				return printProblems(cmd.ErrOrStderr(), problems)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s: valid (%s)\n", root, counts(c.inv))
			return nil
		},
	}
	flags.register(cmd.Flags())
	cmd.Flags().StringVarP(&output, "output", "o", "text", "output format: text or json")
	return cmd
}

func counts(inv *schemas.Inventory) string {
	return fmt.Sprintf("%d Site, %d IPPools, %d NodeTypes, %d Hosts, %d MachineSets, %d Machines, %d OSImages, %d SSHKeys",
		len(inv.Sites), len(inv.IPPools), len(inv.NodeTypes), len(inv.Hosts), len(inv.MachineSets), len(inv.Machines), len(inv.OSImages), len(inv.SSHKeys))
}
