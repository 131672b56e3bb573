package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/metalgit/metalgit/alloc"
	"github.com/metalgit/metalgit/alloc/state"
	"github.com/metalgit/metalgit/render"
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

// checkRoot refuses an inventory path that is not a directory, naming it
// as the user wrote it.
func checkRoot(root string) error {
	info, err := os.Stat(root)
	switch {
	case errors.Is(err, fs.ErrNotExist), errors.Is(err, syscall.ENOTDIR):
		return fmt.Errorf("no such directory: %s", root)
	case err != nil:
		return fmt.Errorf("reading inventory: %w", err)
	case !info.IsDir():
		return fmt.Errorf("not a directory: %s; name the inventory's directory", root)
	}
	return nil
}

// check is what an inventory command found: a validated inventory with
// its state and the plan of its next state, or the problems that stopped
// it there.
type check struct {
	*loaded
	plan     *alloc.Plan
	problems schemas.Problems
}

// checkInventory loads and validates the inventory at root, reads its
// state, checks the state against the pools by planning the next state
// (alloc.Compute: every command checks the state this one way) and, with
// rendering, checks what render would reject in that next state
// (render.Check). Problems stop it at the first stage that has any; they
// are returned, not printed.
func checkInventory(ctx context.Context, root string, flags inventoryFlags, rendering bool) (*check, error) {
	if err := flags.check(); err != nil {
		return nil, err
	}
	if err := checkRoot(root); err != nil {
		return nil, err
	}
	return checkInventoryIn(ctx, inventorySource{root: root}, flags, rendering)
}

// inventorySource is where an inventory is read: the operating system's
// files (fsys nil, root a path on disk), or a file system such as a Git
// revision's tree (root a slash-separated path in fsys).
type inventorySource struct {
	fsys fs.FS
	root string
}

// checkInventoryIn is checkInventory for an inventory in src, whose root
// the caller checked, with flags checked.
func checkInventoryIn(ctx context.Context, src inventorySource, flags inventoryFlags, rendering bool) (*check, error) {
	root := src.root
	inv, problems, err := schemas.Load(root, schemas.LoadOptions{StateDir: flags.stateDir, Context: ctx, FS: src.fsys})
	if err != nil {
		return nil, err
	}
	problems = append(problems, inv.Validate()...)
	stateDir := filepath.Join(root, flags.stateDir)
	if src.fsys != nil {
		stateDir = path.Join(root, filepath.ToSlash(flags.stateDir))
	}
	c := &check{loaded: &loaded{inv: inv, stateDir: stateDir}}
	if len(problems) > 0 {
		c.problems = problems
		return c, nil
	}
	st, problems, err := readState(src, flags)
	if err != nil {
		return nil, err
	}
	if len(problems) > 0 {
		c.problems = problems
		return c, nil
	}
	c.state = st
	plan, err := alloc.Compute(inv, st)
	if errors.As(err, &problems) {
		c.problems = problems
		return c, nil
	}
	if err != nil {
		return nil, err
	}
	c.plan = plan
	if rendering {
		c.problems = render.Check(inv, plan.Next)
	}
	return c, nil
}

// printProblems prints problems sorted, one per line, and returns the error
// that ends the command.
func printProblems(w io.Writer, problems schemas.Problems) error {
	problems.Sort()
	for _, p := range problems.Truncate(schemas.MaxProblems) {
		fmt.Fprintln(w, p.String())
	}
	return reportedError{problemCount(problems)}
}

func problemCount(problems schemas.Problems) string {
	noun := "problems"
	if len(problems) == 1 {
		noun = "problem"
	}
	return fmt.Sprintf("%d %s", len(problems), noun)
}

// invalidJSON is what validate, plan and allocate print with -o json for
// an inventory or state that has problems.
type invalidJSON struct {
	Valid    bool             `json:"valid"`
	Problems schemas.Problems `json:"problems"`
}

// writeJSON writes v indented.
func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return fmt.Errorf("writing result: %w", err)
	}
	return nil
}

// check refuses a --state-dir that is not a relative path below the
// inventory root.
func (f *inventoryFlags) check() error {
	if err := schemas.CheckStateDir(f.stateDir); err != nil {
		return usageError{fmt.Errorf("--state-dir: %w", err)}
	}
	return nil
}

// readState reads the state directory below the inventory root,
// refusing one reached through a symbolic link.
func readState(src inventorySource, flags inventoryFlags) (*state.State, schemas.Problems, error) {
	if src.fsys != nil {
		dir := path.Join(src.root, filepath.ToSlash(flags.stateDir))
		if err := checkStateDirIn(src.fsys, src.root, flags.stateDir); err != nil {
			return nil, nil, err
		}
		return state.ReadFS(src.fsys, dir)
	}
	if err := schemas.CheckStateDirOnDisk(src.root, flags.stateDir); err != nil {
		return nil, nil, err
	}
	return state.Read(filepath.Join(src.root, flags.stateDir))
}

// checkStateDirIn is schemas.CheckStateDirOnDisk for a state directory
// in fsys: every element of its path that exists must be a directory,
// not a symbolic link.
func checkStateDirIn(fsys fs.FS, root, dir string) error {
	p := root
	for part := range strings.SplitSeq(path.Clean(filepath.ToSlash(dir)), "/") {
		p = path.Join(p, part)
		info, err := fs.Lstat(fsys, p)
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		if err != nil {
			return &schemas.StateDirError{Dir: dir, Reason: err.Error()}
		}
		if !info.IsDir() {
			return &schemas.StateDirError{Dir: dir, Reason: fmt.Sprintf("cannot be read: %s is not a directory (a symbolic link is never followed); remove it", p)}
		}
	}
	return nil
}

func (f *inventoryFlags) register(cmdFlags interface {
	StringVar(p *string, name string, value string, usage string)
}) {
	cmdFlags.StringVar(&f.stateDir, "state-dir", schemas.DefaultStateDir, "state directory, relative to the inventory root")
}
