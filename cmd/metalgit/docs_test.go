package main

import (
	"bufio"
	"bytes"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"unicode"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// markdownLink is an inline link or image target: [text](target) or
// [text](target "title").
var markdownLink = regexp.MustCompile(`\]\(([^)\s]+)(?:\s+"[^"]*")?\)`)

// codeSpan is an inline code span, whose text is not markdown.
var codeSpan = regexp.MustCompile("`+[^`]*`+")

// pageText returns a page's lines outside fenced code blocks, with inline
// code spans blanked, keyed by line number.
func pageText(t *testing.T, file string) map[int]string {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	out := map[int]string{}
	fenced := false
	sc := bufio.NewScanner(bytes.NewReader(data))
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if strings.HasPrefix(strings.TrimSpace(line), "```") {
			fenced = !fenced
			continue
		}
		if !fenced {
			out[n] = codeSpan.ReplaceAllString(line, "``")
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// headingAnchors returns the anchors GitHub gives a page's headings: the
// heading's text in lower case, without punctuation, spaces as hyphens,
// and -1, -2, … appended to repeats.
func headingAnchors(t *testing.T, file string) map[string]bool {
	t.Helper()
	anchors := map[string]bool{}
	seen := map[string]int{}
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	fenced := false
	for line := range strings.SplitSeq(string(data), "\n") {
		if strings.HasPrefix(strings.TrimSpace(line), "```") {
			fenced = !fenced
			continue
		}
		if fenced || !strings.HasPrefix(line, "#") {
			continue
		}
		text := strings.TrimSpace(strings.TrimLeft(line, "#"))
		var b strings.Builder
		for _, r := range strings.ToLower(text) {
			switch {
			case unicode.IsLetter(r), unicode.IsDigit(r), r == '-', r == '_':
				b.WriteRune(r)
			case r == ' ':
				b.WriteRune('-')
			}
		}
		slug := b.String()
		if n := seen[slug]; n > 0 {
			anchors[slug+"-"+strconv.Itoa(n)] = true
		} else {
			anchors[slug] = true
		}
		seen[slug]++
	}
	return anchors
}

// TestDocsLinks follows every relative link of the README and the pages
// under docs/: the file or directory it names exists, and an anchor into
// a markdown page names one of its headings.
func TestDocsLinks(t *testing.T) {
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	anchors := map[string]map[string]bool{}
	for _, page := range docPages(t, root) {
		lines := pageText(t, filepath.Join(root, page))
		nums := make([]int, 0, len(lines))
		for n := range lines {
			nums = append(nums, n)
		}
		sort.Ints(nums)
		for _, n := range nums {
			for _, m := range markdownLink.FindAllStringSubmatch(lines[n], -1) {
				target := m[1]
				if strings.Contains(target, "://") || strings.HasPrefix(target, "mailto:") {
					continue
				}
				file, anchor, _ := strings.Cut(target, "#")
				if file == "" {
					file = path.Base(page)
				}
				rel := path.Join(path.Dir(page), file)
				if strings.HasPrefix(rel, "../") {
					t.Errorf("%s:%d: link %q leads out of the repository", page, n, target)
					continue
				}
				full := filepath.Join(root, filepath.FromSlash(rel))
				if _, err := os.Stat(full); err != nil {
					t.Errorf("%s:%d: link %q: %s does not exist", page, n, target, rel)
					continue
				}
				if anchor == "" {
					continue
				}
				if !strings.HasSuffix(rel, ".md") {
					t.Errorf("%s:%d: link %q: an anchor into a file that is not markdown", page, n, target)
					continue
				}
				if anchors[rel] == nil {
					anchors[rel] = headingAnchors(t, full)
				}
				if !anchors[rel][anchor] {
					t.Errorf("%s:%d: link %q: %s has no heading with anchor #%s", page, n, target, rel, anchor)
				}
			}
		}
	}
}

// docsText returns the text of every page under docs/, the reference that
// must hold every command and flag.
func docsText(t *testing.T, root string) string {
	t.Helper()
	var all strings.Builder
	for _, page := range docPages(t, root) {
		if !strings.HasPrefix(page, "docs/") {
			continue
		}
		data, err := os.ReadFile(filepath.Join(root, page))
		if err != nil {
			t.Fatal(err)
		}
		all.Write(data)
	}
	return all.String()
}

// TestDocsCoverEveryFlag: every command and every flag of every command is
// documented somewhere under docs/ (the README is only the front door).
func TestDocsCoverEveryFlag(t *testing.T) {
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	docs := docsText(t, root)
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		if c.Hidden || c.Name() == "help" || c.Name() == "completion" {
			return
		}
		if c.HasParent() && !strings.Contains(docs, "`"+c.CommandPath()) {
			t.Errorf("command %q is documented nowhere under docs/", c.CommandPath())
		}
		c.NonInheritedFlags().VisitAll(func(f *pflag.Flag) {
			if f.Hidden || f.Name == "help" {
				return
			}
			if !regexp.MustCompile("`(-[a-z], )?--" + regexp.QuoteMeta(f.Name) + "[` =]").MatchString(docs) {
				t.Errorf("%s --%s is documented nowhere under docs/ (as `--%s`)", c.CommandPath(), f.Name, f.Name)
			}
		})
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(newRootCmd(io.Discard, io.Discard))
}

// TestDocsLayoutTable: every folder that holds a Go package, and every
// top-level folder (or, for one that only groups others, its subfolders),
// has its row in the layout table of docs/development.md.
func TestDocsLayoutTable(t *testing.T) {
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join(root, "docs", "development.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, layout, ok := strings.Cut(string(data), "\n## Layout\n")
	if !ok {
		t.Fatal("docs/development.md has no Layout section")
	}
	listed := map[string]bool{}
	row := regexp.MustCompile("^\\| `([^`]+)/` \\|")
	for line := range strings.SplitSeq(layout, "\n") {
		if m := row.FindStringSubmatch(line); m != nil {
			listed[m[1]] = true
		}
	}
	if len(listed) == 0 {
		t.Fatal("docs/development.md: the layout table lists no folders")
	}

	want := map[string]bool{}
	err = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(root, p)
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		name := d.Name()
		if d.IsDir() {
			switch {
			case rel == ".":
				return nil
			case name == "testdata", name == ".git", name == "bin", name == "out", name == ".cache",
				strings.HasPrefix(name, ".") && rel != ".ci",
				strings.HasPrefix(rel, "examples/"):
				return fs.SkipDir
			case !strings.Contains(rel, "/"):
				want[rel] = true
			}
			return nil
		}
		if strings.HasSuffix(name, ".go") {
			want[path.Dir(rel)] = true
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for dir := range want {
		if listed[dir] {
			continue
		}
		// A top-level folder may be shown by its subfolders alone (internal/).
		covered := false
		for l := range listed {
			covered = covered || !strings.Contains(dir, "/") && strings.HasPrefix(l, dir+"/")
		}
		if !covered {
			t.Errorf("docs/development.md: the layout table has no row for `%s/`", dir)
		}
	}
}
