package main

import (
	"bufio"
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// readmeExample is one `$ metalgit …` command of a console block in the
// README or a page under docs/, and the output the page shows for it.
type readmeExample struct {
	line int
	args []string
	want string
}

// readmeExamples extracts every `$ metalgit …` command from a page's
// ```console blocks, with the lines that follow it as its output.
func readmeExamples(t *testing.T, path string) []readmeExample {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []readmeExample
	var cur *readmeExample
	inConsole := false
	sc := bufio.NewScanner(bytes.NewReader(data))
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		switch {
		case !inConsole && strings.TrimSpace(line) == "```console":
			inConsole = true
		case inConsole && strings.TrimSpace(line) == "```":
			inConsole = false
			cur = nil
		case inConsole && strings.HasPrefix(line, "$ metalgit"):
			out = append(out, readmeExample{line: n, args: strings.Fields(line)[2:]})
			cur = &out[len(out)-1]
		case inConsole && cur != nil:
			cur.want += line + "\n"
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// docPages are the documentation files, relative to the repository root:
// the README and every page under docs/.
func docPages(t *testing.T, root string) []string {
	t.Helper()
	pages, err := filepath.Glob(filepath.Join(root, "docs", "*.md"))
	if err != nil {
		t.Fatal(err)
	}
	if len(pages) == 0 {
		t.Fatal("no pages under docs/")
	}
	out := []string{"README.md"}
	for _, p := range pages {
		rel, err := filepath.Rel(root, p)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, filepath.ToSlash(rel))
	}
	return out
}

// TestREADMEExamples runs every command the README and the pages under
// docs/ show and checks that it prints what the page says.
func TestREADMEExamples(t *testing.T) {
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	pages := docPages(t, root)
	t.Chdir(root)
	total := 0
	for _, page := range pages {
		examples := readmeExamples(t, page)
		total += len(examples)
		for _, ex := range examples {
			t.Run(page+"/"+strings.Join(ex.args, " "), func(t *testing.T) {
				var buf bytes.Buffer
				code := run(context.Background(), ex.args, &buf, &buf)
				wantFail := strings.Contains(ex.want, "\nError: ") || strings.HasPrefix(ex.want, "Error: ")
				if (code != 0) != wantFail {
					t.Errorf("%s:%d: exit code %d; output:\n%s", page, ex.line, code, buf.String())
				}
				if diff := cmp.Diff(ex.want, buf.String()); diff != "" {
					t.Errorf("%s:%d: output differs (-%s +actual):\n%s", page, ex.line, page, diff)
				}
			})
		}
	}
	if total == 0 {
		t.Fatal("the documentation shows no console examples")
	}
}
