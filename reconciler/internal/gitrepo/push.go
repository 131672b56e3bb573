package gitrepo

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/format/packfile"
	"github.com/go-git/go-git/v5/plumbing/protocol/packp"
	"github.com/go-git/go-git/v5/plumbing/protocol/packp/capability"
	"github.com/go-git/go-git/v5/plumbing/transport"
	"github.com/go-git/go-git/v5/plumbing/transport/client"
)

// ErrRemoteMoved is returned by PushCAS when the branch on the remote is
// no longer at the commit the pushed commit was made on.
var ErrRemoteMoved = errors.New("the remote branch moved")

// PushCAS updates the branch on the remote from source, the commit c was
// made on, to c, sending only the objects Commit wrote (the remote has
// source and everything below it).
//
// It is a compare-and-swap, never a force: when the remote's
// advertisement shows the branch elsewhere, nothing is sent and the error
// wraps ErrRemoteMoved; otherwise receive-pack applies the update only if
// the branch is still at source, and reports a failure when another push
// got there first. go-git's own push is not used: for a local remote it
// walks every object reachable from the remote's refs to find what to
// send, a cost that grows with the history and is paid by every push.
func (r *Repo) PushCAS(ctx context.Context, source plumbing.Hash, c *Commit) (err error) {
	rem, repo, commit, objects := &r.remote, r.repo, c.Hash, c.objects
	auth, err := authMethod(rem.auth)
	if err != nil {
		return fmt.Errorf("constructing auth method: %w", err)
	}
	ep, err := transport.NewEndpoint(rem.URL)
	if err != nil {
		return err
	}
	ep.CaBundle = rem.auth.CAFile
	cl, err := client.NewClient(ep)
	if err != nil {
		return err
	}
	sess, err := cl.NewReceivePackSession(ep, auth)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := sess.Close(); err == nil && cerr != nil {
			err = cerr
		}
	}()
	adv, err := sess.AdvertisedReferencesContext(ctx)
	if err != nil {
		return err
	}
	refs, err := adv.AllReferences()
	if err != nil {
		return err
	}
	branch := plumbing.NewBranchReferenceName(r.branch)
	at, err := refs.Reference(branch)
	if err != nil {
		return fmt.Errorf("%w: reading branch %s: %w", ErrRemoteMoved, r.branch, err)
	}
	if at.Hash() != source {
		return fmt.Errorf("%w: %s is at %s, the state commit was computed from %s", ErrRemoteMoved, r.branch, at.Hash(), source)
	}
	req := packp.NewReferenceUpdateRequestFromCapabilities(adv.Capabilities)
	req.Commands = []*packp.Command{{Name: branch, Old: source, New: commit}}
	rd, wr := io.Pipe()
	req.Packfile = rd
	done := make(chan error, 1)
	go func() {
		enc := packfile.NewEncoder(wr, repo.Storer, !adv.Capabilities.Supports(capability.OFSDelta))
		_, err := enc.Encode(objects, 10)
		if err != nil {
			done <- wr.CloseWithError(err)
			return
		}
		done <- wr.Close()
	}()
	status, err := sess.ReceivePack(ctx, req)
	if err != nil {
		_ = rd.Close()
		<-done
		return err
	}
	if err := <-done; err != nil {
		return fmt.Errorf("sending the state commit: %w", err)
	}
	if status != nil {
		if err := status.Error(); err != nil {
			return err
		}
	}
	return repo.Storer.SetReference(plumbing.NewHashReference(r.tracking(), commit))
}
