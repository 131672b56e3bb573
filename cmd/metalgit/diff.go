package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/metalgit/metalgit/reconciler"
	"github.com/metalgit/metalgit/render"
	"github.com/metalgit/metalgit/render/diff"
	"github.com/metalgit/metalgit/schemas"
)

// Exit codes of diff, as git diff --exit-code and kubectl diff have them.
const (
	exitDiffers    = 1 // with --exit-code: the two sides differ
	exitDiffFailed = 2 // any error, so that 1 always means differences
)

// diffFlags are diff's own flags.
type diffFlags struct {
	inventoryFlags
	base, head string
	output     string
	exitCode   bool
}

func newDiffCmd() *cobra.Command {
	var flags diffFlags
	cmd := &cobra.Command{
		Use:   "diff --base REF [PATH]",
		Short: "Show the objects a change to the inventory adds, removes and changes, without a cluster",
		Long: `Diff renders the inventory at PATH twice, as the Git revision --base has
it and as the working tree (or the revision --head) has it, and prints
what differs object by object: objects added, removed, and changed with
each changed field by its path, old → new. The values of a Secret's data
and stringData are never printed, only that they changed.

Each side is rendered as the controller would render that commit: with
the state its allocation gives (what plan shows), so a new host shows its
BareMetalHost before the controller commits its lease. Revisions are read
from the repository's object store: nothing is checked out, written or
fetched. Each side is loaded, checked and confined exactly as render does
it; a side with problems is reported by name (base or head) and ends diff
with an error.

The exit code is 0 whether or not the sides differ, unless --exit-code is
set: then 1 when they differ. Any error exits 2.`,
		Example: `  metalgit diff --base origin/main .
  metalgit diff --base main --head HEAD -o markdown examples/dc1 > diff.md
  metalgit diff --base HEAD~1 --exit-code .`,
		Args: maxOnePath,
		RunE: func(cmd *cobra.Command, args []string) error {
			err := runDiff(cmd, pathArg(args), flags)
			var usage usageError
			var coded exitError
			if err == nil || errors.As(err, &usage) || errors.As(err, &coded) {
				return err
			}
			return exitError{code: exitDiffFailed, err: err}
		},
	}
	flags.register(cmd.Flags())
	cmd.Flags().StringVar(&flags.base, "base", "", "the Git revision to compare from: a branch, tag, commit or expression such as HEAD~1 (required)")
	cmd.Flags().StringVar(&flags.head, "head", "", "the Git revision to compare to (default: the working tree)")
	cmd.Flags().StringVarP(&flags.output, "output", "o", formatText, "output format: text or markdown")
	cmd.Flags().BoolVar(&flags.exitCode, "exit-code", false, "exit 1 when the two sides differ")
	return cmd
}

// runDiff renders both sides, compares them and writes the result.
func runDiff(cmd *cobra.Command, root string, flags diffFlags) error {
	if err := flags.check(); err != nil {
		return err
	}
	if flags.base == "" {
		return usageError{errors.New("--base is required: name the Git revision to compare from, such as main or origin/main")}
	}
	if !slices.Contains([]string{formatText, formatMarkdown}, flags.output) {
		return usageError{fmt.Errorf("--output %q: use text or markdown", flags.output)}
	}
	if err := checkRoot(root); err != nil {
		return err
	}
	base, err := openSide("base", root, flags.base)
	if err != nil {
		return err
	}
	head := diffSide{name: "head", label: "working tree", path: root, src: inventorySource{root: root}}
	if flags.head != "" {
		if head, err = openSide("head", root, flags.head); err != nil {
			return err
		}
	}
	var failed []string
	streams := make([][]byte, 2)
	for i, s := range []diffSide{base, head} {
		out, err := s.render(cmd, flags.inventoryFlags)
		var problems schemas.Problems
		if errors.As(err, &problems) {
			printSideProblems(cmd.ErrOrStderr(), s, problems)
			failed = append(failed, fmt.Sprintf("%s: %s", s.name, problemCount(problems)))
			continue
		}
		if err != nil {
			return fmt.Errorf("%s (%s): %w", s.name, s.label, err)
		}
		streams[i] = out
	}
	if len(failed) > 0 {
		return exitError{code: exitDiffFailed, err: reportedError{strings.Join(failed, "; ")}}
	}
	result, err := diff.Streams(streams[0], streams[1])
	if err != nil {
		return err
	}
	h := diff.Header{Path: root, Base: base.label, Head: head.label}
	write := diff.WriteText
	if flags.output == formatMarkdown {
		write = diff.WriteMarkdown
	}
	if err := write(cmd.OutOrStdout(), h, result); err != nil {
		return err
	}
	if flags.exitCode && !result.Empty() {
		return exitError{code: exitDiffers, err: reportedError{}}
	}
	return nil
}

// diffSide is one side of a diff: the inventory at a revision or in the
// working tree.
type diffSide struct {
	name  string // base or head
	label string // the revision and its commit, or "working tree"
	path  string // the inventory path as the user wrote it
	src   inventorySource
}

// file names a file of the side as the working tree's would be named:
// below the path the user wrote, not the revision's tree.
func (s diffSide) file(name string) string {
	if s.src.fsys == nil {
		return name
	}
	if name == s.src.root {
		return s.path
	}
	rest := name
	if s.src.root != "." {
		var below bool
		if rest, below = strings.CutPrefix(name, s.src.root+"/"); !below {
			return name
		}
	}
	return filepath.Join(s.path, filepath.FromSlash(rest))
}

// openSide reads the inventory directory root as revision rev has it.
func openSide(name, root, rev string) (diffSide, error) {
	r, err := reconciler.ReadRevision(root, rev)
	if err != nil {
		return diffSide{}, fmt.Errorf("%s: %w", name, err)
	}
	return diffSide{
		name:  name,
		path:  root,
		label: fmt.Sprintf("%s at %s", rev, r.Commit[:min(12, len(r.Commit))]),
		src:   inventorySource{fsys: r.FS, root: r.Root},
	}, nil
}

// render checks the side's inventory and state as plan does and renders
// the state its allocation gives, as the controller would; problems come
// back as schemas.Problems. Hosts and machines the allocation cannot serve
// are listed on stderr, naming the side.
func (s diffSide) render(cmd *cobra.Command, flags inventoryFlags) ([]byte, error) {
	c, err := checkInventoryIn(cmd.Context(), s.src, flags, true)
	if err != nil {
		return nil, err
	}
	if len(c.problems) > 0 {
		return nil, c.problems
	}
	out, omitted, err := render.Report(render.Input{Inventory: c.inv, State: c.plan.Next, Root: s.src.root, FS: s.src.fsys},
		render.Options{Context: cmd.Context()})
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	printOmissions(&b, omitted, c)
	for line := range strings.Lines(b.String()) {
		fmt.Fprintf(cmd.ErrOrStderr(), "%s: %s", s.name, line)
	}
	return out, nil
}

// printSideProblems prints a side's problems sorted, one per line, each
// naming the side.
func printSideProblems(w io.Writer, s diffSide, problems schemas.Problems) {
	problems.Sort()
	fmt.Fprintf(w, "%s (%s) has %s:\n", s.name, s.label, problemCount(problems))
	for _, p := range problems.Truncate(schemas.MaxProblems) {
		p.File = s.file(p.File)
		fmt.Fprintf(w, "%s: %s\n", s.name, p.String())
	}
}
