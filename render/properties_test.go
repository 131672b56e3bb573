package render

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestMergeProperties(t *testing.T) {
	site := map[string]any{"region": "us-east", "ntp": map[string]any{"servers": []any{"a"}, "enabled": true}, "drop": "me"}
	nt := map[string]any{"tier": "gold", "ntp": map[string]any{"servers": []any{"b", "c"}}, "labels": map[string]any{"x": "1"}}
	set := map[string]any{"tier": "silver", "drop": nil}
	m := map[string]any{"ntp": map[string]any{"extra": map[string]any{"k": "v"}}, "labels": "flat"}
	got := MergeProperties(site, nt, set, nil, m)
	want := map[string]any{
		"region": "us-east",
		"tier":   "silver",
		"ntp":    map[string]any{"servers": []any{"b", "c"}, "enabled": true, "extra": map[string]any{"k": "v"}},
		"labels": "flat",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("MergeProperties() mismatch (-want +got):\n%s", diff)
	}
	// The layers are not modified, and the result shares nothing with them.
	servers := func(m map[string]any) []any {
		t.Helper()
		ntp, ok := m["ntp"].(map[string]any)
		if !ok {
			t.Fatalf("ntp is %T", m["ntp"])
		}
		list, ok := ntp["servers"].([]any)
		if !ok {
			t.Fatalf("ntp.servers is %T", ntp["servers"])
		}
		return list
	}
	servers(got)[0] = "changed"
	if diff := cmp.Diff(map[string]any{"servers": []any{"a"}, "enabled": true}, site["ntp"]); diff != "" {
		t.Errorf("site layer changed (-want +got):\n%s", diff)
	}
	if servers(nt)[0] != "b" {
		t.Errorf("NodeType layer shares a list with the result")
	}
	if got := MergeProperties(); got == nil || len(got) != 0 {
		t.Errorf("MergeProperties() = %v, want an empty map", got)
	}
}
