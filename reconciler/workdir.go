package reconciler

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"reflect"

	"github.com/fluxcd/pkg/git"
	// The gogit client's init turns off thin packs, which go-git's fetch
	// into an existing repository does not handle.
	_ "github.com/fluxcd/pkg/git/gogit"
	"github.com/fluxcd/pkg/ssh/knownhosts"
	extgogit "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/plumbing/storer"
	"github.com/go-git/go-git/v5/plumbing/transport"
	"github.com/go-git/go-git/v5/plumbing/transport/http"
	"github.com/go-git/go-git/v5/plumbing/transport/ssh"
	gossh "golang.org/x/crypto/ssh"
)

// maxReuse bounds the passes a working clone serves before it is cloned
// afresh, so that the packs and loose objects of many fetches and state
// commits do not pile up.
const maxReuse = 500

// workClone is the Reconciler's working clone, kept across the attempts
// and passes made with the same remote and credentials.
type workClone struct {
	dir    string
	remote remote // what it was cloned with
	repo   *extgogit.Repository
	mem    *memObjects // repo's storage
	// at is the commit whose tree the work tree holds; zero: none, the
	// work tree is empty. Passes read the commits' trees from the
	// object store (treeFS) and write the work tree only when kustomize
	// has to read it (sync).
	at   plumbing.Hash
	uses int
	// inv is the last inventory loaded and validated in this clone.
	inv *loadedInventory
}

// Close removes the Reconciler's work directory. The Reconciler must not be
// used afterwards.
func (r *Reconciler) Close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.work = nil
	if r.base == "" {
		return nil
	}
	err := os.RemoveAll(r.base)
	r.base = ""
	return err
}

// dropWork discards the working clone; the next attempt clones afresh.
func (r *Reconciler) dropWork() {
	if r.work != nil {
		_ = os.RemoveAll(r.work.dir)
		r.work = nil
	}
}

// checkout brings the working clone to the newest commit of the branch:
// a fetch when the clone can be reused, else a clone. With a hint (see
// PassAt) that the clone holds and that descends from the last head
// fetched, the hint is taken without a fetch.
func (r *Reconciler) checkout(ctx context.Context, rem *remote, hint plumbing.Hash) (*computed, error) {
	if r.base == "" {
		return nil, errors.New("reconciler is closed")
	}
	if w := r.work; w != nil && (w.uses >= maxReuse || w.mem.full() || !reflect.DeepEqual(w.remote, *rem)) {
		r.dropWork()
	}
	if r.work == nil {
		return r.clone(ctx, rem)
	}
	if c, ok := r.takeHint(hint); ok {
		return c, nil
	}
	c, err := r.update(ctx, rem)
	if err != nil {
		// Start afresh: a clone reports the remote's errors as well.
		r.log.Info("updating the working clone failed; cloning afresh", "error", redact(err, rem.secrets))
		r.dropWork()
		return r.clone(ctx, rem)
	}
	return c, nil
}

// clone makes a fresh working clone of the branch.
func (r *Reconciler) clone(ctx context.Context, rem *remote) (*computed, error) {
	dir := filepath.Join(r.base, "clone")
	if err := os.RemoveAll(dir); err != nil {
		return nil, fmt.Errorf("clearing work directory: %w", err)
	}
	auth, err := authMethod(rem.auth)
	if err != nil {
		return nil, fmt.Errorf("fetching branch %s of %s: constructing auth method: %w", r.cfg.Branch, rem.url, err)
	}
	// No checkout: passes read the trees from the object store, and
	// sync writes the work tree when something has to read it.
	repo, err := extgogit.PlainCloneContext(ctx, dir, false, &extgogit.CloneOptions{
		URL:           rem.url,
		Auth:          auth,
		RemoteName:    extgogit.DefaultRemoteName,
		ReferenceName: plumbing.NewBranchReferenceName(r.cfg.Branch),
		SingleBranch:  true,
		NoCheckout:    true,
		Tags:          extgogit.NoTags,
		CABundle:      rem.auth.CAFile,
	})
	if err != nil {
		_ = os.RemoveAll(dir)
		return nil, fmt.Errorf("fetching branch %s of %s: unable to clone: %w", r.cfg.Branch, rem.url, err)
	}
	mem := newMemObjects(repo.Storer)
	if repo, err = extgogit.Open(mem, nil); err != nil {
		_ = os.RemoveAll(dir)
		return nil, fmt.Errorf("opening the clone of branch %s: %w", r.cfg.Branch, err)
	}
	head, err := repo.Head()
	if err != nil {
		_ = os.RemoveAll(dir)
		return nil, fmt.Errorf("fetching branch %s of %s: %w", r.cfg.Branch, rem.url, err)
	}
	r.work = &workClone{dir: dir, remote: *rem, repo: repo, mem: mem}
	return r.computed(head.Hash().String()), nil
}

// update fetches the branch into the working clone and moves the branch
// to the fetched head (the work tree follows when sync asks).
func (r *Reconciler) update(ctx context.Context, rem *remote) (*computed, error) {
	w := r.work
	w.uses++
	auth, err := authMethod(rem.auth)
	if err != nil {
		return nil, fmt.Errorf("fetching branch %s of %s: constructing auth method: %w", r.cfg.Branch, rem.url, err)
	}
	tracking := plumbing.NewRemoteReferenceName(extgogit.DefaultRemoteName, r.cfg.Branch)
	err = w.repo.FetchContext(ctx, &extgogit.FetchOptions{
		RemoteName: extgogit.DefaultRemoteName,
		RefSpecs:   []config.RefSpec{config.RefSpec("+" + plumbing.NewBranchReferenceName(r.cfg.Branch).String() + ":" + tracking.String())},
		Auth:       auth,
		CABundle:   rem.auth.CAFile,
		Tags:       extgogit.NoTags,
	})
	if err != nil && !errors.Is(err, extgogit.NoErrAlreadyUpToDate) {
		return nil, fmt.Errorf("fetching branch %s of %s: %w", r.cfg.Branch, rem.url, err)
	}
	ref, err := w.repo.Reference(tracking, true)
	if err != nil {
		return nil, fmt.Errorf("fetching branch %s of %s: %w", r.cfg.Branch, rem.url, err)
	}
	if err := w.moveTo(ref.Hash()); err != nil {
		return nil, fmt.Errorf("moving the branch to %s: %w", ref.Hash(), err)
	}
	return r.computed(ref.Hash().String()), nil
}

// maxHintDepth bounds the commits walked to find that a hint descends
// from the last head fetched.
const maxHintDepth = 64

// takeHint moves the working clone to hint when it holds that commit and
// the commit is the last head fetched or descends from it (first parents,
// at most maxHintDepth of them), as the fetch that would otherwise run
// would have. ok is false when it does not apply, or on any error (the
// pass then fetches).
func (r *Reconciler) takeHint(hint plumbing.Hash) (*computed, bool) {
	w := r.work
	if hint.IsZero() || w == nil {
		return nil, false
	}
	tracking := plumbing.NewRemoteReferenceName(extgogit.DefaultRemoteName, r.cfg.Branch)
	ref, err := w.repo.Reference(tracking, true)
	if err != nil {
		return nil, false
	}
	descends := false
	for h, depth := hint, 0; depth <= maxHintDepth; depth++ {
		if h == ref.Hash() {
			descends = true
			break
		}
		c, err := w.repo.CommitObject(h)
		if err != nil || c.NumParents() == 0 {
			break
		}
		h = c.ParentHashes[0]
	}
	if !descends {
		return nil, false
	}
	if w.repo.Storer.SetReference(plumbing.NewHashReference(tracking, hint)) != nil || w.moveTo(hint) != nil {
		return nil, false
	}
	w.uses++
	r.log.Debug("took the head the push event named, without fetching", "commit", hint)
	return r.computed(hint.String()), true
}

func (r *Reconciler) computed(head string) *computed {
	w := r.work
	return &computed{repo: w.repo, dir: w.dir, root: filepath.Join(w.dir, r.cfg.Path), rootInTree: r.rootInTree(), head: head}
}

// authMethod builds the go-git auth of the options as the gogit client
// does: basic or bearer auth for HTTP(S), and for SSH the key with host
// keys checked against the known_hosts given.
func authMethod(opts *git.AuthOptions) (transport.AuthMethod, error) {
	if opts == nil {
		return nil, nil
	}
	switch opts.Transport {
	case git.HTTPS, git.HTTP:
		if opts.Username != "" || opts.Password != "" {
			return &http.BasicAuth{Username: opts.Username, Password: opts.Password}, nil
		}
		if opts.BearerToken != "" {
			return &http.TokenAuth{Token: opts.BearerToken}, nil
		}
		return nil, nil
	case git.SSH:
		if len(opts.KnownHosts) == 0 {
			return nil, errors.New("no known_hosts; host keys are always verified")
		}
		pk, err := ssh.NewPublicKeys(opts.Username, opts.Identity, opts.Password)
		if err != nil {
			return nil, err
		}
		callback, algos, err := knownhosts.New(opts.KnownHosts)
		if err != nil {
			return nil, err
		}
		pk.HostKeyCallback = callback
		return &sshAuth{PublicKeys: pk, hostKeyAlgos: algos}, nil
	default:
		return nil, fmt.Errorf("unknown transport %q", opts.Transport)
	}
}

// sshAuth is public key auth that also offers the host key algorithms of
// the known_hosts entries, as the gogit client's does.
type sshAuth struct {
	*ssh.PublicKeys
	hostKeyAlgos []string
}

func (a *sshAuth) ClientConfig() (*gossh.ClientConfig, error) {
	cfg, err := a.PublicKeys.ClientConfig()
	if err != nil {
		return nil, err
	}
	if len(git.KexAlgos) > 0 {
		cfg.KeyExchanges = git.KexAlgos
	}
	algos := a.hostKeyAlgos
	if len(algos) == 1 && algos[0] == "ssh-rsa" {
		algos = []string{"rsa-sha2-512", "rsa-sha2-256", "ssh-rsa"}
	}
	cfg.HostKeyAlgorithms = algos
	if len(git.HostKeyAlgos) > 0 {
		cfg.HostKeyAlgorithms = git.HostKeyAlgos
	}
	return cfg, nil
}

// moveTo moves the branch to commit. The work tree is left as it is:
// sync brings it to a commit when something has to read it.
func (w *workClone) moveTo(commit plumbing.Hash) error {
	head, err := w.repo.Head()
	if err != nil {
		return err
	}
	if !head.Name().IsBranch() {
		return fmt.Errorf("HEAD is not a branch: %s", head.Name())
	}
	return w.repo.Storer.SetReference(plumbing.NewHashReference(head.Name(), commit))
}

// sync makes the work tree hold the tree of commit. It holds the tree of
// w.at on entry (a pass that fails after touching it drops the clone),
// so only the files that differ between the two trees are written, which
// a hard reset of go-git does not manage (it rewrites every file).
func (w *workClone) sync(commit plumbing.Hash) error {
	if w.at == commit {
		return nil
	}
	from := &object.Tree{}
	if !w.at.IsZero() {
		var err error
		if from, err = commitTree(w.repo, w.at); err != nil {
			return fmt.Errorf("checking out %s: %w", commit, err)
		}
	}
	to, err := commitTree(w.repo, commit)
	if err != nil {
		return fmt.Errorf("checking out %s: %w", commit, err)
	}
	var d treeDiff
	if err := d.trees(w.repo.Storer, from, to, ""); err != nil {
		return fmt.Errorf("checking out %s: %w", commit, err)
	}
	if err := d.apply(w); err != nil {
		return fmt.Errorf("checking out %s: %w", commit, err)
	}
	w.at = commit
	return nil
}

func commitTree(repo *extgogit.Repository, h plumbing.Hash) (*object.Tree, error) {
	c, err := repo.CommitObject(h)
	if err != nil {
		return nil, err
	}
	return c.Tree()
}

// treeDiff is what turns a work tree that holds one tree into one that
// holds another: the paths (slash-separated) to remove, files and whole
// directories, and the entries to write afterwards. Subtrees with the
// same hash are not looked into, so moving between commits that differ in
// a few files reads only the trees along their paths (go-git's DiffTree
// compares every entry of each tree it enters, through a noder each).
type treeDiff struct {
	remove []string
	write  []fileEntry
}

type fileEntry struct {
	path string
	mode filemode.FileMode
	hash plumbing.Hash
}

// trees adds the differences between from and to, the trees at dir.
func (d *treeDiff) trees(s storer.EncodedObjectStorer, from, to *object.Tree, dir string) error {
	old := make(map[string]object.TreeEntry, len(from.Entries))
	for _, e := range from.Entries {
		old[e.Name] = e
	}
	for _, e := range to.Entries {
		p := path.Join(dir, e.Name)
		o, had := old[e.Name]
		delete(old, e.Name)
		switch {
		case had && o.Mode == e.Mode && o.Hash == e.Hash:
		case had && o.Mode == filemode.Dir && e.Mode == filemode.Dir:
			ft, err := object.GetTree(s, o.Hash)
			if err != nil {
				return fmt.Errorf("%s: %w", p, err)
			}
			tt, err := object.GetTree(s, e.Hash)
			if err != nil {
				return fmt.Errorf("%s: %w", p, err)
			}
			if err := d.trees(s, ft, tt, p); err != nil {
				return err
			}
		default:
			if had {
				d.remove = append(d.remove, p)
			}
			if err := d.add(s, e, p); err != nil {
				return err
			}
		}
	}
	for name := range old {
		d.remove = append(d.remove, path.Join(dir, name))
	}
	return nil
}

// add adds the writes of entry e at p: the entry, or every file below it.
func (d *treeDiff) add(s storer.EncodedObjectStorer, e object.TreeEntry, p string) error {
	if e.Mode != filemode.Dir {
		d.write = append(d.write, fileEntry{path: p, mode: e.Mode, hash: e.Hash})
		return nil
	}
	t, err := object.GetTree(s, e.Hash)
	if err != nil {
		return fmt.Errorf("%s: %w", p, err)
	}
	for _, sub := range t.Entries {
		if err := d.add(s, sub, path.Join(p, sub.Name)); err != nil {
			return err
		}
	}
	return nil
}

// apply removes, then writes, in the work tree.
func (d *treeDiff) apply(w *workClone) error {
	for _, p := range d.remove {
		if err := os.RemoveAll(filepath.Join(w.dir, filepath.FromSlash(p))); err != nil {
			return err
		}
	}
	for _, f := range d.write {
		if err := os.MkdirAll(filepath.Dir(filepath.Join(w.dir, filepath.FromSlash(f.path))), 0o755); err != nil {
			return err
		}
		blob, err := w.repo.BlobObject(f.hash)
		if err != nil {
			return fmt.Errorf("%s: %w", f.path, err)
		}
		if err := w.writeEntry(f.path, f.mode, blob); err != nil {
			return err
		}
	}
	return nil
}

// writeEntry writes blob, the content of a tree entry of the given mode,
// to name, a path in the work tree that does not exist and whose
// directory does.
func (w *workClone) writeEntry(name string, mode filemode.FileMode, blob *object.Blob) error {
	if !mode.IsFile() {
		return fmt.Errorf("unsupported entry %s (mode %s)", name, mode)
	}
	data, err := blobContent(blob)
	if err != nil {
		return err
	}
	p := filepath.Join(w.dir, filepath.FromSlash(name))
	if mode == filemode.Symlink {
		return os.Symlink(string(data), p)
	}
	return writeNew(p, data, mode)
}

// blobContent reads a blob's content.
func blobContent(blob *object.Blob) ([]byte, error) {
	rd, err := blob.Reader()
	if err != nil {
		return nil, err
	}
	defer func() { _ = rd.Close() }()
	return io.ReadAll(rd)
}

// writeNew creates the file p with data.
func writeNew(p string, data []byte, mode filemode.FileMode) error {
	perm := os.FileMode(0o644)
	if mode == filemode.Executable {
		perm = 0o755
	}
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL, perm)
	if err != nil {
		return err
	}
	_, werr := f.Write(data)
	return errors.Join(werr, f.Close())
}
