package main

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/metalgit/metalgit/render"
)

func newRenderCmd() *cobra.Command {
	var flags inventoryFlags
	var outDir, overlay string
	cmd := &cobra.Command{
		Use:   "render [PATH]",
		Short: "Render BareMetalHosts and their Secrets from the inventory and its state",
		Long: `Render validates the inventory at PATH, reads its state and prints the
manifests for the cluster: one Metal3 BareMetalHost per Host with its
preprovisioning network-data Secret and, for a host bound to a machine, the
machine's image and its user-data and network-data Secrets. Everything goes
through kustomize; PATH/render/kustomization.yaml (or the file named by
--output-kustomization), when present, is applied on top with the generated
objects as its base. The output is deterministic.

Render does not allocate: it renders the bindings and leases in the state
directory. Run 'metalgit allocate' first.

With -o DIR it writes one file per object (<kind>-<name>.yaml) and a
kustomization.yaml to DIR, replacing DIR as a whole.`,
		Example: `  metalgit render examples/dc1
  metalgit render -o deploy/ .
  metalgit render --output-kustomization overlays/prod/kustomization.yaml .`,
		Args: maxOnePath,
		RunE: func(cmd *cobra.Command, args []string) error {
			root := pathArg(args)
			l, err := loadInventory(cmd.ErrOrStderr(), root, flags)
			if err != nil {
				return err
			}
			out, err := render.Render(render.Input{Inventory: l.inv, State: l.state, Root: root},
				render.Options{OutputKustomization: overlay})
			var missing *render.MissingAddressError
			if errors.As(err, &missing) {
				return fmt.Errorf("%w (state directory %s)", err, l.stateDir)
			}
			if err != nil {
				return err
			}
			if outDir == "" {
				_, err := cmd.OutOrStdout().Write(out)
				return err
			}
			files, err := render.WriteDir(outDir, out)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "wrote %d files to %s\n", len(files), outDir)
			return nil
		},
	}
	flags.register(cmd.Flags())
	cmd.Flags().StringVarP(&outDir, "output-dir", "o", "", "write one file per object and a kustomization.yaml to this directory instead of stdout")
	cmd.Flags().StringVar(&overlay, "output-kustomization", "", "kustomization applied on top of the generated objects (default PATH/render/kustomization.yaml when it exists)")
	return cmd
}
