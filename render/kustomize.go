package render

import (
	"cmp"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/api/resource"
	"sigs.k8s.io/kustomize/kyaml/filesys"
	"sigs.k8s.io/yaml"
)

// Paths in the in-memory filesystem kustomize runs on.
const (
	generatedDir = "/metalgit/generated"
	overlayDir   = "/metalgit/overlay"
	// transformerConfig teaches the overlay's transformers where a
	// BareMetalHost refers to its Secrets, so that a namespace, namePrefix
	// or nameSuffix in the output kustomization keeps the references right.
	transformerConfig = ".metalgit-transformer-config.yaml"
)

const transformerConfigYAML = `namespace:
- {kind: BareMetalHost, group: metal3.io, path: spec/userData/namespace}
- {kind: BareMetalHost, group: metal3.io, path: spec/networkData/namespace}
nameReference:
- kind: Secret
  version: v1
  fieldSpecs:
  - {kind: BareMetalHost, group: metal3.io, path: spec/userData/name}
  - {kind: BareMetalHost, group: metal3.io, path: spec/networkData/name}
  - {kind: BareMetalHost, group: metal3.io, path: spec/preprovisioningNetworkDataName}
`

// build writes the generated objects and their kustomization into an
// in-memory filesystem, applies the output kustomization at overlay (""
// for none) on top and returns the result, sorted by kind, then name.
func build(objs []object, overlay string) ([]byte, error) {
	fsys := filesys.MakeFsInMemory()
	if err := fsys.MkdirAll(generatedDir); err != nil {
		return nil, fmt.Errorf("rendering: %w", err)
	}
	sortObjects(objs)
	resources := make([]string, 0, len(objs))
	for _, o := range objs {
		f := fileName(o.kind, o.name)
		if slices.Contains(resources, f) {
			return nil, fmt.Errorf("rendering: two objects would be %s/%s", o.kind, o.name)
		}
		resources = append(resources, f)
		if err := fsys.WriteFile(filepath.Join(generatedDir, f), o.data); err != nil {
			return nil, fmt.Errorf("rendering: %w", err)
		}
	}
	if err := fsys.WriteFile(filepath.Join(generatedDir, "kustomization.yaml"), kustomization(resources)); err != nil {
		return nil, fmt.Errorf("rendering: %w", err)
	}
	target := generatedDir
	if overlay != "" {
		if err := copyOverlay(fsys, overlay); err != nil {
			return nil, err
		}
		target = overlayDir
	}
	resMap, err := krusty.MakeKustomizer(krusty.MakeDefaultOptions()).Run(fsys, target)
	if err != nil {
		if overlay != "" {
			return nil, fmt.Errorf("applying the output kustomization %s: %w", overlay, err)
		}
		return nil, fmt.Errorf("rendering: kustomize build: %w", err)
	}
	res := resMap.Resources()
	slices.SortFunc(res, func(a, b *resource.Resource) int {
		return cmp.Or(strings.Compare(a.GetKind(), b.GetKind()), strings.Compare(a.GetName(), b.GetName()),
			strings.Compare(a.GetNamespace(), b.GetNamespace()))
	})
	docs := make([][]byte, 0, len(res))
	for _, r := range res {
		out, err := r.AsYAML()
		if err != nil {
			return nil, fmt.Errorf("rendering %s/%s: %w", r.GetKind(), r.GetName(), err)
		}
		docs = append(docs, out)
	}
	return joinDocs(docs), nil
}

// kustomization returns a kustomization.yaml listing resources.
func kustomization(resources []string) []byte {
	var b strings.Builder
	b.WriteString("apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n")
	for _, r := range resources {
		b.WriteString("- " + r + "\n")
	}
	if len(resources) == 0 {
		return []byte("apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources: []\n")
	}
	return []byte(b.String())
}

// copyOverlay copies the output kustomization's directory (every file
// below it, hidden ones excepted) into overlayDir, the kustomization as
// kustomization.yaml with the generated objects added as a base resource
// and metalgit's transformer configuration added to its configurations.
// Files it references outside its directory are not copied: kustomize
// reports them as missing.
func copyOverlay(fsys filesys.FileSystem, path string) error {
	dir := filepath.Dir(path)
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("reading the output kustomization: %w", err)
	}
	err = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		if rel != "." && strings.HasPrefix(d.Name(), ".") {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if !d.Type().IsRegular() {
			return nil
		}
		content, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return fsys.WriteFile(filepath.Join(overlayDir, filepath.ToSlash(rel)), content)
	})
	if err != nil {
		return fmt.Errorf("copying the output kustomization's directory %s: %w", dir, err)
	}
	var k map[string]any
	if err := yaml.Unmarshal(data, &k); err != nil {
		return fmt.Errorf("reading the output kustomization %s: %w", path, err)
	}
	if k == nil {
		k = map[string]any{}
	}
	for _, field := range []string{"resources", "configurations"} {
		if v, ok := k[field]; ok {
			if _, isList := v.([]any); !isList {
				return fmt.Errorf("reading the output kustomization %s: %s must be a list", path, field)
			}
		}
	}
	rel, err := filepath.Rel(overlayDir, generatedDir)
	if err != nil {
		return fmt.Errorf("rendering: %w", err)
	}
	resources, _ := k["resources"].([]any)
	k["resources"] = append(resources, filepath.ToSlash(rel))
	configs, _ := k["configurations"].([]any)
	k["configurations"] = append(configs, transformerConfig)
	out, err := yaml.Marshal(k)
	if err != nil {
		return fmt.Errorf("rendering: %w", err)
	}
	// Whatever the file was called, kustomize finds it as kustomization.yaml.
	for _, name := range []string{"kustomization.yaml", "kustomization.yml", "Kustomization"} {
		_ = fsys.RemoveAll(filepath.Join(overlayDir, name))
	}
	if err := fsys.WriteFile(filepath.Join(overlayDir, "kustomization.yaml"), out); err != nil {
		return fmt.Errorf("rendering: %w", err)
	}
	if err := fsys.WriteFile(filepath.Join(overlayDir, transformerConfig), []byte(transformerConfigYAML)); err != nil {
		return fmt.Errorf("rendering: %w", err)
	}
	return nil
}
