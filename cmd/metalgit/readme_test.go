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
// README and the output the README shows for it.
type readmeExample struct {
	line int
	args []string
	want string
}

// readmeExamples extracts every `$ metalgit …` command from the README's
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

// TestREADMEExamples runs every command the README shows and checks that
// it prints what the README says.
func TestREADMEExamples(t *testing.T) {
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	examples := readmeExamples(t, filepath.Join(root, "README.md"))
	if len(examples) == 0 {
		t.Fatal("the README shows no console examples")
	}
	t.Chdir(root)
	for _, ex := range examples {
		t.Run(strings.Join(ex.args, " "), func(t *testing.T) {
			var buf bytes.Buffer
			code := run(context.Background(), ex.args, &buf, &buf)
			wantFail := strings.Contains(ex.want, "\nError: ") || strings.HasPrefix(ex.want, "Error: ")
			if (code != 0) != wantFail {
				t.Errorf("README.md:%d: exit code %d; output:\n%s", ex.line, code, buf.String())
			}
			if diff := cmp.Diff(ex.want, buf.String()); diff != "" {
				t.Errorf("README.md:%d: output differs (-README +actual):\n%s", ex.line, diff)
			}
		})
	}
}
