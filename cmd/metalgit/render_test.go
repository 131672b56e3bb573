package main

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// readTree returns every file below dir, by relative path.
func readTree(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		data, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		out[e.Name()] = data
	}
	return out
}

func TestRenderCommand(t *testing.T) {
	inv := copyDir(t, "../../render/testdata/section10/inventory")

	// Before allocate: the Site's objects alone, and a line per host and
	// machine left out, with the fix.
	code, stdout, stderr := runCLI(t, "render", inv)
	if code != exitOK || strings.Contains(stdout, "kind: BareMetalHost") || !strings.Contains(stdout, "kind: NetworkAttachmentDefinition") {
		t.Fatalf("render before allocate: exit %d, stdout %q", code, stdout)
	}
	hint := "; run 'metalgit allocate' (state directory " + filepath.Join(inv, "state") + ")\n"
	wantErr := "Host/server-01: not rendered: no address in pool provisioning in the state" + hint +
		"Host/server-02: not rendered: no address in pool provisioning in the state" + hint +
		"Machine/db-0: not rendered: the state binds it to no host" + hint +
		"Machine/gpu-workers-0: not rendered: the state binds it to no host" + hint
	if diff := cmp.Diff(wantErr, stderr); diff != "" {
		t.Errorf("stderr (-want +got):\n%s", diff)
	}

	if code, _, stderr := runCLI(t, "allocate", inv); code != exitOK {
		t.Fatalf("allocate: exit %d\n%s", code, stderr)
	}
	code, stream, stderr := runCLI(t, "render", inv)
	if code != exitOK {
		t.Fatalf("render: exit %d\n%s", code, stderr)
	}

	out := filepath.Join(t.TempDir(), "deploy")
	if code, _, stderr := runCLI(t, "render", inv, "-o", out); code != exitOK {
		t.Fatalf("render -o: exit %d\n%s", code, stderr)
	}
	first := readTree(t, out)
	names := make([]string, 0, len(first))
	for n := range first {
		names = append(names, n)
	}
	slices.Sort(names)
	want := []string{
		"baremetalhost-server-01.yaml", "baremetalhost-server-02.yaml",
		"helmrelease-metal3.yaml", "helmrelease-metalgit-boot-proxy.yaml", "helmrelease-multus.yaml",
		"ipaddresspool-default.yaml", "ipaddresspool-services-pxe.yaml", "kustomization.yaml",
		"l2advertisement-default.yaml", "l2advertisement-services-pxe.yaml",
		"networkattachmentdefinition-dc1-provisioning.yaml",
		"secret-db-0-network-data.yaml", "secret-db-0-user-data.yaml",
		"secret-gpu-workers-0-network-data.yaml", "secret-gpu-workers-0-user-data.yaml",
		"secret-server-01-preprov-network-data.yaml", "secret-server-02-preprov-network-data.yaml",
	}
	if !slices.Equal(names, want) {
		t.Fatalf("files = %q, want %q", names, want)
	}
	kust := string(first["kustomization.yaml"])
	for _, n := range want {
		if n != "kustomization.yaml" && !strings.Contains(kust, "- "+n+"\n") {
			t.Errorf("kustomization.yaml does not list %s:\n%s", n, kust)
		}
	}
	// The files hold the same objects as stdout, in the same order.
	var docs [][]byte
	for _, n := range want {
		if n != "kustomization.yaml" {
			docs = append(docs, first[n])
		}
	}
	if got := string(bytes.Join(docs, []byte("---\n"))); got != stream {
		t.Errorf("the files differ from the stdout stream")
	}

	// A second run gives identical bytes and no leftovers.
	if code, _, stderr := runCLI(t, "render", inv, "-o", out); code != exitOK {
		t.Fatalf("second render -o: exit %d\n%s", code, stderr)
	}
	second := readTree(t, out)
	if len(second) != len(first) {
		t.Errorf("second run wrote %d files, first %d", len(second), len(first))
	}
	for n, data := range first {
		if !bytes.Equal(second[n], data) {
			t.Errorf("%s differs between runs", n)
		}
	}
	parent, err := os.ReadDir(filepath.Dir(out))
	if err != nil {
		t.Fatal(err)
	}
	if len(parent) != 1 {
		t.Errorf("temporary directories left behind next to %s: %v", out, parent)
	}
}

func TestRenderCommandHelmValuesDir(t *testing.T) {
	inv := copyDir(t, "../../render/testdata/section10/inventory")
	if code, _, stderr := runCLI(t, "allocate", inv); code != exitOK {
		t.Fatalf("allocate: exit %d\n%s", code, stderr)
	}
	_, plain, _ := runCLI(t, "render", inv)

	// The values files come instead of the HelmReleases; the rest of the
	// stream is unchanged.
	values := filepath.Join(t.TempDir(), "values")
	code, stream, stderr := runCLI(t, "render", inv, "--helm-values-dir", values)
	if code != exitOK {
		t.Fatalf("render --helm-values-dir: exit %d\n%s", code, stderr)
	}
	if strings.Contains(stream, "kind: HelmRelease") {
		t.Error("--helm-values-dir left HelmReleases in the stream")
	}
	var kept []string
	for _, d := range strings.Split(plain, "---\n") {
		if !strings.Contains(d, "kind: HelmRelease\n") {
			kept = append(kept, d)
		}
	}
	if want := strings.Join(kept, "---\n"); stream != want {
		t.Errorf("--helm-values-dir changed more than the HelmReleases:\n%s", cmp.Diff(want, stream))
	}
	if !strings.Contains(stderr, "wrote 3 values files to "+values) {
		t.Errorf("stderr = %q", stderr)
	}
	first := readTree(t, values)
	want := map[string]string{
		"metal3-values.yaml": "ironic:\n  apiURL: http://ironic.metal3-system.svc:6385\n  httpURL: http://ironic.metal3-system.svc:6180\n" +
			"  image:\n    tag: release-32.0\nprovisioning:\n  interface: br0\n  ip: 192.168.100.2\n  vip: 192.168.100.2/24\n",
		"metalgit-boot-proxy-values.yaml": "attachment:\n  bridge: br0\n  networkAttachmentDefinition: metal3-system/dc1-provisioning\n  type: bridge\n" +
			"ironic:\n  apiURL: http://ironic.metal3-system.svc:6385\n  httpURL: http://ironic.metal3-system.svc:6180\n" +
			"kernelParams:\n  inspector:\n  - console=ttyS0,115200n8\n  installer:\n  - console=ttyS0,115200n8\n" +
			"ports:\n  callback: 8081\n  dhcp: 67\n  http: 8080\n  tftp: 69\nvip: 192.168.100.2/24\n",
		"multus-values.yaml": "namespace: kube-system\n",
	}
	if len(first) != len(want) {
		t.Errorf("values dir holds %d files, want %d", len(first), len(want))
	}
	for name, w := range want {
		if got := string(first[name]); got != w {
			t.Errorf("%s =\n%s\nwant\n%s", name, got, w)
		}
		// The same values as the HelmRelease, indented under spec.values.
		indented := "  values:\n" + strings.TrimRight(indentLines(w, "    "), " ")
		if !strings.Contains(plain, indented) {
			t.Errorf("the HelmRelease for %s does not carry the same values", name)
		}
	}

	// With -o as well; a second run gives the same bytes and no leftovers.
	out := filepath.Join(t.TempDir(), "deploy")
	if code, _, stderr := runCLI(t, "render", inv, "-o", out, "--helm-values-dir", values); code != exitOK {
		t.Fatalf("render -o --helm-values-dir: exit %d\n%s", code, stderr)
	}
	second := readTree(t, values)
	for name, data := range first {
		if !bytes.Equal(second[name], data) {
			t.Errorf("%s differs between runs", name)
		}
	}
	if _, err := os.Stat(filepath.Join(out, "kustomization.yaml")); err != nil {
		t.Errorf("-o not written: %v", err)
	}
	parent, err := os.ReadDir(filepath.Dir(values))
	if err != nil {
		t.Fatal(err)
	}
	if len(parent) != 1 {
		t.Errorf("temporary directories left behind next to %s: %v", values, parent)
	}

	// The same directory for both is a usage error; a directory holding
	// other files is never replaced.
	if code, _, stderr := runCLI(t, "render", inv, "-o", out, "--helm-values-dir", out+"/"); code != exitUsage {
		t.Errorf("same dir: exit %d, want %d\n%s", code, exitUsage, stderr)
	}
	other := t.TempDir()
	if err := os.WriteFile(filepath.Join(other, "notes.txt"), []byte("mine"), 0o644); err != nil {
		t.Fatal(err)
	}
	if code, _, stderr := runCLI(t, "render", inv, "--helm-values-dir", other); code != exitFailed || !strings.Contains(stderr, "notes.txt") {
		t.Errorf("dir with other files: exit %d\n%s", code, stderr)
	}
}

// indentLines indents every line of s.
func indentLines(s, indent string) string {
	lines := strings.SplitAfter(s, "\n")
	for i, l := range lines {
		if l != "" {
			lines[i] = indent + l
		}
	}
	return strings.Join(lines, "")
}

func TestRenderCommandErrors(t *testing.T) {
	// A state allocated while the template worked; then the template
	// breaks: render renders nothing and says where, as validate, plan
	// and allocate do.
	inv := copyDir(t, "../../render/testdata/template-error/inventory")
	file := filepath.Join(inv, "inventory.yaml")
	replaceInFile(t, file, "{{ len 3 }}", "{{ .Machine.Name }}")
	if code, _, stderr := runCLI(t, "allocate", inv); code != exitOK {
		t.Fatalf("allocate: exit %d\n%s", code, stderr)
	}
	replaceInFile(t, file, "{{ .Machine.Name }}", "{{ len 3 }}")
	want := file + ":25: NodeType/compute: spec.userDataTemplate: template line 2: <len 3>: error calling len: len of type int (user-data of Machine/app-0 on Host/compute-01)\nError: 1 problem\n"
	out := filepath.Join(t.TempDir(), "deploy")
	for _, args := range [][]string{{"render", inv, "-o", out}, {"render", inv}, {"validate", inv}, {"plan", inv}, {"allocate", inv}} {
		code, stdout, stderr := runCLI(t, args...)
		if code != exitFailed || stdout != "" {
			t.Errorf("%s: exit %d, stdout %q", args, code, stdout)
		}
		if diff := cmp.Diff(want, stderr); diff != "" {
			t.Errorf("%s: stderr (-want +got):\n%s", args, diff)
		}
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Errorf("render wrote %s despite the error", out)
	}

	code, _, stderr := runCLI(t, "render", "a", "b")
	if code != exitUsage {
		t.Errorf("two paths: exit %d, want %d\n%s", code, exitUsage, stderr)
	}
}
