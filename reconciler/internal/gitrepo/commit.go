package gitrepo

import (
	"errors"
	"fmt"
	"path"
	"slices"
	"strings"

	"github.com/fluxcd/pkg/git/signature"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/plumbing/storer"
)

// ErrNothingToCommit is returned by Commit when the files hold what
// HEAD holds.
var ErrNothingToCommit = errors.New("the state files are unchanged; nothing to commit")

// Commit is a commit Repo.Commit made.
type Commit struct {
	Hash plumbing.Hash
	// objects are the objects written (the commit, the trees along the
	// files' paths and the blobs that changed): with the parent on the
	// remote, they are all a push needs to send.
	objects []plumbing.Hash
	// Trees are the hashes of the trees written, by slash-separated
	// path ("" is the root).
	Trees map[string]plumbing.Hash
}

// Commit makes a commit on HEAD whose tree is HEAD's tree with the
// given files (slash-separated paths in the checkout → the content of
// regular files), and stores its objects. Only the trees along the files'
// paths are written: the working clone keeps no index, whose reading and
// writing for every commit would cost more than the commit itself, and
// the work tree is left as it is (Checkout brings it to a commit). The
// commit is signed when sg is not nil.
//
// With move, the branch moves to the commit. Without, it stays: the
// commit is made for a push that another writer is expected to make of
// the same commit, whose fetch then finds it here already.
func (r *Repo) Commit(files map[string][]byte, msg string, who object.Signature, sg signature.Signer, move bool) (*Commit, error) {
	ow := &objectWriter{s: r.repo.Storer, trees: map[string]plumbing.Hash{}}
	h, err := ow.commit(r, files, msg, who, sg, move)
	if err != nil {
		return nil, err
	}
	return &Commit{Hash: h, objects: ow.written, Trees: ow.trees}, nil
}

// objectWriter stores the objects of one commit and lists them.
type objectWriter struct {
	s       storer.EncodedObjectStorer
	written []plumbing.Hash
	trees   map[string]plumbing.Hash
}

func (ow *objectWriter) commit(w *Repo, files map[string][]byte, msg string, who object.Signature, sg signature.Signer, move bool) (plumbing.Hash, error) {
	head, err := w.repo.Head()
	if err != nil {
		return plumbing.ZeroHash, err
	}
	if !head.Name().IsBranch() {
		return plumbing.ZeroHash, fmt.Errorf("HEAD is not a branch: %s", head.Name())
	}
	parent, err := w.repo.CommitObject(head.Hash())
	if err != nil {
		return plumbing.ZeroHash, err
	}
	tree, err := parent.Tree()
	if err != nil {
		return plumbing.ZeroHash, err
	}
	changes := make(map[string]plumbing.Hash, len(files))
	for file, data := range files {
		blob := plumbing.ComputeHash(plumbing.BlobObject, data)
		if e, err := tree.FindEntry(file); err == nil && e.Hash == blob && e.Mode == filemode.Regular {
			continue // unchanged: the blob is stored already
		}
		if changes[file], err = ow.store(plumbing.BlobObject, data); err != nil {
			return plumbing.ZeroHash, fmt.Errorf("committing %s: %w", file, err)
		}
	}
	if len(changes) == 0 {
		return plumbing.ZeroHash, ErrNothingToCommit
	}
	root, err := ow.writeTree(tree, changes, "")
	if err != nil {
		return plumbing.ZeroHash, fmt.Errorf("writing the tree: %w", err)
	}
	if root == tree.Hash {
		return plumbing.ZeroHash, ErrNothingToCommit
	}
	who = object.Signature{Name: unsafeInSignature.Replace(who.Name), Email: unsafeInSignature.Replace(who.Email), When: who.When}
	commit := &object.Commit{Author: who, Committer: who, Message: msg, TreeHash: root, ParentHashes: []plumbing.Hash{parent.Hash}}
	if sg != nil {
		unsigned := &plumbing.MemoryObject{}
		if err := commit.EncodeWithoutSignature(unsigned); err != nil {
			return plumbing.ZeroHash, err
		}
		rd, err := unsigned.Reader()
		if err != nil {
			return plumbing.ZeroHash, err
		}
		sig, err := sg.Sign(rd)
		if err != nil {
			return plumbing.ZeroHash, fmt.Errorf("signing the commit: %w", err)
		}
		commit.PGPSignature = string(sig)
	}
	hash, err := ow.encode(commit)
	if err != nil || !move {
		return hash, err
	}
	return hash, w.repo.Storer.SetReference(plumbing.NewHashReference(head.Name(), hash))
}

// unsafeInSignature removes what would break a commit's author line, as
// go-git's own commits do.
var unsafeInSignature = strings.NewReplacer("<", "", ">", "", "\n", "")

// store writes one object and returns its hash.
func (ow *objectWriter) store(t plumbing.ObjectType, data []byte) (plumbing.Hash, error) {
	obj := ow.s.NewEncodedObject()
	obj.SetType(t)
	obj.SetSize(int64(len(data)))
	wr, err := obj.Writer()
	if err != nil {
		return plumbing.ZeroHash, err
	}
	_, werr := wr.Write(data)
	if err := errors.Join(werr, wr.Close()); err != nil {
		return plumbing.ZeroHash, err
	}
	return ow.set(obj)
}

// encode writes a tree or commit.
func (ow *objectWriter) encode(o interface {
	Encode(plumbing.EncodedObject) error
}) (plumbing.Hash, error) {
	obj := ow.s.NewEncodedObject()
	if err := o.Encode(obj); err != nil {
		return plumbing.ZeroHash, err
	}
	return ow.set(obj)
}

func (ow *objectWriter) set(obj plumbing.EncodedObject) (plumbing.Hash, error) {
	h, err := ow.s.SetEncodedObject(obj)
	if err == nil {
		ow.written = append(ow.written, h)
	}
	return h, err
}

// writeTree writes tree t (nil: an empty one), at the slash-separated
// path dir, with changes applied (slash-separated paths below t → blob
// hashes of regular files), and every tree along their paths, and returns
// its hash.
func (ow *objectWriter) writeTree(t *object.Tree, changes map[string]plumbing.Hash, dir string) (plumbing.Hash, error) {
	var entries []object.TreeEntry
	if t != nil {
		entries = slices.Clone(t.Entries)
	}
	set := func(e object.TreeEntry) error {
		i := slices.IndexFunc(entries, func(old object.TreeEntry) bool { return old.Name == e.Name })
		if i < 0 {
			entries = append(entries, e)
			return nil
		}
		if (entries[i].Mode == filemode.Dir) != (e.Mode == filemode.Dir) {
			return fmt.Errorf("%s is a file in one tree and a directory in the other", e.Name)
		}
		entries[i] = e
		return nil
	}
	dirs := map[string]map[string]plumbing.Hash{}
	for p, h := range changes {
		name, rest, nested := strings.Cut(p, "/")
		if !nested {
			if err := set(object.TreeEntry{Name: name, Mode: filemode.Regular, Hash: h}); err != nil {
				return plumbing.ZeroHash, err
			}
			continue
		}
		if dirs[name] == nil {
			dirs[name] = map[string]plumbing.Hash{}
		}
		dirs[name][rest] = h
	}
	for name, sub := range dirs {
		var subtree *object.Tree
		if i := slices.IndexFunc(entries, func(e object.TreeEntry) bool { return e.Name == name }); i >= 0 {
			if entries[i].Mode != filemode.Dir {
				return plumbing.ZeroHash, fmt.Errorf("%s is a file, not a directory", name)
			}
			var err error
			if subtree, err = object.GetTree(ow.s, entries[i].Hash); err != nil {
				return plumbing.ZeroHash, fmt.Errorf("%s: %w", name, err)
			}
		}
		h, err := ow.writeTree(subtree, sub, path.Join(dir, name))
		if err != nil {
			return plumbing.ZeroHash, fmt.Errorf("%s/%w", name, err)
		}
		if err := set(object.TreeEntry{Name: name, Mode: filemode.Dir, Hash: h}); err != nil {
			return plumbing.ZeroHash, err
		}
	}
	// Git's order: by name, a directory's name followed by a slash.
	slices.SortFunc(entries, func(a, b object.TreeEntry) int { return strings.Compare(treeSortName(a), treeSortName(b)) })
	h, err := ow.encode(&object.Tree{Entries: entries})
	if err == nil {
		ow.trees[dir] = h
	}
	return h, err
}

func treeSortName(e object.TreeEntry) string {
	if e.Mode == filemode.Dir {
		return e.Name + "/"
	}
	return e.Name
}
