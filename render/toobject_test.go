package render_test

import (
	"encoding/json"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/metalgit/metalgit/render"
)

// TestToObjectDropsStatus checks the generated JSON against a full decode
// with status and metadata.creationTimestamp deleted, on values whose
// strings hold quotes, backslashes, braces and the dropped keys.
func TestToObjectDropsStatus(t *testing.T) {
	tricky := `a "quoted" \ back\\slash {"status":1} [x] , : \"`
	tests := map[string]any{
		"plain": map[string]any{"kind": "K", "metadata": map[string]any{"name": "n", "creationTimestamp": nil}, "status": map[string]any{"x": 1}},
		"nested keys kept": map[string]any{
			"spec":     map[string]any{"status": "kept", "creationTimestamp": nil, "list": []any{map[string]any{"status": 1}, "]", "}"}},
			"metadata": map[string]any{"annotations": map[string]any{"creationTimestamp": tricky}, "creationTimestamp": "2020-01-01T00:00:00Z"},
			"z":        tricky,
		},
		"no metadata":   map[string]any{"status": nil, "a": []any{1, 2.5, true, false, nil, "<&>"}},
		"null metadata": map[string]any{"metadata": nil, "status": []any{}},
		"empty":         map[string]any{},
		"status only":   map[string]any{"status": map[string]any{}},
	}
	for name, v := range tests {
		t.Run(name, func(t *testing.T) {
			got, err := render.ToObjectData(v)
			if err != nil {
				t.Fatal(err)
			}
			if !json.Valid(got) {
				t.Fatalf("invalid JSON: %s", got)
			}
			data, err := json.Marshal(v)
			if err != nil {
				t.Fatal(err)
			}
			var m map[string]any
			if err := json.Unmarshal(data, &m); err != nil {
				t.Fatal(err)
			}
			delete(m, "status")
			if meta, ok := m["metadata"].(map[string]any); ok {
				delete(meta, "creationTimestamp")
			}
			want, err := json.Marshal(m)
			if err != nil {
				t.Fatal(err)
			}
			gotYAML, err := render.JSONToYAML(got)
			if err != nil {
				t.Fatal(err)
			}
			wantYAML, err := render.JSONToYAML(want)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(string(wantYAML), string(gotYAML)); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}
