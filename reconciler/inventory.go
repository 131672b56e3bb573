package reconciler

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"path"
	"path/filepath"
	"strings"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"

	"github.com/metalgit/metalgit/schemas"
)

// loadedInventory is a validated inventory kept with the working clone it
// was loaded from, and the key of the commit content it was loaded from.
// It is read-only once stored: planning, rendering and the host table
// only read an inventory.
type loadedInventory struct {
	key string
	inv *schemas.Inventory
}

// inventory returns the validated inventory of the checkout. When the
// working clone last loaded an inventory from a commit whose files,
// outside the state directory, are the same as those of c.head (a
// rejected push fetched a head where only the state changed, or the
// branch did not move), that inventory is reused without reading or
// validating a file. Otherwise the inventory is loaded from the commit's
// tree in the object store, confined to the inventory root: a plain
// directory reading and parsing only the files whose blobs were not
// parsed before (r.parse), a kustomization built from an in-memory copy
// of the root; and validated. Nothing is checked out for it.
// It runs under r.mu, which serialises the uses of r.parse and r.validated.
func (r *Reconciler) inventory(ctx context.Context, c *computed) (*schemas.Inventory, error) {
	key, err := r.inventoryKey(c)
	if err != nil {
		return nil, fmt.Errorf("reading the tree of commit %s: %w", c.head, err)
	}
	c.invKey = key
	w := r.work
	if key != "" && w != nil && w.inv != nil && w.inv.key == key {
		return w.inv.inv, nil
	}
	tfs, err := c.treeFS()
	if err != nil {
		return nil, fmt.Errorf("reading the tree of commit %s: %w", c.head, err)
	}
	opts := schemas.LoadOptions{StateDir: r.cfg.StateDir, Cache: &r.parse, FS: tfs, ContentKey: tfs.blobKey, Context: ctx}
	inv, problems, err := schemas.Load(r.rootInTree(), opts)
	if err != nil {
		return nil, fmt.Errorf("loading inventory at commit %s: %w", c.head, err)
	}
	problems = append(problems, inv.ValidateWith(&r.validated)...)
	st := r.parse.Stats()
	r.log.Debug("loaded inventory", "commit", c.head, "parsed", st.Misses, "reused", st.Hits, "read", st.Read, "hosts_checked", r.validated.Checked())
	if len(problems) > 0 {
		return nil, invalid(c, "inventory", problems)
	}
	if w != nil {
		w.inv = nil
		if key != "" {
			w.inv = &loadedInventory{key: key, inv: inv}
		}
	}
	return inv, nil
}

// rootInTree is the slash-separated path of the inventory root in the
// repository's tree.
func (r *Reconciler) rootInTree() string {
	return path.Clean(filepath.ToSlash(r.cfg.Path))
}

// inventoryKey identifies everything in the commit's tree except the
// state directory: two commits with the same key load the same inventory,
// a kustomization's build included, since it reads nothing outside the
// inventory root and nothing from the state directory.
func (r *Reconciler) inventoryKey(c *computed) (string, error) {
	tree, err := commitTree(c.repo, plumbing.NewHash(c.head))
	if err != nil {
		return "", err
	}
	return treeKeyWithout(tree, path.Join(filepath.ToSlash(r.cfg.Path), filepath.ToSlash(r.cfg.StateDir)))
}

// treeKeyWithout hashes the entries of tree, leaving out the subtree at
// the slash-separated path skip: each level along the path is hashed
// without the entry the path goes through, and the levels below are
// covered by their entries' object hashes.
func treeKeyWithout(tree *object.Tree, skip string) (string, error) {
	elems := pathElems(skip)
	if len(elems) == 0 {
		return "", nil // the state is the whole tree: nothing to reuse
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
			break // no state directory: a commit with an empty one has the same key
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
