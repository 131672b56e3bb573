package main

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/spf13/cobra"
)

// Exit codes.
const (
	exitOK     = 0
	exitFailed = 1 // invalid input, a failed command, or problems with --fail-on-problems
	exitUsage  = 2 // wrong flags or arguments
	// exitInterrupted is the shell's code for a process ended by SIGINT
	// (128 + 2): a command stopped by a signal, or a second signal.
	exitInterrupted = 130
	defaultPath     = "."
)

// usageError marks errors in flags or arguments.
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

// reportedError is an error whose details were already printed.
type reportedError struct{ msg string }

func (e reportedError) Error() string { return e.msg }

// exitError ends a command with an exit code of its own, for commands
// whose codes differ from the others': diff's 1 means differences, so
// its failures exit 2, as git diff --exit-code and kubectl diff do. err
// is printed as the others are (a reportedError with no message prints
// nothing).
type exitError struct {
	code int
	err  error
}

func (e exitError) Error() string { return e.err.Error() }
func (e exitError) Unwrap() error { return e.err }

// run executes the command line and returns the process exit code.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	root := newRootCmd(stdout, stderr)
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return exitOK
	}
	var reported reportedError
	var usage usageError
	var coded exitError
	switch {
	case ctx.Err() != nil && errors.Is(err, context.Canceled):
		fmt.Fprintln(stderr, "Error: interrupted")
		return exitInterrupted
	case errors.As(err, &coded):
		if errors.As(err, &reported) && reported.msg == "" {
			return coded.code
		}
		fmt.Fprintln(stderr, "Error:", err)
		if errors.As(err, &usage) {
			fmt.Fprintln(stderr, "Run 'metalgit --help' for usage.")
		}
		return coded.code
	case errors.As(err, &reported):
		if reported.msg != "" {
			fmt.Fprintln(stderr, "Error:", reported.msg)
		}
		return exitFailed
	case errors.As(err, &usage):
		fmt.Fprintln(stderr, "Error:", err)
		fmt.Fprintln(stderr, "Run 'metalgit --help' for usage.")
		return exitUsage
	default:
		fmt.Fprintln(stderr, "Error:", err)
		return exitFailed
	}
}

func newRootCmd(stdout, stderr io.Writer) *cobra.Command {
	root := &cobra.Command{
		Use:   "metalgit",
		Short: "GitOps for bare-metal fleets",
		Long: `metalgit keeps a bare-metal fleet in Git: it validates an inventory of
sites, IP pools, node types, hosts, machine sets, machines, OS images and
SSH keys, binds machines to matching hosts, allocates their addresses and
writes those decisions to the state directory.`,
		SilenceUsage:  true,
		SilenceErrors: true,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				return nil
			}
			if s := cmd.SuggestionsFor(args[0]); len(s) > 0 {
				return usageError{fmt.Errorf("unknown command %q; did you mean %q?", args[0], s[0])}
			}
			return usageError{fmt.Errorf("unknown command %q", args[0])}
		},
		RunE:                       func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
		SuggestionsMinimumDistance: 2,
	}
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err} })
	root.AddCommand(newValidateCmd(), newPlanCmd(), newAllocateCmd(), newRenderCmd(), newDiffCmd(), newReconcileCmd(), newServeCmd(), newStatusCmd(), newBootCmd(), newVersionCmd())
	strictCompletion(root)
	return root
}

// strictCompletion makes cobra's `completion` command refuse a shell it
// has no script for, instead of printing its help and succeeding.
func strictCompletion(root *cobra.Command) {
	root.InitDefaultCompletionCmd()
	for _, c := range root.Commands() {
		if c.Name() != "completion" {
			continue
		}
		c.Args = func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				return nil
			}
			return usageError{fmt.Errorf("completion: no script for shell %q; want bash, zsh, fish or powershell", args[0])}
		}
		c.RunE = func(cmd *cobra.Command, _ []string) error { return cmd.Help() }
	}
}

// pathArg returns the inventory path argument, "." when absent.
func pathArg(args []string) string {
	if len(args) == 0 {
		return defaultPath
	}
	return args[0]
}

func maxOnePath(cmd *cobra.Command, args []string) error {
	if len(args) > 1 {
		return usageError{fmt.Errorf("%s takes at most one inventory path, got %d arguments", cmd.Name(), len(args))}
	}
	return nil
}
