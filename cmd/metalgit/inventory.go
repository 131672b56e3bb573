package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"

	"github.com/metalgit/metalgit/alloc"
	"github.com/metalgit/metalgit/alloc/state"
	"github.com/metalgit/metalgit/schemas"
)

// inventoryFlags are the flags every inventory command shares.
type inventoryFlags struct {
	stateDir string
}

// loaded is a validated inventory with its state.
type loaded struct {
	inv      *schemas.Inventory
	stateDir string
	state    *state.State
}

// loadInventory loads and validates the inventory at root and reads its
// state. Problems are printed to w, one per line, and returned as a
// reportedError so that nothing is planned or written.
func loadInventory(ctx context.Context, w io.Writer, root string, flags inventoryFlags) (*loaded, error) {
	if err := flags.check(); err != nil {
		return nil, err
	}
	inv, problems, err := schemas.Load(root, schemas.LoadOptions{StateDir: flags.stateDir, Context: ctx})
	if err != nil {
		return nil, err
	}
	problems = append(problems, inv.Validate()...)
	if len(problems) > 0 {
		return nil, printProblems(w, problems)
	}
	dir := filepath.Join(root, flags.stateDir)
	st, stProblems, err := readState(root, flags)
	if err != nil {
		return nil, err
	}
	if len(stProblems) > 0 {
		return nil, printProblems(w, stProblems)
	}
	return &loaded{inv: inv, stateDir: dir, state: st}, nil
}

// printProblems prints problems sorted, one per line, and returns the error
// that ends the command.
func printProblems(w io.Writer, problems schemas.Problems) error {
	problems.Sort()
	for _, p := range problems.Truncate(schemas.MaxProblems) {
		fmt.Fprintln(w, p.String())
	}
	noun := "problems"
	if len(problems) == 1 {
		noun = "problem"
	}
	return reportedError{fmt.Sprintf("%d %s", len(problems), noun)}
}

// computePlan runs a planning pass; state problems found on the way are
// printed like inventory problems.
func computePlan(w io.Writer, l *loaded) (*alloc.Plan, error) {
	plan, err := alloc.Compute(l.inv, l.state)
	var problems schemas.Problems
	if errors.As(err, &problems) {
		return nil, printProblems(w, problems)
	}
	return plan, err
}

// check refuses a --state-dir that is not a relative path below the
// inventory root.
func (f *inventoryFlags) check() error {
	if err := schemas.CheckStateDir(f.stateDir); err != nil {
		return usageError{fmt.Errorf("--state-dir: %w", err)}
	}
	return nil
}

// readState reads the state directory below root, refusing one reached
// through a symbolic link.
func readState(root string, flags inventoryFlags) (*state.State, schemas.Problems, error) {
	if err := schemas.CheckStateDirOnDisk(root, flags.stateDir); err != nil {
		return nil, nil, err
	}
	return state.Read(filepath.Join(root, flags.stateDir))
}

func (f *inventoryFlags) register(cmdFlags interface {
	StringVar(p *string, name string, value string, usage string)
}) {
	cmdFlags.StringVar(&f.stateDir, "state-dir", schemas.DefaultStateDir, "state directory, relative to the inventory root")
}
