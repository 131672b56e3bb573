package apply

import (
	"bytes"
	"encoding/json"
	"sort"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// Drift is a rendered field whose live value another manager changed.
// It never carries a value: a Secret's data stays out of logs and status.
type Drift struct {
	Object Key `json:"object"`
	// Field is the field's path, as spec.online or
	// metadata.labels.role.
	Field string `json:"field"`
	// Manager is the field manager that owns the live value (as
	// kubectl-edit, or another applier's), "" when none owns it.
	Manager string `json:"manager"`
}

// differences lists the rendered fields of want whose value in live
// differs: maps are walked to their leaves, a list or a scalar is one
// field. The object's identity (apiVersion, kind, name, namespace) is
// left out.
func differences(want, live map[string]any) [][]string {
	var out [][]string
	var walk func(path []string, w, l any)
	walk = func(path []string, w, l any) {
		if wm, ok := w.(map[string]any); ok && len(wm) > 0 {
			lm, _ := l.(map[string]any)
			keys := make([]string, 0, len(wm))
			for k := range wm {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			for _, k := range keys {
				walk(append(path[:len(path):len(path)], k), wm[k], lm[k])
			}
			return
		}
		if !sameJSON(w, l) {
			out = append(out, path)
		}
	}
	for k, v := range want {
		switch k {
		case "apiVersion", "kind":
			continue
		case "metadata":
			m, _ := v.(map[string]any)
			lm, _ := live["metadata"].(map[string]any)
			for _, f := range []string{"labels", "annotations"} {
				if m[f] != nil {
					walk([]string{"metadata", f}, m[f], lm[f])
				}
			}
			continue
		}
		walk([]string{k}, v, live[k])
	}
	sort.Slice(out, func(i, j int) bool { return strings.Join(out[i], ".") < strings.Join(out[j], ".") })
	return out
}

// sameJSON compares two decoded JSON values as JSON (an int64 and a
// float64 of the same number are equal).
func sameJSON(a, b any) bool {
	ja, err1 := json.Marshal(a)
	jb, err2 := json.Marshal(b)
	return err1 == nil && err2 == nil && bytes.Equal(ja, jb)
}

// owner names the field manager, other than self, whose managed fields
// of live hold path; the latest when several do, "" when none does.
func owner(live *unstructured.Unstructured, path []string, self string) string {
	var latest string
	var latestTime *metav1.Time
	for _, e := range live.GetManagedFields() {
		if e.Manager == self || e.FieldsV1 == nil || !holds(e.FieldsV1.GetRawBytes(), path) {
			continue
		}
		if latest == "" || (e.Time != nil && latestTime != nil && latestTime.Before(e.Time)) {
			latest, latestTime = e.Manager, e.Time
		}
	}
	return latest
}

// holds reports whether the managed fields raw (the FieldsV1 form,
// {"f:spec": {"f:online": {}}}) hold the field path.
func holds(raw []byte, path []string) bool {
	var m map[string]any
	if json.Unmarshal(raw, &m) != nil {
		return false
	}
	for _, p := range path {
		next, ok := m["f:"+p].(map[string]any)
		if !ok {
			return false
		}
		m = next
	}
	return true
}
