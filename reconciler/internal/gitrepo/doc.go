// Package gitrepo is the reconciler's Git layer: a working clone of one
// branch (Clone, Fetch, FastForward), its objects read from the object
// store (Tree, FS: an fs.FS of a commit's tree with symlinks confined),
// an index-free Commit of a few files on the branch head, a
// compare-and-swap PushCAS that never forces, the remote's URL and
// credentials (ResolveRemote), credential redaction (Redact) and commit
// signing (Signing).
//
// Which library does what: cloning and fetching are go-git's
// (github.com/go-git/go-git/v5), with the transport settings of
// github.com/fluxcd/pkg/git/gogit (imported for its init, which turns off
// the thin packs go-git cannot fetch into an existing repository) and
// SSH host keys checked by github.com/fluxcd/pkg/ssh/knownhosts. Commit
// signing is github.com/fluxcd/pkg/git/signature (OpenPGP through
// github.com/ProtonMail/go-crypto, and SSH). The tree file system, the
// commit (trees and objects written with go-git's object encoders,
// without an index or a work tree), the checkout of only the files that
// differ, the in-memory store of new objects and the push (go-git's
// receive-pack session fed a pack of exactly the objects the commit
// wrote) are this package's, because go-git's own worktree commit, reset
// and push scan the index, rewrite every file or walk the whole history,
// costs that grow with the repository and are paid by every pass.
//
// It imports nothing of metalgit but schemas' sentinel errors.
package gitrepo
