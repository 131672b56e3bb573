package apply

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"sync"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/restmapper"
)

// Defaults of Config.
const (
	DefaultFieldManager       = "metalgit"
	DefaultInventoryNamespace = "metalgit-system"
	DefaultWorkers            = 8
)

// Config is what an Applier needs besides the cluster.
type Config struct {
	// Site is LabelSite's value and names the inventory; required.
	Site string
	// FieldManager is the server-side apply field manager
	// (DefaultFieldManager).
	FieldManager string
	// Adopt lets metalgit take over an object that exists without its
	// labels; without it such an object is a Conflict.
	Adopt bool
	// InventoryNamespace holds the inventory ConfigMap
	// (DefaultInventoryNamespace; created when missing).
	InventoryNamespace string
	// Workers bounds the requests in flight (DefaultWorkers).
	Workers int
	// OnChange, when not nil, is called when a watched object changes by
	// another hand than this applier's (drift to revert, a deletion
	// done): a controller runs a pass.
	OnChange func(Key)
	Logger   *slog.Logger
	Metrics  *Metrics
}

// Applier applies passes' objects to one cluster.
type Applier struct {
	cfg    Config
	dyn    dynamic.Interface
	mapper *restmapper.DeferredDiscoveryRESTMapper
	live   *live
	inv    *inventoryStore
}

// New returns an Applier for the cluster rc reaches. Close stops its
// watches.
func New(rc *rest.Config, cfg Config) (*Applier, error) {
	if cfg.Site == "" {
		return nil, errors.New("apply: a Site name is required")
	}
	if cfg.FieldManager == "" {
		cfg.FieldManager = DefaultFieldManager
	}
	if cfg.InventoryNamespace == "" {
		cfg.InventoryNamespace = DefaultInventoryNamespace
	}
	if cfg.Workers <= 0 {
		cfg.Workers = DefaultWorkers
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	rc = rest.CopyConfig(rc)
	if rc.QPS == 0 {
		// client-go's default (5 per second) would make a first apply of
		// a thousand hosts take ten minutes.
		rc.QPS, rc.Burst = 200, 400
	}
	dyn, err := dynamic.NewForConfig(rc)
	if err != nil {
		return nil, fmt.Errorf("apply: dynamic client: %w", err)
	}
	client, err := kubernetes.NewForConfig(rc)
	if err != nil {
		return nil, fmt.Errorf("apply: clientset: %w", err)
	}
	disc, err := discovery.NewDiscoveryClientForConfig(rc)
	if err != nil {
		return nil, fmt.Errorf("apply: discovery: %w", err)
	}
	labels := map[string]string{LabelManagedBy: ManagedByValue, LabelSite: cfg.Site}
	return &Applier{
		cfg:    cfg,
		dyn:    dyn,
		mapper: restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(disc)),
		live:   newLive(dyn, LabelManagedBy+"="+ManagedByValue+","+LabelSite+"="+cfg.Site, cfg.OnChange),
		inv: &inventoryStore{client: client, namespace: cfg.InventoryNamespace, name: InventoryPrefix + cfg.Site,
			labels: labels, fieldManager: cfg.FieldManager},
	}, nil
}

// Close stops the Applier's watches.
func (a *Applier) Close() { a.live.close() }

// Outcome is what a pass did to one object.
type Outcome string

// Outcomes.
const (
	Created   Outcome = "created"
	Updated   Outcome = "updated"
	Unchanged Outcome = "unchanged"
	Adopted   Outcome = "adopted"
	Pruned    Outcome = "pruned"
	// Deleting: pruned, and still held by a finalizer (a BareMetalHost
	// being deprovisioned).
	Deleting Outcome = "deleting"
	// Held: no longer rendered, kept while a BareMetalHost being
	// deleted names it.
	Held     Outcome = "held"
	Failed   Outcome = "failed"
	Conflict Outcome = "conflict"
)

// ObjectResult is one object's outcome.
type ObjectResult struct {
	Key     Key     `json:"object"`
	Outcome Outcome `json:"outcome"`
	// Error says why, for Failed and Conflict.
	Error string `json:"error,omitempty"`
}

// Result is what one Apply did.
type Result struct {
	Objects []ObjectResult `json:"objects"`
	// Drift lists the rendered fields another manager had changed; they
	// were taken back.
	Drift []Drift `json:"drift,omitempty"`
	// Counts by outcome.
	Counts map[Outcome]int `json:"counts"`
	// Duration of the apply, the prune included.
	Duration time.Duration `json:"duration"`
}

// Error is an Apply that did not apply everything: it names each object
// that failed or was in conflict.
type Error struct {
	Failed []ObjectResult
}

func (e *Error) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d objects not applied:", len(e.Failed))
	for i, f := range e.Failed {
		if i == 20 {
			fmt.Fprintf(&b, "\n  … and %d more", len(e.Failed)-i)
			break
		}
		fmt.Fprintf(&b, "\n  %s: %s: %s", f.Key, f.Outcome, f.Error)
	}
	return b.String()
}

// Apply makes the cluster hold objs: each is created, updated (fields
// another manager changed taken back and reported as Drift) or left alone
// when its live copy already matches; an object metalgit applied earlier
// and objs no longer name is deleted. It returns an *Error when an object
// failed or was in conflict; the others are applied still.
func (a *Applier) Apply(ctx context.Context, objs []Object) (*Result, error) {
	start := time.Now()
	res := &Result{Counts: map[Outcome]int{}}
	inv, err := a.inv.read(ctx)
	if err != nil {
		return nil, err
	}
	gvrs := map[schema.GroupVersionKind]*meta.RESTMapping{}
	mapping := func(gvk schema.GroupVersionKind) (*meta.RESTMapping, error) {
		if m, ok := gvrs[gvk]; ok {
			return m, nil
		}
		m, err := a.restMapping(Key{Group: gvk.Group, Version: gvk.Version, Kind: gvk.Kind})
		if err != nil {
			return nil, err
		}
		if err := a.live.ensure(ctx, m.Resource); err != nil {
			return nil, err
		}
		gvrs[gvk] = m
		return m, nil
	}
	// New objects go into the inventory before they are created, so that
	// a pass cut short never leaves an object prune would not know.
	next := inventory{}
	for k, uid := range inv {
		next[k] = uid
	}
	for _, o := range objs {
		if _, ok := next[o.Key]; !ok {
			next[o.Key] = ""
		}
	}
	if !next.equal(inv) {
		if err := a.inv.write(ctx, next); err != nil {
			return nil, err
		}
	}

	results := make([]ObjectResult, len(objs))
	uids := make([]types.UID, len(objs))
	var driftMu sync.Mutex
	for stage := range stages {
		sem := make(chan struct{}, a.cfg.Workers)
		var wg sync.WaitGroup
		for i, o := range objs {
			if o.stage() != stage {
				continue
			}
			m, err := mapping(o.Key.GVK())
			if err != nil {
				results[i] = ObjectResult{Key: o.Key, Outcome: Failed, Error: err.Error()}
				continue
			}
			wg.Add(1)
			sem <- struct{}{}
			go func() {
				defer func() { <-sem; wg.Done() }()
				r, uid, drift := a.applyOne(ctx, m, o, inv[o.Key])
				results[i], uids[i] = r, uid
				if len(drift) > 0 {
					driftMu.Lock()
					res.Drift = append(res.Drift, drift...)
					driftMu.Unlock()
				}
			}()
		}
		wg.Wait()
	}

	rendered := map[Key]bool{}
	final := inventory{}
	for i, o := range objs {
		rendered[o.Key] = true
		switch results[i].Outcome {
		case Failed, Conflict:
			if uid, ok := inv[o.Key]; ok {
				final[o.Key] = uid
			}
		default:
			final[o.Key] = uids[i]
		}
	}
	res.Objects = results
	// BareMetalHosts go first: the Secrets a host being deprovisioned
	// names are kept until the operator let it go (it reads them while
	// it deletes the host).
	var gone []Key
	for k := range inv {
		if !rendered[k] {
			gone = append(gone, k)
		}
	}
	sort.Slice(gone, func(i, j int) bool { return isBMH(gone[i]) && !isBMH(gone[j]) })
	held := map[Key]bool{}
	for _, k := range gone {
		r := ObjectResult{Key: k, Outcome: Held, Error: "a BareMetalHost being deleted names it"}
		if !held[k] {
			var cur *unstructured.Unstructured
			r, cur = a.prune(ctx, mapping, k, inv[k])
			if isBMH(k) && cur != nil && r.Outcome == Deleting {
				for _, name := range bmhSecrets(cur) {
					held[Key{Version: "v1", Kind: "Secret", Namespace: k.Namespace, Name: name}] = true
				}
			}
		}
		res.Objects = append(res.Objects, r)
		if r.Outcome == Deleting || r.Outcome == Failed || r.Outcome == Held {
			final[k] = inv[k]
		}
	}
	if !final.equal(next) {
		if err := a.inv.write(ctx, final); err != nil {
			return nil, err
		}
	}
	var failed []ObjectResult
	for _, r := range res.Objects {
		res.Counts[r.Outcome]++
		if r.Outcome == Failed || r.Outcome == Conflict {
			failed = append(failed, r)
		}
	}
	res.Duration = time.Since(start)
	a.cfg.Metrics.observe(res)
	for _, d := range res.Drift {
		a.cfg.Logger.Warn("apply: took back a field another manager changed", "object", d.Object.String(), "field", d.Field, "manager", d.Manager)
	}
	if len(failed) > 0 {
		return res, &Error{Failed: failed}
	}
	return res, nil
}

// applyOne applies one object unless its live copy matches.
// An object without metalgit's labels that the inventory records by its
// uid is metalgit's still (its labels were edited away) and is taken back.
func (a *Applier) applyOne(ctx context.Context, m *meta.RESTMapping, o Object, invUID types.UID) (ObjectResult, types.UID, []Drift) {
	res := ObjectResult{Key: o.Key}
	ri := a.resource(m, o.Key.Namespace)
	cur := a.live.get(m.Resource, o.Key.Namespace, o.Key.Name)
	outcome := Updated
	if cur == nil {
		// Not among metalgit's objects: absent, or someone else's.
		got, err := ri.Get(ctx, o.Key.Name, metav1.GetOptions{})
		switch {
		case apierrors.IsNotFound(err):
			outcome = Created
		case err != nil:
			res.Outcome, res.Error = Failed, err.Error()
			return res, "", nil
		case !a.ours(got) && (invUID == "" || got.GetUID() != invUID):
			if !a.cfg.Adopt {
				res.Outcome = Conflict
				res.Error = fmt.Sprintf("exists without the labels %s=%s, %s=%s: metalgit does not overwrite it (remove it, label it, or run with --adopt)",
					LabelManagedBy, ManagedByValue, LabelSite, a.cfg.Site)
				return res, got.GetUID(), nil
			}
			outcome = Adopted
		default:
			cur = got
		}
	}
	var drift []Drift
	if cur != nil {
		diff := differences(o.Obj.Object, cur.Object)
		for _, path := range diff {
			if mgr := owner(cur, path, a.cfg.FieldManager); mgr != "" {
				drift = append(drift, Drift{Object: o.Key, Field: strings.Join(path, "."), Manager: mgr})
			}
		}
		if len(diff) == 0 && cur.GetAnnotations()[AnnotationHash] == o.Hash {
			res.Outcome = Unchanged
			return res, cur.GetUID(), nil
		}
	}
	body, err := json.Marshal(o.Obj.Object)
	if err != nil {
		res.Outcome, res.Error = Failed, err.Error()
		return res, "", nil
	}
	force := true
	got, err := ri.Patch(ctx, o.Key.Name, types.ApplyPatchType, body, metav1.PatchOptions{FieldManager: a.cfg.FieldManager, Force: &force})
	if err != nil {
		res.Outcome, res.Error = Failed, err.Error()
		return res, "", nil
	}
	a.live.applied(m.Resource, got)
	res.Outcome = outcome
	return res, got.GetUID(), drift
}

// prune deletes an object metalgit applied and no longer renders, only
// while it carries metalgit's labels and the uid metalgit applied.
// It returns the live object it found, if any.
func (a *Applier) prune(ctx context.Context, mapping func(schema.GroupVersionKind) (*meta.RESTMapping, error), k Key, uid types.UID) (ObjectResult, *unstructured.Unstructured) {
	res := ObjectResult{Key: k}
	m, err := mapping(k.GVK())
	if err != nil {
		res.Outcome, res.Error = Failed, err.Error()
		return res, nil
	}
	cur := a.live.get(m.Resource, k.Namespace, k.Name)
	if cur == nil || (uid != "" && cur.GetUID() != uid) {
		// Gone, or no longer metalgit's: nothing to delete.
		res.Outcome = Pruned
		return res, nil
	}
	if cur.GetDeletionTimestamp() != nil {
		res.Outcome = Deleting
		return res, cur
	}
	precond := cur.GetUID()
	err = a.resource(m, k.Namespace).Delete(ctx, k.Name, metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &precond}})
	switch {
	case apierrors.IsNotFound(err), apierrors.IsConflict(err):
		res.Outcome = Pruned
	case err != nil:
		res.Outcome, res.Error = Failed, err.Error()
	case len(cur.GetFinalizers()) > 0:
		res.Outcome = Deleting
	default:
		res.Outcome = Pruned
	}
	return res, cur
}

func isBMH(k Key) bool { return k.Group == "metal3.io" && k.Kind == "BareMetalHost" }

// bmhSecrets lists the Secrets a BareMetalHost names besides its BMC
// credentials (which metalgit never renders).
func bmhSecrets(u *unstructured.Unstructured) []string {
	var out []string
	for _, path := range [][]string{
		{"spec", "preprovisioningNetworkDataName"},
		{"spec", "networkData", "name"},
		{"spec", "userData", "name"},
		{"spec", "metaData", "name"},
	} {
		if name, _, _ := unstructured.NestedString(u.Object, path...); name != "" {
			out = append(out, name)
		}
	}
	return out
}

func (a *Applier) ours(u *unstructured.Unstructured) bool {
	l := u.GetLabels()
	return l[LabelManagedBy] == ManagedByValue && l[LabelSite] == a.cfg.Site
}

func (a *Applier) resource(m *meta.RESTMapping, namespace string) dynamic.ResourceInterface {
	if m.Scope.Name() == meta.RESTScopeNameNamespace {
		return a.dyn.Resource(m.Resource).Namespace(namespace)
	}
	return a.dyn.Resource(m.Resource)
}

// LabelHost names the Host a rendered object belongs to (render sets it).
const LabelHost = "metalgit.dev/host"

// bmhGVK is the kind BareMetalHosts are rendered as; bmhGVR its resource.
var (
	bmhGVK = schema.GroupVersionKind{Group: "metal3.io", Version: "v1alpha1", Kind: "BareMetalHost"}
	bmhGVR = schema.GroupVersionResource{Group: "metal3.io", Version: "v1alpha1", Resource: "baremetalhosts"}
)

// HostState is what the cluster holds of one host's BareMetalHost.
type HostState struct {
	// State is the operator's provisioning state ("" before it saw the
	// object).
	State string `json:"state"`
	// Deleting: the object carries a deletion timestamp.
	Deleting bool `json:"deleting,omitempty"`
}

// HoldsImage reports whether the server still runs a machine's image or
// is being wiped of it: the object is being deleted, or the operator's
// state is provisioning, provisioned, externally provisioned or
// deprovisioning. Such a host is not free for another machine yet.
func (s HostState) HoldsImage() bool {
	switch s.State {
	case "provisioning", "provisioned", "externally provisioned", "deprovisioning":
		return true
	}
	return s.Deleting
}

// BareMetalHosts maps the hosts (LabelHost) whose BareMetalHosts the
// cluster holds to their state, read from the watch metalgit keeps of
// its objects.
func (a *Applier) BareMetalHosts(ctx context.Context) (map[string]HostState, error) {
	m, err := a.restMapping(Key{Group: bmhGVK.Group, Version: bmhGVK.Version, Kind: bmhGVK.Kind})
	if meta.IsNoMatchError(err) {
		return map[string]HostState{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("apply: %w", err)
	}
	if err := a.live.ensure(ctx, m.Resource); err != nil {
		return nil, err
	}
	out := map[string]HostState{}
	for _, u := range a.live.list(m.Resource) {
		if h := u.GetLabels()[LabelHost]; h != "" {
			out[h] = HostState{State: provisioningState(u).State, Deleting: u.GetDeletionTimestamp() != nil}
		}
	}
	return out, nil
}
