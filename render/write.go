package render

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"sigs.k8s.io/kustomize/kyaml/kio"
)

// WriteDir writes a rendered stream to dir as one file per object
// (<kind>-<name>.yaml, lower case) plus a kustomization.yaml listing them,
// ready for Flux or Argo CD. The directory is replaced as a whole: the
// files are written to a temporary directory next to it, which is then
// renamed into place, so a failure never leaves half a result. An existing
// dir must look like an earlier result (only *.yaml files), so that a
// mistyped -o never deletes anything else. It returns the files written.
func WriteDir(dir string, stream []byte) ([]string, error) {
	return writeDir(dir, stream)
}

// DirWriter writes rendered streams to one directory again and again, as
// a reconciler does after every pass: each Write is WriteDir, except that
// it does nothing when the stream is the one the last Write wrote and the
// directory still holds exactly the files written then, each with the size
// and modification time it had. The zero DirWriter writes to Dir; it is
// not safe for concurrent use.
type DirWriter struct {
	// Dir is the directory written.
	Dir string

	last *lastWrite // nil before the first Write and after a failed one
}

// lastWrite is what a DirWriter wrote last.
type lastWrite struct {
	sum   [sha256.Size]byte // of the stream
	files []string          // as WriteDir returned them
	stamp map[string]fileStamp
}

// fileStamp is what tells a file written from one changed since.
type fileStamp struct {
	size    int64
	modTime time.Time
}

// Write writes stream to w.Dir like WriteDir, unless w.Dir already holds
// it (see DirWriter). It returns the files of the directory.
func (w *DirWriter) Write(stream []byte) ([]string, error) {
	sum := sha256.Sum256(stream)
	if w.last != nil && w.last.sum == sum {
		if stamp, err := stampDir(w.Dir); err == nil && maps.Equal(stamp, w.last.stamp) {
			return slices.Clone(w.last.files), nil
		}
	}
	w.last = nil
	files, err := writeDir(w.Dir, stream)
	if err != nil {
		return nil, err
	}
	// Without stamps the next Write writes again, which is always right.
	if stamp, err := stampDir(w.Dir); err == nil {
		w.last = &lastWrite{sum: sum, files: slices.Clone(files), stamp: stamp}
	}
	return files, nil
}

// stampDir returns the stamp of every entry of dir, failing on anything
// but a regular file.
func stampDir(dir string) (map[string]fileStamp, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	stamp := make(map[string]fileStamp, len(entries))
	for _, e := range entries {
		if !e.Type().IsRegular() {
			return nil, fmt.Errorf("%s is not a regular file", e.Name())
		}
		info, err := e.Info()
		if err != nil {
			return nil, err
		}
		stamp[e.Name()] = fileStamp{size: info.Size(), modTime: info.ModTime()}
	}
	return stamp, nil
}

func writeDir(dir string, stream []byte) ([]string, error) {
	nodes, err := kio.FromBytes(stream)
	if err != nil {
		return nil, fmt.Errorf("writing %s: reading the rendered stream: %w", dir, err)
	}
	files := map[string][]byte{}
	names := make([]string, 0, len(nodes))
	for _, n := range nodes {
		f := fileName(n.GetKind(), n.GetName())
		if _, dup := files[f]; dup {
			return nil, fmt.Errorf("writing %s: two objects would be written to %s (%s/%s in two namespaces?)", dir, f, n.GetKind(), n.GetName())
		}
		s, err := n.String()
		if err != nil {
			return nil, fmt.Errorf("writing %s: %w", dir, err)
		}
		files[f] = []byte(s)
		names = append(names, f)
	}
	slices.Sort(names)
	if _, dup := files["kustomization.yaml"]; dup {
		return nil, fmt.Errorf("writing %s: an object would overwrite kustomization.yaml", dir)
	}
	files["kustomization.yaml"] = kustomization(names)

	return replaceWithFiles(dir, files, append(slices.Clone(names), "kustomization.yaml"), CheckOutputReplaceable)
}

// replaceWithFiles replaces dir with a directory holding files, written in
// the order given: into a temporary directory next to dir, then renamed into
// place, so that a failure never leaves half a result. An existing dir must
// pass check. It returns the paths written.
func replaceWithFiles(dir string, files map[string][]byte, order []string, check func(string) error) ([]string, error) {
	if err := check(dir); err != nil {
		return nil, err
	}
	parent := filepath.Dir(filepath.Clean(dir))
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return nil, fmt.Errorf("writing %s: %w", dir, err)
	}
	tmp, err := os.MkdirTemp(parent, "."+filepath.Base(dir)+".tmp-")
	if err != nil {
		return nil, fmt.Errorf("writing %s: %w", dir, err)
	}
	defer os.RemoveAll(tmp)                      //nolint:errcheck // gone already after a successful rename
	if err := os.Chmod(tmp, 0o755); err != nil { //nolint:gosec // rendered files, readable like the repository they come from
		return nil, fmt.Errorf("writing %s: %w", dir, err)
	}
	for _, f := range order {
		if err := os.WriteFile(filepath.Join(tmp, f), files[f], 0o644); err != nil { //nolint:gosec // not secret beyond what Git holds
			return nil, fmt.Errorf("writing %s: %w", dir, err)
		}
	}
	if err := replaceDir(tmp, dir); err != nil {
		return nil, fmt.Errorf("writing %s: %w", dir, err)
	}
	out := make([]string, len(order))
	for i, f := range order {
		out[i] = filepath.Join(dir, f)
	}
	return out, nil
}

// CheckOutputReplaceable refuses to replace a directory that an earlier
// WriteDir did not write: it must not exist, be empty, or hold *.yaml
// files and the kustomization.yaml WriteDir writes, listing exactly the
// others. A directory of the inventory's own YAML files is therefore never
// taken for a rendered one.
func CheckOutputReplaceable(dir string) error {
	entries, err := existingEntries(dir)
	if err != nil || len(entries) == 0 {
		return err
	}
	for _, e := range entries {
		if !e.Type().IsRegular() || !strings.HasSuffix(e.Name(), ".yaml") {
			return notOurs(dir, e.Name())
		}
	}
	k, err := os.ReadFile(filepath.Join(dir, "kustomization.yaml"))
	if err != nil || !generatedKustomization(k) {
		return fmt.Errorf("writing %s: refusing to replace it: it is not a directory metalgit rendered (its kustomization.yaml is missing or lists other files); choose an empty or new directory", dir)
	}
	return nil
}

// generatedKustomization reports whether k is a kustomization.yaml as
// WriteDir writes it: the header, then one "- <file>.yaml" line per
// resource (or "resources: []").
func generatedKustomization(k []byte) bool {
	if bytes.Equal(k, kustomization(nil)) {
		return true
	}
	rest, ok := bytes.CutPrefix(k, []byte(kustomizationHeader))
	if !ok || len(rest) == 0 {
		return false
	}
	for _, line := range strings.Split(strings.TrimSuffix(string(rest), "\n"), "\n") {
		name, ok := strings.CutPrefix(line, "- ")
		if !ok || !strings.HasSuffix(name, ".yaml") || strings.ContainsAny(name, "/ ") {
			return false
		}
	}
	return true
}

// replaceDir puts tmp in dir's place: the old dir is moved aside, tmp
// renamed, and the old one removed; if the rename fails the old dir is put
// back.
func replaceDir(tmp, dir string) error {
	old := ""
	if _, err := os.Stat(dir); err == nil {
		old = tmp + ".old"
		if err := os.Rename(dir, old); err != nil {
			return err
		}
	}
	if err := os.Rename(tmp, dir); err != nil {
		if old != "" {
			_ = os.Rename(old, dir)
		}
		return err
	}
	if old != "" {
		return os.RemoveAll(old)
	}
	return nil
}
