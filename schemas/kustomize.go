package schemas

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"

	yaml "go.yaml.in/yaml/v3"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/api/types"
	"sigs.k8s.io/kustomize/kyaml/filesys"
)

// originAnnotation is the annotation kustomize sets with a resource's source
// file when buildMetadata has originAnnotations.
const originAnnotation = "config.kubernetes.io/origin"

// originFS is the on-disk filesystem with the root kustomization asking
// for origin annotations, so that every built document can be traced back
// to its file and line. Nothing is written to disk.
type originFS struct {
	filesys.FileSystem
	kustomization string // absolute path of the root kustomization
}

func (f originFS) ReadFile(path string) ([]byte, error) {
	data, err := f.FileSystem.ReadFile(path)
	if err != nil || filepath.Clean(path) != f.kustomization {
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

// loadKustomization builds the kustomization at root and loads its output,
// mapping every document back to the file and line it came from.
func (l *loader) loadKustomization(root, file string) error {
	abs, err := filepath.Abs(root)
	if err != nil {
		return fmt.Errorf("reading inventory: %w", err)
	}
	fsys := originFS{FileSystem: filesys.MakeFsOnDisk(), kustomization: filepath.Join(abs, file)}
	opts := krusty.MakeDefaultOptions()
	opts.LoadRestrictions = types.LoadRestrictionsNone
	resMap, err := krusty.MakeKustomizer(opts).Run(fsys, abs)
	if err != nil {
		l.problems = append(l.problems, Problem{File: filepath.Join(root, file), Rule: RuleKustomize,
			Message: "kustomize build failed: " + err.Error()})
		return nil //nolint:nilerr // a failed build is a problem with the inventory, reported above, not an I/O error
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
			originPath = o.Path
		}
		removeAnnotation(built, originAnnotation)
		src := Source{File: filepath.Join(root, file), node: built}
		if originPath != "" {
			name := filepath.Join(root, originPath)
			docs, ok := sources[name]
			if !ok {
				docs = parseDocs(name)
				sources[name] = docs
			}
			src = Source{File: name, node: built}
			if orig := matchDoc(docs, res.GetKind(), res.GetName()); orig != nil {
				src.Line = orig.Line
				src.lines = orig
			}
		}
		l.loadDocument(src, i)
	}
	return nil
}

// parseDocs returns the top-level nodes of every document of a file.
func parseDocs(name string) []*yaml.Node {
	data, err := os.ReadFile(name)
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
