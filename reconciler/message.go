package reconciler

import (
	"fmt"
	"strings"

	"github.com/metalgit/metalgit/alloc"
	"github.com/metalgit/metalgit/schemas"
)

// SourceCommitTrailer names the commit a state commit was computed from.
const SourceCommitTrailer = "Metalgit-Source-Commit"

// changeLines lists a plan's changes, one line each: new bindings, new
// allocations, then releases.
func changeLines(p *alloc.Plan) []string {
	var lines []string
	for _, b := range p.Bindings {
		if b.Status == alloc.StatusNew {
			lines = append(lines, fmt.Sprintf("bind %s to %s", schemas.ObjectRef(schemas.KindMachine, b.Machine), schemas.ObjectRef(schemas.KindHost, b.Host)))
		}
	}
	for _, a := range p.Allocations {
		if a.Status == alloc.StatusNew {
			lines = append(lines, fmt.Sprintf("allocate %s to %s (pool %s)", a.Address, a.Owner, a.Pool))
		}
	}
	for _, rel := range p.Releases {
		if rel.Type == alloc.ReleaseBinding {
			lines = append(lines, fmt.Sprintf("unbind %s from %s: %s", schemas.ObjectRef(schemas.KindMachine, rel.Machine), schemas.ObjectRef(schemas.KindHost, rel.Host), rel.Reason))
		} else {
			lines = append(lines, fmt.Sprintf("release %s from %s (pool %s): %s", rel.Address, rel.Owner, rel.Pool, rel.Reason))
		}
	}
	return lines
}

// commitMessage is a summary line, one line per change and the source
// commit trailer.
func commitMessage(p *alloc.Plan, changes []string, source string) string {
	newB, _, newA, _ := p.Counts()
	var b strings.Builder
	fmt.Fprintf(&b, "metalgit: %d bound, %d allocated, %d released\n\n", newB, newA, len(p.Releases))
	for _, c := range changes {
		b.WriteString(c + "\n")
	}
	fmt.Fprintf(&b, "\n%s: %s\n", SourceCommitTrailer, source)
	return b.String()
}
