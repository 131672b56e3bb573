package diff

import (
	"fmt"
	"html"
	"io"
	"strings"
)

// Header names what was compared, for the first line of a report.
type Header struct {
	Path string // the inventory path
	Base string // the base: a revision and its commit
	Head string // the head: a revision and its commit, or "working tree"
}

// Summary is the counts on one line: "1 added, 0 removed, 2 changed".
func (r *Result) Summary() string {
	return fmt.Sprintf("%d added, %d removed, %d changed", r.Count(Added), r.Count(Removed), r.Count(Changed))
}

// noChanges is what a report says when the streams hold the same objects.
const noChanges = "No changes: base and head render the same objects."

// marks are the first characters of an object's or a field's line.
var marks = map[Change]string{Added: "+", Removed: "-", Changed: "~"}

// fieldLine is a field's line, indented: its path and the old and new
// value, or, for a masked field, only what happened to it.
func fieldLine(f Field) string {
	switch {
	case f.Masked:
		return fmt.Sprintf("    %s: %s (value not shown)", f.Path, f.Change)
	case f.Change == Added:
		return fmt.Sprintf("    %s: (none) → %s", f.Path, f.New)
	case f.Change == Removed:
		return fmt.Sprintf("    %s: %s → (none)", f.Path, f.Old)
	}
	return fmt.Sprintf("    %s: %s → %s", f.Path, f.Old, f.New)
}

// WriteText writes the result as text: a line per object, marked +, -
// or ~, a changed object's fields below it, and the counts.
func WriteText(w io.Writer, h Header, r *Result) error {
	var b strings.Builder
	fmt.Fprintf(&b, "Diff of %s: %s → %s\n", h.Path, h.Base, h.Head)
	if r.Empty() {
		b.WriteString(noChanges + "\n")
	}
	for _, o := range r.Objects {
		fmt.Fprintf(&b, "%s %s\n", marks[o.Change], o.Ref())
		for _, f := range o.Fields {
			b.WriteString(fieldLine(f) + "\n")
		}
	}
	fmt.Fprintf(&b, "Summary: %s.\n", r.Summary())
	if _, err := io.WriteString(w, b.String()); err != nil {
		return fmt.Errorf("writing diff: %w", err)
	}
	return nil
}

// collapseAbove is the number of fields above which an object's section
// in Markdown is folded into a <details> block.
const collapseAbove = 10

// WriteMarkdown writes the result for a pull-request comment: a table of
// counts, a table of the objects, then a section per changed object with
// its fields in a code block, folded into <details> when it has more
// than collapseAbove fields. Values are printed as JSON on one line
// inside the code block, and names as code, so that nothing the
// repository holds is read as Markdown or HTML.
func WriteMarkdown(w io.Writer, h Header, r *Result) error {
	var b strings.Builder
	fmt.Fprintf(&b, "### metalgit diff: %s\n\n%s → %s\n\n", mdCode(h.Path), mdCode(h.Base), mdCode(h.Head))
	if r.Empty() {
		b.WriteString(noChanges + "\n")
		return write(w, b.String())
	}
	b.WriteString("| change | objects |\n|---|---:|\n")
	for _, c := range []Change{Added, Removed, Changed} {
		fmt.Fprintf(&b, "| %s | %d |\n", c, r.Count(c))
	}
	b.WriteString("\n| | kind | namespace | name |\n|---|---|---|---|\n")
	for _, o := range r.Objects {
		fmt.Fprintf(&b, "| %s | %s | %s | %s |\n", o.Change, mdCode(o.Kind), mdCode(o.Namespace), mdCode(o.Name))
	}
	for _, o := range r.Objects {
		if o.Change != Changed {
			continue
		}
		fence := "```diff\n"
		for _, f := range o.Fields {
			fence += marks[f.Change] + fieldLine(f)[1:] + "\n"
		}
		fence += "```\n"
		noun := "fields"
		if len(o.Fields) == 1 {
			noun = "field"
		}
		if len(o.Fields) > collapseAbove {
			fmt.Fprintf(&b, "\n<details><summary>~ %s: %d %s changed</summary>\n\n%s\n</details>\n",
				html.EscapeString(o.Ref()), len(o.Fields), noun, fence)
			continue
		}
		fmt.Fprintf(&b, "\n#### ~ %s\n\n%s", mdCode(o.Ref()), fence)
	}
	return write(w, b.String())
}

func write(w io.Writer, s string) error {
	if _, err := io.WriteString(w, s); err != nil {
		return fmt.Errorf("writing diff: %w", err)
	}
	return nil
}

// mdCode writes s as a Markdown code span that a table cell can hold:
// on one line, '|' escaped, fenced by more backticks than s holds in a
// row; "" for an empty s.
func mdCode(s string) string {
	if s == "" {
		return ""
	}
	s = strings.NewReplacer("\r", " ", "\n", " ", "|", `\|`).Replace(s)
	run, longest := 0, 0
	for _, c := range s {
		if c == '`' {
			run++
			longest = max(longest, run)
		} else {
			run = 0
		}
	}
	fence := strings.Repeat("`", longest+1)
	if longest > 0 {
		return fence + " " + s + " " + fence
	}
	return fence + s + fence
}
