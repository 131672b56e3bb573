package schemas

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"path"
	"slices"
	"strings"

	yaml "go.yaml.in/yaml/v3"
	"sigs.k8s.io/kustomize/kyaml/filesys"
	sigsyaml "sigs.k8s.io/yaml"
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
//
// It reads a kustomization the way kustomize does
// (types.Kustomization.Unmarshal): the bytes the build reads, turned into
// JSON by sigs.k8s.io/yaml, which resolves anchors, aliases and merge
// keys as kustomize sees them, with every key that encoding/json would
// take for a field, in any letter case. Lines come from the file as
// written.
type kustomizationScan struct {
	fsys     filesys.FileSystem // the in-memory copy, rooted at buildRoot
	build    filesys.FileSystem // what the build reads kustomizations from; nil: fsys
	skipped  map[string]string  // files not copied, by path below the root, and why
	name     func(rel string) string
	seen     map[string]bool
	problems Problems
}

// The fields of a kustomization (types.Kustomization of
// sigs.k8s.io/kustomize/api) by their JSON names, grouped by what the
// scan does with them. encoding/json matches a key to a field's name in
// any letter case, by Unicode simple folding: RESOURCES, Resources and
// reſources all set resources.
var (
	dirFields    = []string{"resources", "bases", "components"}                         // bases, local or remote: followed
	fileFields   = []string{"crds", "configurations"}                                   // files, local or remote
	inlineFields = []string{"patchesStrategicMerge"}                                    // files, or inline documents (entries with a line break)
	pathFields   = []string{"patches", "patchesJson6902", "replacements"}               // lists of objects with a path
	pluginFields = []string{"generators", "transformers", "validators"}                 // plugin configurations: refused
	helmFields   = []string{"helmCharts", "helmGlobals", "helmChartInflationGenerator"} // refused
	generatorFns = []string{"configMapGenerator", "secretGenerator"}                    // files, envs and env
	otherFields  = []string{"apiVersion", "kind", "metadata", "openapi", "namePrefix", "nameSuffix", "namespace",
		"commonLabels", "labels", "commonAnnotations", "images", "imageTags", "replicas", "vars", "sortOptions",
		"generatorOptions", "buildMetadata"}
	kustomizationFields = slices.Concat(dirFields, fileFields, inlineFields, pathFields, pluginFields, helmFields, generatorFns, otherFields)

	// The fields of the objects in patches, patchesJson6902 and
	// replacements (types.Patch, types.ReplacementField), and of a
	// configMapGenerator or secretGenerator (types.ConfigMapArgs,
	// types.SecretArgs).
	pathObjectFields = []string{"path", "patch", "target", "options", "source", "targets"}
	generatorFields  = []string{"namespace", "name", "behavior", "literals", "files", "envs", "env", "options", "type"}
)

// kvalue is a value of a kustomization as kustomize decodes it, with the
// node that writes it in the file (nil when the file as written has no
// such node, as for what the build's own rewrite adds) and its line, or
// the line of the nearest enclosing value found.
type kvalue struct {
	v    any
	node *yaml.Node
	line int
}

// kfield is one key of a mapping: as written, the field it sets (""
// for none known), the line of the key, and its value.
type kfield struct {
	key, field string
	line       int
	value      kvalue
}

// dir checks the kustomization in the directory rel (below the root),
// and the directories it names. kustomize refuses a directory with more
// than one of the names a kustomization may have; each is checked.
func (s *kustomizationScan) dir(rel string) {
	if s.seen[rel] {
		return
	}
	s.seen[rel] = true
	for _, name := range kustomizationFiles {
		if p := path.Join(rel, name); s.fsys.Exists(path.Join(buildRoot, p)) && !s.fsys.IsDir(path.Join(buildRoot, p)) {
			s.file(rel, p)
		}
	}
}

// file checks the kustomization file in dir.
func (s *kustomizationScan) file(dir, file string) {
	build := s.build
	if build == nil {
		build = s.fsys
	}
	data, err := build.ReadFile(path.Join(buildRoot, file))
	if err != nil {
		return
	}
	j, err := sigsyaml.YAMLToJSON(data)
	if err != nil {
		return // kustomize refuses the file before it reads anything it names
	}
	var top map[string]any
	if json.Unmarshal(j, &top) != nil || top == nil {
		return // not a mapping: likewise
	}
	root := kvalue{v: top}
	if raw, err := s.fsys.ReadFile(path.Join(buildRoot, file)); err == nil {
		var doc yaml.Node
		if yaml.Unmarshal(raw, &doc) == nil {
			if n := topNode(&doc); n != nil {
				root.node, root.line = n, n.Line
			}
		}
	}
	for _, f := range s.fields(file, "", root, kustomizationFields) {
		key, val := f.key, f.value
		switch {
		case slices.Contains(dirFields, f.field):
			for j, item := range items(val) {
				if v, ok := item.v.(string); ok {
					s.check(file, dir, fmt.Sprintf("%s[%d]", key, j), item, v, true)
				}
			}
		case slices.Contains(fileFields, f.field):
			for j, item := range items(val) {
				if v, ok := item.v.(string); ok {
					s.check(file, dir, fmt.Sprintf("%s[%d]", key, j), item, v, false)
				}
			}
		case slices.Contains(inlineFields, f.field):
			for j, item := range items(val) {
				if v, ok := item.v.(string); ok && !strings.Contains(v, "\n") {
					s.check(file, dir, fmt.Sprintf("%s[%d]", key, j), item, v, false)
				}
			}
		case slices.Contains(pathFields, f.field):
			for j, item := range items(val) {
				s.pathsIn(file, dir, fmt.Sprintf("%s[%d]", key, j), item, pathObjectFields)
			}
		case f.field == "openapi":
			// A map: kustomize reads its key "path" exactly; every
			// spelling of it is checked.
			s.pathsIn(file, dir, key, val, nil)
		case slices.Contains(generatorFns, f.field):
			for j, item := range items(val) {
				s.generator(file, dir, fmt.Sprintf("%s[%d]", key, j), item)
			}
		case slices.Contains(pluginFields, f.field):
			s.add(file, val.line, key, RuleRemote, f.field+" are not run in the inventory build: a plugin's configuration "+
				"(even a built-in one, such as a PatchTransformer's path) names files that kustomize reads, or fetches, unchecked; "+
				"use the kustomization's own fields (patches, replacements, labels, configMapGenerator, …), "+
				"or commit what the plugin puts out and list it in resources")
		case slices.Contains(helmFields, f.field):
			s.add(file, val.line, key, RuleRemote, "Helm charts are not inflated in the inventory build (that would fetch the chart and run Helm); "+
				"run helm template, commit its output into the repository and list it in resources")
		}
	}
}

// fields returns the keys of the mapping v, sorted, each with the field
// of known it sets in any letter case. Two keys that set one field are a
// problem: kustomize would read both, and a reader sees only one.
func (s *kustomizationScan) fields(file, where string, v kvalue, known []string) []kfield {
	m, _ := v.v.(map[string]any)
	keys := slices.Sorted(maps.Keys(m))
	out := make([]kfield, len(keys))
	byField := map[string][]int{}
	for i, key := range keys {
		k, n := lookupKey(v.node, key, 0)
		f := kfield{key: key, line: v.line, value: kvalue{v: m[key], node: resolveAlias(n), line: v.line}}
		if k != nil {
			f.line, f.value.line = k.Line, n.Line // an alias's line: where the value is used
		}
		for _, name := range known {
			if strings.EqualFold(key, name) {
				f.field = name
				byField[name] = append(byField[name], i)
				break
			}
		}
		out[i] = f
	}
	for _, name := range slices.Sorted(maps.Keys(byField)) {
		same := byField[name]
		if len(same) < 2 {
			continue
		}
		spelled := make([]string, len(same))
		last := out[same[0]]
		for j, i := range same {
			spelled[j] = out[i].key
			if out[i].line > last.line {
				last = out[i]
			}
		}
		s.add(file, last.line, where+last.key, RuleDuplicateKey, fmt.Sprintf("%s all set the field %s: kustomize takes a field's name in any letter case "+
			"and reads them all; keep one, spelled %s", strings.Join(spelled, ", "), name, name))
	}
	return out
}

// pathsIn checks the path in a mapping: the field path of an object in
// patches, patchesJson6902 or replacements (known: the object's fields),
// or the key path of openapi (known nil: a map, whose every key spelling
// path is checked).
func (s *kustomizationScan) pathsIn(file, dir, field string, v kvalue, known []string) {
	for _, f := range s.fields(file, field+".", v, known) {
		if !strings.EqualFold(f.key, "path") {
			continue
		}
		if p, ok := f.value.v.(string); ok {
			s.check(file, dir, field+"."+f.key, f.value, p, false)
		}
	}
}

// generator checks a configMapGenerator or secretGenerator entry: its
// files ("path" or "key=path"), envs and env.
func (s *kustomizationScan) generator(file, dir, field string, v kvalue) {
	for _, f := range s.fields(file, field+".", v, generatorFields) {
		switch f.field {
		case "files", "envs":
			for j, item := range items(f.value) {
				p, ok := item.v.(string)
				if !ok {
					continue
				}
				if _, after, found := strings.Cut(p, "="); found && f.field == "files" {
					p = after
				}
				s.check(file, dir, fmt.Sprintf("%s.%s[%d]", field, f.key, j), item, p, false)
			}
		case "env":
			if p, ok := f.value.v.(string); ok {
				s.check(file, dir, field+"."+f.key, f.value, p, false)
			}
		}
	}
}

// check refuses a remote reference, an absolute path, a path leaving the
// root and a file that was not copied; it follows a local directory when
// dirs is set.
func (s *kustomizationScan) check(file, dir, field string, at kvalue, v string, dirs bool) {
	switch {
	case looksRemote(v, dirs):
		s.add(file, at.line, field, RuleRemote, fmt.Sprintf("%s is remote: metalgit never fetches anything while it builds the inventory; "+
			"vendor the base into the repository and refer to it by a relative path", quote(v)))
		return
	case path.IsAbs(v):
		s.add(file, at.line, field, RuleFile, fmt.Sprintf("%s is an absolute path: the inventory build reads only files below the inventory root; "+
			"refer to the file by a path relative to the kustomization", quote(v)))
		return
	}
	rel := path.Join(dir, v)
	if !fsValidRel(rel) {
		s.add(file, at.line, field, RuleFile, fmt.Sprintf("%s leads outside the inventory root: the inventory build reads only files below it; "+
			"move what it names into the inventory root", quote(v)))
		return
	}
	if why, ok := s.skipped[rel]; ok {
		s.add(file, at.line, field, RuleFile, fmt.Sprintf("%s is not read: %s", quote(v), why))
		return
	}
	if dirs && s.fsys.IsDir(path.Join(buildRoot, rel)) {
		s.dir(rel)
	}
}

func (s *kustomizationScan) add(file string, line int, field string, rule Rule, msg string) {
	s.problems = append(s.problems, Problem{File: s.name(file), Line: line, Field: field, Rule: rule, Message: msg})
}

// looksRemote reports whether kustomize would fetch v: a URL (any
// scheme, and http: or https: without //), and for a base, also the
// forms its Git loader takes without one (git::…, gh:…, github.com/…,
// user@host:path).
func looksRemote(v string, base bool) bool {
	lower := strings.ToLower(strings.TrimSpace(v))
	if strings.Contains(lower, "://") || strings.HasPrefix(lower, "http:") || strings.HasPrefix(lower, "https:") {
		return true
	}
	if !base {
		return false
	}
	return strings.HasPrefix(lower, "git::") || strings.HasPrefix(lower, "gh:") ||
		strings.HasPrefix(lower, "github.com") || strings.Contains(lower, "@")
}

// items returns the entries of a list, each with its node in the file
// as written when there is one.
func items(v kvalue) []kvalue {
	list, _ := v.v.([]any)
	var nodes []*yaml.Node
	if n := resolveAlias(v.node); n != nil && n.Kind == yaml.SequenceNode {
		nodes = n.Content
	}
	out := make([]kvalue, len(list))
	for i, item := range list {
		out[i] = kvalue{v: item, line: v.line}
		if i < len(nodes) {
			out[i].node, out[i].line = resolveAlias(nodes[i]), nodes[i].Line
		}
	}
	return out
}

// maxMergeDepth bounds how deep lookupKey follows merge keys.
const maxMergeDepth = 8

// lookupKey finds the key and value nodes of key in the mapping n as
// written: the last pair with that key (the YAML decoder kustomize uses
// keeps the last), else the first found in what "<<" merges in. The key
// is an alias resolved, the value as written (an alias stays one).
func lookupKey(n *yaml.Node, key string, depth int) (k, v *yaml.Node) {
	n = resolveAlias(n)
	if n == nil || n.Kind != yaml.MappingNode || depth > maxMergeDepth {
		return nil, nil
	}
	var merges []*yaml.Node
	for i := 0; i+1 < len(n.Content); i += 2 {
		kn := resolveAlias(n.Content[i])
		switch {
		case kn.Tag == "!!merge":
			merges = append(merges, resolveAlias(n.Content[i+1]))
		case kn.Kind == yaml.ScalarNode && kn.Value == key:
			k, v = kn, n.Content[i+1]
		}
	}
	if k != nil {
		return k, v
	}
	for _, m := range merges {
		from := []*yaml.Node{m}
		if m.Kind == yaml.SequenceNode {
			from = m.Content
		}
		for _, c := range from {
			if k, v = lookupKey(c, key, depth+1); k != nil {
				return k, v
			}
		}
	}
	return nil, nil
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
