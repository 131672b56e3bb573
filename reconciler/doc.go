// Package reconciler orchestrates the GitOps pass and serve's controller.
//
// A pass (Reconciler.PassAt, pass.go) runs these steps in order, each a
// function of its own that may end the pass early:
//
//	fetch    fetch.go   bring the working clone to the branch head
//	load     load.go    load and validate the inventory, read the state
//	plan     plan.go    bind machines and allocate addresses (package alloc)
//	commit   commit.go  commit the next state and push it with a
//	                    compare-and-swap; on a refused push fetch, load and
//	                    plan again, back off and retry, or follow the writer
//	                    that made the same changes
//	render   output.go  render the manifests and the host table (package render)
//	publish  output.go  write the output folder
//	apply    output.go  apply the manifests to the cluster (package apply),
//	                    on every pass; its error comes with the Result
//
// A failed step returns a PassError naming it and the commit; credentials
// never appear in its text (gitrepo.Redact), and errors.Is still finds
// ErrInvalidInventory, ErrPushAttempts and context errors through it.
//
// What a pass computes is kept in one memo (memo.go) keyed by the Git
// hashes the pass has anyway: the key of every file outside the state
// directory and the state directory's tree. A pass at a key the memo
// holds reads, plans and renders nothing; Result.Reused counts what was
// taken. Below it, schemas.ParseCache keeps parsed files by blob,
// schemas.ValidateCache clean hosts by content digest, render.Cache each
// host's objects by content digest and addresses, and render.DirWriter
// leaves an unchanged output folder alone.
//
// The Git layer is reconciler/internal/gitrepo (see its doc for which
// library does what: go-git for clone and fetch, fluxcd/pkg for transport
// settings, known_hosts and signing, its own code for the index-free
// commit, the tree file system and the compare-and-swap push).
// Controller (controller.go) runs passes on an interval, on webhooks
// (webhook.go) and after a deferred pass, and keeps Status and Metrics.
package reconciler
