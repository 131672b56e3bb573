package schemas_test

import (
	"testing"

	"github.com/metalgit/metalgit/schemas"
)

func TestObjectRef(t *testing.T) {
	tests := map[string]struct {
		kind, name string
		want       string
	}{
		"host":        {schemas.KindHost, "server-01", "Host/server-01"},
		"machine":     {schemas.KindMachine, "db-0", "Machine/db-0"},
		"dotted name": {schemas.KindIPPool, "prov.v4", "IPPool/prov.v4"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			ref := schemas.ObjectRef(tc.kind, tc.name)
			if ref != tc.want {
				t.Fatalf("ObjectRef(%q, %q) = %q, want %q", tc.kind, tc.name, ref, tc.want)
			}
			kind, n, ok := schemas.SplitObjectRef(ref)
			if !ok || kind != tc.kind || n != tc.name {
				t.Errorf("SplitObjectRef(%q) = %q, %q, %v", ref, kind, n, ok)
			}
		})
	}
	if _, _, ok := schemas.SplitObjectRef("server-01"); ok {
		t.Error("SplitObjectRef took a name without a kind")
	}
}
