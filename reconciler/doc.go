// Package reconciler orchestrates one GitOps pass: fetch the newest commit
// of a branch, load and validate the inventory, plan (package alloc),
// commit the state back with conflict-safe pushes (fetch, recompute and
// push again on a rejected push; never force), and render the result to a
// folder (package render). A Reconciler keeps a render cache between
// passes, so that a pass re-renders only the objects of the hosts that
// changed, and leaves an unchanged output folder alone.
//
// Git access goes through github.com/fluxcd/pkg/git/gogit (clone, commit,
// push) with go-git used directly only to check the work tree before a
// commit.
package reconciler
