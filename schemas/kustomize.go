package schemas

import (
	"bytes"
	"fmt"
	"path"
	"strings"

	yaml "go.yaml.in/yaml/v3"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/api/types"
	"sigs.k8s.io/kustomize/kyaml/filesys"
)

// originAnnotation is the annotation kustomize sets with a resource's source
// file when buildMetadata has originAnnotations.
const originAnnotation = "config.kubernetes.io/origin"

// buildRoot is where the inventory root lies in the in-memory file system
// kustomize builds it on.
const buildRoot = "/inventory"

// maxKustomizeMessage bounds the text of kustomize's own error that a
// problem quotes.
const maxKustomizeMessage = 1000

// originFS is the in-memory copy of the inventory with the root
// kustomization asking for origin annotations, so that every built
// document can be traced back to its file and line.
type originFS struct {
	filesys.FileSystem
	kustomization string // absolute path of the root kustomization
}

func (f originFS) ReadFile(name string) ([]byte, error) {
	data, err := f.FileSystem.ReadFile(name)
	if err != nil || path.Clean(name) != f.kustomization {
		return data, err
	}
	var k types.Kustomization
	if err := yaml.Unmarshal(data, &k); err != nil {
		return data, nil //nolint:nilerr // kustomize reports the syntax error itself
	}
	var doc map[string]any
	if err := yaml.Unmarshal(data, &doc); err != nil || doc == nil {
		return data, nil //nolint:nilerr // as above
	}
	meta, _ := doc["buildMetadata"].([]any)
	for _, m := range meta {
		if m == types.OriginAnnotations {
			return data, nil
		}
	}
	doc["buildMetadata"] = append(meta, types.OriginAnnotations)
	out, err := yaml.Marshal(doc)
	if err != nil {
		return data, nil //nolint:nilerr // fall back to the file as written
	}
	return out, nil
}

// loadKustomization builds the kustomization file at the top of src's
// root and loads its output, mapping every document back to the file and
// line it came from.
//
// The build never touches the operating system's files: the inventory
// root (without the state directory and hidden entries) is copied into
// memory, within the limits, and every kustomization the build would
// read is checked first: a remote base or file, an absolute path, one
// that climbs out of the root, a Helm chart or a file that was not
// copied is a problem, and then nothing is built. Plugins stay disabled
// (kustomize's default), so no generator or transformer runs a program.
func (l *loader) loadKustomization(src source, file, stateDir string) error {
	mem, skipped, problems, err := copyInventory(src, stateDir)
	if err != nil {
		return err
	}
	fsys := originFS{FileSystem: mem, kustomization: path.Join(buildRoot, file)}
	if len(problems) == 0 {
		// The root kustomization is checked as the build reads it,
		// through fsys.
		scan := kustomizationScan{fsys: mem, build: fsys, skipped: skipped, name: src.rel, seen: map[string]bool{}}
		scan.dir(".")
		problems = scan.problems
	}
	if len(problems) > 0 {
		l.problems = append(l.problems, problems...)
		return nil
	}
	opts := krusty.MakeDefaultOptions()
	// Nothing outside the root exists in the in-memory file system, so
	// the root is the boundary; inside it, overlays may share files.
	opts.LoadRestrictions = types.LoadRestrictionsNone
	opts.PluginConfig = types.DisabledPluginConfig()
	resMap, err := krusty.MakeKustomizer(opts).Run(fsys, buildRoot)
	if err != nil {
		msg := err.Error()
		if len(msg) > maxKustomizeMessage {
			msg = msg[:maxKustomizeMessage] + "…"
		}
		l.problems = append(l.problems, Problem{File: src.rel(file), Rule: RuleKustomize,
			Message: "kustomize build failed: " + msg})
		return nil //nolint:nilerr // a failed build is a problem with the inventory, reported above, not an I/O error
	}
	if n := resMap.Size(); n > MaxDocuments {
		l.problems = append(l.problems, Problem{File: src.rel(file), Rule: RuleLimit,
			Message: fmt.Sprintf("the build puts out %d documents, more than the %d an inventory may hold; split the site", n, MaxDocuments)})
		return nil
	}
	sources := map[string][]*yaml.Node{} // origin file → its documents
	for i, res := range resMap.Resources() {
		out, err := res.AsYAML()
		if err != nil {
			return fmt.Errorf("reading kustomize output: %w", err)
		}
		var doc yaml.Node
		if err := yaml.Unmarshal(out, &doc); err != nil {
			return fmt.Errorf("reading kustomize output: %w", err)
		}
		built := topNode(&doc)
		originPath := ""
		if o, err := res.GetOrigin(); err == nil && o != nil && o.Repo == "" {
			originPath = path.Clean(o.Path)
		}
		removeAnnotation(built, originAnnotation)
		s := Source{File: src.rel(file), node: built, digest: builtDigest(out)}
		if originPath != "" && fsValidRel(originPath) {
			docs, ok := sources[originPath]
			if !ok {
				docs = parseDocs(mem, path.Join(buildRoot, originPath))
				sources[originPath] = docs
			}
			s = Source{File: src.rel(originPath), node: built, digest: builtDigest(out)}
			if orig := matchDoc(docs, res.GetKind(), res.GetName()); orig != nil {
				s.Line = orig.Line
				s.lines = orig
			}
		}
		l.loadDocument(s, i)
	}
	return nil
}

// fsValidRel reports whether p is a relative path that stays inside the
// root.
func fsValidRel(p string) bool {
	return p != ".." && !strings.HasPrefix(p, "../") && !path.IsAbs(p)
}

// parseDocs returns the top-level nodes of every document of a file.
func parseDocs(fsys filesys.FileSystem, name string) []*yaml.Node {
	data, err := fsys.ReadFile(name)
	if err != nil {
		return nil
	}
	var nodes []*yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(data))
	for {
		var doc yaml.Node
		if err := dec.Decode(&doc); err != nil {
			return nodes // io.EOF, or a syntax error kustomize would have reported
		}
		if n := topNode(&doc); n != nil && n.Kind == yaml.MappingNode {
			nodes = append(nodes, n)
		}
	}
}

// matchDoc finds the document of a kind and name; a name changed by a
// prefix or suffix falls back to the only document of that kind.
func matchDoc(docs []*yaml.Node, kind, name string) *yaml.Node {
	var sameKind []*yaml.Node
	for _, d := range docs {
		if scalarAt(d, "kind") != kind {
			continue
		}
		if nameOf(d) == name {
			return d
		}
		sameKind = append(sameKind, d)
	}
	if len(sameKind) == 1 {
		return sameKind[0]
	}
	return nil
}

// removeAnnotation deletes metadata.annotations[key], and the annotations
// mapping itself when that leaves it empty.
func removeAnnotation(doc *yaml.Node, key string) {
	if doc == nil || doc.Kind != yaml.MappingNode {
		return
	}
	for i := 0; i+1 < len(doc.Content); i += 2 {
		if doc.Content[i].Value != "metadata" {
			continue
		}
		meta := doc.Content[i+1]
		for j := 0; j+1 < len(meta.Content); j += 2 {
			if meta.Content[j].Value != "annotations" {
				continue
			}
			ann := meta.Content[j+1]
			for k := 0; k+1 < len(ann.Content); k += 2 {
				if ann.Content[k].Value == key {
					ann.Content = append(ann.Content[:k], ann.Content[k+2:]...)
					break
				}
			}
			if len(ann.Content) == 0 {
				meta.Content = append(meta.Content[:j], meta.Content[j+2:]...)
			}
			return
		}
	}
}
