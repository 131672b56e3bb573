package apply_test

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"

	"github.com/metalgit/metalgit/apply"
)

// TestApplyThenNoChange: the first apply creates every object; a pass
// right after it, with nothing changed, sends no write request; a changed
// host is the only object written.
func TestApplyThenNoChange(t *testing.T) {
	c := startCluster(t)
	a := c.applier(t, nil)
	res, writes, err := c.run(t, a, fleet(5, nil))
	if err != nil {
		t.Fatal(err)
	}
	if res.Counts[apply.Created] != 10 {
		t.Fatalf("first apply: %v, want 10 created", res.Counts)
	}
	// 10 objects, the inventory before and after, its namespace.
	if writes != 13 {
		t.Errorf("first apply: %d write requests, want 13", writes)
	}
	bmh := c.get(t, bmhGVR, "server-03")
	if l := bmh.GetLabels(); l[apply.LabelManagedBy] != "metalgit" || l[apply.LabelSite] != "dc1" || l["role"] != "worker" {
		t.Errorf("labels: %v", l)
	}
	sec := c.get(t, secretGVR, "server-03-bmc")
	if d, _, _ := unstructured.NestedString(sec.Object, "data", "password"); d != "c2VjcmV0LTM=" {
		t.Errorf("secret data: %q", d)
	}
	// Secrets are written before the BareMetalHosts that name them: every
	// Secret's resourceVersion (etcd's revision at its creation) is below
	// every host's.
	var maxSecret, minHost int64 = 0, 1 << 62
	for i := range 5 {
		name := fmt.Sprintf("server-%02d", i)
		maxSecret = max(maxSecret, resourceVersion(t, c.get(t, secretGVR, name+"-bmc")))
		minHost = min(minHost, resourceVersion(t, c.get(t, bmhGVR, name)))
	}
	if maxSecret >= minHost {
		t.Errorf("a BareMetalHost (resourceVersion %d) was written before a Secret (%d)", minHost, maxSecret)
	}

	res, writes, err = c.run(t, a, fleet(5, nil))
	if err != nil {
		t.Fatal(err)
	}
	if res.Counts[apply.Unchanged] != 10 || writes != 0 {
		t.Fatalf("no-change pass: %v, %d write requests; want 10 unchanged, 0 writes", res.Counts, writes)
	}

	changed := fleet(5, func(i int, b *strings.Builder) {
		if i == 2 {
			b.WriteString("  description: moved to rack r2\n")
		}
	})
	res, writes, err = c.run(t, a, changed)
	if err != nil {
		t.Fatal(err)
	}
	if res.Counts[apply.Updated] != 1 || res.Counts[apply.Unchanged] != 9 || writes != 1 {
		t.Fatalf("one host changed: %v, %d write requests; want 1 updated, 9 unchanged, 1 write", res.Counts, writes)
	}
	if outcomeOf(res, "BareMetalHost", "server-02") != apply.Updated {
		t.Errorf("server-02: %s", outcomeOf(res, "BareMetalHost", "server-02"))
	}
	if len(res.Drift) != 0 {
		t.Errorf("drift reported for metalgit's own change: %v", res.Drift)
	}
}

// TestHandEditTakenBack: a rendered field changed by hand (an Update by
// kubectl edit) is set back on the next pass and reported with the
// manager that changed it; a field metalgit does not render, set by
// another manager, is left alone.
func TestHandEditTakenBack(t *testing.T) {
	c := startCluster(t)
	changes := make(chan apply.Key, 100)
	a := c.applier(t, func(cfg *apply.Config) { cfg.OnChange = func(k apply.Key) { changes <- k } })
	if _, _, err := c.run(t, a, fleet(2, nil)); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	bmh := c.get(t, bmhGVR, "server-01")
	_ = unstructured.SetNestedField(bmh.Object, false, "spec", "online")
	if _, err := c.dyn.Resource(bmhGVR).Namespace(ns).Update(ctx, bmh, metav1.UpdateOptions{FieldManager: "kubectl-edit"}); err != nil {
		t.Fatal(err)
	}
	// Another controller's field (as the operator's consumerRef).
	patch := `{"apiVersion":"metal3.io/v1alpha1","kind":"BareMetalHost","metadata":{"name":"server-01","namespace":"` + ns +
		`"},"spec":{"consumerRef":{"apiVersion":"v1","kind":"Machine","name":"m1","namespace":"` + ns + `"}}}`
	if _, err := c.dyn.Resource(bmhGVR).Namespace(ns).Patch(ctx, "server-01", types.ApplyPatchType, []byte(patch),
		metav1.PatchOptions{FieldManager: "capm3"}); err != nil {
		t.Fatal(err)
	}
	waitChanges(t, changes, "server-01", 2)
	res, writes, err := c.run(t, a, fleet(2, nil))
	if err != nil {
		t.Fatal(err)
	}
	if writes != 1 || res.Counts[apply.Updated] != 1 {
		t.Fatalf("after a hand edit: %v, %d writes; want 1 updated, 1 write", res.Counts, writes)
	}
	if len(res.Drift) != 1 || res.Drift[0].Field != "spec.online" || res.Drift[0].Manager != "kubectl-edit" ||
		res.Drift[0].Object.Name != "server-01" {
		t.Fatalf("drift: %+v, want spec.online of server-01 by kubectl-edit", res.Drift)
	}
	bmh = c.get(t, bmhGVR, "server-01")
	if on, _, _ := unstructured.NestedBool(bmh.Object, "spec", "online"); !on {
		t.Error("spec.online was not taken back")
	}
	if name, _, _ := unstructured.NestedString(bmh.Object, "spec", "consumerRef", "name"); name != "m1" {
		t.Errorf("another manager's consumerRef was touched: %q", name)
	}
}

// waitChanges waits until the applier's watch reported n changes of the
// object called name.
func waitChanges(t *testing.T, changes <-chan apply.Key, name string, n int) {
	t.Helper()
	timeout := time.After(time.Minute)
	for n > 0 {
		select {
		case k := <-changes:
			if k.Name == name {
				n--
			}
		case <-timeout:
			t.Fatalf("the watch did not report %d more changes of %s", n, name)
		}
	}
}

// resourceVersion is an object's resourceVersion as a number (etcd's
// revision of its last write).
func resourceVersion(t *testing.T, o *unstructured.Unstructured) int64 {
	t.Helper()
	rv, err := strconv.ParseInt(o.GetResourceVersion(), 10, 64)
	if err != nil {
		t.Fatalf("%s: resourceVersion %q: %v", o.GetName(), o.GetResourceVersion(), err)
	}
	return rv
}
