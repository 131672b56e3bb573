package main

import (
	"errors"
	"fmt"
	"io"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/metalgit/metalgit/render"
	"github.com/metalgit/metalgit/schemas"
)

func newRenderCmd() *cobra.Command {
	var flags inventoryFlags
	var outDir, overlay, valuesDir string
	var failOnProblems bool
	cmd := &cobra.Command{
		Use:   "render [PATH]",
		Short: "Render BareMetalHosts, their Secrets and the Site's objects from the inventory and its state",
		Long: `Render validates the inventory at PATH, reads its state and prints the
manifests for the cluster: one Metal3 BareMetalHost per Host with its
preprovisioning network-data Secret and, for a host bound to a machine, the
machine's image and its user-data and network-data Secrets; per Site, the
boot proxy's Multus NetworkAttachmentDefinition, MetalLB IPAddressPools and
L2Advertisements and a Flux HelmRelease per enabled deploy component
(metal3, metalgit-boot-proxy, multus). Everything goes
through kustomize; PATH/render/kustomization.yaml (or the file named by
--output-kustomization), when present, is applied on top with the generated
objects as its base. The output is deterministic.

Render does not allocate: it renders the bindings and leases in the state
directory. Run 'metalgit allocate' first. It checks the state as plan does
(every address allocatable in its pool) and renders nothing when it has a
problem. A host without a lease, or a bound machine without an address,
in the state is left out (the machine's host is rendered without it), as
is a machine the state binds to no host: each is listed on stderr with
what would fix it, and the rest of the fleet is rendered. The exit code
is 0 unless --fail-on-problems is set. A template or user-data that
render cannot use renders nothing and is reported as validate reports it.

With -o DIR it writes one file per object (<kind>-<name>.yaml) and a
kustomization.yaml to DIR, replacing DIR as a whole. DIR may not be, hold
or lie inside PATH or the state directory, and an existing DIR must be one
metalgit rendered: anything else is refused before anything is written.

With --helm-values-dir DIR it writes each enabled component's Helm values
to DIR/<component>-values.yaml instead of rendering Flux HelmReleases (the
same values, before any output kustomization), for Argo CD or plain Helm;
DIR is replaced as a whole too.`,
		Example: `  metalgit render examples/dc1
  metalgit render -o ../deploy .
  metalgit render -o ../deploy --helm-values-dir ../values .
  metalgit render --output-kustomization overlays/prod/kustomization.yaml .`,
		Args: maxOnePath,
		RunE: func(cmd *cobra.Command, args []string) error {
			root := pathArg(args)
			if err := flags.check(); err != nil {
				return err
			}
			if err := checkRenderDirs(root, flags.stateDir, outDir, valuesDir); err != nil {
				return err
			}
			c, err := checkInventory(cmd.Context(), root, flags, false)
			if err != nil {
				return err
			}
			if len(c.problems) > 0 {
				return printProblems(cmd.ErrOrStderr(), c.problems)
			}
			out, omitted, err := render.Report(render.Input{Inventory: c.inv, State: c.state, Root: root},
				render.Options{OutputKustomization: overlay, WithoutHelmReleases: valuesDir != "", Context: cmd.Context()})
			var problems schemas.Problems
			if errors.As(err, &problems) {
				return printProblems(cmd.ErrOrStderr(), problems)
			}
			if err != nil {
				return err
			}
			var values []render.ComponentValues
			if valuesDir != "" {
				// Computed before anything is written, so that an error writes nothing.
				if values, err = render.HelmValues(c.inv); err != nil {
					return err
				}
			}
			if outDir == "" {
				if _, err := cmd.OutOrStdout().Write(out); err != nil {
					return err
				}
			} else {
				files, err := render.WriteDir(outDir, out)
				if err != nil {
					return err
				}
				fmt.Fprintf(cmd.ErrOrStderr(), "wrote %d files to %s\n", len(files), outDir)
			}
			if valuesDir != "" {
				files, err := render.WriteValuesDir(valuesDir, values)
				if err != nil {
					return err
				}
				fmt.Fprintf(cmd.ErrOrStderr(), "wrote %d values files to %s\n", len(files), valuesDir)
			}
			printOmissions(cmd.ErrOrStderr(), omitted, c)
			if failOnProblems && len(omitted) > 0 {
				return reportedError{fmt.Sprintf("%d hosts or machines not rendered", len(omitted))}
			}
			return nil
		},
	}
	flags.register(cmd.Flags())
	cmd.Flags().StringVarP(&outDir, "output-dir", "o", "", "write one file per object and a kustomization.yaml to this directory instead of stdout")
	cmd.Flags().StringVar(&valuesDir, "helm-values-dir", "", "write each enabled component's Helm values to this directory as <component>-values.yaml, instead of HelmReleases")
	cmd.Flags().BoolVar(&failOnProblems, "fail-on-problems", false, "exit 1 when a host or machine is left out for want of an address or a host")
	cmd.Flags().StringVar(&overlay, "output-kustomization", "", "kustomization applied on top of the generated objects (default PATH/render/kustomization.yaml when it exists)")
	return cmd
}

// printOmissions lists the hosts and machines render left out, each with
// what fixes it: allocate, or, when the next allocation cannot serve it
// either (c's plan says so), the plan's reason.
func printOmissions(w io.Writer, omitted []render.Omission, c *check) {
	reasons := map[string]string{}
	for _, p := range c.plan.Problems {
		reasons[p.Owner] = p.Reason
	}
	for _, o := range omitted {
		if reason, ok := reasons[o.Owner]; ok {
			fmt.Fprintf(w, "%s; allocate cannot serve it either: %s\n", o, reason)
			continue
		}
		fmt.Fprintf(w, "%s; run 'metalgit allocate' (state directory %s)\n", o, c.stateDir)
	}
}

// checkRenderDirs refuses, before anything is read or written, output
// directories that are, hold or lie in the inventory root or the state
// directory, that are nested in each other, or that hold files an
// earlier render did not write.
func checkRenderDirs(root, stateDir, outDir, valuesDir string) error {
	var outputs []render.Dir
	if outDir != "" {
		outputs = append(outputs, render.Dir{Flag: "--output-dir", Path: outDir})
	}
	if valuesDir != "" {
		outputs = append(outputs, render.Dir{Flag: "--helm-values-dir", Path: valuesDir})
	}
	protected := []render.Dir{{Flag: "inventory root", Path: root}, {Flag: "state directory", Path: filepath.Join(root, stateDir)}}
	if err := render.CheckOutputDirs(protected, outputs); err != nil {
		return usageError{err}
	}
	if outDir != "" {
		if err := render.CheckOutputReplaceable(outDir); err != nil {
			return err
		}
	}
	if valuesDir != "" {
		return render.CheckValuesReplaceable(valuesDir)
	}
	return nil
}
