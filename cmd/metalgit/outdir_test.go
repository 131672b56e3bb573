package main

import (
	"crypto/sha256"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// treeSum fingerprints every path, mode and content below dir (links by
// their target), to show that a refused command changed nothing.
func treeSum(t *testing.T, dir string) string {
	t.Helper()
	h := sha256.New()
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fmt.Fprintf(h, "%s %v\n", p, d.Type())
		switch {
		case d.Type()&fs.ModeSymlink != 0:
			target, err := os.Readlink(p)
			fmt.Fprintln(h, target)
			return err
		case d.Type().IsRegular():
			data, err := os.ReadFile(p)
			h.Write(data)
			return err
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("%x", h.Sum(nil))
}

// TestRenderRefusesOutputDirs: render -o and --helm-values-dir never
// replace the inventory, its state, each other or a directory metalgit did
// not write, however the path is spelt; the refusal names the flag and
// nothing below the work area changes.
func TestRenderRefusesOutputDirs(t *testing.T) {
	tests := map[string]struct {
		args func(root, area string) []string
		prep func(t *testing.T, root, area string)
		code int
		want string
	}{
		"-o is the inventory root": {
			args: func(root, _ string) []string { return []string{"-o", root} },
			code: exitUsage, want: "--output-dir ROOT: is the inventory root (ROOT); choose a directory of its own",
		},
		"-o is the inventory root, relative with ..": {
			args: func(root, _ string) []string { return []string{"-o", filepath.Join(root, "hosts", "..")} },
			code: exitUsage, want: "is the inventory root (ROOT)",
		},
		"-o through a link to the inventory root": {
			prep: func(t *testing.T, root, area string) {
				if err := os.Symlink(root, filepath.Join(area, "link")); err != nil {
					t.Fatal(err)
				}
			},
			args: func(_, area string) []string { return []string{"-o", filepath.Join(area, "link")} },
			code: exitUsage, want: "is the inventory root (ROOT)",
		},
		"-o inside the inventory root": {
			args: func(root, _ string) []string { return []string{"-o", filepath.Join(root, "rendered")} },
			code: exitUsage, want: "--output-dir ROOT/rendered: lies inside the inventory root (ROOT); choose a directory outside it",
		},
		"-o is the state directory": {
			args: func(root, _ string) []string { return []string{"-o", filepath.Join(root, "state")} },
			code: exitUsage, want: "--output-dir ROOT/state: lies inside the inventory root (ROOT)",
		},
		"-o holds the inventory root": {
			args: func(_, area string) []string { return []string{"-o", area} },
			code: exitUsage, want: "--output-dir AREA: contains the inventory root (ROOT); choose a directory of its own",
		},
		"values dir is the output dir": {
			args: func(_, area string) []string {
				return []string{"-o", filepath.Join(area, "out"), "--helm-values-dir", area + "/out/."}
			},
			code: exitUsage, want: "--helm-values-dir AREA/out/.: is the same directory as --output-dir (AREA/out); give each its own",
		},
		"values dir inside the output dir": {
			args: func(_, area string) []string {
				return []string{"-o", filepath.Join(area, "out"), "--helm-values-dir", filepath.Join(area, "out", "values")}
			},
			code: exitUsage, want: "--helm-values-dir AREA/out/values: and --output-dir (AREA/out) are nested; give each a directory of its own, side by side",
		},
		"output dir holds another file": {
			prep: func(t *testing.T, _, area string) {
				putFile(t, filepath.Join(area, "out", "notes.txt"), "mine\n")
			},
			args: func(_, area string) []string { return []string{"-o", filepath.Join(area, "out")} },
			code: exitFailed, want: "refusing to replace it: it holds notes.txt, which metalgit did not write",
		},
		"output dir holds YAML files metalgit did not render": {
			prep: func(t *testing.T, _, area string) {
				putFile(t, filepath.Join(area, "out", "site.yaml"), "kind: Site\n")
			},
			args: func(_, area string) []string { return []string{"-o", filepath.Join(area, "out")} },
			code: exitFailed, want: "refusing to replace it: it is not a directory metalgit rendered",
		},
		"values dir holds another file": {
			prep: func(t *testing.T, _, area string) {
				putFile(t, filepath.Join(area, "values", "site.yaml"), "kind: Site\n")
			},
			args: func(_, area string) []string { return []string{"--helm-values-dir", filepath.Join(area, "values")} },
			code: exitFailed, want: "refusing to replace it: it holds site.yaml, which metalgit did not write",
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			root := copyDir(t, "../../examples/dc1")
			area := filepath.Dir(root)
			if tc.prep != nil {
				tc.prep(t, root, area)
			}
			before := treeSum(t, area)
			args := append([]string{"render"}, tc.args(root, area)...)
			code, _, stderr := runCLI(t, append(args, root)...)
			want := strings.NewReplacer("ROOT", root, "AREA", area).Replace(tc.want)
			if code != tc.code || !strings.Contains(stderr, want) {
				t.Errorf("exit %d, stderr %q\nwant exit %d and %q", code, stderr, tc.code, want)
			}
			if after := treeSum(t, area); after != before {
				t.Error("a refused render changed files")
			}
		})
	}
}

// TestStateDirThroughLink: a state directory that is a symbolic link (to
// a directory outside the inventory) is neither read nor written.
func TestStateDirThroughLink(t *testing.T) {
	root := copyDir(t, "../../examples/dc2")
	outside := filepath.Join(t.TempDir(), "elsewhere")
	putFile(t, filepath.Join(outside, "allocations.yaml"), "SENTINEL\n")
	if err := os.Symlink(outside, filepath.Join(root, "state")); err != nil {
		t.Fatal(err)
	}
	before := treeSum(t, outside)
	for _, cmd := range []string{"plan", "allocate", "render"} {
		code, stdout, stderr := runCLI(t, cmd, root)
		if code != exitFailed || !strings.Contains(stderr, `state directory "state" cannot be written: `+filepath.Join(root, "state")+` is not a directory (a symbolic link is never followed); remove it`) {
			t.Errorf("%s: exit %d, stderr %q", cmd, code, stderr)
		}
		if strings.Contains(stdout+stderr, "SENTINEL") {
			t.Errorf("%s read the state through the link", cmd)
		}
	}
	if after := treeSum(t, outside); after != before {
		t.Error("allocate wrote through the link")
	}
}

func putFile(t *testing.T, p, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}
