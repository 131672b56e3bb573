package reconciler

import (
	"fmt"
	"io/fs"

	"github.com/metalgit/metalgit/reconciler/internal/gitrepo"
)

// ErrNotInRepository is returned by ReadRevision for a directory that no
// Git repository's work tree holds.
var ErrNotInRepository = gitrepo.ErrNotInRepository

// Revision is an inventory directory as one commit of a local repository
// holds it, read from the repository's object store.
type Revision struct {
	// FS is the commit's tree. Symlinks are followed as a checkout's
	// would be, but one that leads out of Root is refused
	// (schemas.ErrEscapes), as the operating system's files are read
	// through os.Root.
	FS fs.FS
	// Root is the inventory directory's slash-separated path in FS, for
	// schemas.LoadOptions.FS and render.Input.FS.
	Root string
	// Commit is the commit's full hash.
	Commit string
}

// ReadRevision returns the inventory directory dir as the commit rev of
// the repository whose work tree holds dir has it: rev is a branch, tag,
// commit hash or an expression such as HEAD~1. It is how 'metalgit diff'
// reads a pull request's base without a clone: nothing is checked out,
// written or fetched, so rev's objects must be in the repository.
func ReadRevision(dir, rev string) (*Revision, error) {
	tfs, root, commit, err := gitrepo.OpenRevision(dir, rev)
	if err != nil {
		return nil, fmt.Errorf("reading revision %s: %w", rev, err)
	}
	return &Revision{FS: tfs, Root: root, Commit: commit.String()}, nil
}
