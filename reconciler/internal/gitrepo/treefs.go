package gitrepo

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/plumbing/storer"

	"github.com/metalgit/metalgit/schemas"
)

// TreeFS is the read-only fs.FS of a Git tree, read from the object
// store: directories are its trees and files the blobs of its regular
// files. Symlinks are followed as a checkout's would be (ReadLink and
// Lstat see the links themselves), as long as they stay inside the tree;
// submodules are listed but cannot be opened. It reads each tree once,
// and a file only when asked, so
// that loading an inventory whose files are mostly parsed already reads
// the trees alone, and nothing has to be checked out.
//
// It is safe for concurrent use (Load reads files on every CPU): one
// mutex serialises the reads of the object store, which the parsing of
// what they return does not wait for.
type TreeFS struct {
	mu    sync.Mutex
	s     storer.EncodedObjectStorer
	trees map[string]*indexedTree // by path; "." is the root
	// within is the directory (a slash-separated path in the tree, "."
	// for all of it) that symlinks may not lead out of: the inventory
	// root, so that a link in a pull request cannot make the loader read
	// another part of the repository.
	within string
}

// indexedTree is a tree with its entries' indexes by name.
type indexedTree struct {
	*object.Tree
	byName map[string]int
}

func newIndexedTree(t *object.Tree) *indexedTree {
	it := &indexedTree{Tree: t, byName: make(map[string]int, len(t.Entries))}
	for i, e := range t.Entries {
		it.byName[e.Name] = i
	}
	return it
}

var (
	_ fs.ReadDirFS  = (*TreeFS)(nil)
	_ fs.ReadFileFS = (*TreeFS)(nil)
	_ fs.StatFS     = (*TreeFS)(nil)
	_ fs.ReadLinkFS = (*TreeFS)(nil)
)

// NewTreeFS returns the file system of the tree root, read from s, with
// symlinks kept inside the slash-separated directory within ("." for
// the whole tree).
func NewTreeFS(s storer.EncodedObjectStorer, root *object.Tree, within string) *TreeFS {
	return &TreeFS{s: s, trees: map[string]*indexedTree{".": newIndexedTree(root)}, within: path.Clean(within)}
}

// FS returns the file system of commit's tree, with symlinks kept inside
// the slash-separated directory within.
func (r *Repo) FS(commit plumbing.Hash, within string) (*TreeFS, error) {
	tree, err := r.Tree(commit)
	if err != nil {
		return nil, err
	}
	return NewTreeFS(r.repo.Storer, tree, within), nil
}

// inside reports whether the slash-separated path p lies in f.within.
func (f *TreeFS) inside(p string) bool {
	return f.within == "." || p == f.within || strings.HasPrefix(p, f.within+"/")
}

// lookup returns the entry at name; for "." an entry of the root tree.
func (f *TreeFS) lookup(op, name string) (object.TreeEntry, error) {
	if !fs.ValidPath(name) {
		return object.TreeEntry{}, &fs.PathError{Op: op, Path: name, Err: fs.ErrInvalid}
	}
	if name == "." {
		return object.TreeEntry{Name: ".", Mode: filemode.Dir, Hash: f.trees["."].Hash}, nil
	}
	dir, base := path.Split(name)
	parent, err := f.tree(op, path.Clean(dir))
	if err != nil {
		return object.TreeEntry{}, err
	}
	i, ok := parent.byName[base]
	if !ok {
		return object.TreeEntry{}, &fs.PathError{Op: op, Path: name, Err: fs.ErrNotExist}
	}
	return parent.Entries[i], nil
}

// maxLinks bounds the symlinks followed to reach one file, as the
// operating system's own limit does.
const maxLinks = 40

// follow returns the entry at name with symlinks followed, as a read of
// a checked-out file does, and the path it was found at. A link that
// leaves the tree (an absolute one, or one that climbs above the root)
// is refused: the tree holds no such file.
func (f *TreeFS) follow(op, name string) (object.TreeEntry, string, error) {
	for range maxLinks {
		e, err := f.lookup(op, name)
		if err != nil || e.Mode != filemode.Symlink {
			return e, name, err
		}
		target, err := f.blob(e.Hash)
		if err != nil {
			return e, name, &fs.PathError{Op: op, Path: name, Err: err}
		}
		next := path.Join(path.Dir(name), string(target))
		if path.IsAbs(string(target)) || !fs.ValidPath(next) || !f.inside(next) {
			return e, name, &fs.PathError{Op: op, Path: name, Err: fmt.Errorf("symlink to %s: %w", target, schemas.ErrEscapes)}
		}
		name = next
	}
	return object.TreeEntry{}, name, &fs.PathError{Op: op, Path: name, Err: errors.New("too many levels of symbolic links")}
}

// tree returns the tree at dir.
func (f *TreeFS) tree(op, dir string) (*indexedTree, error) {
	if t := f.trees[dir]; t != nil {
		return t, nil
	}
	e, _, err := f.follow(op, dir)
	if err != nil {
		return nil, err
	}
	if e.Mode != filemode.Dir {
		return nil, &fs.PathError{Op: op, Path: dir, Err: errors.New("not a directory")}
	}
	t, err := object.GetTree(f.s, e.Hash)
	if err != nil {
		return nil, &fs.PathError{Op: op, Path: dir, Err: err}
	}
	it := newIndexedTree(t)
	f.trees[dir] = it
	return it, nil
}

// Stat implements fs.StatFS, following symlinks.
func (f *TreeFS) Stat(name string) (fs.FileInfo, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	e, _, err := f.follow("stat", name)
	if err != nil {
		return nil, err
	}
	return f.info(e, path.Base(name)), nil
}

// Lstat returns the entry at name itself, a symlink not followed.
func (f *TreeFS) Lstat(name string) (fs.FileInfo, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	e, err := f.lookup("lstat", name)
	if err != nil {
		return nil, err
	}
	return f.info(e, path.Base(name)), nil
}

// ReadLink implements fs.ReadLinkFS.
func (f *TreeFS) ReadLink(name string) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	e, err := f.lookup("readlink", name)
	if err != nil {
		return "", err
	}
	if e.Mode != filemode.Symlink {
		return "", &fs.PathError{Op: "readlink", Path: name, Err: fs.ErrInvalid}
	}
	target, err := f.blob(e.Hash)
	if err != nil {
		return "", &fs.PathError{Op: "readlink", Path: name, Err: err}
	}
	return string(target), nil
}

// blob reads a blob's content.
func (f *TreeFS) blob(h plumbing.Hash) ([]byte, error) {
	blob, err := object.GetBlob(f.s, h)
	if err != nil {
		return nil, err
	}
	return blobContent(blob)
}

// ReadDir implements fs.ReadDirFS.
func (f *TreeFS) ReadDir(name string) ([]fs.DirEntry, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.readDir(name)
}

func (f *TreeFS) readDir(name string) ([]fs.DirEntry, error) {
	_, found, err := f.follow("readdir", name)
	if err != nil {
		return nil, err
	}
	t, err := f.tree("readdir", found)
	if err != nil {
		return nil, err
	}
	entries := make([]fs.DirEntry, len(t.Entries))
	for i, e := range t.Entries {
		entries[i] = f.info(e, e.Name)
	}
	// By name, as fs.ReadDir returns them (Git sorts a tree's
	// directories as if their names ended in a slash).
	slices.SortFunc(entries, func(a, b fs.DirEntry) int { return strings.Compare(a.Name(), b.Name()) })
	return entries, nil
}

// ReadFile implements fs.ReadFileFS.
func (f *TreeFS) ReadFile(name string) ([]byte, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.readFile(name)
}

func (f *TreeFS) readFile(name string) ([]byte, error) {
	e, _, err := f.follow("read", name)
	if err != nil {
		return nil, err
	}
	if !regular(e.Mode) {
		return nil, &fs.PathError{Op: "read", Path: name, Err: errors.New("not a regular file")}
	}
	data, err := f.blob(e.Hash)
	if err != nil {
		return nil, &fs.PathError{Op: "read", Path: name, Err: err}
	}
	return data, nil
}

// Open implements fs.FS.
func (f *TreeFS) Open(name string) (fs.File, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	e, found, err := f.follow("open", name)
	if err != nil {
		return nil, err
	}
	info := f.info(e, path.Base(name))
	if e.Mode == filemode.Dir {
		entries, err := f.readDir(found)
		if err != nil {
			return nil, err
		}
		return &treeDir{info: info, entries: entries}, nil
	}
	data, err := f.readFile(found)
	if err != nil {
		return nil, err
	}
	return &treeFile{info: info, Reader: bytes.NewReader(data)}, nil
}

// regular reports whether a tree entry is a file with content of its own.
func regular(m filemode.FileMode) bool {
	return m == filemode.Regular || m == filemode.Executable || m == filemode.Deprecated
}

func (f *TreeFS) info(e object.TreeEntry, name string) *treeInfo {
	return &treeInfo{fs: f, name: name, entry: e}
}

// treeInfo is both the fs.FileInfo and the fs.DirEntry of a tree entry.
type treeInfo struct {
	fs    *TreeFS
	name  string
	entry object.TreeEntry
}

func (i *treeInfo) Name() string { return i.name }
func (i *treeInfo) IsDir() bool  { return i.entry.Mode == filemode.Dir }
func (i *treeInfo) Type() fs.FileMode {
	return i.Mode().Type()
}
func (i *treeInfo) Info() (fs.FileInfo, error) { return i, nil }
func (i *treeInfo) ModTime() time.Time         { return time.Time{} }
func (i *treeInfo) Sys() any                   { return i.entry.Hash }

// Size is the blob's size; 0 for anything else, or when the object store
// cannot tell.
func (i *treeInfo) Size() int64 {
	if !regular(i.entry.Mode) {
		return 0
	}
	i.fs.mu.Lock()
	defer i.fs.mu.Unlock()
	n, err := i.fs.s.EncodedObjectSize(i.entry.Hash)
	if err != nil {
		return 0
	}
	return n
}

func (i *treeInfo) Mode() fs.FileMode {
	switch m := i.entry.Mode; {
	case m == filemode.Dir:
		return fs.ModeDir | 0o755
	case m == filemode.Executable:
		return 0o755
	case regular(m):
		return 0o644
	case m == filemode.Symlink:
		return fs.ModeSymlink | 0o777
	default: // a submodule
		return fs.ModeIrregular
	}
}

// treeFile is an open file of a TreeFS.
type treeFile struct {
	info fs.FileInfo
	*bytes.Reader
}

func (f *treeFile) Stat() (fs.FileInfo, error) { return f.info, nil }
func (f *treeFile) Close() error               { return nil }

// treeDir is an open directory of a TreeFS.
type treeDir struct {
	info    fs.FileInfo
	entries []fs.DirEntry
}

func (d *treeDir) Stat() (fs.FileInfo, error) { return d.info, nil }
func (d *treeDir) Close() error               { return nil }
func (d *treeDir) Read([]byte) (int, error) {
	return 0, &fs.PathError{Op: "read", Path: d.info.Name(), Err: errors.New("is a directory")}
}

func (d *treeDir) ReadDir(n int) ([]fs.DirEntry, error) {
	if n <= 0 {
		rest := d.entries
		d.entries = nil
		return rest, nil
	}
	if len(d.entries) == 0 {
		return nil, io.EOF
	}
	n = min(n, len(d.entries))
	out := d.entries[:n]
	d.entries = d.entries[n:]
	return out, nil
}

// BlobKey is a schemas.LoadOptions.ContentKey: the hash of the blob
// behind the file at name (symlinks followed), which changes whenever its
// content does.
func (f *TreeFS) BlobKey(name string) (string, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	e, _, err := f.follow("stat", name)
	if err != nil || !regular(e.Mode) {
		return "", false
	}
	return string(e.Hash[:]), true
}
