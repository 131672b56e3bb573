package charts_test

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"sigs.k8s.io/yaml"

	"github.com/metalgit/metalgit/internal/kubetest"
)

// installDoc is the install guide whose YAML the tests check.
const installDoc = "../docs/install.md"

// yamlBlock matches a fenced yaml block of a Markdown page.
var yamlBlock = regexp.MustCompile("(?ms)^[ \t]*```yaml\n(.*?)^[ \t]*```")

// valuesFor names the chart a values block is for: its first line says
// "# values for charts/<chart>".
var valuesFor = regexp.MustCompile(`^# values for charts/([a-z0-9-]+)`)

// installCRDs are the CRDs of the kinds the install guide shows.
var installCRDs = []string{
	"source.toolkit.fluxcd.io_helmrepositories.yaml",
	"source.toolkit.fluxcd.io_gitrepositories.yaml",
	"helm.toolkit.fluxcd.io_helmreleases.yaml",
	"kustomize.toolkit.fluxcd.io_kustomizations.yaml",
	"application-crd.yaml",
}

// TestInstallDocYAML checks every YAML block of docs/install.md: a values
// file renders through its chart (the boot proxy's is exactly what render
// writes for examples/dc1), and every object is accepted by a real API
// server with the Flux and Argo CD CRDs as a server-side dry-run.
func TestInstallDocYAML(t *testing.T) {
	b, err := os.ReadFile(installDoc)
	if err != nil {
		t.Fatal(err)
	}
	blocks := yamlBlock.FindAllStringSubmatch(string(b), -1)
	if len(blocks) < 7 {
		t.Fatalf("%s has %d yaml blocks; the test expects the guide's 7 or more", installDoc, len(blocks))
	}
	var manifests []string
	charts := map[string]bool{}
	for _, m := range blocks {
		block := dedent(m[1])
		if v := valuesFor.FindStringSubmatch(block); v != nil {
			charts[v[1]] = true
			checkValuesBlock(t, v[1], block)
			continue
		}
		manifests = append(manifests, block)
	}
	if !charts["metalgit"] || !charts["metalgit-boot-proxy"] {
		t.Errorf("values blocks for %v; want both charts", charts)
	}

	var files []string
	for _, name := range installCRDs {
		files = append(files, kubetest.CRDFile(t, name))
	}
	c := startCluster(t)
	c.env.InstallCRDs(t, files...)
	for _, ns := range []string{"flux-system", "metalgit-system", "argocd"} {
		c.namespace(t, ns, nil)
	}
	kinds := map[string]int{}
	for _, doc := range manifests {
		for _, u := range objects(t, doc) {
			kinds[u.GetKind()]++
			if err := c.send(t.Context(), u, true); err != nil {
				t.Errorf("%s: %s %s/%s refused: %v", installDoc, u.GetKind(), u.GetNamespace(), u.GetName(), err)
			}
		}
	}
	want := map[string]int{"HelmRepository": 2, "HelmRelease": 1, "GitRepository": 1, "Kustomization": 1, "Application": 2}
	if diff := cmp.Diff(want, kinds); diff != "" {
		t.Errorf("objects in %s by kind (-want +got):\n%s", installDoc, diff)
	}
}

// checkValuesBlock renders chart with the values of block.
func checkValuesBlock(t *testing.T, chartName, block string) {
	t.Helper()
	var values map[string]any
	if err := yaml.Unmarshal([]byte(block), &values); err != nil {
		t.Fatalf("%s: values for %s: %v", installDoc, chartName, err)
	}
	if chartName == "metalgit-boot-proxy" {
		rendered, err := yaml.Marshal(bootProxyValues(t))
		if err != nil {
			t.Fatal(err)
		}
		var want map[string]any // the same number types as values
		if err := yaml.Unmarshal(rendered, &want); err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(want, values); diff != "" {
			t.Errorf("%s: the boot proxy values are not what render writes for examples/dc1 (-render +doc):\n%s", installDoc, diff)
		}
	}
	if _, err := template(t, loadChart(t, chartName), "metal3-system", values); err != nil {
		t.Errorf("%s: values for %s refused: %v", installDoc, chartName, err)
	}
}

// dedent removes the indentation a fenced block inside a list item has.
func dedent(block string) string {
	lines := strings.Split(block, "\n")
	indent := len(lines[0]) - len(strings.TrimLeft(lines[0], " "))
	for i, l := range lines {
		if len(l) >= indent && strings.TrimSpace(l[:indent]) == "" {
			lines[i] = l[indent:]
		}
	}
	return strings.Join(lines, "\n")
}

// TestInstallDocNamesTheCharts: the charts the guide installs exist.
func TestInstallDocNamesTheCharts(t *testing.T) {
	b, err := os.ReadFile(installDoc)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range regexp.MustCompile(`charts/(metalgit[a-z0-9-]*)`).FindAllStringSubmatch(string(b), -1) {
		if _, err := os.Stat(filepath.Join(m[1], "Chart.yaml")); err != nil {
			t.Errorf("%s names charts/%s: %v", installDoc, m[1], err)
		}
	}
}
