package render

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// Dir is a directory named on the command line: the flag (or argument)
// that named it and its path.
type Dir struct {
	Flag, Path string
}

// OutputDirError says why a directory cannot be written.
type OutputDirError struct {
	Flag, Path string
	Reason     string
}

func (e *OutputDirError) Error() string {
	return fmt.Sprintf("%s %s: %s", e.Flag, e.Path, e.Reason)
}

// CheckOutputDirs refuses, before anything is computed or written, an
// output directory that would delete or overwrite what metalgit did not
// write: one that is, contains or lies inside a protected directory (the
// inventory root, the state directory, a working clone), two outputs that
// are the same directory or nested, and an existing output that holds
// anything an earlier render did not write (see WriteDir and
// WriteValuesDir). Paths are compared absolute, with symbolic links
// resolved.
func CheckOutputDirs(protected, outputs []Dir) error {
	resolved := func(d Dir) (string, error) {
		p, err := resolvePath(d.Path)
		if err != nil {
			return "", &OutputDirError{Flag: d.Flag, Path: d.Path, Reason: err.Error()}
		}
		return p, nil
	}
	outs := make([]string, len(outputs))
	for i, o := range outputs {
		p, err := resolved(o)
		if err != nil {
			return err
		}
		outs[i] = p
		for _, pr := range protected {
			q, err := resolved(pr)
			if err != nil {
				return err
			}
			switch {
			case p == q:
				return &OutputDirError{Flag: o.Flag, Path: o.Path, Reason: fmt.Sprintf("is the %s (%s); choose a directory of its own", pr.Flag, pr.Path)}
			case within(p, q):
				return &OutputDirError{Flag: o.Flag, Path: o.Path, Reason: fmt.Sprintf("lies inside the %s (%s); choose a directory outside it", pr.Flag, pr.Path)}
			case within(q, p):
				return &OutputDirError{Flag: o.Flag, Path: o.Path, Reason: fmt.Sprintf("contains the %s (%s); choose a directory of its own", pr.Flag, pr.Path)}
			}
		}
		for j := range i {
			switch {
			case outs[j] == p:
				return &OutputDirError{Flag: o.Flag, Path: o.Path, Reason: fmt.Sprintf("is the same directory as %s (%s); give each its own", outputs[j].Flag, outputs[j].Path)}
			case within(p, outs[j]) || within(outs[j], p):
				return &OutputDirError{Flag: o.Flag, Path: o.Path, Reason: fmt.Sprintf("and %s (%s) are nested; give each a directory of its own, side by side", outputs[j].Flag, outputs[j].Path)}
			}
		}
	}
	return nil
}

// within reports whether p lies strictly inside dir; both are clean and
// absolute.
func within(p, dir string) bool {
	rel, err := filepath.Rel(dir, p)
	return err == nil && rel != "." && filepath.IsLocal(rel)
}

// resolvePath returns p absolute and clean, with the symbolic links of
// the part of it that exists resolved.
func resolvePath(p string) (string, error) {
	abs, err := filepath.Abs(p)
	if err != nil {
		return "", err
	}
	existing, rest := abs, ""
	for {
		r, err := filepath.EvalSymlinks(existing)
		if err == nil {
			return filepath.Join(r, rest), nil
		}
		if !errors.Is(err, fs.ErrNotExist) {
			return "", err
		}
		parent := filepath.Dir(existing)
		if parent == existing {
			return abs, nil
		}
		rest = filepath.Join(filepath.Base(existing), rest)
		existing = parent
	}
}

// CheckValuesReplaceable refuses to replace a directory that holds
// anything but the Helm values files WriteValuesDir writes.
func CheckValuesReplaceable(dir string) error {
	entries, err := existingEntries(dir)
	if err != nil {
		return err
	}
	for _, e := range entries {
		if !e.Type().IsRegular() || !strings.HasSuffix(e.Name(), valuesSuffix) {
			return notOurs(dir, e.Name())
		}
	}
	return nil
}

// existingEntries lists dir; a directory that does not exist has none.
func existingEntries(dir string) ([]fs.DirEntry, error) {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("writing %s: %w", dir, err)
	}
	return entries, nil
}

// notOurs is the error for an output directory holding name, which no
// render wrote.
func notOurs(dir, name string) error {
	return fmt.Errorf("writing %s: refusing to replace it: it holds %s, which metalgit did not write; choose an empty or new directory", dir, name)
}
