package render_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/metalgit/metalgit/render"
)

// TestOutputKustomizationIsConfined: the inventory's own output
// kustomization (render/kustomization.yaml, written by pull requests)
// fetches nothing, reads nothing outside its directory and is not reached
// through a symbolic link; each refusal names the file and the field.
func TestOutputKustomizationIsConfined(t *testing.T) {
	var requests atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		requests.Add(1)
		fmt.Fprint(w, "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: fetched}\n")
	}))
	t.Cleanup(srv.Close)
	sentinel := filepath.Join(t.TempDir(), "secret.txt")
	if err := os.WriteFile(sentinel, []byte("SENTINEL\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := map[string]struct {
		kustomization string
		link          bool   // render/ is a link to a directory holding the kustomization
		name          string // given as the output kustomization, next to a harmless kustomization.yaml
		want          string
	}{
		"remote resource in capitals": {
			kustomization: "RESOURCES: [URL/cm.yaml]\n",
			want:          `render/kustomization.yaml:1: RESOURCES[0]: "URL/cm.yaml" is remote`,
		},
		"generator file in any letter case": {
			kustomization: "SecretGenerator:\n- name: s\n  Files: [SENTINEL]\n",
			want:          `render/kustomization.yaml:3: SecretGenerator[0].Files[0]: "SENTINEL" is an absolute path`,
		},
		"named output kustomization": {
			kustomization: "Resources: [URL/cm.yaml]\n",
			name:          "site.yml",
			want:          `render/site.yml:1: Resources[0]: "URL/cm.yaml" is remote`,
		},
		"remote resource": {
			kustomization: "resources: [URL/cm.yaml]\n",
			want:          `render/kustomization.yaml:1: resources[0]: "URL/cm.yaml" is remote`,
		},
		"remote base": {
			kustomization: "resources:\n- github.com/org/repo//base?ref=main\n",
			want:          `render/kustomization.yaml:2: resources[0]: "github.com/org/repo//base?ref=main" is remote`,
		},
		"generator file outside": {
			kustomization: "secretGenerator:\n- name: s\n  files: [SENTINEL]\n",
			want:          `render/kustomization.yaml:3: secretGenerator[0].files[0]: "SENTINEL" is an absolute path`,
		},
		"generator file by ..": {
			kustomization: "configMapGenerator:\n- name: s\n  files: [../../secret.txt]\n",
			want:          `render/kustomization.yaml:3: configMapGenerator[0].files[0]: "../../secret.txt" leads outside the inventory root`,
		},
		"render/ is a symbolic link": {
			kustomization: "namePrefix: x-\n",
			link:          true,
			want:          "render is not a directory (a symbolic link is not followed)",
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			in := load(t, "unbound")
			root := t.TempDir()
			in.Root = root
			k := strings.ReplaceAll(strings.ReplaceAll(tc.kustomization, "URL", srv.URL), "SENTINEL", sentinel)
			dir := filepath.Join(root, "render")
			if tc.link {
				dir = t.TempDir()
				if err := os.Symlink(dir, filepath.Join(root, "render")); err != nil {
					t.Fatal(err)
				}
			} else if err := os.Mkdir(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			var opts render.Options
			file := filepath.Join(dir, "kustomization.yaml")
			if tc.name != "" {
				if err := os.WriteFile(file, []byte("namePrefix: x-\n"), 0o644); err != nil {
					t.Fatal(err)
				}
				file = filepath.Join(dir, tc.name)
				opts.OutputKustomization = file
			}
			if err := os.WriteFile(file, []byte(k), 0o644); err != nil {
				t.Fatal(err)
			}
			out, err := render.Render(in, opts)
			if err == nil || out != nil {
				t.Fatalf("rendered %d bytes, err %v; want a refusal", len(out), err)
			}
			msg := strings.ReplaceAll(err.Error(), root+"/", "")
			if !strings.Contains(msg, strings.ReplaceAll(strings.ReplaceAll(tc.want, "URL", srv.URL), "SENTINEL", sentinel)) {
				t.Errorf("error %q\ndoes not contain %q", msg, tc.want)
			}
			if n := requests.Swap(0); strings.Contains(msg, "SENTINEL\n") || n != 0 {
				t.Errorf("the output kustomization read a file outside or fetched (%d requests)", n)
			}
		})
	}
}

// TestRenderStopsOnContext: a render whose context is done builds
// nothing and returns the context's error.
func TestRenderStopsOnContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	out, err := render.Render(load(t, "unbound"), render.Options{Context: ctx})
	if !errors.Is(err, context.Canceled) || out != nil {
		t.Fatalf("Render: %d bytes, %v; want nothing and context.Canceled", len(out), err)
	}
}
