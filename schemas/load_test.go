package schemas_test

import (
	"os"
	"path"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/google/go-cmp/cmp"

	"github.com/metalgit/metalgit/schemas"
)

// lines formats problems the way 'metalgit validate' prints them.
func lines(ps schemas.Problems) []string {
	out := make([]string, 0, len(ps))
	for _, p := range ps {
		out = append(out, p.String())
	}
	return out
}

func writeFiles(t *testing.T, root string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		path := filepath.Join(root, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

const opsKey = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHvMjL5uzHd3OK9tT2uwXro1f5/4z9Jo16Bv8zUuWiYR ops@example"

func TestDecodeProblemsAreLocated(t *testing.T) {
	tests := map[string]struct {
		doc  string
		want []string
	}{
		"unknown fields at every level, all reported": {
			doc: `apiVersion: metalgit.dev/v1alpha1
kind: SSHKey
metadata:
  name: ops
  colour: red
spec:
  publicKey: "` + opsKey + `"
  publickey: x
extra: 1
`,
			want: []string{
				`f.yaml:5: SSHKey/ops: metadata.colour: unknown field "colour"; remove it (known fields: annotations, labels, name, namespace)`,
				`f.yaml:8: SSHKey/ops: spec.publickey: unknown field "publickey"; did you mean "publicKey"?`,
				`f.yaml:9: SSHKey/ops: extra: unknown field "extra"; remove it (known fields: apiVersion, kind, metadata, spec)`,
			},
		},
		"wrong types": {
			doc: `apiVersion: metalgit.dev/v1alpha1
kind: MachineSet
metadata: {name: w}
spec:
  nodeType: [a]
  quantity: "3"
  properties: 5
`,
			want: []string{
				`f.yaml:5: MachineSet/w: spec.nodeType: must be a string, not a list`,
				`f.yaml:6: MachineSet/w: spec.quantity: must be an integer, not the string "3"`,
				`f.yaml:7: MachineSet/w: spec.properties: must be a mapping (object), not the integer 5`,
			},
		},
		"unknown kind with a suggestion": {
			doc:  "apiVersion: metalgit.dev/v1alpha1\nkind: IPool\nmetadata: {name: p}\n",
			want: []string{`f.yaml:2: IPool/p: kind: unknown kind "IPool"; did you mean "IPPool"?`},
		},
		"unknown apiVersion": {
			doc:  "apiVersion: metalgit.dev/v1\nkind: Host\nmetadata: {name: h}\n",
			want: []string{`f.yaml:1: Host/h: apiVersion: unknown apiVersion "metalgit.dev/v1"; use metalgit.dev/v1alpha1`},
		},
		"syntax error names the line": {
			doc:  "apiVersion: metalgit.dev/v1alpha1\nkind: Host\nmetadata: {name: h\nspec: {}\n",
			want: []string{`f.yaml:2: did not find expected ',' or '}'; fix the YAML syntax`},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			_, problems := schemas.LoadBytes("f.yaml", []byte(tc.doc))
			if diff := cmp.Diff(tc.want, lines(problems)); diff != "" {
				t.Errorf("problems (-want +got):\n%s", diff)
			}
		})
	}
}

func TestLoadTreeSkipsStateHiddenAndKustomizeDirs(t *testing.T) {
	root := t.TempDir()
	writeFiles(t, root, map[string]string{
		"keys/ops.yml":              "apiVersion: metalgit.dev/v1alpha1\nkind: SSHKey\nmetadata: {name: ops}\nspec: {publicKey: \"" + opsKey + "\"}\n",
		"state/allocations.yaml":    "not: inventory\n",
		".git/config.yaml":          "not: inventory\n",
		"render/kustomization.yaml": "resources: []\n",
		"render/patch.yaml":         "not: inventory\n",
		"README.md":                 "# notes\n",
	})
	inv, problems, err := schemas.Load(root, schemas.LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(problems) != 0 || len(inv.SSHKeys) != 1 {
		t.Fatalf("got %d SSH keys and problems %v; want 1 key and no problems", len(inv.SSHKeys), problems)
	}
	if got := inv.SSHKeys[0].Source.File; got != filepath.Join(root, "keys/ops.yml") {
		t.Errorf("source file = %s", got)
	}
}

func TestLoadEmptyInventory(t *testing.T) {
	root := t.TempDir()
	_, problems, err := schemas.Load(root, schemas.LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(problems) != 1 || problems[0].Rule != schemas.RuleEmptyInventory {
		t.Fatalf("problems = %v, want one empty-inventory problem", problems)
	}
	if _, _, err := schemas.Load(filepath.Join(root, "missing"), schemas.LoadOptions{}); err == nil {
		t.Fatal("loading a missing directory succeeded")
	}
}

// TestKustomizeOverlayKeepsOrigins builds a kustomization whose base has
// problems and checks that they point at the base files' own lines, and
// that overlay patches apply.
func TestKustomizeOverlayKeepsOrigins(t *testing.T) {
	root := t.TempDir()
	writeFiles(t, root, map[string]string{
		"base/kustomization.yaml": "resources: [keys.yaml, sets.yaml]\n",
		"base/keys.yaml":          "apiVersion: metalgit.dev/v1alpha1\nkind: SSHKey\nmetadata: {name: ops}\nspec:\n  publicKey: \"" + opsKey + "\"\n  comment: x\n",
		"base/sets.yaml":          "apiVersion: metalgit.dev/v1alpha1\nkind: MachineSet\nmetadata:\n  name: w\nspec:\n  nodeType: t\n  quantity: 1\n",
		"kustomization.yaml": `resources: [base]
patches:
  - target: {kind: MachineSet, name: w}
    patch: |-
      - {op: replace, path: /spec/quantity, value: 4}
`,
	})
	inv, problems, err := schemas.Load(root, schemas.LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		filepath.Join(root, "base/keys.yaml") + `:6: SSHKey/ops: spec.comment: unknown field "comment"; remove it (known fields: publicKey)`,
	}
	if diff := cmp.Diff(want, lines(problems)); diff != "" {
		t.Errorf("problems (-want +got):\n%s", diff)
	}
	if len(inv.MachineSets) != 1 || inv.MachineSets[0].Spec.Quantity != 4 {
		t.Fatalf("overlay patch not applied: %+v", inv.MachineSets)
	}
	if len(inv.MachineSets[0].Metadata.Annotations) != 0 {
		t.Errorf("origin annotation leaked into the inventory: %v", inv.MachineSets[0].Metadata.Annotations)
	}
	val := inv.Validate()
	want = []string{filepath.Join(root, "base/sets.yaml") + `:6: MachineSet/w: spec.nodeType: NodeType "t" does not exist; add it or fix the name`}
	var got []string
	for _, p := range val {
		if p.Rule == schemas.RuleReference {
			got = append(got, p.String())
		}
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("validation problems (-want +got):\n%s", diff)
	}
}

func TestKustomizeBuildErrorIsAProblem(t *testing.T) {
	root := t.TempDir()
	writeFiles(t, root, map[string]string{"kustomization.yaml": "resources: [missing.yaml]\n"})
	_, problems, err := schemas.Load(root, schemas.LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(problems) != 1 || problems[0].Rule != schemas.RuleKustomize || !strings.Contains(problems[0].Message, "missing.yaml") {
		t.Fatalf("problems = %v, want one kustomize problem naming missing.yaml", problems)
	}
}

func TestTemplateErrorPointsIntoTheFile(t *testing.T) {
	doc := `apiVersion: metalgit.dev/v1alpha1
kind: NodeType
metadata: {name: t}
spec:
  userDataTemplate: |
    #cloud-config
    hostname: {{ .Machine.Name }
`
	inv, problems := schemas.LoadBytes("nt.yaml", []byte(doc))
	problems = append(problems, inv.Validate()...)
	var got []string
	for _, p := range problems {
		if p.Rule == schemas.RuleTemplate {
			got = append(got, p.String())
		}
	}
	want := []string{`nt.yaml:7: NodeType/t: spec.userDataTemplate: template does not parse: template line 2: unexpected "}" in operand`}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("template problems (-want +got):\n%s", diff)
	}
}

// TestMergeKeys checks that YAML merge keys (<<: *anchor) work, with the
// keys beside the merge key winning.
func TestMergeKeys(t *testing.T) {
	doc := `apiVersion: metalgit.dev/v1alpha1
kind: Host
metadata: {name: a}
spec: &base
  bmc: {address: "redfish://10.0.0.1/x", credentialsName: a-bmc}
  bootMACAddress: "02:00:00:00:00:01"
  bootMode: legacy
---
apiVersion: metalgit.dev/v1alpha1
kind: Host
metadata: {name: b}
spec:
  bootMACAddress: "02:00:00:00:00:02"
  <<: *base
`
	inv, problems := schemas.LoadBytes("m.yaml", []byte(doc))
	if len(problems) > 0 || len(inv.Hosts) != 2 {
		t.Fatalf("problems %v", problems)
	}
	b := inv.Hosts[1].Spec
	if b.BootMACAddress != "02:00:00:00:00:02" || b.BootMode != "legacy" || b.BMC.CredentialsName != "a-bmc" {
		t.Fatalf("merged spec = %+v", b)
	}
}

func TestAliasCyclesAreProblems(t *testing.T) {
	for name, spec := range map[string]string{
		"merge":  "spec: &x\n  <<: *x\n",
		"nested": "spec: &x\n  rootDeviceHints: {model: a}\n  interfaces: [{name: a, bond: {mode: *x}}]\n",
	} {
		t.Run(name, func(t *testing.T) {
			doc := "apiVersion: metalgit.dev/v1alpha1\nkind: Host\nmetadata: {name: a}\n" + spec
			_, problems := schemas.LoadBytes("c.yaml", []byte(doc))
			if len(problems) == 0 {
				t.Fatal("no problem reported for an alias cycle")
			}
			for _, p := range problems {
				if p.Rule != schemas.RuleType {
					t.Errorf("unexpected problem %v", p)
				}
			}
		})
	}
}

// TestProblemsPerDocumentAreBounded feeds a document whose aliases expand
// to millions of values: decoding stops at a bound and the problems of one
// document are cut at MaxProblemsPerDocument with a line saying so.
func TestProblemsPerDocumentAreBounded(t *testing.T) {
	members := strings.Repeat("e,", 1999) + "e"
	ifc := "{name: n, bond: {mode: 802.3ad, interfaces: *y}}"
	doc := "apiVersion: metalgit.dev/v1alpha1\nkind: Host\nmetadata: {name: a}\nspec:\n" +
		"  bootMACAddress: '02:00:00:00:00:01'\n  bmc: {address: 'redfish://a/b', credentialsName: c}\n" +
		"  switchPort: {switchID: &y [" + members + "]}\n" +
		"  interfaces: [" + strings.TrimSuffix(strings.Repeat(ifc+",", 2000), ",") + "]\n"
	inv, problems := schemas.LoadBytes("big.yaml", []byte(doc))
	problems = append(problems, inv.Validate()...)
	var expansion, cut, host int
	for _, p := range problems {
		switch {
		case strings.Contains(p.Message, "expands to more than"):
			expansion++
		case strings.Contains(p.Message, "more than 100 problems in this document"):
			cut++
		}
		if p.Object == "Host/a" {
			host++
		}
	}
	if expansion != 1 || cut != 1 || host > 2*schemas.MaxProblemsPerDocument+2 {
		t.Fatalf("got %d problems for Host/a, %d expansion and %d cut notices; want the bounds to hold", host, expansion, cut)
	}
}

// FuzzLoadBytes feeds arbitrary bytes to the loader and the validator:
// neither may panic, and every problem must carry a rule and a message.
func FuzzLoadBytes(f *testing.F) {
	for _, dir := range []string{"../examples/dc1", "../examples/dc2/base"} {
		entries, _ := os.ReadDir(dir)
		for _, e := range entries {
			if data, err := os.ReadFile(filepath.Join(dir, e.Name())); err == nil {
				f.Add(data)
			}
		}
	}
	f.Add([]byte("apiVersion: metalgit.dev/v1alpha1\nkind: IPPool\nmetadata: {name: p}\nspec: {ranges: '1.2.3.4-1.2.3.1,::1-::2', prefix: 129, gateway: x}\n"))
	f.Add([]byte("a: &x [*x]\n"))
	f.Add([]byte("apiVersion: metalgit.dev/v1alpha1\nkind: Host\nmetadata: {name: a}\nspec: &x\n  <<: *x\n"))
	f.Add([]byte("apiVersion: metalgit.dev/v1alpha1\nkind: Host\nmetadata: {name: a}\nspec: &x\n  bmc: *x\n"))
	f.Add([]byte("--- !!binary\n---\n- 1\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		inv, problems := schemas.LoadBytes("fuzz.yaml", data)
		problems = append(problems, inv.Validate()...)
		for _, p := range problems {
			if p.Rule == "" || p.Message == "" {
				t.Fatalf("problem without rule or message: %+v", p)
			}
		}
	})
}

// TestLoadFromFS: an inventory read from an fs.FS is the one read from the
// same files on disk, its files named by their paths in the FS; hidden
// and kustomization subdirectories and the state directory are skipped
// alike, and a kustomization root is refused.
func TestLoadFromFS(t *testing.T) {
	for _, dir := range []string{"../examples/dc1", "../examples/invalid/duplicate-boot-mac", "../examples/invalid/yaml-syntax"} {
		t.Run(filepath.Base(dir), func(t *testing.T) {
			root := t.TempDir()
			if err := os.CopyFS(root, os.DirFS(dir)); err != nil {
				t.Fatal(err)
			}
			writeFiles(t, root, map[string]string{
				".hidden/x.yaml":            "not: read\n",
				"render/kustomization.yaml": "resources: []\n",
				"render/patch.yaml":         "not: read\n",
			})
			mapFS := fstest.MapFS{}
			err := filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
				if err != nil || d.IsDir() {
					return err
				}
				rel, _ := filepath.Rel(root, p)
				data, err := os.ReadFile(p)
				mapFS[path.Join("inv", filepath.ToSlash(rel))] = &fstest.MapFile{Data: data, Mode: 0o644}
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
			want, wantProblems, err := schemas.Load(root, schemas.LoadOptions{})
			if err != nil {
				t.Fatal(err)
			}
			for _, cache := range []*schemas.ParseCache{nil, {}} {
				got, gotProblems, err := schemas.Load("inv", schemas.LoadOptions{FS: mapFS, Cache: cache})
				if err != nil {
					t.Fatal(err)
				}
				rename := func(ls []string) []string {
					for i, l := range ls {
						ls[i] = strings.ReplaceAll(l, root, "inv")
					}
					return ls
				}
				if diff := cmp.Diff(rename(lines(wantProblems)), lines(gotProblems)); diff != "" {
					t.Fatalf("load problems differ (-disk +fs):\n%s", diff)
				}
				if diff := cmp.Diff(rename(lines(want.Validate())), lines(got.Validate())); diff != "" {
					t.Fatalf("validation problems differ (-disk +fs):\n%s", diff)
				}
				if len(got.Hosts) != len(want.Hosts) || len(got.Sites) != len(want.Sites) || len(got.MachineSets) != len(want.MachineSets) {
					t.Fatalf("read %d hosts, %d sites, %d machine sets from the FS, %d, %d, %d from disk",
						len(got.Hosts), len(got.Sites), len(got.MachineSets), len(want.Hosts), len(want.Sites), len(want.MachineSets))
				}
				for i, h := range got.Hosts {
					if w := want.Hosts[i]; h.Metadata.Name != w.Metadata.Name || h.Source.File != strings.ReplaceAll(w.Source.File, root, "inv") {
						t.Fatalf("host %d: %s from %s, want %s from %s", i, h.Metadata.Name, h.Source.File, w.Metadata.Name, w.Source.File)
					}
				}
			}
		})
	}
	t.Run("kustomization root", func(t *testing.T) {
		mapFS := fstest.MapFS{
			"inv/kustomization.yaml": {Data: []byte("resources: [a.yaml]\n")},
			"inv/a.yaml":             {Data: []byte("apiVersion: metalgit.dev/v1alpha1\nkind: SSHKey\nmetadata: {name: ops}\nspec: {publicKey: 1}\n")},
		}
		inv, problems, err := schemas.Load("inv", schemas.LoadOptions{FS: mapFS})
		if err != nil {
			t.Fatal(err)
		}
		if len(inv.SSHKeys) != 1 || inv.SSHKeys[0].Source.File != "inv/a.yaml" {
			t.Fatalf("built %+v from the FS, want SSHKey/ops from inv/a.yaml", inv.SSHKeys)
		}
		if len(problems) != 1 || problems[0].File != "inv/a.yaml" || problems[0].Line != 4 {
			t.Fatalf("problems %v, want one at inv/a.yaml:4", lines(problems))
		}
	})
}
