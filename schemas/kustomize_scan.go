package schemas

import (
	"errors"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strings"

	yaml "go.yaml.in/yaml/v3"
	"sigs.k8s.io/kustomize/kyaml/filesys"
)

// copyInventory copies the inventory root of src into a new in-memory
// file system at buildRoot, leaving out the state directory and hidden
// files and directories. Files that are not copied because of what they
// are (special files, links to directories or out of the root) are
// returned with the reason, by their path below the root; a file or an
// inventory over its limit is a problem, and then the copy stops.
func copyInventory(src source, stateDir string) (filesys.FileSystem, map[string]string, Problems, error) {
	mem := filesys.MakeFsInMemory()
	if err := mem.MkdirAll(buildRoot); err != nil {
		return nil, nil, nil, fmt.Errorf("copying the inventory: %w", err)
	}
	statePath := path.Join(src.dir, stateDir)
	skipped := map[string]string{}
	var problems Problems
	var files int
	var total int64
	err := fs.WalkDir(src.fsys, src.dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel := relPath(src.dir, p)
		if p != src.dir && strings.HasPrefix(d.Name(), ".") {
			if d.IsDir() {
				return fs.SkipDir
			}
			return nil
		}
		if d.IsDir() {
			if p == statePath && p != src.dir {
				return fs.SkipDir
			}
			return mem.MkdirAll(path.Join(buildRoot, rel))
		}
		if files++; files > MaxFiles {
			problems = append(problems, Problem{File: src.name(src.dir), Rule: RuleLimit,
				Message: fmt.Sprintf("the inventory root holds more than %d files; keep only the inventory below it", MaxFiles)})
			return fs.SkipAll
		}
		if t := d.Type(); !t.IsRegular() && t&fs.ModeSymlink == 0 {
			prob, _ := fileProblem(src.name(p), ErrNotRegular)
			skipped[rel] = prob.Message // a special file: never opened
			return nil
		}
		if d.Type()&fs.ModeSymlink != 0 {
			if info, err := fs.Stat(src.fsys, p); err == nil && info.IsDir() {
				skipped[rel] = "a symbolic link to a directory is not followed; refer to the directory itself"
				return nil
			}
		}
		data, err := ReadFileLimited(src.fsys, p, MaxFileBytes)
		if err != nil {
			prob, ok := fileProblem(src.name(p), err)
			switch {
			case !ok:
				return fmt.Errorf("reading inventory: %w", err)
			case errors.Is(err, ErrTooLarge):
				problems = append(problems, prob)
				return fs.SkipAll
			}
			skipped[rel] = prob.Message
			return nil
		}
		if total += int64(len(data)); total > MaxInventoryBytes {
			problems = append(problems, Problem{File: src.name(src.dir), Rule: RuleLimit,
				Message: fmt.Sprintf("the files below the inventory root hold more than %s; keep only the inventory below it, or split the site", sizeText(MaxInventoryBytes))})
			return fs.SkipAll
		}
		return mem.WriteFile(path.Join(buildRoot, rel), data)
	})
	if err != nil {
		return nil, nil, nil, err
	}
	return mem, skipped, problems, nil
}

// relPath returns p, a path in an fs.FS, relative to dir, a directory
// above it.
func relPath(dir, p string) string {
	if dir == "." {
		return p
	}
	if p == dir {
		return "."
	}
	return strings.TrimPrefix(p, dir+"/")
}

// kustomizationScan checks every kustomization the build would read,
// from the root down through the directories it names, for what would
// make kustomize fetch, execute, or read outside the root.
type kustomizationScan struct {
	fsys     filesys.FileSystem // the in-memory copy, rooted at buildRoot
	skipped  map[string]string  // files not copied, by path below the root, and why
	name     func(rel string) string
	seen     map[string]bool
	problems Problems
}

// Fields of a kustomization that name files or directories. A
// generator, transformer or validator may also be an inline document, and
// so may a strategic merge patch: entries with a line break are.
var (
	dirFields    = []string{"resources", "bases", "components", "generators", "transformers", "validators"}
	fileFields   = []string{"crds", "configurations", "patchesStrategicMerge"}
	pathFields   = []string{"patches", "patchesJson6902", "replacements"} // lists of objects with a path
	helmFields   = []string{"helmCharts", "helmGlobals", "helmChartInflationGenerator"}
	generatorFns = []string{"configMapGenerator", "secretGenerator"}
)

// dir checks the kustomization in the directory rel (below the root),
// and the directories it names.
func (s *kustomizationScan) dir(rel string) {
	if s.seen[rel] {
		return
	}
	s.seen[rel] = true
	file := ""
	for _, name := range kustomizationFiles {
		if p := path.Join(rel, name); s.fsys.Exists(path.Join(buildRoot, p)) && !s.fsys.IsDir(path.Join(buildRoot, p)) {
			file = p
			break
		}
	}
	if file == "" {
		return // kustomize reports a directory without a kustomization
	}
	data, err := s.fsys.ReadFile(path.Join(buildRoot, file))
	if err != nil {
		return
	}
	var doc yaml.Node
	if yaml.Unmarshal(data, &doc) != nil {
		return // kustomize reports the syntax error
	}
	top := topNode(&doc)
	if top == nil || top.Kind != yaml.MappingNode {
		return
	}
	for i := 0; i+1 < len(top.Content); i += 2 {
		key, val := top.Content[i].Value, resolveAlias(top.Content[i+1])
		switch {
		case slices.Contains(dirFields, key):
			s.list(file, rel, key, val, true)
		case slices.Contains(fileFields, key):
			s.list(file, rel, key, val, false)
		case slices.Contains(pathFields, key):
			for j, item := range items(val) {
				s.mapField(file, rel, fmt.Sprintf("%s[%d]", key, j), item, "path")
			}
		case key == "openapi":
			s.mapField(file, rel, key, val, "path")
		case slices.Contains(generatorFns, key):
			for j, item := range items(val) {
				s.generator(file, rel, fmt.Sprintf("%s[%d]", key, j), item)
			}
		case slices.Contains(helmFields, key):
			s.add(file, val, key, RuleRemote, "Helm charts are not inflated in the inventory build (that would fetch the chart and run Helm); "+
				"run helm template, commit its output into the repository and list it in resources")
		}
	}
}

// list checks the scalar entries of a list of paths; inline documents
// (entries with a line break) are not paths.
func (s *kustomizationScan) list(file, dir, key string, n *yaml.Node, dirs bool) {
	for j, item := range items(n) {
		if item.Kind != yaml.ScalarNode || strings.Contains(item.Value, "\n") {
			continue
		}
		s.check(file, dir, fmt.Sprintf("%s[%d]", key, j), item, dirs)
	}
}

// mapField checks the path in field key of the mapping n.
func (s *kustomizationScan) mapField(file, dir, field string, n *yaml.Node, key string) {
	if n.Kind != yaml.MappingNode {
		return
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if v := resolveAlias(n.Content[i+1]); n.Content[i].Value == key && v.Kind == yaml.ScalarNode {
			s.check(file, dir, field+"."+key, v, false)
		}
	}
}

// generator checks a configMapGenerator or secretGenerator entry: its
// files ("path" or "key=path"), envs and env.
func (s *kustomizationScan) generator(file, dir, field string, n *yaml.Node) {
	if n.Kind != yaml.MappingNode {
		return
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		key, v := n.Content[i].Value, resolveAlias(n.Content[i+1])
		switch key {
		case "files", "envs":
			for j, item := range items(v) {
				if item.Kind != yaml.ScalarNode {
					continue
				}
				entry := *item
				if _, p, ok := strings.Cut(entry.Value, "="); ok && key == "files" {
					entry.Value = p
				}
				s.check(file, dir, fmt.Sprintf("%s.%s[%d]", field, key, j), &entry, false)
			}
		case "env":
			if v.Kind == yaml.ScalarNode {
				s.check(file, dir, field+".env", v, false)
			}
		}
	}
}

// check refuses a remote reference, an absolute path, a path leaving the
// root and a file that was not copied; it follows a local directory when
// dirs is set.
func (s *kustomizationScan) check(file, dir, field string, n *yaml.Node, dirs bool) {
	v := n.Value
	switch {
	case looksRemote(v, dirs):
		s.add(file, n, field, RuleRemote, fmt.Sprintf("%s is remote: metalgit never fetches anything while it builds the inventory; "+
			"vendor the base into the repository and refer to it by a relative path", quote(v)))
		return
	case path.IsAbs(v):
		s.add(file, n, field, RuleFile, fmt.Sprintf("%s is an absolute path: the inventory build reads only files below the inventory root; "+
			"refer to the file by a path relative to the kustomization", quote(v)))
		return
	}
	rel := path.Join(dir, v)
	if !fsValidRel(rel) {
		s.add(file, n, field, RuleFile, fmt.Sprintf("%s leads outside the inventory root: the inventory build reads only files below it; "+
			"move what it names into the inventory root", quote(v)))
		return
	}
	if why, ok := s.skipped[rel]; ok {
		s.add(file, n, field, RuleFile, fmt.Sprintf("%s is not read: %s", quote(v), why))
		return
	}
	if dirs && s.fsys.IsDir(path.Join(buildRoot, rel)) {
		s.dir(rel)
	}
}

func (s *kustomizationScan) add(file string, n *yaml.Node, field string, rule Rule, msg string) {
	s.problems = append(s.problems, Problem{File: s.name(file), Line: n.Line, Field: field, Rule: rule, Message: msg})
}

// looksRemote reports whether kustomize would fetch v: a URL (any
// scheme), and for a base, also the forms its Git loader takes without
// one (git::…, gh:…, github.com/…, user@host:path).
func looksRemote(v string, base bool) bool {
	lower := strings.ToLower(strings.TrimSpace(v))
	if strings.Contains(lower, "://") {
		return true
	}
	if !base {
		return false
	}
	return strings.HasPrefix(lower, "git::") || strings.HasPrefix(lower, "gh:") ||
		strings.HasPrefix(lower, "github.com") || strings.Contains(lower, "@")
}

// items returns the entries of a sequence node, aliases resolved.
func items(n *yaml.Node) []*yaml.Node {
	if n == nil || n.Kind != yaml.SequenceNode {
		return nil
	}
	out := make([]*yaml.Node, len(n.Content))
	for i, c := range n.Content {
		out[i] = resolveAlias(c)
	}
	return out
}

// CheckKustomizationFiles checks a kustomization whose directory holds
// files (by slash-separated path below it, the kustomization among them)
// as the inventory build checks its own: a remote base or file, an
// absolute path, one leading out of the directory or a Helm chart is a
// problem. name gives a path's name in problems. The output
// kustomization that render applies is checked with it.
func CheckKustomizationFiles(files map[string][]byte, name func(rel string) string) (Problems, error) {
	mem := filesys.MakeFsInMemory()
	for p, data := range files {
		if !fs.ValidPath(p) {
			return nil, fmt.Errorf("checking the kustomization: %q is not a relative path", p)
		}
		if err := mem.MkdirAll(path.Join(buildRoot, path.Dir(p))); err != nil {
			return nil, fmt.Errorf("checking the kustomization: %w", err)
		}
		if err := mem.WriteFile(path.Join(buildRoot, p), data); err != nil {
			return nil, fmt.Errorf("checking the kustomization: %w", err)
		}
	}
	scan := kustomizationScan{fsys: mem, skipped: map[string]string{}, name: name, seen: map[string]bool{}}
	scan.dir(".")
	scan.problems.Sort()
	return scan.problems, nil
}
