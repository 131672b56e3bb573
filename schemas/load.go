package schemas

import (
	"bytes"
	"cmp"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"path/filepath"
	"reflect"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	yaml "go.yaml.in/yaml/v3"
)

// DefaultStateDir is the state directory under the inventory root.
const DefaultStateDir = "state"

// kustomizationFiles are the names kustomize recognises for a kustomization.
var kustomizationFiles = []string{"kustomization.yaml", "kustomization.yml", "Kustomization"}

// Inventory is everything one inventory root declares.
type Inventory struct {
	// Root is the inventory directory as given.
	Root string

	Sites       []*Site
	IPPools     []*IPPool
	NodeTypes   []*NodeType
	Hosts       []*Host
	MachineSets []*MachineSet
	Machines    []*Machine
	OSImages    []*OSImage
	SSHKeys     []*SSHKey
	Secrets     []*Secret
}

// LoadOptions tunes Load.
type LoadOptions struct {
	// StateDir is the state directory relative to the root; it is never
	// read as inventory. Default "state".
	StateDir string
	// Cache, when not nil, keeps the parsed files between loads of a
	// plain directory so that unchanged files are not parsed again; the
	// objects loaded are then shared with later loads and must not be
	// modified. A kustomization root does not use it.
	Cache *ParseCache
	// ContentKey, when not nil, names the content of the files below the
	// root: it returns a key that changes whenever the content of the
	// file at path (as Load finds it: root joined with the path below
	// it) does, such as the Git blob hash of a checked-out file, and ok
	// false for a file it does not know. With a Cache, a file whose path
	// and key the cache holds is taken from it without being read.
	ContentKey func(path string) (key string, ok bool)
	// FS, when not nil, is where the inventory is read from instead of
	// the operating system's files: root is then a slash-separated path
	// in FS ("." for its top), and files are named by their paths in FS
	// (in problems, Sources and ContentKey calls). A root that holds a
	// kustomization is copied from it into memory and built there.
	FS fs.FS
	// Context, when set, stops a load: files not read when it is done are
	// not read, and Load returns its error.
	Context context.Context
}

// Load reads the inventory at root. When root holds a kustomization, it is
// built with kustomize first; otherwise every *.yaml and *.yml file below
// root (in any letter case) is read, except the state directory, hidden
// directories and directories that hold a kustomization of their own
// (such as render/).
//
// Nothing outside root is read, whatever the path or link: the
// operating system's files are read through os.Root, and only regular
// files are opened. Every amount is bounded (MaxFileBytes,
// MaxInventoryBytes, MaxFiles, MaxDocuments).
//
// Problems with the documents come back as Problems, all of them; the error
// is for a root that cannot be read at all.
func Load(root string, opts LoadOptions) (*Inventory, Problems, error) {
	if opts.StateDir == "" {
		opts.StateDir = DefaultStateDir
	}
	if opts.Context == nil {
		opts.Context = context.Background()
	}
	src := source{fsys: opts.FS, dir: root, name: func(p string) string { return p }}
	if opts.FS == nil {
		rfs, err := OpenRoot(root)
		if errors.Is(err, fs.ErrNotExist) {
			return nil, nil, &NoDirectoryError{Path: root, Err: err}
		}
		if err != nil {
			return nil, nil, fmt.Errorf("reading inventory: %w", err)
		}
		defer func() { _ = rfs.Close() }()
		src = source{fsys: rfs, dir: ".", name: func(p string) string { return filepath.Join(root, filepath.FromSlash(p)) }}
	}
	info, err := fs.Stat(src.fsys, src.dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil, &NoDirectoryError{Path: root, Err: err}
	}
	if err != nil {
		return nil, nil, fmt.Errorf("reading inventory: %w", err)
	}
	if !info.IsDir() {
		return nil, nil, &NoDirectoryError{Path: root}
	}
	if opts.Cache != nil {
		opts.Cache.start() // a kustomization root counts neither hits nor misses
	}
	l := &loader{inv: &Inventory{Root: root}}
	if k := findKustomization(src.fsys, src.dir); k != "" {
		if err := opts.Context.Err(); err != nil {
			return nil, nil, fmt.Errorf("reading inventory: %w", err)
		}
		if err := l.loadKustomization(src, k, filepath.ToSlash(opts.StateDir)); err != nil {
			return nil, nil, err
		}
	} else if err := l.loadTree(src, opts); err != nil {
		return nil, nil, err
	}
	if l.docs > MaxDocuments {
		l.problems = append(l.problems, Problem{File: root, Rule: RuleLimit,
			Message: fmt.Sprintf("%d documents, more than the %d an inventory may hold; split the site into several inventories", l.docs, MaxDocuments)})
	}
	if l.docs == 0 && len(l.problems) == 0 {
		l.problems = append(l.problems, Problem{File: root, Rule: RuleEmptyInventory,
			Message: "no inventory documents found; add YAML files with apiVersion " + APIVersion})
	}
	l.problems.Sort()
	return l.inv, l.problems, nil
}

// NoDirectoryError is returned by Load for a root that does not exist or
// is not a directory.
type NoDirectoryError struct {
	Path string
	Err  error // the underlying error, if any
}

func (e *NoDirectoryError) Error() string {
	if e.Err == nil {
		return "not a directory: " + e.Path
	}
	return "no such directory: " + e.Path
}

func (e *NoDirectoryError) Unwrap() error { return e.Err }

// LoadBytes reads the documents of one file's content, as Load does for
// each file; name is used in problems. It is the entry point for fuzzing
// and for checking single documents.
func LoadBytes(name string, data []byte) (*Inventory, Problems) {
	l := &loader{inv: &Inventory{}}
	l.loadFile(name, data)
	l.problems.Sort()
	return l.inv, l.problems
}

// source is where Load reads an inventory: a file system, the root's
// path in it, and the names its files have in problems.
type source struct {
	fsys fs.FS
	dir  string
	name func(p string) string // p: a path in fsys
}

// rel is the name of the file at p, a path below the root.
func (s source) rel(p string) string { return s.name(path.Join(s.dir, p)) }

// findKustomization returns the name of the kustomization file in dir, a
// path in fsys; "" when there is none.
func findKustomization(fsys fs.FS, dir string) string {
	for _, name := range kustomizationFiles {
		if _, err := fs.Stat(fsys, path.Join(dir, name)); err == nil {
			return name
		}
	}
	return ""
}

type loader struct {
	inv      *Inventory
	problems Problems
	docs     int
	dec      decoder
}

// errTooManyFiles stops the walk of an inventory with more than MaxFiles
// files.
var errTooManyFiles = errors.New("too many files")

func (l *loader) loadTree(src source, opts LoadOptions) error {
	statePath := path.Join(src.dir, filepath.ToSlash(opts.StateDir))
	var files []string
	err := fs.WalkDir(src.fsys, src.dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if p == src.dir {
				return nil
			}
			if strings.HasPrefix(d.Name(), ".") || p == statePath || findKustomization(src.fsys, p) != "" {
				return fs.SkipDir
			}
			return nil
		}
		ext := strings.ToLower(path.Ext(p))
		if (ext == ".yaml" || ext == ".yml") && !strings.HasPrefix(d.Name(), ".") {
			if t := d.Type(); !t.IsRegular() && t&fs.ModeSymlink == 0 {
				// A FIFO, socket or device: refused without being opened.
				prob, _ := fileProblem(src.name(p), ErrNotRegular)
				l.problems = append(l.problems, prob)
				return nil
			}
			if len(files) == MaxFiles {
				return errTooManyFiles
			}
			files = append(files, p)
		}
		return nil
	})
	if errors.Is(err, errTooManyFiles) {
		l.problems = append(l.problems, Problem{File: src.name(src.dir), Rule: RuleLimit,
			Message: fmt.Sprintf("more than %d YAML files below the inventory root; keep only the inventory below it, or split the site", MaxFiles)})
		return nil
	}
	if err != nil {
		return fmt.Errorf("reading inventory %s: %w", src.name(src.dir), err)
	}
	slices.Sort(files)
	names := make([]string, len(files))
	for i, p := range files {
		names[i] = src.name(p)
	}
	return l.loadFiles(opts.Context, src.fsys, files, names, opts.Cache, opts.ContentKey)
}

// loadFiles reads and parses files (paths in fsys, named names) on every
// CPU, then merges the results in the order of files, so the outcome does
// not depend on scheduling. With a cache, a file whose content the cache
// holds is not parsed again (nor read, when contentKey knows the file),
// and the cache keeps only files afterwards.
func (l *loader) loadFiles(ctx context.Context, fsys fs.FS, files, names []string, cache *ParseCache, contentKey func(string) (string, bool)) error {
	parts := make([]*parsedFile, len(files))
	errs := make([]error, len(files))
	var total atomic.Int64 // bytes of the files held, read or cached
	var over atomic.Bool   // MaxInventoryBytes passed: read no more
	next := make(chan int)
	var wg sync.WaitGroup
	for range min(runtime.GOMAXPROCS(0), len(files)) {
		wg.Go(func() {
			types := map[reflect.Type]*structInfo{} // one per worker: the decoder's cache is not shared
			for i := range next {
				if over.Load() || ctx.Err() != nil {
					continue
				}
				var key string
				if cache != nil && contentKey != nil {
					if k, ok := contentKey(names[i]); ok {
						key = "key:" + k
						if p := cache.get(names[i], key); p != nil {
							parts[i] = p
							if total.Add(p.size) > MaxInventoryBytes {
								over.Store(true)
							}
							continue
						}
					}
				}
				data, err := ReadFileLimited(fsys, files[i], MaxFileBytes)
				if err != nil {
					if prob, ok := fileProblem(names[i], err); ok {
						parts[i] = &parsedFile{problems: Problems{prob}, inv: &Inventory{}}
						continue
					}
					if pe := (*fs.PathError)(nil); errors.As(err, &pe) {
						pe.Path = names[i]
					}
					errs[i] = fmt.Errorf("reading inventory: %w", err)
					continue
				}
				if total.Add(int64(len(data))) > MaxInventoryBytes {
					over.Store(true)
					continue
				}
				if cache != nil {
					cache.noteRead()
				}
				if cache != nil && key == "" {
					sum := sha256.Sum256(data)
					key = "sha256:" + string(sum[:])
					if p := cache.get(names[i], key); p != nil {
						parts[i] = p
						continue
					}
				}
				part := &loader{inv: &Inventory{}, dec: decoder{cache: types}}
				part.loadFile(names[i], data)
				parts[i] = &parsedFile{key: key, inv: part.inv, problems: part.problems, docs: part.docs, size: int64(len(data))}
				if cache != nil {
					cache.put(names[i], parts[i])
				}
			}
		})
	}
	for i := range files {
		next <- i
	}
	close(next)
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("reading inventory: %w", err)
	}
	if cache != nil {
		cache.retain(names)
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	if over.Load() {
		// What was read is not a whole inventory: report only the limit.
		l.problems = append(l.problems, Problem{File: commonDir(names), Rule: RuleLimit,
			Message: fmt.Sprintf("the inventory's YAML files hold more than %s in all; split the site into several inventories", sizeText(MaxInventoryBytes))})
		return nil
	}
	for _, p := range parts {
		l.merge(p)
	}
	return nil
}

// commonDir is the directory the first name lies in, for a problem about
// all the files.
func commonDir(names []string) string {
	if len(names) == 0 {
		return "."
	}
	return filepath.Dir(names[0])
}

// merge appends what one file held. It copies the problems and the
// lists, never the objects, and modifies nothing of p.
func (l *loader) merge(p *parsedFile) {
	a, b := l.inv, p.inv
	a.Sites = append(a.Sites, b.Sites...)
	a.IPPools = append(a.IPPools, b.IPPools...)
	a.NodeTypes = append(a.NodeTypes, b.NodeTypes...)
	a.Hosts = append(a.Hosts, b.Hosts...)
	a.MachineSets = append(a.MachineSets, b.MachineSets...)
	a.Machines = append(a.Machines, b.Machines...)
	a.OSImages = append(a.OSImages, b.OSImages...)
	a.SSHKeys = append(a.SSHKeys, b.SSHKeys...)
	a.Secrets = append(a.Secrets, b.Secrets...)
	l.problems = append(l.problems, p.problems...)
	l.docs += p.docs
}

// SyntaxProblem turns a YAML parser error into a Problem at its line,
// ending with the hint.
func SyntaxProblem(file string, err error, hint string) Problem {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	p := Problem{File: file, Rule: RuleYAMLSyntax}
	if rest, ok := strings.CutPrefix(msg, "line "); ok {
		if n, after, ok := strings.Cut(rest, ": "); ok {
			if line, err := strconv.Atoi(n); err == nil {
				p.Line, msg = line, after
			}
		}
	}
	p.Message = msg + "; " + hint
	return p
}

// loadFile parses every document of one file.
func (l *loader) loadFile(name string, data []byte) {
	fileSum := sha256.Sum256(data)
	dec := yaml.NewDecoder(bytes.NewReader(data))
	for index := 0; ; index++ {
		var doc yaml.Node
		err := dec.Decode(&doc)
		if errors.Is(err, io.EOF) {
			return
		}
		if err != nil {
			l.problems = append(l.problems, SyntaxProblem(name, err, "fix the YAML syntax"))
			return // the rest of the file cannot be read reliably
		}
		src := NewSource(name, topNode(&doc))
		src.digest = documentDigest(name, fileSum, index)
		l.loadDocument(src, index)
	}
}

// topNode returns a document's top-level node.
func topNode(doc *yaml.Node) *yaml.Node {
	if doc.Kind == yaml.DocumentNode && len(doc.Content) > 0 {
		return resolveAlias(doc.Content[0])
	}
	return nil
}

// loadDocument decodes one document into its kind's type.
func (l *loader) loadDocument(src Source, index int) {
	n := src.node
	if n == nil || isNull(n) {
		return // empty document
	}
	at := func(path string, rule Rule, object, msg string) {
		l.problems = append(l.problems, Problem{File: src.File, Line: src.LineOf(path), Object: object, Field: path, Rule: rule, Message: msg})
	}
	if n.Kind != yaml.MappingNode {
		at("", RuleType, fmt.Sprintf("document %d", index+1), "a document must be a mapping with apiVersion, kind, metadata and spec")
		return
	}
	l.docs++
	apiVersion, kind, name := scalarAt(n, "apiVersion"), scalarAt(n, "kind"), nameOf(n)
	object := ObjectRef(kind, name)
	if name == "" {
		object = fmt.Sprintf("%s (document %d)", cmp.Or(kind, "document"), index+1)
	}
	target := newObject(apiVersion, kind)
	if target == nil {
		switch {
		case kind == "":
			at("kind", RuleRequired, object, "kind is missing; set one of: "+strings.Join(Kinds, ", "))
		case apiVersion == "":
			at("apiVersion", RuleRequired, object, "apiVersion is missing; set apiVersion: "+APIVersion)
		case kind == KindSecret:
			at("apiVersion", RuleKind, object, fmt.Sprintf("unknown apiVersion %q for a Secret; use v1", apiVersion))
		case slices.Contains(Kinds, kind):
			at("apiVersion", RuleKind, object, fmt.Sprintf("unknown apiVersion %q; use %s", apiVersion, APIVersion))
		default:
			msg := fmt.Sprintf("unknown kind %q; an inventory holds %s (%s) and v1 Secrets", kind, strings.Join(Kinds, ", "), APIVersion)
			for _, k := range Kinds {
				if editDistance(strings.ToLower(k), strings.ToLower(kind)) <= 2 {
					msg = fmt.Sprintf("unknown kind %q; did you mean %q?", kind, k)
				}
			}
			at("kind", RuleKind, object, msg)
		}
		return
	}
	reported := 0
	l.dec.report = func(_ int, path string, rule Rule, msg string) {
		reported++
		switch {
		case reported == MaxProblemsPerDocument+1:
			l.problems = append(l.problems, Problem{File: src.File, Line: src.Line, Object: object, Rule: rule,
				Message: fmt.Sprintf("more than %d problems in this document; fix the ones above and validate again", MaxProblemsPerDocument)})
		case reported <= MaxProblemsPerDocument:
			l.problems = append(l.problems, Problem{File: src.File, Line: src.LineOf(path), Object: object, Field: path, Rule: rule, Message: msg})
		}
		if src.bad == nil {
			src.bad = map[string]bool{}
		}
		src.bad[path] = true
	}
	v := reflect.ValueOf(target).Elem()
	l.dec.reset()
	l.dec.decode(n, v, "")
	v.FieldByName("Source").Set(reflect.ValueOf(src))
	l.add(target)
}

// newObject returns a pointer to a new value of the kind, or nil.
func newObject(apiVersion, kind string) any {
	if apiVersion == "v1" && kind == KindSecret {
		return &Secret{}
	}
	if apiVersion != APIVersion {
		return nil
	}
	switch kind {
	case KindSite:
		return &Site{}
	case KindIPPool:
		return &IPPool{}
	case KindNodeType:
		return &NodeType{}
	case KindHost:
		return &Host{}
	case KindMachineSet:
		return &MachineSet{}
	case KindMachine:
		return &Machine{}
	case KindOSImage:
		return &OSImage{}
	case KindSSHKey:
		return &SSHKey{}
	}
	return nil
}

func (l *loader) add(obj any) {
	inv := l.inv
	switch o := obj.(type) {
	case *Site:
		inv.Sites = append(inv.Sites, o)
	case *IPPool:
		inv.IPPools = append(inv.IPPools, o)
	case *NodeType:
		inv.NodeTypes = append(inv.NodeTypes, o)
	case *Host:
		inv.Hosts = append(inv.Hosts, o)
	case *MachineSet:
		inv.MachineSets = append(inv.MachineSets, o)
	case *Machine:
		inv.Machines = append(inv.Machines, o)
	case *OSImage:
		inv.OSImages = append(inv.OSImages, o)
	case *SSHKey:
		inv.SSHKeys = append(inv.SSHKeys, o)
	case *Secret:
		inv.Secrets = append(inv.Secrets, o)
	}
}

// scalarAt returns the string value of key in mapping n.
func scalarAt(n *yaml.Node, key string) string {
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			if v := resolveAlias(n.Content[i+1]); v.Kind == yaml.ScalarNode {
				return v.Value
			}
		}
	}
	return ""
}

// nameOf returns metadata.name of a document node.
func nameOf(n *yaml.Node) string {
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == "metadata" {
			if m := resolveAlias(n.Content[i+1]); m.Kind == yaml.MappingNode {
				return scalarAt(m, "name")
			}
		}
	}
	return ""
}
