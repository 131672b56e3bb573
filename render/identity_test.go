package render_test

import (
	"bytes"
	"testing"

	"github.com/google/go-cmp/cmp"
	"sigs.k8s.io/yaml"

	"github.com/metalgit/metalgit/render"
)

// TestRenderSkipsIdentityKustomize proves that skipping the kustomize pass
// when there is no output kustomization changes nothing: for every golden
// case, the objects built through krusty and written directly are the same
// bytes, and the YAML writer both use gives what kustomize's own does.
func TestRenderSkipsIdentityKustomize(t *testing.T) {
	for _, name := range goldenCases {
		t.Run(name, func(t *testing.T) {
			objs, err := render.Objects(load(t, name))
			if err != nil {
				t.Fatal(err)
			}
			via, err := render.BuildWith(objs, "", true)
			if err != nil {
				t.Fatal(err)
			}
			direct, err := render.BuildWith(objs, "", false)
			if err != nil {
				t.Fatal(err)
			}
			if len(via) == 0 || !bytes.Equal(via, direct) {
				t.Errorf("output through kustomize and without it differ (-kustomize +direct):\n%s", cmp.Diff(string(via), string(direct)))
			}
			// Both write YAML as kustomize's Resource.AsYAML does.
			for _, data := range render.ObjectData(objs) {
				want, err := yaml.JSONToYAML(data)
				if err != nil {
					t.Fatal(err)
				}
				got, err := render.JSONToYAML(data)
				if err != nil || !bytes.Equal(want, got) {
					t.Fatalf("jsonToYAML differs from sigs.k8s.io/yaml.JSONToYAML (err %v):\n%s", err, cmp.Diff(string(want), string(got)))
				}
			}
		})
	}
}
