package apply

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/yaml"
)

// Preview is what an Apply of objs would change, without changing
// anything: Live holds the cluster's copies of the objects it concerns,
// Planned what a server-side dry-run apply of each answers (and nothing
// for what prune would delete), both as YAML streams without the fields
// every write changes (resourceVersion, generation, managedFields), so
// that a diff of the two shows the change. Conflicts lists the objects
// an Apply would refuse (in the way without metalgit's labels), which
// are left out of both.
type Preview struct {
	Live, Planned []byte
	Conflicts     []ObjectResult
}

// Preview answers what Apply would do with objs (read-only: dry-run
// requests and reads).
func (a *Applier) Preview(ctx context.Context, objs []Object) (*Preview, error) {
	inv, err := a.inv.read(ctx)
	if err != nil {
		return nil, err
	}
	p := &Preview{}
	var live, planned bytes.Buffer
	rendered := map[Key]bool{}
	for _, o := range objs {
		rendered[o.Key] = true
		m, err := a.restMapping(o.Key)
		if err != nil {
			return nil, err
		}
		ri := a.resource(m, o.Key.Namespace)
		cur, err := ri.Get(ctx, o.Key.Name, metav1.GetOptions{})
		switch {
		case apierrors.IsNotFound(err):
			cur = nil
		case err != nil:
			return nil, fmt.Errorf("reading %s: %w", o.Key, err)
		case !a.ours(cur) && !a.cfg.Adopt && (inv[o.Key] == "" || cur.GetUID() != inv[o.Key]):
			p.Conflicts = append(p.Conflicts, ObjectResult{Key: o.Key, Outcome: Conflict,
				Error: "exists without metalgit's labels: apply would not overwrite it"})
			continue
		}
		body, err := json.Marshal(o.Obj.Object)
		if err != nil {
			return nil, err
		}
		force := true
		got, err := ri.Patch(ctx, o.Key.Name, types.ApplyPatchType, body,
			metav1.PatchOptions{FieldManager: a.cfg.FieldManager, Force: &force, DryRun: []string{metav1.DryRunAll}})
		if err != nil {
			return nil, fmt.Errorf("dry-run apply of %s: %w", o.Key, err)
		}
		if cur != nil {
			if err := writeDoc(&live, cur); err != nil {
				return nil, err
			}
		}
		if err := writeDoc(&planned, got); err != nil {
			return nil, err
		}
	}
	for k, uid := range inv {
		if rendered[k] {
			continue
		}
		m, err := a.restMapping(k)
		if err != nil {
			return nil, err
		}
		cur, err := a.resource(m, k.Namespace).Get(ctx, k.Name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("reading %s: %w", k, err)
		}
		if a.ours(cur) && (uid == "" || cur.GetUID() == uid) {
			if err := writeDoc(&live, cur); err != nil {
				return nil, err
			}
		}
	}
	p.Live, p.Planned = live.Bytes(), planned.Bytes()
	return p, nil
}

func (a *Applier) restMapping(k Key) (*meta.RESTMapping, error) {
	gvk := k.GVK()
	m, err := a.mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
	if meta.IsNoMatchError(err) {
		a.mapper.Reset()
		m, err = a.mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
	}
	if err != nil {
		return nil, fmt.Errorf("the cluster serves no %s (is its CRD installed?): %w", gvk, err)
	}
	return m, nil
}

// writeDoc appends u to a YAML stream without the fields every write
// changes.
func writeDoc(b *bytes.Buffer, u *unstructured.Unstructured) error {
	u = u.DeepCopy()
	u.SetManagedFields(nil)
	u.SetResourceVersion("")
	u.SetGeneration(0)
	out, err := yaml.Marshal(u.Object)
	if err != nil {
		return err
	}
	b.WriteString("---\n")
	b.Write(out)
	return nil
}
