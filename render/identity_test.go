package render_test

import (
	"bytes"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/metalgit/metalgit/render"
)

// TestRenderSkipsIdentityKustomize proves that skipping the kustomize pass
// when there is no output kustomization changes nothing: for every golden
// case, the objects built through krusty and written directly are the same
// bytes.
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
		})
	}
}
