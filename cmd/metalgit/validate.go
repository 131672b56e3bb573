package main

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/metalgit/metalgit/alloc"
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
checksums, SSH keys and resource quantities. It prints one line per problem,
FILE:LINE: Kind/name: field.path: what is wrong and how to fix it, and
exits 1 if there is any. The state directory is checked too.`,
		Example: `  metalgit validate examples/dc1
  metalgit validate -o json inventory/`,
		Args: maxOnePath,
		RunE: func(cmd *cobra.Command, args []string) error {
			if output != "text" && output != "json" {
				return usageError{fmt.Errorf("unknown output format %q; use text or json", output)}
			}
			if err := flags.check(); err != nil {
				return err
			}
			root := pathArg(args)
			inv, problems, err := schemas.Load(root, schemas.LoadOptions{StateDir: flags.stateDir, Context: cmd.Context()})
			if err != nil {
				return err
			}
			problems = append(problems, inv.Validate()...)
			if len(problems) == 0 {
				problems, err = checkState(inv, root, flags)
				if err != nil {
					return err
				}
			}
			problems.Sort()
			problems = problems.Truncate(schemas.MaxProblems)
			if output == "json" {
				enc := json.NewEncoder(cmd.OutOrStdout())
				enc.SetIndent("", "  ")
				if problems == nil {
					problems = schemas.Problems{}
				}
				if err := enc.Encode(map[string]any{"valid": len(problems) == 0, "problems": problems}); err != nil {
					return fmt.Errorf("writing result: %w", err)
				}
				if len(problems) > 0 {
					return reportedError{}
				}
				return nil
			}
			if len(problems) > 0 {
				return printProblems(cmd.ErrOrStderr(), problems)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s: valid (%s)\n", root, counts(inv))
			return nil
		},
	}
	flags.register(cmd.Flags())
	cmd.Flags().StringVarP(&output, "output", "o", "text", "output format: text or json")
	return cmd
}

// checkState reads the state and checks it against the inventory's pools
// as a planning pass would, without planning anything.
func checkState(inv *schemas.Inventory, root string, flags inventoryFlags) (schemas.Problems, error) {
	st, problems, err := readState(root, flags)
	if err != nil || len(problems) > 0 {
		return problems, err
	}
	if _, err := alloc.Compute(inv, st); err != nil {
		if errors.As(err, &problems) {
			return problems, nil
		}
		return nil, err
	}
	return nil, nil
}

func counts(inv *schemas.Inventory) string {
	return fmt.Sprintf("%d Site, %d IPPools, %d NodeTypes, %d Hosts, %d MachineSets, %d Machines, %d OSImages, %d SSHKeys",
		len(inv.Sites), len(inv.IPPools), len(inv.NodeTypes), len(inv.Hosts), len(inv.MachineSets), len(inv.Machines), len(inv.OSImages), len(inv.SSHKeys))
}
