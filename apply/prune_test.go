package apply_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"

	"github.com/metalgit/metalgit/apply"
)

// TestConflictNotOverwritten: an object in the way that metalgit did not
// create is reported per object and left as it is; the rest is applied;
// with Adopt it is taken over.
func TestConflictNotOverwritten(t *testing.T) {
	c := startCluster(t)
	ctx := context.Background()
	theirs := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "v1", "kind": "Secret",
		"metadata": map[string]any{"name": "server-01-bmc", "namespace": ns},
		"data":     map[string]any{"password": "dGhlaXJz"}}}
	if _, err := c.dyn.Resource(secretGVR).Namespace(ns).Create(ctx, theirs, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	res, _, err := c.run(t, c.applier(t, nil), fleet(2, nil))
	var applyErr *apply.Error
	if !errors.As(err, &applyErr) || len(applyErr.Failed) != 1 || applyErr.Failed[0].Key.Name != "server-01-bmc" {
		t.Fatalf("want one conflict on server-01-bmc, got %v", err)
	}
	if res.Counts[apply.Conflict] != 1 || res.Counts[apply.Created] != 3 {
		t.Errorf("counts: %v", res.Counts)
	}
	t.Logf("reported: %v", err)
	sec := c.get(t, secretGVR, "server-01-bmc")
	if pw, _, _ := unstructured.NestedString(sec.Object, "data", "password"); pw != "dGhlaXJz" || sec.GetLabels()[apply.LabelManagedBy] != "" {
		t.Fatalf("the object in the way was changed: %v", sec.Object)
	}

	res, _, err = c.run(t, c.applier(t, func(cfg *apply.Config) { cfg.Adopt = true }), fleet(2, nil))
	if err != nil {
		t.Fatal(err)
	}
	if outcomeOf(res, "Secret", "server-01-bmc") != apply.Adopted {
		t.Errorf("with Adopt: %s", outcomeOf(res, "Secret", "server-01-bmc"))
	}
	sec = c.get(t, secretGVR, "server-01-bmc")
	if pw, _, _ := unstructured.NestedString(sec.Object, "data", "password"); pw != "c2VjcmV0LTE=" {
		t.Errorf("adopted secret's password: %q", pw)
	}
}

// TestPruneOnlyOwn: an object metalgit applied and no longer renders is
// deleted; an object of another manager, even one carrying metalgit's
// labels, is not; one recreated by someone else under a pruned name is
// not; a BareMetalHost held by a finalizer stays in the inventory as
// deleting until it is gone.
func TestPruneOnlyOwn(t *testing.T) {
	c := startCluster(t)
	ctx := context.Background()
	changes := make(chan apply.Key, 100)
	a := c.applier(t, func(cfg *apply.Config) { cfg.OnChange = func(k apply.Key) { changes <- k } })
	if _, _, err := c.run(t, a, fleet(3, nil)); err != nil {
		t.Fatal(err)
	}
	// Someone else's object that copies metalgit's labels.
	other := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "v1", "kind": "Secret",
		"metadata": map[string]any{"name": "copied-labels", "namespace": ns,
			"labels": map[string]any{apply.LabelManagedBy: "metalgit", apply.LabelSite: "dc1"}}}}
	if _, err := c.dyn.Resource(secretGVR).Namespace(ns).Create(ctx, other, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	// The operator's finalizer on server-02, as BMO puts it.
	fin := `{"metadata":{"finalizers":["baremetalhost.metal3.io"]}}`
	if _, err := c.dyn.Resource(bmhGVR).Namespace(ns).Patch(ctx, "server-02", types.MergePatchType, []byte(fin), metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
	waitChanges(t, changes, "server-02", 1)

	// server-02 and server-01's secret leave the render.
	stream := fleet(3, nil)
	objs := parse(t, stream)
	var kept []apply.Object
	for _, o := range objs {
		if o.Key.Name != "server-02" && o.Key.Name != "server-02-bmc" {
			kept = append(kept, o)
		}
	}
	res, err := a.Apply(ctx, kept)
	if err != nil {
		t.Fatal(err)
	}
	if got := outcomeOf(res, "Secret", "server-02-bmc"); got != apply.Pruned {
		t.Errorf("server-02-bmc: %s, want pruned", got)
	}
	if got := outcomeOf(res, "BareMetalHost", "server-02"); got != apply.Deleting {
		t.Errorf("server-02 (finalizer): %s, want deleting", got)
	}
	c.get(t, secretGVR, "copied-labels")
	if _, err := c.dyn.Resource(secretGVR).Namespace(ns).Get(ctx, "server-02-bmc", metav1.GetOptions{}); err == nil {
		t.Error("server-02-bmc was not deleted")
	}

	// Someone recreates server-02-bmc; the operator lets server-02 go.
	again := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "v1", "kind": "Secret",
		"metadata": map[string]any{"name": "server-02-bmc", "namespace": ns,
			"labels": map[string]any{apply.LabelManagedBy: "metalgit", apply.LabelSite: "dc1"}}}}
	if _, err := c.dyn.Resource(secretGVR).Namespace(ns).Create(ctx, again, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.dyn.Resource(bmhGVR).Namespace(ns).Patch(ctx, "server-02", types.MergePatchType,
		[]byte(`{"metadata":{"finalizers":null}}`), metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
	// Its deletion reaches the watch after the finalizer's removal (and
	// after the events of the deletion itself, which may still be queued):
	// passes until then see it deleting; the first after, pruned.
	deadline := time.Now().Add(time.Minute)
	for {
		waitChanges(t, changes, "server-02", 1)
		res, err = a.Apply(ctx, kept)
		if err != nil {
			t.Fatal(err)
		}
		got := outcomeOf(res, "BareMetalHost", "server-02")
		if got == apply.Pruned {
			break
		}
		if got != apply.Deleting || time.Now().After(deadline) {
			t.Fatalf("server-02 after its finalizer: %s, want pruned", got)
		}
	}
	c.get(t, secretGVR, "server-02-bmc")
	// The inventory no longer names them: a further pass prunes nothing.
	res, err = a.Apply(ctx, kept)
	if err != nil {
		t.Fatal(err)
	}
	if res.Counts[apply.Pruned] != 0 || res.Counts[apply.Deleting] != 0 {
		t.Errorf("third pass: %v", res.Counts)
	}
}

// TestPruneHoldsSecretsOfDeletingHost: a Secret that a BareMetalHost being
// deleted names (its preprovisioning network data) is kept until the
// operator let the host go: the operator reads it while deprovisioning.
func TestPruneHoldsSecretsOfDeletingHost(t *testing.T) {
	c := startCluster(t)
	ctx := context.Background()
	changes := make(chan apply.Key, 100)
	a := c.applier(t, func(cfg *apply.Config) { cfg.OnChange = func(k apply.Key) { changes <- k } })
	stream := fleet(2, func(i int, b *strings.Builder) {
		fmt.Fprintf(b, "  preprovisioningNetworkDataName: server-%02d-bmc\n", i)
	})
	if _, _, err := c.run(t, a, stream); err != nil {
		t.Fatal(err)
	}
	fin := `{"metadata":{"finalizers":["baremetalhost.metal3.io"]}}`
	if _, err := c.dyn.Resource(bmhGVR).Namespace(ns).Patch(ctx, "server-01", types.MergePatchType, []byte(fin), metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
	waitChanges(t, changes, "server-01", 1)
	var kept []apply.Object
	for _, o := range parse(t, stream) {
		if !strings.HasPrefix(o.Key.Name, "server-01") {
			kept = append(kept, o)
		}
	}
	res, err := a.Apply(ctx, kept)
	if err != nil {
		t.Fatal(err)
	}
	if got := outcomeOf(res, "BareMetalHost", "server-01"); got != apply.Deleting {
		t.Fatalf("server-01: %s, want deleting", got)
	}
	if got := outcomeOf(res, "Secret", "server-01-bmc"); got != apply.Held {
		t.Fatalf("server-01-bmc while its host is deleted: %s, want held", got)
	}
	c.get(t, secretGVR, "server-01-bmc")

	if _, err := c.dyn.Resource(bmhGVR).Namespace(ns).Patch(ctx, "server-01", types.MergePatchType,
		[]byte(`{"metadata":{"finalizers":null}}`), metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
	// The finalizer's removal and the deletion reach the watch as two
	// events: a pass between them still holds the Secret; the pass after
	// the deletion prunes it.
	waitChanges(t, changes, "server-01", 1)
	deadline := time.Now().Add(30 * time.Second)
	for {
		res, err = a.Apply(ctx, kept)
		if err != nil {
			t.Fatal(err)
		}
		got := outcomeOf(res, "Secret", "server-01-bmc")
		if got == apply.Pruned {
			break
		}
		if got != apply.Held || time.Now().After(deadline) {
			t.Fatalf("server-01-bmc after its host is gone: %s, want pruned", got)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
