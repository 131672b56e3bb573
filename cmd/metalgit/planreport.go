package main

// This file writes the plan report of plan and allocate. The plan itself
// is alloc's pure computation; how it reads to a person is the command's.

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/metalgit/metalgit/alloc"
	"github.com/metalgit/metalgit/schemas"
)

// Output formats of plan and allocate (-o).
const (
	formatText     = "text"
	formatMarkdown = "markdown"
	formatJSON     = "json"
)

// planFormats lists the output formats writeReport accepts.
func planFormats() []string { return []string{formatText, formatMarkdown, formatJSON} }

// reportOptions tune a plan report.
type reportOptions struct {
	// Title names what was planned (the inventory path).
	Title string
	// Kept lists kept bindings and allocations one by one in text and
	// Markdown, instead of only counting them. JSON always lists them.
	Kept bool
	// Past writes the text in the past tense, for a pass that was applied.
	Past bool
}

// writeReport writes a plan in the given format; with -o json, as an
// object with "valid": true, so that a program tells it from the problems
// of an invalid inventory ("valid": false) by one field.
func writeReport(w io.Writer, plan *alloc.Plan, format string, opts reportOptions) error {
	switch format {
	case formatText, "":
		return writePlanText(w, plan, opts)
	case formatMarkdown:
		return writePlanMarkdown(w, plan, opts)
	case formatJSON:
		return writeJSON(w, struct {
			Valid bool `json:"valid"`
			*alloc.Plan
		}{true, plan})
	}
	return fmt.Errorf("unknown output format %q; use %s", format, strings.Join(planFormats(), ", "))
}

// releaseText names what a release takes (object) from whom (subject).
func releaseText(r alloc.Release) (subject, object string) {
	if r.Type == alloc.ReleaseBinding {
		return "machine " + r.Machine, "host " + r.Host
	}
	return r.Owner, r.Address + " (pool " + r.Pool + ")"
}

// writePlanText writes the plan as aligned lines: + for what the pass
// makes, - for what it releases, ! for what it cannot serve, then the
// pools and the summary.
func writePlanText(w io.Writer, p *alloc.Plan, opts reportOptions) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	verb := map[bool][3]string{false: {"bind", "allocate", "release"}, true: {"bound", "allocated", "released"}}[opts.Past]
	if opts.Title != "" {
		fmt.Fprintf(tw, "Plan for %s\n", opts.Title)
	}
	if !p.Changed() && len(p.Problems) == 0 {
		fmt.Fprintln(tw, "No changes: the state already matches the inventory.")
	}
	for _, b := range p.Bindings {
		switch {
		case b.Status == alloc.StatusNew:
			fmt.Fprintf(tw, "+ %s\t%s\tto %s\n", verb[0], schemas.ObjectRef(schemas.KindMachine, b.Machine), schemas.ObjectRef(schemas.KindHost, b.Host))
		case opts.Kept:
			fmt.Fprintf(tw, "  kept\t%s\ton %s\n", schemas.ObjectRef(schemas.KindMachine, b.Machine), schemas.ObjectRef(schemas.KindHost, b.Host))
		}
	}
	for _, a := range p.Allocations {
		switch {
		case a.Status == alloc.StatusNew:
			fmt.Fprintf(tw, "+ %s\t%s\tto %s (pool %s)\n", verb[1], a.Address, a.Owner, a.Pool)
		case opts.Kept:
			fmt.Fprintf(tw, "  kept\t%s\tfor %s (pool %s)\n", a.Address, a.Owner, a.Pool)
		}
	}
	for _, r := range p.Releases {
		subject, object := releaseText(r)
		fmt.Fprintf(tw, "- %s\t%s\tfrom %s: %s\n", verb[2], object, subject, r.Reason)
	}
	for _, pr := range p.Problems {
		fmt.Fprintf(tw, "! problem\t%s\n", pr.Message)
	}
	if len(p.Pools) > 0 {
		fmt.Fprintln(tw, "Pools:")
		for _, u := range p.Pools {
			fmt.Fprintf(tw, "  %s\t%d of %d used\t%d free\n", u.Pool, u.Used, u.Size, u.Free)
		}
	}
	fmt.Fprintf(tw, "Summary: %s.\n", p.Summary())
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("writing plan: %w", err)
	}
	return nil
}

// mdEscape keeps a value from breaking a Markdown table.
func mdEscape(s string) string {
	return strings.NewReplacer("|", `\|`, "\n", " ").Replace(s)
}

// writePlanMarkdown writes the plan as Markdown tables, for a
// pull-request comment.
func writePlanMarkdown(w io.Writer, p *alloc.Plan, opts reportOptions) error {
	var b strings.Builder
	title := "metalgit plan"
	if opts.Title != "" {
		title += ": `" + opts.Title + "`"
	}
	fmt.Fprintf(&b, "### %s\n\n%s.\n", title, p.Summary())
	if !p.Changed() && len(p.Problems) == 0 {
		b.WriteString("\nNo changes: the state already matches the inventory.\n")
	}
	var rows []string
	for _, bd := range p.Bindings {
		if bd.Status == alloc.StatusNew || opts.Kept {
			rows = append(rows, fmt.Sprintf("| %s | `%s` | `%s` |", bd.Status, mdEscape(schemas.ObjectRef(schemas.KindMachine, bd.Machine)), mdEscape(schemas.ObjectRef(schemas.KindHost, bd.Host))))
		}
	}
	if len(rows) > 0 {
		b.WriteString("\n#### Bindings\n\n| status | machine | host |\n|---|---|---|\n" + strings.Join(rows, "\n") + "\n")
	}
	rows = rows[:0]
	for _, a := range p.Allocations {
		if a.Status == alloc.StatusNew || opts.Kept {
			rows = append(rows, fmt.Sprintf("| %s | %s | `%s` | `%s` |", a.Status, mdEscape(a.Pool), a.Address, mdEscape(a.Owner)))
		}
	}
	if len(rows) > 0 {
		b.WriteString("\n#### Allocations\n\n| status | pool | address | owner |\n|---|---|---|---|\n" + strings.Join(rows, "\n") + "\n")
	}
	if len(p.Releases) > 0 {
		b.WriteString("\n#### Releases\n\n| what | from | reason |\n|---|---|---|\n")
		for _, r := range p.Releases {
			subject, object := releaseText(r)
			fmt.Fprintf(&b, "| %s | %s | %s |\n", mdEscape(object), mdEscape(subject), mdEscape(r.Reason))
		}
	}
	if len(p.Problems) > 0 {
		b.WriteString("\n#### Problems\n\n")
		for _, pr := range p.Problems {
			fmt.Fprintf(&b, "- :warning: %s\n", mdEscape(pr.Message))
		}
	}
	if len(p.Pools) > 0 {
		b.WriteString("\n#### Pools\n\n| pool | size | used | free |\n|---|---:|---:|---:|\n")
		for _, u := range p.Pools {
			fmt.Fprintf(&b, "| %s | %d | %d | %d |\n", mdEscape(u.Pool), u.Size, u.Used, u.Free)
		}
	}
	if _, err := io.WriteString(w, b.String()); err != nil {
		return fmt.Errorf("writing plan: %w", err)
	}
	return nil
}
