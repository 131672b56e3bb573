package apply

import (
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// TestSpecChangedDeprovisioned: of the operator's status writes, only a
// BareMetalHost leaving the states that hold an image makes a pass.
func TestSpecChangedDeprovisioned(t *testing.T) {
	bmh := func(state string) *unstructured.Unstructured {
		u := &unstructured.Unstructured{Object: map[string]any{"status": map[string]any{"provisioning": map[string]any{"state": state}}}}
		u.SetGeneration(3)
		return u
	}
	for _, tc := range []struct {
		from, to string
		want     bool
	}{
		{"provisioning", "provisioned", false},
		{"available", "provisioning", false},
		{"inspecting", "available", false},
		{"provisioned", "deprovisioning", false},
		{"deprovisioning", "available", true},
		{"provisioned", "available", true},
	} {
		if got := specChanged(bmh(tc.from), bmh(tc.to)); got != tc.want {
			t.Errorf("%s → %s: specChanged = %v, want %v", tc.from, tc.to, got, tc.want)
		}
	}
}
