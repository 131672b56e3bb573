package gitrepo

import (
	"errors"
	"fmt"
	"path"
	"path/filepath"
	"strings"

	extgogit "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
)

// ErrNotInRepository is returned by OpenRevision for a directory that no
// Git repository's work tree holds.
var ErrNotInRepository = errors.New("not inside a Git work tree")

// OpenRevision opens the repository whose work tree holds dir (looking
// upward for .git, as git does; a linked work tree's .git file is
// followed), resolves rev there (a branch, tag, commit hash or an
// expression such as HEAD~1) and returns the file system of that
// commit's tree with symlinks kept inside dir, dir's slash-separated
// path in it, and the commit.
//
// It only reads: nothing is checked out, written or fetched, so the
// objects must be in the repository already.
func OpenRevision(dir, rev string) (*TreeFS, string, plumbing.Hash, error) {
	abs, err := filepath.Abs(dir)
	if err == nil {
		abs, err = filepath.EvalSymlinks(abs)
	}
	if err != nil {
		return nil, "", plumbing.ZeroHash, fmt.Errorf("opening the repository of %s: %w", dir, err)
	}
	repo, err := extgogit.PlainOpenWithOptions(abs, &extgogit.PlainOpenOptions{DetectDotGit: true, EnableDotGitCommonDir: true})
	if errors.Is(err, extgogit.ErrRepositoryNotExists) {
		return nil, "", plumbing.ZeroHash, fmt.Errorf("%s: %w", dir, ErrNotInRepository)
	}
	if err != nil {
		return nil, "", plumbing.ZeroHash, fmt.Errorf("opening the repository of %s: %w", dir, err)
	}
	wt, err := repo.Worktree()
	if err != nil {
		return nil, "", plumbing.ZeroHash, fmt.Errorf("%s: %w (%w)", dir, ErrNotInRepository, err)
	}
	top, err := filepath.EvalSymlinks(wt.Filesystem.Root())
	if err != nil {
		return nil, "", plumbing.ZeroHash, fmt.Errorf("opening the repository of %s: %w", dir, err)
	}
	rel, err := filepath.Rel(top, abs)
	if err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		return nil, "", plumbing.ZeroHash, fmt.Errorf("%s: %w", dir, ErrNotInRepository)
	}
	within := path.Clean(filepath.ToSlash(rel))
	hash, err := repo.ResolveRevision(plumbing.Revision(rev))
	if err != nil {
		return nil, "", plumbing.ZeroHash, err
	}
	commit, err := repo.CommitObject(*hash)
	if err != nil {
		return nil, "", plumbing.ZeroHash, fmt.Errorf("reading commit %s of revision %q: %w", hash, rev, err)
	}
	tree, err := commit.Tree()
	if err != nil {
		return nil, "", plumbing.ZeroHash, fmt.Errorf("reading the tree of commit %s: %w", hash, err)
	}
	return NewTreeFS(repo.Storer, tree, within), within, *hash, nil
}
