package charts_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"helm.sh/helm/v4/pkg/action"
	chart "helm.sh/helm/v4/pkg/chart/v2"
	"helm.sh/helm/v4/pkg/chart/v2/lint"
	"helm.sh/helm/v4/pkg/chart/v2/lint/support"
	"helm.sh/helm/v4/pkg/chart/v2/loader"
	release "helm.sh/helm/v4/pkg/release/v1"

	"github.com/metalgit/metalgit/alloc/state"
	"github.com/metalgit/metalgit/render"
	"github.com/metalgit/metalgit/schemas"
)

// loadChart loads the chart in directory name, failing the test on error.
func loadChart(t *testing.T, name string) *chart.Chart {
	t.Helper()
	c, err := loader.LoadDir(name)
	if err != nil {
		t.Fatalf("loading chart %s: %v", name, err)
	}
	return c
}

// template renders a chart as `helm template` does (client-side, the
// values schema checked) and returns its manifest.
func template(t *testing.T, c *chart.Chart, namespace string, values map[string]any) (string, error) {
	t.Helper()
	install := action.NewInstall(&action.Configuration{})
	install.DryRunStrategy = action.DryRunClient
	install.ReleaseName = "dc1"
	install.Namespace = namespace
	install.Replace = true
	rel, err := install.Run(c, values)
	if err != nil {
		return "", err
	}
	r, ok := rel.(*release.Release)
	if !ok {
		return "", errors.New("helm returned no v1 release")
	}
	return r.Manifest, nil
}

// dc1 loads examples/dc1 with its state.
func dc1(t *testing.T) (*schemas.Inventory, *state.State) {
	t.Helper()
	root := filepath.Join("..", "examples", "dc1")
	inv, problems, err := schemas.Load(root, schemas.LoadOptions{})
	if err != nil || len(problems) > 0 {
		t.Fatalf("loading %s: %v %v", root, err, problems)
	}
	if problems := inv.Validate(); len(problems) > 0 {
		t.Fatalf("%s does not validate: %v", root, problems)
	}
	st, problems, err := state.Read(filepath.Join(root, schemas.DefaultStateDir))
	if err != nil || len(problems) > 0 {
		t.Fatalf("reading the state of %s: %v %v", root, err, problems)
	}
	return inv, st
}

// bootProxyValues are the values render generates for the boot proxy
// chart from examples/dc1.
func bootProxyValues(t *testing.T) map[string]any {
	t.Helper()
	inv, _ := dc1(t)
	comps, err := render.HelmValues(inv)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range comps {
		if c.Name == render.ComponentBootProxy {
			return c.Values
		}
	}
	t.Fatalf("examples/dc1 renders no %s values", render.ComponentBootProxy)
	return nil
}

// controllerValues are what an operator sets for the controller chart.
func controllerValues() map[string]any {
	return map[string]any{
		"git":     map[string]any{"repo": "https://git.example/fleet.git", "credentialsSecret": "fleet-git", "tokenKey": "token", "usernameKey": "", "passwordKey": ""},
		"webhook": map[string]any{"secretName": "fleet-webhook"},
	}
}

// TestChartNamesMatchRender: the chart the rendered HelmRelease names is
// the one here, and the component metalgit renders values for is that
// chart's name.
func TestChartNamesMatchRender(t *testing.T) {
	if got := loadChart(t, render.ComponentBootProxy).Name(); got != render.ComponentBootProxy {
		t.Errorf("chart %s is named %q", render.ComponentBootProxy, got)
	}
	if got := loadChart(t, "metalgit").Name(); got != "metalgit" {
		t.Errorf("chart metalgit is named %q", got)
	}
	inv, st := dc1(t)
	out, err := render.Render(render.Input{Inventory: inv, State: st}, render.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(out), "chart: "+render.ComponentBootProxy+"\n") {
		t.Errorf("the rendered HelmReleases do not name chart %s:\n%s", render.ComponentBootProxy, out)
	}
}

// TestChartsLint runs Helm's linter (what `helm lint` runs) on each chart
// with the values it is installed with.
func TestChartsLint(t *testing.T) {
	for name, values := range map[string]map[string]any{
		"metalgit":                controllerValues(),
		render.ComponentBootProxy: bootProxyValues(t),
	} {
		t.Run(name, func(t *testing.T) {
			res := lint.RunAll(name, values, "metal3-system")
			for _, m := range res.Messages {
				if m.Severity >= support.WarningSev {
					t.Errorf("helm lint %s: %s", name, m)
				}
			}
		})
	}
}

// TestChartsLintFindsBrokenTemplate: the linter of TestChartsLint reports
// a template that does not render (so that test can fail).
func TestChartsLintFindsBrokenTemplate(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "metalgit")
	if err := os.CopyFS(dir, os.DirFS("metalgit")); err != nil {
		t.Fatal(err)
	}
	bad := []byte("{{ .Values.service.port | nosuchfunction }}\n")
	if err := os.WriteFile(filepath.Join(dir, "templates", "broken.yaml"), bad, 0o644); err != nil {
		t.Fatal(err)
	}
	res := lint.RunAll(dir, controllerValues(), "metal3-system")
	if res.HighestSeverity < support.ErrorSev {
		t.Errorf("a broken template linted clean: %v", res.Messages)
	}
}

// TestBootProxyValuesSchema: the values render generates pass the chart's
// schema unchanged; a wrong or unknown value is refused before anything
// is rendered, naming the field.
func TestBootProxyValuesSchema(t *testing.T) {
	c := loadChart(t, render.ComponentBootProxy)
	if _, err := template(t, c, "metal3-system", bootProxyValues(t)); err != nil {
		t.Fatalf("the generated values are refused: %v", err)
	}
	for name, tc := range map[string]struct {
		edit func(t *testing.T, v map[string]any)
		want string
	}{
		"port as text":       {func(t *testing.T, v map[string]any) { sub(t, v, "ports")["dhcp"] = "67" }, "dhcp"},
		"port out of range":  {func(t *testing.T, v map[string]any) { sub(t, v, "ports")["tftp"] = 70000 }, "tftp"},
		"vip without prefix": {func(t *testing.T, v map[string]any) { v["vip"] = "192.168.100.2" }, "vip"},
		"unknown attachment": {func(t *testing.T, v map[string]any) { sub(t, v, "attachment")["type"] = "ipvlan" }, "type"},
		"misspelt key":       {func(t *testing.T, v map[string]any) { v["kernelParam"] = map[string]any{} }, "kernelParam"},
		"kernel param with a shell word": {func(t *testing.T, v map[string]any) {
			sub(t, v, "kernelParams")["inspector"] = []any{"console=ttyS0 ; reboot"}
		}, "inspector"},
	} {
		t.Run(name, func(t *testing.T) {
			v := bootProxyValues(t)
			tc.edit(t, v)
			_, err := template(t, c, "metal3-system", v)
			if err == nil || !strings.Contains(err.Error(), "schema") || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("values accepted or refused without naming %q: %v", tc.want, err)
			}
		})
	}
}

// sub is the map under key of v.
func sub(t *testing.T, v map[string]any, key string) map[string]any {
	t.Helper()
	m, ok := v[key].(map[string]any)
	if !ok {
		t.Fatalf("values have no map %q: %v", key, v)
	}
	return m
}

// TestChartsRefuseMissingRequired: without the values each chart cannot
// run without, rendering stops with a message saying what to set.
func TestChartsRefuseMissingRequired(t *testing.T) {
	_, err := template(t, loadChart(t, "metalgit"), "metalgit-system", map[string]any{})
	if err == nil || !strings.Contains(err.Error(), "git.repo is required") {
		t.Errorf("metalgit without git.repo: %v", err)
	}
	v := controllerValues()
	v["webhook"] = map[string]any{"secretName": ""}
	if _, err := template(t, loadChart(t, "metalgit"), "metalgit-system", v); err == nil || !strings.Contains(err.Error(), "webhook.secretName is required") {
		t.Errorf("metalgit without a webhook Secret: %v", err)
	}
	bp := bootProxyValues(t)
	delete(sub(t, bp, "attachment"), "networkAttachmentDefinition")
	if _, err := template(t, loadChart(t, render.ComponentBootProxy), "metal3-system", bp); err == nil ||
		!strings.Contains(err.Error(), "attachment.networkAttachmentDefinition is required") {
		t.Errorf("boot proxy without its attachment: %v", err)
	}
}
