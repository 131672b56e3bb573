package gitrepo

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

// maxReuse bounds the fetches a working clone serves before Reusable
// says to clone afresh, so that the packs and loose objects of many
// fetches and state commits do not pile up.
const maxReuse = 500

// Repo is a working clone of one branch of a remote, kept across the
// attempts and passes made with the same remote and credentials. Its
// objects are read from the object store (Tree, FS); its work tree is
// written only when Checkout asks. A Repo is not safe for concurrent use.
type Repo struct {
	dir    string
	remote Remote // what it was cloned with
	branch string
	repo   *extgogit.Repository
	mem    *memObjects // repo's storage
	// at is the commit whose tree the work tree holds; zero: none, the
	// work tree is empty.
	at   plumbing.Hash
	uses int
}

// Clone makes a working clone of branch of rem in dir, which it empties
// first, and returns it with the branch's head. Nothing is checked out.
func Clone(ctx context.Context, dir string, rem *Remote, branch string) (*Repo, plumbing.Hash, error) {
	if err := os.RemoveAll(dir); err != nil {
		return nil, plumbing.ZeroHash, fmt.Errorf("clearing work directory: %w", err)
	}
	auth, err := authMethod(rem.auth)
	if err != nil {
		return nil, plumbing.ZeroHash, fmt.Errorf("fetching branch %s of %s: constructing auth method: %w", branch, rem.URL, err)
	}
	repo, err := extgogit.PlainCloneContext(ctx, dir, false, &extgogit.CloneOptions{
		URL:           rem.URL,
		Auth:          auth,
		RemoteName:    extgogit.DefaultRemoteName,
		ReferenceName: plumbing.NewBranchReferenceName(branch),
		SingleBranch:  true,
		NoCheckout:    true,
		Tags:          extgogit.NoTags,
		CABundle:      rem.auth.CAFile,
	})
	if err != nil {
		_ = os.RemoveAll(dir)
		return nil, plumbing.ZeroHash, fmt.Errorf("fetching branch %s of %s: unable to clone: %w", branch, rem.URL, err)
	}
	mem := newMemObjects(repo.Storer)
	if repo, err = extgogit.Open(mem, nil); err != nil {
		_ = os.RemoveAll(dir)
		return nil, plumbing.ZeroHash, fmt.Errorf("opening the clone of branch %s: %w", branch, err)
	}
	head, err := repo.Head()
	if err != nil {
		_ = os.RemoveAll(dir)
		return nil, plumbing.ZeroHash, fmt.Errorf("fetching branch %s of %s: %w", branch, rem.URL, err)
	}
	return &Repo{dir: dir, remote: *rem, branch: branch, repo: repo, mem: mem}, head.Hash(), nil
}

// Dir is the clone's directory, where Checkout writes the work tree.
func (r *Repo) Dir() string { return r.dir }

// Remove deletes the clone from disk.
func (r *Repo) Remove() error { return os.RemoveAll(r.dir) }

// Reusable reports whether the clone may serve another fetch from rem:
// it was cloned with the same URL and credentials, has not served too
// many fetches, and its objects in memory are within their bound.
func (r *Repo) Reusable(rem *Remote) bool {
	return r.uses < maxReuse && !r.mem.full() && reflect.DeepEqual(r.remote, *rem)
}

// Fetch fetches the branch and moves it to the fetched head, which it
// returns (the work tree follows when Checkout asks).
func (r *Repo) Fetch(ctx context.Context) (plumbing.Hash, error) {
	r.uses++
	rem := &r.remote
	auth, err := authMethod(rem.auth)
	if err != nil {
		return plumbing.ZeroHash, fmt.Errorf("fetching branch %s of %s: constructing auth method: %w", r.branch, rem.URL, err)
	}
	tracking := r.tracking()
	err = r.repo.FetchContext(ctx, &extgogit.FetchOptions{
		RemoteName: extgogit.DefaultRemoteName,
		RefSpecs:   []config.RefSpec{config.RefSpec("+" + plumbing.NewBranchReferenceName(r.branch).String() + ":" + tracking.String())},
		Auth:       auth,
		CABundle:   rem.auth.CAFile,
		Tags:       extgogit.NoTags,
	})
	if err != nil && !errors.Is(err, extgogit.NoErrAlreadyUpToDate) {
		return plumbing.ZeroHash, fmt.Errorf("fetching branch %s of %s: %w", r.branch, rem.URL, err)
	}
	ref, err := r.repo.Reference(tracking, true)
	if err != nil {
		return plumbing.ZeroHash, fmt.Errorf("fetching branch %s of %s: %w", r.branch, rem.URL, err)
	}
	if err := r.moveTo(ref.Hash()); err != nil {
		return plumbing.ZeroHash, fmt.Errorf("moving the branch to %s: %w", ref.Hash(), err)
	}
	return ref.Hash(), nil
}

// tracking is the remote-tracking reference of the branch.
func (r *Repo) tracking() plumbing.ReferenceName {
	return plumbing.NewRemoteReferenceName(extgogit.DefaultRemoteName, r.branch)
}

// maxHintDepth bounds the commits walked to find that a hint descends
// from the last head fetched.
const maxHintDepth = 64

// FastForward moves the clone to hint, as a fetch would, when the clone
// holds that commit and it is the last head fetched or descends from it
// (first parents, at most maxHintDepth of them): a push event named it,
// and the clone has it already (the state commit this writer pushed, or
// made for another writer to push). It reports whether it did; on any
// error it did not, and the caller fetches. A stale event cannot take
// the clone back: an older head does not descend from the last fetched.
func (r *Repo) FastForward(hint plumbing.Hash) bool {
	if hint.IsZero() {
		return false
	}
	tracking := r.tracking()
	ref, err := r.repo.Reference(tracking, true)
	if err != nil {
		return false
	}
	descends := false
	for h, depth := hint, 0; depth <= maxHintDepth; depth++ {
		if h == ref.Hash() {
			descends = true
			break
		}
		c, err := r.repo.CommitObject(h)
		if err != nil || c.NumParents() == 0 {
			break
		}
		h = c.ParentHashes[0]
	}
	if !descends {
		return false
	}
	if r.repo.Storer.SetReference(plumbing.NewHashReference(tracking, hint)) != nil || r.moveTo(hint) != nil {
		return false
	}
	r.uses++
	return true
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
// Checkout brings it to a commit when something has to read it.
func (r *Repo) moveTo(commit plumbing.Hash) error {
	head, err := r.repo.Head()
	if err != nil {
		return err
	}
	if !head.Name().IsBranch() {
		return fmt.Errorf("HEAD is not a branch: %s", head.Name())
	}
	return r.repo.Storer.SetReference(plumbing.NewHashReference(head.Name(), commit))
}

// Checkout makes the work tree hold the tree of commit. It holds the tree
// of the last commit checked out on entry (a caller that fails after
// touching it removes the clone), so only the files that differ between
// the two trees are written, which a hard reset of go-git does not
// manage (it rewrites every file).
func (r *Repo) Checkout(commit plumbing.Hash) error {
	if r.at == commit {
		return nil
	}
	from := &object.Tree{}
	if !r.at.IsZero() {
		var err error
		if from, err = r.Tree(r.at); err != nil {
			return fmt.Errorf("checking out %s: %w", commit, err)
		}
	}
	to, err := r.Tree(commit)
	if err != nil {
		return fmt.Errorf("checking out %s: %w", commit, err)
	}
	var d treeDiff
	if err := d.trees(r.repo.Storer, from, to, ""); err != nil {
		return fmt.Errorf("checking out %s: %w", commit, err)
	}
	if err := d.apply(r); err != nil {
		return fmt.Errorf("checking out %s: %w", commit, err)
	}
	r.at = commit
	return nil
}

// Tree returns the tree of commit.
func (r *Repo) Tree(commit plumbing.Hash) (*object.Tree, error) {
	c, err := r.repo.CommitObject(commit)
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
func (d *treeDiff) apply(r *Repo) error {
	for _, p := range d.remove {
		if err := os.RemoveAll(filepath.Join(r.dir, filepath.FromSlash(p))); err != nil {
			return err
		}
	}
	for _, f := range d.write {
		if err := os.MkdirAll(filepath.Dir(filepath.Join(r.dir, filepath.FromSlash(f.path))), 0o755); err != nil {
			return err
		}
		blob, err := r.repo.BlobObject(f.hash)
		if err != nil {
			return fmt.Errorf("%s: %w", f.path, err)
		}
		if err := r.writeEntry(f.path, f.mode, blob); err != nil {
			return err
		}
	}
	return nil
}

// writeEntry writes blob, the content of a tree entry of the given mode,
// to name, a path in the work tree that does not exist and whose
// directory does.
func (r *Repo) writeEntry(name string, mode filemode.FileMode, blob *object.Blob) error {
	if !mode.IsFile() {
		return fmt.Errorf("unsupported entry %s (mode %s)", name, mode)
	}
	data, err := blobContent(blob)
	if err != nil {
		return err
	}
	p := filepath.Join(r.dir, filepath.FromSlash(name))
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
