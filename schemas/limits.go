package schemas

import (
	"fmt"
)

// Limits on what one inventory may hold. An inventory comes from a Git
// repository that anyone who opens a pull request writes to, so every
// amount of work metalgit does for it is bounded; going past a limit is a
// Problem naming the file and the limit, never a hang or an exhausted
// process. docs/security.md ("Limits") lists them with their reasons.
const (
	// MaxFileBytes is the largest inventory file read (16 MiB): ten
	// thousand hosts of about a kilobyte each fit with room to spare.
	MaxFileBytes = 16 << 20
	// MaxInventoryBytes is the most an inventory's files may hold in all
	// (64 MiB). Parsed YAML takes about ten times its size in memory, so
	// one inventory stays well below a gigabyte.
	MaxInventoryBytes = 64 << 20
	// MaxFiles is the most files an inventory (or the directory tree a
	// kustomization is built from) may hold.
	MaxFiles = 100_000
	// MaxDocuments is the most documents an inventory may hold.
	MaxDocuments = 100_000
	// MaxProblems is the most problems a report lists; one more line
	// then says how many were left out.
	MaxProblems = 1_000
)

// Rules for the limits and for what the loader refuses to read.
const (
	RuleLimit        Rule = "limit"         // a file, the inventory or a count is over its limit
	RuleFile         Rule = "file"          // not a regular file, or a path leaving the inventory root
	RuleRemote       Rule = "remote"        // a kustomization that would fetch or execute something
	RuleDuplicateKey Rule = "duplicate-key" // a kustomization field written twice in different letter cases (kustomize reads both)
	RuleTooMany      Rule = "too-many"      // the report was cut at MaxProblems
	maxPathShown          = 200             // longest path or value quoted in a problem
)

// Truncate returns the first n problems of p (sorted first) and, when it
// held more, one more problem saying how many were left out. A report of
// a million problems is no report: fix the first and validate again.
func (p Problems) Truncate(n int) Problems {
	if len(p) <= n {
		return p
	}
	p.Sort()
	out := append(Problems(nil), p[:n]...)
	return append(out, Problem{Rule: RuleTooMany,
		Message: fmt.Sprintf("%d more problems not listed (at most %d are); fix the ones above and validate again", len(p)-n, n)})
}

// quote returns s quoted for a message, cut to maxPathShown characters
// so that a hostile value cannot make a problem arbitrarily long.
func quote(s string) string {
	if len(s) > maxPathShown {
		s = s[:maxPathShown] + "…"
	}
	return fmt.Sprintf("%q", s)
}

// sizeText prints a byte count in the unit that reads best.
func sizeText(n int64) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%d bytes", n)
}
