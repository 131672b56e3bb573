package alloc

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
)

// Output formats of a plan.
const (
	FormatText     = "text"
	FormatMarkdown = "markdown"
	FormatJSON     = "json"
)

// Formats lists the output formats WriteReport accepts.
var Formats = []string{FormatText, FormatMarkdown, FormatJSON}

// ReportOptions tune a plan report.
type ReportOptions struct {
	// Title names what was planned (the inventory path).
	Title string
	// Kept lists kept bindings and allocations one by one in text and
	// Markdown, instead of only counting them. JSON always lists them.
	Kept bool
	// Past writes the text in the past tense, for a pass that was applied.
	Past bool
}

// WriteReport writes the plan in the given format.
func WriteReport(w io.Writer, p *Plan, format string, opts ReportOptions) error {
	switch format {
	case FormatText, "":
		return writeText(w, p, opts)
	case FormatMarkdown:
		return writeMarkdown(w, p, opts)
	case FormatJSON:
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		if err := enc.Encode(p); err != nil {
			return fmt.Errorf("writing plan: %w", err)
		}
		return nil
	}
	return fmt.Errorf("unknown output format %q; use %s", format, strings.Join(Formats, ", "))
}

// Summary is one line counting the plan's changes.
func (p *Plan) Summary() string {
	newB, keptB, newA, keptA := p.Counts()
	return fmt.Sprintf("%d new and %d kept bindings, %d new and %d kept allocations, %d released, %d problems",
		newB, keptB, newA, keptA, len(p.Releases), len(p.Problems))
}

func releaseText(r Release) (subject, object string) {
	if r.Type == ReleaseBinding {
		return "machine " + r.Machine, "host " + r.Host
	}
	return r.Owner, r.Address + " (pool " + r.Pool + ")"
}

func writeText(w io.Writer, p *Plan, opts ReportOptions) error {
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
		case b.Status == StatusNew:
			fmt.Fprintf(tw, "+ %s\tMachine/%s\tto Host/%s\n", verb[0], b.Machine, b.Host)
		case opts.Kept:
			fmt.Fprintf(tw, "  kept\tMachine/%s\ton Host/%s\n", b.Machine, b.Host)
		}
	}
	for _, a := range p.Allocations {
		switch {
		case a.Status == StatusNew:
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

func writeMarkdown(w io.Writer, p *Plan, opts ReportOptions) error {
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
		if bd.Status == StatusNew || opts.Kept {
			rows = append(rows, fmt.Sprintf("| %s | `Machine/%s` | `Host/%s` |", bd.Status, mdEscape(bd.Machine), mdEscape(bd.Host)))
		}
	}
	if len(rows) > 0 {
		b.WriteString("\n#### Bindings\n\n| status | machine | host |\n|---|---|---|\n" + strings.Join(rows, "\n") + "\n")
	}
	rows = rows[:0]
	for _, a := range p.Allocations {
		if a.Status == StatusNew || opts.Kept {
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
