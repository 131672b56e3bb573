package reconciler_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/metalgit/metalgit/alloc/state"
	"github.com/metalgit/metalgit/reconciler"
	"github.com/metalgit/metalgit/render"
	"github.com/metalgit/metalgit/schemas"
)

// A pass reads the inventory from the commit's tree and checks out only
// what kustomize reads (a kustomization inventory root, an output
// kustomization). Whatever a repository holds, its output must be what
// rendering a checkout of the same commit gives: an output kustomization
// added, changed and removed, a host file that is a symlink, a
// kustomization root.
func TestPassOutputMatchesCheckout(t *testing.T) {
	const overlay = "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nlabels:\n  - pairs: {overlay: %s}\n"
	steps := []struct {
		name   string
		change func(dir string)
		want   string // in the output
	}{
		{"an output kustomization", func(dir string) {
			putFile(t, filepath.Join(dir, "render", "kustomization.yaml"), strings.Replace(overlay, "%s", "one", 1))
		}, "overlay: one"},
		{"the output kustomization changed", func(dir string) {
			putFile(t, filepath.Join(dir, "render", "kustomization.yaml"), strings.Replace(overlay, "%s", "two", 1))
		}, "overlay: two"},
		{"the output kustomization removed", func(dir string) {
			if err := os.RemoveAll(filepath.Join(dir, "render")); err != nil {
				t.Fatal(err)
			}
		}, ""},
		{"a host file that is a symlink", func(dir string) {
			putFile(t, filepath.Join(dir, ".shared", "extra-40.yaml"), hostYAML(40))
			if err := os.Symlink("../.shared/extra-40.yaml", filepath.Join(dir, "hosts", "extra-40.yaml")); err != nil {
				t.Fatal(err)
			}
		}, "name: extra-40"},
	}
	remote := newRemote(t)
	out := filepath.Join(t.TempDir(), "out")
	r := newReconciler(t, reconciler.Config{URL: "file://" + remote, Output: out})
	pass := func(what, want string) {
		t.Helper()
		if _, err := r.Pass(context.Background()); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		got, ref := outputFiles(t, out), renderCheckout(t, remote, ".")
		if diff := cmp.Diff(ref, got); diff != "" {
			t.Fatalf("%s: the output differs from the render of a checkout (-checkout +pass):\n%s", what, diff)
		}
		if all := strings.Join(mapValues(got), "\n"); want != "" && !strings.Contains(all, want) {
			t.Fatalf("%s: the output lacks %q", what, want)
		} else if want == "" && strings.Contains(all, "overlay:") {
			t.Fatalf("%s: the output still has the removed overlay's label", what)
		}
	}
	pass("the example", "")
	for _, s := range steps {
		pushChange(t, remote, s.name, s.change)
		pass(s.name, s.want)
	}

	t.Run("kustomization root", func(t *testing.T) {
		remote := seedRemoteFrom(t, "../examples/dc2")
		out := filepath.Join(t.TempDir(), "out")
		r := newReconciler(t, reconciler.Config{URL: "file://" + remote, Output: out})
		for _, step := range []string{"the example", "a patch changed"} {
			if step != "the example" {
				pushChange(t, remote, step, func(dir string) {
					p := filepath.Join(dir, "kustomization.yaml")
					data, err := os.ReadFile(p)
					if err != nil {
						t.Fatal(err)
					}
					putFile(t, p, strings.Replace(string(data), "value: 3", "value: 2", 1))
				})
			}
			if _, err := r.Pass(context.Background()); err != nil {
				t.Fatalf("%s: %v", step, err)
			}
			if diff := cmp.Diff(renderCheckout(t, remote, "."), outputFiles(t, out)); diff != "" {
				t.Fatalf("%s: the output differs from the render of a checkout (-checkout +pass):\n%s", step, diff)
			}
		}
	})
}

// renderCheckout clones the remote's main with git and renders the
// inventory at path in it with its state, as `metalgit render` does; it
// returns the files the output folder gets.
func renderCheckout(t *testing.T, remote, path string) map[string]string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "checkout")
	git(t, "/", "clone", "-q", "-b", "main", remote, dir)
	root := filepath.Join(dir, path)
	inv, problems, err := schemas.Load(root, schemas.LoadOptions{})
	if err != nil || len(problems) > 0 {
		t.Fatalf("loading the checkout: %v %v", err, problems)
	}
	st, problems, err := state.Read(filepath.Join(root, schemas.DefaultStateDir))
	if err != nil || len(problems) > 0 {
		t.Fatalf("reading the checkout's state: %v %v", err, problems)
	}
	stream, err := render.Render(render.Input{Inventory: inv, State: st}, render.Options{})
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "out")
	if _, err := render.WriteDir(out, stream); err != nil {
		t.Fatal(err)
	}
	return outputFiles(t, out)
}

// outputFiles reads an output folder: file name → content.
func outputFiles(t *testing.T, dir string) map[string]string {
	t.Helper()
	files := map[string]string{}
	for name, data := range readTree(t, dir) {
		files[name] = string(data)
	}
	return files
}

func mapValues(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for _, v := range m {
		out = append(out, v)
	}
	return out
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

// A symlink in the inventory that leads out of the repository is an error
// that names it; nothing is committed.
func TestPassRefusesSymlinkOutOfRepository(t *testing.T) {
	remote := newRemote(t)
	r := newReconciler(t, reconciler.Config{URL: "file://" + remote})
	if _, err := r.Pass(context.Background()); err != nil {
		t.Fatal(err)
	}
	pushChange(t, remote, "a host elsewhere", func(dir string) {
		if err := os.Symlink("/etc/hostname", filepath.Join(dir, "hosts", "elsewhere.yaml")); err != nil {
			t.Fatal(err)
		}
	})
	head := git(t, remote, "rev-parse", "main")
	_, err := r.Pass(context.Background())
	if err == nil || !strings.Contains(err.Error(), "hosts/elsewhere.yaml") || !strings.Contains(err.Error(), "a symbolic link leading outside the inventory root is never followed") {
		t.Fatalf("pass: %v, want an error naming hosts/elsewhere.yaml, a link out of the repository", err)
	}
	if now := git(t, remote, "rev-parse", "main"); now != head {
		t.Fatalf("the remote moved from %s to %s", head, now)
	}
}

// A kustomization in a pushed commit is built from the commit's tree,
// confined to the inventory root: a file outside it, a remote base or a
// link out of it is a problem naming the file and the field, nothing is
// read, fetched or committed.
func TestPassConfinesKustomization(t *testing.T) {
	var requests atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { requests.Add(1) }))
	t.Cleanup(srv.Close)
	outside := filepath.Join(t.TempDir(), "secret.txt")
	putFile(t, outside, "SENTINEL\n")
	tests := map[string]struct {
		change func(t *testing.T, dir string)
		want   string
	}{
		"generator file outside the root": {
			change: func(t *testing.T, dir string) {
				putFile(t, filepath.Join(dir, "site", "kustomization.yaml"), "resources: [inventory.yaml]\nsecretGenerator:\n- name: s\n  files: [../secret.txt]\n")
				putFile(t, filepath.Join(dir, "secret.txt"), "SENTINEL\n")
			},
			want: `site/kustomization.yaml:4: secretGenerator[0].files[0]: "../secret.txt" leads outside the inventory root`,
		},
		"absolute path": {
			change: func(t *testing.T, dir string) {
				putFile(t, filepath.Join(dir, "site", "kustomization.yaml"), "resources: [inventory.yaml]\nconfigMapGenerator:\n- name: s\n  files: ["+outside+"]\n")
			},
			want: `site/kustomization.yaml:4: configMapGenerator[0].files[0]: "` + outside + `" is an absolute path`,
		},
		"remote resource": {
			change: func(t *testing.T, dir string) {
				putFile(t, filepath.Join(dir, "site", "kustomization.yaml"), "resources: [inventory.yaml, "+srv.URL+"/x.yaml]\n")
			},
			want: `site/kustomization.yaml:1: resources[1]: "` + srv.URL + `/x.yaml" is remote`,
		},
		"link to the rest of the repository": {
			change: func(t *testing.T, dir string) {
				putFile(t, filepath.Join(dir, "site", "kustomization.yaml"), "resources: [inventory.yaml, other.yaml]\n")
				putFile(t, filepath.Join(dir, "secret.yaml"), "SENTINEL: 1\n")
				if err := os.Symlink("../secret.yaml", filepath.Join(dir, "site", "other.yaml")); err != nil {
					t.Fatal(err)
				}
			},
			want: `site/kustomization.yaml:1: resources[1]: "other.yaml" is not read: a symbolic link leading outside the inventory root is never followed`,
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			remote := newRemote(t)
			pushChange(t, remote, "move the inventory into site/", func(dir string) {
				entries, err := os.ReadDir(dir)
				if err != nil {
					t.Fatal(err)
				}
				if err := os.Mkdir(filepath.Join(dir, "site"), 0o755); err != nil {
					t.Fatal(err)
				}
				for _, e := range entries {
					if e.Name() != ".git" {
						if err := os.Rename(filepath.Join(dir, e.Name()), filepath.Join(dir, "site", e.Name())); err != nil {
							t.Fatal(err)
						}
					}
				}
				tc.change(t, dir)
			})
			head := git(t, remote, "rev-parse", "main")
			r := newReconciler(t, reconciler.Config{URL: "file://" + remote, Path: "site"})
			_, err := r.Pass(context.Background())
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("pass: %v\nwant an error containing %q", err, tc.want)
			}
			if strings.Contains(err.Error(), "SENTINEL") || requests.Load() != 0 {
				t.Fatalf("the pass read a file outside the inventory root or fetched (%d requests): %v", requests.Load(), err)
			}
			if now := git(t, remote, "rev-parse", "main"); now != head {
				t.Fatalf("the remote moved from %s to %s", head, now)
			}
		})
	}
}

// A pass's error lists at most schemas.MaxProblems problems, then says
// how many more there are: a million-line error is no report.
func TestPassErrorListsBoundedProblems(t *testing.T) {
	remote := newRemote(t)
	pushChange(t, remote, "many bad documents", func(dir string) {
		putFile(t, filepath.Join(dir, "bad.yaml"), strings.Repeat("--- {kind: Nope, apiVersion: v1}\n", schemas.MaxProblems+50))
	})
	r := newReconciler(t, reconciler.Config{URL: "file://" + remote})
	_, err := r.Pass(context.Background())
	if err == nil {
		t.Fatal("pass accepted 1050 bad documents")
	}
	msg := err.Error()
	if n := strings.Count(msg, "\n"); n != schemas.MaxProblems+1 {
		t.Errorf("the error has %d lines, want %d problems and one more line", n, schemas.MaxProblems)
	}
	if !strings.Contains(msg, "has 1050 problem(s)") || !strings.HasSuffix(msg, "50 more problems not listed (at most 1000 are); fix the ones above and validate again") {
		t.Errorf("the error does not count and cut the problems:\n%s", msg[len(msg)-300:])
	}
}
