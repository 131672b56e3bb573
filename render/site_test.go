package render_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"sigs.k8s.io/yaml"

	"github.com/metalgit/metalgit/render"
	"github.com/metalgit/metalgit/schemas"
)

// helmReleaseValues returns spec.values of every HelmRelease in a stream, by name.
func helmReleaseValues(t *testing.T, stream []byte) map[string]map[string]any {
	t.Helper()
	out := map[string]map[string]any{}
	for _, d := range strings.Split(string(stream), "---\n") {
		var obj struct {
			Kind     string `json:"kind"`
			Metadata struct {
				Name string `json:"name"`
			} `json:"metadata"`
			Spec struct {
				Values map[string]any `json:"values"`
			} `json:"spec"`
		}
		if err := yaml.Unmarshal([]byte(d), &obj); err != nil {
			t.Fatal(err)
		}
		if obj.Kind == "HelmRelease" {
			if obj.Spec.Values == nil {
				obj.Spec.Values = map[string]any{}
			}
			out[obj.Metadata.Name] = obj.Spec.Values
		}
	}
	return out
}

// valuesAsYAMLData round-trips values through YAML so that they compare
// with what a stream holds (numbers as float64).
func valuesAsYAMLData(t *testing.T, vals []render.ComponentValues) map[string]map[string]any {
	t.Helper()
	out := map[string]map[string]any{}
	for _, c := range vals {
		data, err := yaml.Marshal(c.Values)
		if err != nil {
			t.Fatal(err)
		}
		m := map[string]any{}
		if err := yaml.Unmarshal(data, &m); err != nil {
			t.Fatal(err)
		}
		out[c.Name] = m
	}
	return out
}

func TestHelmValuesMatchHelmReleases(t *testing.T) {
	tests := map[string][]string{
		"section10":        {render.ComponentMetal3, render.ComponentBootProxy, render.ComponentMultus},
		"site-macvlan":     {render.ComponentMetal3, render.ComponentBootProxy, render.ComponentMultus},
		"site-hostnetwork": {render.ComponentBootProxy},
		"unbound":          nil,
	}
	for name, wantNames := range tests {
		t.Run(name, func(t *testing.T) {
			in := load(t, name)
			stream, err := render.Render(in, render.Options{})
			if err != nil {
				t.Fatal(err)
			}
			vals, err := render.HelmValues(in.Inventory)
			if err != nil {
				t.Fatal(err)
			}
			var names []string
			for _, c := range vals {
				names = append(names, c.Name)
			}
			if diff := cmp.Diff(wantNames, names); diff != "" {
				t.Errorf("components (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(helmReleaseValues(t, stream), valuesAsYAMLData(t, vals)); diff != "" {
				t.Errorf("HelmValues differ from the HelmReleases' values (-releases +values):\n%s", diff)
			}
		})
	}
}

// siteOnly renders the Site of testdata/<name> after edit, and returns the
// stream.
func siteOnly(t *testing.T, name string, edit func(*schemas.SiteSpec, *schemas.ObjectMeta)) ([]byte, error) {
	t.Helper()
	in := load(t, name)
	site := *in.Inventory.Sites[0]
	edit(&site.Spec, &site.Metadata)
	inv := *in.Inventory
	inv.Sites = []*schemas.Site{&site}
	in.Inventory = &inv
	return render.Render(in, render.Options{})
}

func TestSiteWithoutAttachment(t *testing.T) {
	out, err := siteOnly(t, "section10", func(s *schemas.SiteSpec, _ *schemas.ObjectMeta) {
		bp := *s.BootProxy
		bp.Attachment = nil
		s.BootProxy = &bp
	})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(out), "NetworkAttachmentDefinition") || strings.Contains(string(out), "attachment:") {
		t.Errorf("a boot proxy without attachment got a network attachment:\n%s", out)
	}
	values := helmReleaseValues(t, out)[render.ComponentBootProxy]
	if values["vip"] != "192.168.100.2/24" {
		t.Errorf("boot proxy values = %v, want the VIP", values)
	}
}

func TestSiteWithoutBootProxy(t *testing.T) {
	out, err := siteOnly(t, "section10", func(s *schemas.SiteSpec, _ *schemas.ObjectMeta) { s.BootProxy = nil })
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(out), "NetworkAttachmentDefinition") {
		t.Errorf("no boot proxy, yet a NetworkAttachmentDefinition:\n%s", out)
	}
	// The boot proxy's chart still gets the default ports; metal3 only its user values.
	all := helmReleaseValues(t, out)
	want := map[string]any{"ports": map[string]any{"dhcp": 67.0, "tftp": 69.0, "http": 8080.0, "callback": 8081.0}}
	if diff := cmp.Diff(want, all[render.ComponentBootProxy]); diff != "" {
		t.Errorf("boot proxy values (-want +got):\n%s", diff)
	}
	want = map[string]any{"ironic": map[string]any{"image": map[string]any{"tag": "release-32.0"}}}
	if diff := cmp.Diff(want, all[render.ComponentMetal3]); diff != "" {
		t.Errorf("metal3 values (-want +got):\n%s", diff)
	}
}

func TestSiteUserNullRemovesDefault(t *testing.T) {
	out, err := siteOnly(t, "section10", func(s *schemas.SiteSpec, _ *schemas.ObjectMeta) {
		d := *s.Deploy
		d.BootProxy = &schemas.Component{Enabled: true, HelmValues: map[string]any{"kernelParams": nil}}
		s.Deploy = &d
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := helmReleaseValues(t, out)[render.ComponentBootProxy]["kernelParams"]; ok {
		t.Error("kernelParams: null in helmValues did not remove the generated kernelParams")
	}
}

func TestSiteMetalLBNamespaceAnnotation(t *testing.T) {
	out, err := siteOnly(t, "section10", func(_ *schemas.SiteSpec, m *schemas.ObjectMeta) {
		m.Annotations = map[string]string{render.AnnotationMetalLBNamespace: "Not_A_Namespace"}
	})
	if err == nil || out != nil || !strings.Contains(err.Error(), render.AnnotationMetalLBNamespace) {
		t.Errorf("invalid MetalLB namespace: err = %v, out = %d bytes", err, len(out))
	}
}

func TestSiteInvalidVIP(t *testing.T) {
	out, err := siteOnly(t, "section10", func(s *schemas.SiteSpec, _ *schemas.ObjectMeta) {
		bp := *s.BootProxy
		bp.VIP = "192.168.100.2"
		s.BootProxy = &bp
	})
	if err == nil || out != nil || !strings.Contains(err.Error(), "spec.bootProxy.vip") {
		t.Errorf("VIP without prefix: err = %v, out = %d bytes", err, len(out))
	}
}

func TestSiteDeterministic(t *testing.T) {
	in := load(t, "site-macvlan")
	first, err := render.Render(in, render.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for range 5 {
		again, err := render.Render(in, render.Options{})
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(string(first), string(again)); diff != "" {
			t.Fatalf("two renders differ:\n%s", diff)
		}
	}
}

func TestWriteValuesDir(t *testing.T) {
	in := load(t, "section10")
	vals, err := render.HelmValues(in.Inventory)
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "values")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "stale-values.yaml"), []byte("{}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	files, err := render.WriteValuesDir(dir, vals)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, f := range files {
		names = append(names, filepath.Base(f))
	}
	want := []string{"metal3-values.yaml", "metalgit-boot-proxy-values.yaml", "multus-values.yaml"}
	if diff := cmp.Diff(want, names); diff != "" {
		t.Errorf("files (-want +got):\n%s", diff)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != len(want) {
		t.Errorf("dir holds %d files, want %d (the stale file removed)", len(entries), len(want))
	}
	data, err := os.ReadFile(filepath.Join(dir, "multus-values.yaml"))
	if err != nil || string(data) != "namespace: kube-system\n" {
		t.Errorf("multus-values.yaml = %q, %v", data, err)
	}

	other := t.TempDir()
	if err := os.WriteFile(filepath.Join(other, "notes.txt"), []byte("mine"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := render.WriteValuesDir(other, vals); err == nil || !strings.Contains(err.Error(), "notes.txt") {
		t.Errorf("err = %v, want a refusal naming notes.txt", err)
	}
}
