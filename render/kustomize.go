package render

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"

	yamlv2 "go.yaml.in/yaml/v2"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"
	"sigs.k8s.io/yaml"

	"github.com/metalgit/metalgit/schemas"
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

// partSize is the most objects one kustomize build takes. kustomize checks
// every object it adds against all it holds, so a build's cost grows with
// the square of its objects: a fleet is built in parts of this size, on
// every core, and the parts joined. A host's objects are never split.
const partSize = 64

// build writes the generated objects and their kustomization into an
// in-memory filesystem, applies the output kustomization at overlay (""
// for none) on top and returns the result, sorted by kind, then name.
//
// The objects are built in parts of at most partSize objects (a host's
// objects always together), each part with the whole output kustomization.
// Objects that the output kustomization itself adds (its own resources and
// generators) come out of every part; they are kept once, and must come
// out the same every time.
//
// Without an output kustomization, kustomize would change nothing: the
// objects are then written as kustomize writes them (JSON to YAML, keys
// sorted) without the pass, which TestRenderSkipsIdentityKustomize proves
// gives the same bytes.
//
// A cache (nil for none) skips the work for what an earlier build did:
// each object's YAML without an output kustomization, each part's build
// with one.
func build(ctx context.Context, objs []object, overlay overlaySource, cache *Cache) ([]byte, error) {
	return buildWith(ctx, objs, overlay, overlay.path != "", cache)
}

// buildWith is build, with the kustomize pass forced on or off.
// Parts not started when ctx is done are not built, and the build
// returns ctx's error.
func buildWith(ctx context.Context, objs []object, overlay overlaySource, viaKustomize bool, cache *Cache) ([]byte, error) {
	sortObjects(objs)
	// Two objects must not share a file name (fileName), checked without
	// building the names: by lower-cased kind and name.
	type fileKey struct{ kind, name string }
	kinds := map[string]string{} // kind → lower-cased, once per kind
	seen := make(map[fileKey]bool, len(objs))
	for _, o := range objs {
		kind, ok := kinds[o.kind]
		if !ok {
			kind = strings.ToLower(o.kind)
			kinds[o.kind] = kind
		}
		f := fileKey{kind, strings.ToLower(o.name)}
		if seen[f] {
			return nil, fmt.Errorf("rendering: two objects would be %s/%s", o.kind, o.name)
		}
		seen[f] = true
	}
	var ov *overlayFiles
	if viaKustomize && overlay.path != "" {
		var err error
		if ov, err = loadOverlay(overlay); err != nil {
			return nil, err
		}
	}
	var gen uint64
	if cache != nil {
		gen = cache.begin()
	}
	parts := partition(objs, partSize)
	if len(parts) == 0 {
		parts = [][]object{nil} // an output kustomization may add objects of its own
	}
	results := make([][]rendered, len(parts))
	errs := make([]error, len(parts))
	next := make(chan int)
	var wg sync.WaitGroup
	for range min(runtime.GOMAXPROCS(0), len(parts)) {
		wg.Go(func() {
			var kh *keyHasher
			if cache != nil {
				kh = newKeyHasher()
			}
			for i := range next {
				if err := ctx.Err(); err != nil {
					errs[i] = err
					continue
				}
				if viaKustomize {
					results[i], errs[i] = buildPartCached(parts[i], ov, cache, gen, kh)
				} else {
					results[i], errs[i] = writePart(parts[i], cache, gen, kh)
				}
			}
		})
	}
	for i := range parts {
		next <- i
	}
	close(next)
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("rendering: %w", err)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}

	type objectKey struct{ kind, namespace, name string }
	byID := make(map[objectKey]int, len(objs))
	out := make([]rendered, 0, len(objs))
	for _, res := range results {
		for _, r := range res {
			id := objectKey{r.kind, r.namespace, r.name}
			if i, dup := byID[id]; dup {
				if !bytes.Equal(out[i].doc, r.doc) {
					return nil, fmt.Errorf("applying the output kustomization %s: it makes %s/%s/%s differently for different hosts; metalgit applies it to a few hosts at a time, so it must not copy values between objects", overlay.path, r.kind, r.namespace, r.name)
				}
				continue
			}
			byID[id] = len(out)
			out = append(out, r)
		}
	}
	slices.SortFunc(out, func(a, b rendered) int {
		return cmp.Or(strings.Compare(a.kind, b.kind), strings.Compare(a.name, b.name), strings.Compare(a.namespace, b.namespace))
	})
	docs := make([][]byte, len(out))
	for i, r := range out {
		docs[i] = r.doc
	}
	if cache != nil {
		cache.end(gen)
	}
	return joinDocs(docs), nil
}

// partition splits sorted objects into parts of at most size objects,
// keeping each group whole (a group larger than size is a part of its own).
func partition(objs []object, size int) [][]object {
	groups := map[string][]object{}
	var order []string
	for _, o := range objs {
		if _, ok := groups[o.group]; !ok {
			order = append(order, o.group)
		}
		groups[o.group] = append(groups[o.group], o)
	}
	slices.Sort(order)
	var parts [][]object
	var cur []object
	for _, g := range order {
		if len(cur) > 0 && len(cur)+len(groups[g]) > size {
			parts = append(parts, cur)
			cur = nil
		}
		cur = append(cur, groups[g]...)
	}
	if len(cur) > 0 {
		parts = append(parts, cur)
	}
	return parts
}

// writePart writes objects as kustomize's output would show them. With a
// cache (and kh, the worker's hasher), each object's YAML is looked up by
// the content key of the object's kind, name and data (computed when the
// object was built, for a host's objects).
func writePart(objs []object, cache *Cache, gen uint64, kh *keyHasher) ([]rendered, error) {
	out := make([]rendered, 0, len(objs))
	for _, o := range objs {
		var key cacheKey
		if cache != nil {
			key = o.key
			if !o.keyed {
				key = objectKey(kh, o)
			}
			if hit, ok := cache.get(gen, key); ok {
				out = append(out, hit...)
				continue
			}
		}
		doc, err := jsonToYAML(o.data)
		if err != nil {
			return nil, fmt.Errorf("rendering %s/%s: %w", o.kind, o.name, err)
		}
		r := rendered{kind: o.kind, name: o.name, doc: doc}
		if cache != nil {
			cache.put(gen, key, []rendered{r})
		}
		out = append(out, r)
	}
	return out, nil
}

// jsonToYAML does what sigs.k8s.io/yaml.JSONToYAML (and so kustomize's
// Resource.AsYAML) does, with the faster JSON decoder: numbers stay
// integers, keys come out sorted, the bytes are the same.
func jsonToYAML(data []byte) ([]byte, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	return yamlv2.Marshal(v)
}

// rendered is one object kustomize put out, as YAML.
type rendered struct {
	kind, name, namespace string
	doc                   []byte
}

// buildPartCached is buildPart, looked up first in cache (when not nil)
// by the part's objects and the output kustomization's files; kh is the
// worker's hasher.
func buildPartCached(objs []object, ov *overlayFiles, cache *Cache, gen uint64, kh *keyHasher) ([]rendered, error) {
	if cache == nil {
		return buildPart(objs, ov)
	}
	kh.str("part")
	if ov != nil {
		kh.field(ov.key[:])
	} else {
		kh.str("")
	}
	kh.str(strconv.Itoa(len(objs)))
	for _, o := range objs {
		kh.object(o)
	}
	key := kh.sum()
	if hit, ok := cache.get(gen, key); ok {
		return hit, nil
	}
	out, err := buildPart(objs, ov)
	if err != nil {
		return nil, err
	}
	cache.put(gen, key, out)
	return out, nil
}

// buildPart runs kustomize on one part of the objects, with the output
// kustomization ov on top (nil for none).
func buildPart(objs []object, ov *overlayFiles) ([]rendered, error) {
	fsys := filesys.MakeFsInMemory()
	if err := fsys.MkdirAll(generatedDir); err != nil {
		return nil, fmt.Errorf("rendering: %w", err)
	}
	resources := make([]string, 0, len(objs))
	for _, o := range objs {
		f := fileName(o.kind, o.name)
		resources = append(resources, f)
		if err := fsys.WriteFile(filepath.Join(generatedDir, f), o.data); err != nil {
			return nil, fmt.Errorf("rendering: %w", err)
		}
	}
	if err := fsys.WriteFile(filepath.Join(generatedDir, "kustomization.yaml"), kustomization(resources)); err != nil {
		return nil, fmt.Errorf("rendering: %w", err)
	}
	target := generatedDir
	if ov != nil {
		for _, name := range ov.names {
			if err := fsys.WriteFile(filepath.Join(overlayDir, name), ov.files[name]); err != nil {
				return nil, fmt.Errorf("rendering: %w", err)
			}
		}
		target = overlayDir
	}
	resMap, err := krusty.MakeKustomizer(krusty.MakeDefaultOptions()).Run(fsys, target)
	if err != nil {
		if ov != nil {
			return nil, fmt.Errorf("applying the output kustomization %s: %w", ov.path, err)
		}
		return nil, fmt.Errorf("rendering: kustomize build: %w", err)
	}
	out := make([]rendered, 0, resMap.Size())
	for _, r := range resMap.Resources() {
		js, err := r.MarshalJSON()
		if err != nil {
			return nil, fmt.Errorf("rendering %s/%s: %w", r.GetKind(), r.GetName(), err)
		}
		doc, err := jsonToYAML(js)
		if err != nil {
			return nil, fmt.Errorf("rendering %s/%s: %w", r.GetKind(), r.GetName(), err)
		}
		out = append(out, rendered{r.GetKind(), r.GetName(), r.GetNamespace(), doc})
	}
	return out, nil
}

// kustomizationHeader starts every kustomization.yaml metalgit writes.
const kustomizationHeader = "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n"

// kustomization returns a kustomization.yaml listing resources.
func kustomization(resources []string) []byte {
	var b strings.Builder
	b.WriteString(kustomizationHeader)
	for _, r := range resources {
		b.WriteString("- " + r + "\n")
	}
	if len(resources) == 0 {
		return []byte("apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources: []\n")
	}
	return []byte(b.String())
}

// overlayFiles is the output kustomization's directory as kustomize sees
// it, read once per render and written into every part's filesystem.
type overlayFiles struct {
	path  string            // of the output kustomization, for messages
	files map[string][]byte // relative slash path below overlayDir → content
	names []string          // the keys of files, sorted
	key   cacheKey          // of names and files
}

// overlaySource names the output kustomization: a file of the operating
// system (fsys nil), or a slash-separated path in fsys, such as a Git
// revision's tree; path "" for none.
type overlaySource struct {
	fsys fs.FS
	path string
}

// loadOverlay reads the output kustomization's directory (every file
// below it, hidden ones excepted), the kustomization as kustomization.yaml
// with the generated objects added as a base resource and metalgit's
// transformer configuration added to its configurations. Files it
// references outside its directory are not read: kustomize reports them
// as missing.
func loadOverlay(src overlaySource) (*overlayFiles, error) {
	path := src.path
	dir := filepath.Dir(path)
	data, err := readFile(src.fsys, path)
	if err != nil {
		return nil, fmt.Errorf("reading the output kustomization: %w", err)
	}
	files := map[string][]byte{}
	var total int64
	err = walkDir(src.fsys, dir, func(p string, d fs.DirEntry, err error) error {
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
		if len(files) == schemas.MaxFiles {
			return fmt.Errorf("more than %d files", schemas.MaxFiles)
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		if info.Size() > schemas.MaxFileBytes {
			return fmt.Errorf("%s: over %d bytes", p, schemas.MaxFileBytes)
		}
		if total += info.Size(); total > schemas.MaxInventoryBytes {
			return fmt.Errorf("the files hold more than %d bytes", schemas.MaxInventoryBytes)
		}
		content, err := readFile(src.fsys, p)
		if err != nil {
			return err
		}
		files[filepath.ToSlash(rel)] = content
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("copying the output kustomization's directory %s: %w", dir, err)
	}
	// Checked as kustomize will find it below: as kustomization.yaml,
	// whatever it is called and whatever else the directory holds.
	checked := maps.Clone(files)
	for _, name := range []string{"kustomization.yaml", "kustomization.yml", "Kustomization"} {
		delete(checked, name)
	}
	checked["kustomization.yaml"] = data
	problems, err := schemas.CheckKustomizationFiles(checked, func(rel string) string {
		if rel == "kustomization.yaml" {
			return path
		}
		return filepath.Join(dir, filepath.FromSlash(rel))
	})
	if err != nil {
		return nil, err
	}
	if len(problems) > 0 {
		return nil, fmt.Errorf("refusing the output kustomization %s: %w", path, problems)
	}
	var k map[string]any
	if err := yaml.Unmarshal(data, &k); err != nil {
		return nil, fmt.Errorf("reading the output kustomization %s: %w", path, err)
	}
	if k == nil {
		k = map[string]any{}
	}
	for _, field := range []string{"resources", "configurations"} {
		if v, ok := k[field]; ok {
			if _, isList := v.([]any); !isList {
				return nil, fmt.Errorf("reading the output kustomization %s: %s must be a list", path, field)
			}
		}
	}
	rel, err := filepath.Rel(overlayDir, generatedDir)
	if err != nil {
		return nil, fmt.Errorf("rendering: %w", err)
	}
	resources, _ := k["resources"].([]any)
	k["resources"] = append(resources, filepath.ToSlash(rel))
	configs, _ := k["configurations"].([]any)
	k["configurations"] = append(configs, transformerConfig)
	out, err := yaml.Marshal(k)
	if err != nil {
		return nil, fmt.Errorf("rendering: %w", err)
	}
	// Whatever the file was called, kustomize finds it as kustomization.yaml.
	for _, name := range []string{"kustomization.yaml", "kustomization.yml", "Kustomization"} {
		delete(files, name)
	}
	files["kustomization.yaml"] = out
	files[transformerConfig] = []byte(transformerConfigYAML)

	ov := &overlayFiles{path: path, files: files, names: slices.Sorted(maps.Keys(files))}
	kh := newKeyHasher()
	for _, name := range ov.names {
		kh.str(name)
		kh.field(files[name])
	}
	ov.key = kh.sum()
	return ov, nil
}

// readFile reads the file at name: in fsys, or, for a nil fsys, on the
// operating system's files.
func readFile(fsys fs.FS, name string) ([]byte, error) {
	if fsys == nil {
		return os.ReadFile(name)
	}
	return fs.ReadFile(fsys, name)
}

// walkDir walks dir: in fsys, or, for a nil fsys, on the operating
// system's files with filepath.WalkDir, which does not follow dir itself
// when it is a symbolic link. Neither follows the links below dir.
func walkDir(fsys fs.FS, dir string, fn fs.WalkDirFunc) error {
	if fsys == nil {
		return filepath.WalkDir(dir, fn)
	}
	return fs.WalkDir(fsys, dir, fn)
}
