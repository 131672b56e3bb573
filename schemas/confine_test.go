package schemas_test

import (
	"cmp"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	gocmp "github.com/google/go-cmp/cmp"

	"github.com/metalgit/metalgit/schemas"
)

// confinedKey is a valid inventory document for the confinement tests.
const confinedKey = `apiVersion: metalgit.dev/v1alpha1
kind: SSHKey
metadata: {name: ops}
spec: {publicKey: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHvMjL5uzHd3OK9tT2uwXro1f5/4z9Jo16Bv8zUuWiYR ops"}
`

// confinedRoot makes an inventory root next to a directory holding a
// sentinel: a secret whose content must appear in nothing the loader
// returns. It returns the root and the sentinel's content.
func confinedRoot(t *testing.T) (root, outside, sentinel string) {
	t.Helper()
	dir := t.TempDir()
	root, outside = filepath.Join(dir, "inv"), filepath.Join(dir, "outside")
	sentinel = fmt.Sprintf("SENTINEL-%d", time.Now().UnixNano())
	writeFiles(t, outside, map[string]string{
		"secret.txt":         sentinel + "\n",
		"secret.env":         "TOKEN=" + sentinel + "\n",
		"patch.yaml":         "apiVersion: metalgit.dev/v1alpha1\nkind: SSHKey\nmetadata: {name: ops}\nspec: {publicKey: " + sentinel + "}\n",
		"kustomization.yaml": "resources: [key.yaml]\n",
		"key.yaml":           strings.ReplaceAll(confinedKey, "ops", sentinel),
	})
	writeFiles(t, root, map[string]string{"key.yaml": confinedKey})
	return root, outside, sentinel
}

// noSentinel fails when the sentinel appears in the problems or in any
// document loaded.
func noSentinel(t *testing.T, sentinel string, inv *schemas.Inventory, problems schemas.Problems) {
	t.Helper()
	all, err := json.Marshal(struct {
		Inv      *schemas.Inventory
		Problems []string
	}{inv, lines(problems)})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(all), sentinel) {
		t.Fatalf("the content of a file outside the inventory root was read:\n%s", all)
	}
}

// TestKustomizeBuildIsConfined: whatever a committed kustomization names
// — a file or base outside the root by "..", by an absolute path or
// through a symbolic link, a URL, a Git repository, a Helm chart, an exec
// plugin — nothing outside the inventory root is read, nothing is
// fetched, nothing runs, and the problem names the file, the field and
// the fix.
func TestKustomizeBuildIsConfined(t *testing.T) {
	var requests atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		requests.Add(1)
		fmt.Fprint(w, confinedKey)
	}))
	t.Cleanup(srv.Close)

	const kust = "inv/kustomization.yaml:"
	const (
		remote = ` is remote: metalgit never fetches anything while it builds the inventory; vendor the base into the repository and refer to it by a relative path`
		climbs = ` leads outside the inventory root: the inventory build reads only files below it; move what it names into the inventory root`
		abs    = ` is an absolute path: the inventory build reads only files below the inventory root; refer to the file by a path relative to the kustomization`
		plugin = `%s are not run in the inventory build: a plugin's configuration (even a built-in one, such as a PatchTransformer's path) names files that kustomize reads, or fetches, unchecked; use the kustomization's own fields (patches, replacements, labels, configMapGenerator, …), or commit what the plugin puts out and list it in resources`
		helm   = `Helm charts are not inflated in the inventory build (that would fetch the chart and run Helm); run helm template, commit its output into the repository and list it in resources`
	)
	tests := map[string]struct {
		kustomization string
		file          string // the root kustomization's name; default kustomization.yaml
		files         map[string]string
		setup         func(t *testing.T, root, outside string)
		want          []string
	}{
		// kustomize decodes a kustomization with encoding/json, which
		// takes a key for a field's name in any letter case.
		"field names in any letter case": {
			kustomization: "RESOURCES: [key.yaml, URL/x.yaml]\nComponents: [URL/c]\nBASES: [../outside]\n" +
				"pAtChEs:\n- PATH: URL/p.yaml\nPatchesJson6902:\n- Path: OUTSIDE/p.json\npatchesstrategicmerge: [../outside/patch.yaml]\n" +
				"REPLACEMENTS: [{PaTh: URL/r.yaml}]\nCRDs: [URL/crd.json]\nConfigurations: [OUTSIDE/c.yaml]\nOpenAPI: {path: URL/schema.json, Path: /s.json}\n",
			want: []string{
				kust + `1: RESOURCES[1]: "URL/x.yaml"` + remote,
				kust + `2: Components[0]: "URL/c"` + remote,
				kust + `3: BASES[0]: "../outside"` + climbs,
				kust + `5: pAtChEs[0].PATH: "URL/p.yaml"` + remote,
				kust + `7: PatchesJson6902[0].Path: "OUTSIDE/p.json"` + abs,
				kust + `8: patchesstrategicmerge[0]: "../outside/patch.yaml"` + climbs,
				kust + `9: REPLACEMENTS[0].PaTh: "URL/r.yaml"` + remote,
				kust + `10: CRDs[0]: "URL/crd.json"` + remote,
				kust + `11: Configurations[0]: "OUTSIDE/c.yaml"` + abs,
				kust + `12: OpenAPI.Path: "/s.json"` + abs,
				kust + `12: OpenAPI.path: "URL/schema.json"` + remote,
			},
		},
		"generator fields in any letter case": {
			kustomization: "resources: [key.yaml]\nSecretGenerator:\n- name: s\n  FILES: [k=../outside/secret.txt]\n  Envs: [OUTSIDE/secret.env]\n  ENV: URL/e.env\n" +
				"CONFIGMAPGENERATOR: [{name: c, Files: [URL/f]}]\n",
			want: []string{
				kust + `4: SecretGenerator[0].FILES[0]: "../outside/secret.txt"` + climbs,
				kust + `5: SecretGenerator[0].Envs[0]: "OUTSIDE/secret.env"` + abs,
				kust + `6: SecretGenerator[0].ENV: "URL/e.env"` + remote,
				kust + `7: CONFIGMAPGENERATOR[0].Files[0]: "URL/f"` + remote,
			},
		},
		"field names by Unicode case folding": {
			kustomization: "reſources: [key.yaml, URL/x.yaml]\n",
			want:          []string{kust + `1: reſources[1]: "URL/x.yaml"` + remote},
		},
		"Helm in any letter case": {
			kustomization: "resources: [key.yaml]\nHelmCharts: [{name: x}]\nHELMGLOBALS: {chartHome: /x}\nhelmchartinflationgenerator: [{chartName: x}]\n",
			want: []string{
				kust + `2: HelmCharts: ` + helm,
				kust + `3: HELMGLOBALS: ` + helm,
				kust + `4: helmchartinflationgenerator: ` + helm,
			},
		},
		"one field spelled twice": {
			kustomization: "resources: [key.yaml]\nResources: [URL/x.yaml]\npatches:\n- path: key.yaml\n  Path: ../outside/patch.yaml\n",
			want: []string{
				kust + `2: Resources: Resources, resources all set the field resources: kustomize takes a field's name in any letter case and reads them all; keep one, spelled resources`,
				kust + `2: Resources[0]: "URL/x.yaml"` + remote,
				kust + `5: patches[0].Path: "../outside/patch.yaml"` + climbs,
				kust + `5: patches[0].Path: Path, path all set the field path: kustomize takes a field's name in any letter case and reads them all; keep one, spelled path`,
			},
		},
		"anchors and aliases": {
			kustomization: "commonAnnotations: {u: &u URL/x.yaml}\nresources: [key.yaml, *u]\nnamePrefix: &r a-\ncomponents: &c [URL/c]\nBases: *c\n",
			want: []string{
				kust + `2: resources[1]: "URL/x.yaml"` + remote,
				kust + `4: Bases[0]: "URL/c"` + remote,
				kust + `4: components[0]: "URL/c"` + remote,
			},
		},
		"merge keys": {
			kustomization: "<<: {RESOURCES: [key.yaml, URL/x.yaml]}\npatches:\n- &p {path: key.yaml}\n- <<: [{target: {kind: SSHKey}}, {PATH: ../outside/patch.yaml}]\n",
			want: []string{
				kust + `1: RESOURCES[1]: "URL/x.yaml"` + remote,
				kust + `4: patches[1].PATH: "../outside/patch.yaml"` + climbs,
			},
		},
		"JSON form": {
			kustomization: `{"Resources": ["key.yaml", "URL/x.yaml"], "PATCHES": [{"Path": "../outside/patch.yaml"}]}`,
			want: []string{
				kust + `1: PATCHES[0].Path: "../outside/patch.yaml"` + climbs,
				kust + `1: Resources[1]: "URL/x.yaml"` + remote,
			},
		},
		"URL without slashes": {
			kustomization: "resources: [key.yaml]\ncrds: [\"https:URL/crd.json\"]\n",
			want:          []string{kust + `2: crds[0]: "https:URL/crd.json"` + remote},
		},
		"named Kustomization": {
			kustomization: "RESOURCES: [key.yaml, URL/x.yaml]\n",
			file:          "Kustomization",
			want:          []string{`inv/Kustomization:1: RESOURCES[1]: "URL/x.yaml"` + remote},
		},
		"kustomization.yml in a base": {
			kustomization: "resources: [base]\n",
			files:         map[string]string{"base/kustomization.yml": "Resources: [../key.yaml, URL/x.yaml]\n"},
			want:          []string{`inv/base/kustomization.yml:1: Resources[1]: "URL/x.yaml"` + remote},
		},
		"two kustomizations in a base": {
			kustomization: "resources: [base]\n",
			files: map[string]string{
				"base/kustomization.yaml": "resources: [../key.yaml]\n",
				"base/Kustomization":      "RESOURCES: [URL/x.yaml]\n",
			},
			want: []string{`inv/base/Kustomization:1: RESOURCES[0]: "URL/x.yaml"` + remote},
		},
		"secretGenerator file by ..": {
			kustomization: "resources: [key.yaml]\nsecretGenerator:\n- name: s\n  files: [../outside/secret.txt]\n",
			want:          []string{kust + `4: secretGenerator[0].files[0]: "../outside/secret.txt" leads outside the inventory root: the inventory build reads only files below it; move what it names into the inventory root`},
		},
		"configMapGenerator key=file by ..": {
			kustomization: "resources: [key.yaml]\nconfigMapGenerator:\n- name: c\n  files: [\"k=sub/../../outside/secret.txt\"]\n",
			want:          []string{kust + `4: configMapGenerator[0].files[0]: "sub/../../outside/secret.txt" leads outside the inventory root: the inventory build reads only files below it; move what it names into the inventory root`},
		},
		"secretGenerator env by absolute path": {
			kustomization: "resources: [key.yaml]\nsecretGenerator:\n- name: s\n  envs: [OUTSIDE/secret.env]\n  env: OUTSIDE/secret.env\n",
			want: []string{
				kust + `4: secretGenerator[0].envs[0]: "OUTSIDE/secret.env" is an absolute path: the inventory build reads only files below the inventory root; refer to the file by a path relative to the kustomization`,
				kust + `5: secretGenerator[0].env: "OUTSIDE/secret.env" is an absolute path: the inventory build reads only files below the inventory root; refer to the file by a path relative to the kustomization`,
			},
		},
		"patch by ..": {
			kustomization: "resources: [key.yaml]\npatches:\n- path: ../outside/patch.yaml\n",
			want:          []string{kust + `3: patches[0].path: "../outside/patch.yaml" leads outside the inventory root: the inventory build reads only files below it; move what it names into the inventory root`},
		},
		"strategic merge patch by absolute path": {
			kustomization: "resources: [key.yaml]\npatchesStrategicMerge: [OUTSIDE/patch.yaml]\n",
			want:          []string{kust + `2: patchesStrategicMerge[0]: "OUTSIDE/patch.yaml" is an absolute path: the inventory build reads only files below the inventory root; refer to the file by a path relative to the kustomization`},
		},
		"base by ..": {
			kustomization: "resources: [../outside]\n",
			want:          []string{kust + `1: resources[0]: "../outside" leads outside the inventory root: the inventory build reads only files below it; move what it names into the inventory root`},
		},
		"resource through a symbolic link": {
			kustomization: "resources: [link.yaml]\n",
			setup: func(t *testing.T, root, outside string) {
				symlink(t, filepath.Join(outside, "key.yaml"), filepath.Join(root, "link.yaml"))
			},
			want: []string{kust + `1: resources[0]: "link.yaml" is not read: a symbolic link leading outside the inventory root is never followed; replace the link with the file`},
		},
		"base through a symbolic link": {
			kustomization: "resources: [linked]\n",
			setup: func(t *testing.T, root, outside string) {
				symlink(t, outside, filepath.Join(root, "linked"))
			},
			want: []string{kust + `1: resources[0]: "linked" is not read: a symbolic link leading outside the inventory root is never followed; replace the link with the file`},
		},
		"base through a symbolic link inside the root": {
			kustomization: "resources: [linked]\n",
			files:         map[string]string{"base/kustomization.yaml": "resources: [../key.yaml]\n"},
			setup: func(t *testing.T, root, _ string) {
				symlink(t, "base", filepath.Join(root, "linked"))
			},
			want: []string{kust + `1: resources[0]: "linked" is not read: a symbolic link to a directory is not followed; refer to the directory itself`},
		},
		"resources by URL": {
			kustomization: "resources:\n- URL/key.yaml\n- https://127.0.0.1:1/key.yaml\n- HTTP://127.0.0.1:1/key.yaml\n",
			want: []string{
				kust + `2: resources[0]: "URL/key.yaml" is remote: metalgit never fetches anything while it builds the inventory; vendor the base into the repository and refer to it by a relative path`,
				kust + `3: resources[1]: "https://127.0.0.1:1/key.yaml" is remote: metalgit never fetches anything while it builds the inventory; vendor the base into the repository and refer to it by a relative path`,
				kust + `4: resources[2]: "HTTP://127.0.0.1:1/key.yaml" is remote: metalgit never fetches anything while it builds the inventory; vendor the base into the repository and refer to it by a relative path`,
			},
		},
		"Git bases": {
			kustomization: "resources:\n- github.com/metal3-io/baremetal-operator//config/default?ref=v0.13.2\n- git@example.com:org/repo.git\n" +
				"- git::https://example.com/org/repo\n- gh:org/repo\n- file:///srv/git/repo.git\n- ssh://git@127.0.0.1/repo\ncomponents: [https://example.com/org/repo//c]\n",
			want: func() []string {
				var w []string
				for i, u := range []string{"github.com/metal3-io/baremetal-operator//config/default?ref=v0.13.2", "git@example.com:org/repo.git",
					"git::https://example.com/org/repo", "gh:org/repo", "file:///srv/git/repo.git", "ssh://git@127.0.0.1/repo"} {
					w = append(w, fmt.Sprintf(kust+`%d: resources[%d]: %q is remote: metalgit never fetches anything while it builds the inventory; vendor the base into the repository and refer to it by a relative path`, i+2, i, u))
				}
				return append(w, kust+`8: components[0]: "https://example.com/org/repo//c" is remote: metalgit never fetches anything while it builds the inventory; vendor the base into the repository and refer to it by a relative path`)
			}(),
		},
		"patch by URL": {
			kustomization: "resources: [key.yaml]\npatches:\n- path: URL/patch.yaml\nopenapi: {path: URL/schema.json}\n",
			want: []string{
				kust + `3: patches[0].path: "URL/patch.yaml" is remote: metalgit never fetches anything while it builds the inventory; vendor the base into the repository and refer to it by a relative path`,
				kust + `4: openapi.path: "URL/schema.json" is remote: metalgit never fetches anything while it builds the inventory; vendor the base into the repository and refer to it by a relative path`,
			},
		},
		"remote base in a nested kustomization": {
			kustomization: "resources: [base]\n",
			files:         map[string]string{"base/kustomization.yaml": "resources:\n- ../key.yaml\n- URL/key.yaml\n"},
			want:          []string{`inv/base/kustomization.yaml:3: resources[1]: "URL/key.yaml" is remote: metalgit never fetches anything while it builds the inventory; vendor the base into the repository and refer to it by a relative path`},
		},
		"Helm chart": {
			kustomization: "resources: [key.yaml]\nhelmCharts:\n- {name: x, repo: URL}\n",
			want:          []string{kust + `3: helmCharts: Helm charts are not inflated in the inventory build (that would fetch the chart and run Helm); run helm template, commit its output into the repository and list it in resources`},
		},
		// A built-in plugin's configuration names files too, and the
		// build reads them: from a file, inline or from a directory.
		"plugin configurations": {
			kustomization: "resources: [key.yaml]\ntransformers: [t.yaml]\nGenerators:\n- gen\nvalidators:\n- |\n  apiVersion: builtin\n  kind: PatchTransformer\n  metadata: {name: p}\n  path: URL/p.yaml\n",
			files: map[string]string{
				"t.yaml":                 "apiVersion: builtin\nkind: PatchTransformer\nmetadata: {name: p}\npath: URL/p.yaml\n",
				"gen/kustomization.yaml": "resources: [g.yaml]\n",
				"gen/g.yaml":             "apiVersion: builtin\nkind: SecretGenerator\nmetadata: {name: s}\nfiles: [URL/s.txt]\n",
			},
			want: []string{
				kust + `2: transformers: ` + fmt.Sprintf(plugin, "transformers"),
				kust + `4: Generators: ` + fmt.Sprintf(plugin, "generators"),
				kust + `6: validators: ` + fmt.Sprintf(plugin, "validators"),
			},
		},
		"FIFO as a resource": {
			kustomization: "resources: [key.yaml, fifo.yaml]\n",
			setup: func(t *testing.T, root, _ string) {
				mkfifo(t, filepath.Join(root, "fifo.yaml"))
			},
			want: []string{kust + `1: resources[1]: "fifo.yaml" is not read: not a regular file (a FIFO, socket, device or link to one) is never read; remove it or rename it so it does not end in .yaml or .yml`},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			root, outside, sentinel := confinedRoot(t)
			spelled := strings.ReplaceAll(strings.ReplaceAll(tc.kustomization, "OUTSIDE", outside), "URL", srv.URL)
			writeFiles(t, root, map[string]string{cmp.Or(tc.file, "kustomization.yaml"): spelled})
			files := map[string]string{}
			for name, content := range tc.files {
				files[name] = strings.ReplaceAll(content, "URL", srv.URL)
			}
			writeFiles(t, root, files)
			if tc.setup != nil {
				tc.setup(t, root, outside)
			}
			inv, problems, err := loadWithin(t, filepath.Join(filepath.Dir(root), "inv"))
			if err != nil {
				t.Fatal(err)
			}
			var want []string
			for _, w := range tc.want {
				want = append(want, strings.ReplaceAll(strings.ReplaceAll(w, "OUTSIDE", outside), "URL", srv.URL))
			}
			got := lines(problems)
			for i := range got {
				got[i] = strings.TrimPrefix(got[i], filepath.Dir(root)+"/")
			}
			if diff := gocmp.Diff(want, got); diff != "" {
				t.Errorf("problems (-want +got):\n%s", diff)
			}
			noSentinel(t, sentinel, inv, problems)
			if n := requests.Swap(0); n != 0 {
				t.Fatalf("the build sent %d requests to a URL in the kustomization", n)
			}
		})
	}
}

// TestKustomizeRunsNoPlugin: an exec function named as a generator or a
// transformer does not run: the fields are refused before the build (and
// kustomize's plugins stay disabled in it).
func TestKustomizeRunsNoPlugin(t *testing.T) {
	root, _, _ := confinedRoot(t)
	marker := filepath.Join(t.TempDir(), "ran")
	writeFiles(t, root, map[string]string{
		"kustomization.yaml": "resources: [key.yaml]\ngenerators: [gen.yaml]\ntransformers: [gen.yaml]\n",
		"gen.yaml": "apiVersion: example.com/v1\nkind: Gen\nmetadata:\n  name: g\n  annotations:\n" +
			"    config.kubernetes.io/function: |\n      exec:\n        path: ./gen.sh\n",
		"gen.sh": "#!/bin/sh\ntouch " + marker + "\n",
	})
	if err := os.Chmod(filepath.Join(root, "gen.sh"), 0o755); err != nil {
		t.Fatal(err)
	}
	_, problems, err := loadWithin(t, root)
	if err != nil {
		t.Fatal(err)
	}
	var fields []string
	for _, p := range problems {
		if p.Rule != schemas.RuleRemote {
			t.Errorf("problem %s, want rule %s", p, schemas.RuleRemote)
		}
		fields = append(fields, p.Field)
	}
	if diff := gocmp.Diff([]string{"generators", "transformers"}, fields); diff != "" {
		t.Errorf("fields of the problems (-want +got):\n%s", diff)
	}
	if _, err := os.Stat(marker); err == nil {
		t.Fatal("the exec plugin ran")
	}
}

// TestPlainLoadIsConfined: a plain inventory directory reads only regular
// files below its root: links out of it, FIFOs, devices, sockets and
// links to them are problems, never read and never a hang; .YAML and .YML
// are read like .yaml.
func TestPlainLoadIsConfined(t *testing.T) {
	tests := map[string]struct {
		setup func(t *testing.T, root, outside string)
		want  []string
	}{
		"link to a file outside": {
			setup: func(t *testing.T, root, outside string) {
				symlink(t, filepath.Join(outside, "key.yaml"), filepath.Join(root, "a.yaml"))
				symlink(t, "../outside/key.yaml", filepath.Join(root, "b.yml"))
			},
			want: []string{
				"inv/a.yaml: a symbolic link leading outside the inventory root is never followed; replace the link with the file",
				"inv/b.yml: a symbolic link leading outside the inventory root is never followed; replace the link with the file",
			},
		},
		"FIFO, and a link to it": {
			setup: func(t *testing.T, root, _ string) {
				mkfifo(t, filepath.Join(root, "fifo.yaml"))
				symlink(t, "fifo.yaml", filepath.Join(root, "to-fifo.yaml"))
			},
			want: []string{
				"inv/fifo.yaml: not a regular file (a FIFO, socket, device or link to one) is never read; remove it or rename it so it does not end in .yaml or .yml",
				"inv/to-fifo.yaml: not a regular file (a FIFO, socket, device or link to one) is never read; remove it or rename it so it does not end in .yaml or .yml",
			},
		},
		"socket": {
			setup: func(t *testing.T, root, _ string) {
				fd, err := syscall.Socket(syscall.AF_UNIX, syscall.SOCK_STREAM, 0)
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { _ = syscall.Close(fd) })
				if err := syscall.Bind(fd, &syscall.SockaddrUnix{Name: filepath.Join(root, "s.yaml")}); err != nil {
					t.Fatal(err)
				}
			},
			want: []string{"inv/s.yaml: not a regular file (a FIFO, socket, device or link to one) is never read; remove it or rename it so it does not end in .yaml or .yml"},
		},
		"device": {
			setup: func(t *testing.T, root, _ string) {
				if os.Geteuid() != 0 {
					if os.Getenv("CI") != "" {
						t.Fatal("making a device node needs root, and CI runs as root")
					}
					t.Skip("making a device node needs root")
				}
				// /dev/zero: a read would never end.
				if err := syscall.Mknod(filepath.Join(root, "zero.yaml"), syscall.S_IFCHR|0o600, 1<<8|5); err != nil {
					t.Fatal(err)
				}
			},
			want: []string{"inv/zero.yaml: not a regular file (a FIFO, socket, device or link to one) is never read; remove it or rename it so it does not end in .yaml or .yml"},
		},
		"upper-case extensions are read": {
			setup: func(t *testing.T, root, _ string) {
				writeFiles(t, root, map[string]string{"KEYS.YAML": strings.ReplaceAll(confinedKey, "name: ops", "name: two"), "k.YML": "kind: Nope\n"})
			},
			want: []string{`inv/k.YML:1: Nope (document 1): apiVersion: apiVersion is missing; set apiVersion: metalgit.dev/v1alpha1`},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			root, outside, sentinel := confinedRoot(t)
			tc.setup(t, root, outside)
			inv, problems, err := loadWithin(t, root)
			if err != nil {
				t.Fatal(err)
			}
			got := lines(problems)
			for i := range got {
				got[i] = strings.TrimPrefix(got[i], filepath.Dir(root)+"/")
			}
			if diff := gocmp.Diff(tc.want, got); diff != "" {
				t.Errorf("problems (-want +got):\n%s", diff)
			}
			noSentinel(t, sentinel, inv, problems)
		})
	}
}

// loadWithin loads root, failing the test if the load does not end in
// time (a FIFO that blocks it would hang it forever).
func loadWithin(t *testing.T, root string) (*schemas.Inventory, schemas.Problems, error) {
	t.Helper()
	type result struct {
		inv      *schemas.Inventory
		problems schemas.Problems
		err      error
	}
	done := make(chan result, 1)
	go func() {
		inv, problems, err := schemas.Load(root, schemas.LoadOptions{})
		done <- result{inv, problems, err}
	}()
	select {
	case r := <-done:
		return r.inv, r.problems, r.err
	case <-time.After(time.Minute):
		t.Fatal("Load did not return: it blocked on a file")
		return nil, nil, nil
	}
}

func symlink(t *testing.T, target, link string) {
	t.Helper()
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
}

func mkfifo(t *testing.T, name string) {
	t.Helper()
	if err := syscall.Mkfifo(name, 0o644); err != nil {
		t.Fatal(err)
	}
}

// FuzzCheckKustomization: whatever a committed kustomization holds, the
// check before the build never panics, and every problem names the file
// and says which rule it breaks.
func FuzzCheckKustomization(f *testing.F) {
	f.Add([]byte("resources: [a.yaml, ../b, https://x/y, github.com/o/r]\npatches: [{path: /etc/p}]\n"))
	f.Add([]byte("secretGenerator:\n- name: s\n  files: [k=../x]\n  envs: [/e]\n  env: ../e\nhelmCharts: [{name: x}]\n"))
	f.Add([]byte("resources: &r [sub]\ncomponents: *r\nopenapi: {path: git@h:o/r}\n"))
	// Field names in any letter case, as kustomize takes them.
	f.Add([]byte("RESOURCES: [http://127.0.0.1:1/x.yaml]\npAtChEs: [{PATH: ../p}]\nSecretGenerator: [{name: s, FILES: [k=/x], Env: ../e}]\n"))
	f.Add([]byte("reſources: [sub]\nOpenAPI: {Path: /s}\nHELMCHARTS: [{name: x}]\nREPLACEMENTS: [{Path: https:x}]\n"))
	f.Add([]byte("resources: [sub]\nResources: [../x]\npatches: [{path: a, Path: b}]\n"))
	// Anchors, merge keys and the JSON form.
	f.Add([]byte("<<: {Resources: [sub, gh:o/r]}\npatches:\n- &p {path: a}\n- <<: [*p, {PATH: /b}]\n"))
	f.Add([]byte(`{"Resources": ["sub", "git::https://x/y"], "PATCHES": [{"Path": "../p"}], "crds": ["/c"]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		problems, err := schemas.CheckKustomizationFiles(map[string][]byte{
			"kustomization.yaml":     data,
			"sub/kustomization.yaml": data,
		}, func(rel string) string { return "inv/" + rel })
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range problems {
			if !strings.HasPrefix(p.File, "inv/") || p.Rule == "" || p.Field == "" || p.Message == "" {
				t.Fatalf("problem without its file, field or rule: %+v", p)
			}
		}
	})
}
