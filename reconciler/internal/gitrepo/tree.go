package gitrepo

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"path"
	"strings"
	"time"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"
)

// SubtreeHash returns the hash of the tree at the slash-separated path
// dir in commit; the zero hash when the commit has none.
func (r *Repo) SubtreeHash(commit plumbing.Hash, dir string) (plumbing.Hash, error) {
	tree, err := r.Tree(commit)
	if err != nil {
		return plumbing.ZeroHash, err
	}
	sub, err := tree.Tree(dir)
	if errors.Is(err, object.ErrDirectoryNotFound) {
		return plumbing.ZeroHash, nil
	}
	if err != nil {
		return plumbing.ZeroHash, err
	}
	return sub.Hash, nil
}

// HasPath reports whether commit's tree has an entry at the
// slash-separated path p.
func (r *Repo) HasPath(commit plumbing.Hash, p string) (bool, error) {
	tree, err := r.Tree(commit)
	if err != nil {
		return false, err
	}
	_, err = tree.FindEntry(p)
	if errors.Is(err, object.ErrEntryNotFound) || errors.Is(err, object.ErrDirectoryNotFound) {
		return false, nil
	}
	return err == nil, err
}

// CommitTime is the committer date of commit.
func (r *Repo) CommitTime(commit plumbing.Hash) (time.Time, error) {
	c, err := r.repo.CommitObject(commit)
	if err != nil {
		return time.Time{}, fmt.Errorf("reading commit %s: %w", commit, err)
	}
	return c.Committer.When, nil
}

// KeyWithout identifies everything in commit's tree except the subtree at
// the slash-separated path skip: two commits with the same key hold the
// same files outside skip. Each level along the path is hashed without
// the entry the path goes through, and the levels below are covered by
// their entries' object hashes, so it reads only the trees along skip.
// It is "" when skip is the whole tree.
func (r *Repo) KeyWithout(commit plumbing.Hash, skip string) (string, error) {
	tree, err := r.Tree(commit)
	if err != nil {
		return "", err
	}
	return treeKeyWithout(tree, skip)
}

func treeKeyWithout(tree *object.Tree, skip string) (string, error) {
	elems := pathElems(skip)
	if len(elems) == 0 {
		return "", nil
	}
	h := sha256.New()
	t := tree
	for level, name := range elems {
		var next *object.TreeEntry
		for i, e := range t.Entries {
			if e.Name == name && e.Mode == filemode.Dir {
				next = &t.Entries[i]
				continue
			}
			_, _ = fmt.Fprintf(h, "%d %d:%s %o %s\n", level, len(e.Name), e.Name, uint32(e.Mode), e.Hash)
		}
		if next == nil {
			break // no such directory: a commit with an empty one has the same key
		}
		sub, err := t.Tree(next.Name)
		if err != nil {
			return "", err
		}
		t = sub
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// pathElems splits a slash-separated relative path into its elements;
// "." has none.
func pathElems(p string) []string {
	p = path.Clean(p)
	if p == "." || p == "" {
		return nil
	}
	return strings.Split(p, "/")
}

// CheckedOut is the commit whose tree the work tree holds; zero when it
// holds none.
func (r *Repo) CheckedOut() plumbing.Hash { return r.at }
