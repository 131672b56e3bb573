package apply

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"sync"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/dynamic/dynamicinformer"
	"k8s.io/client-go/tools/cache"
)

// pendingFor bounds how long an applied object stands in for the watch's
// copy: the watch normally delivers the applied version within
// milliseconds; if it never does (a relist that skipped it), the watch's
// copy is trusted again.
const pendingFor = 30 * time.Second

// live is what the cluster holds of metalgit's objects (those with its
// labels), one watch per resource, started when a pass first needs it.
// An object metalgit just applied is known from the apply's answer until
// the watch delivers that version, so that a pass right after another
// does not mistake the watch's older copy for a change.
type live struct {
	dyn      dynamic.Interface
	selector string
	// onChange, when not nil, is called on a change metalgit did not make.
	onChange func(Key)

	mu      sync.Mutex
	watches map[schema.GroupVersionResource]*watch
	stop    chan struct{}
	closed  bool
}

type watch struct {
	informer cache.SharedIndexInformer
	// pending holds, by namespace/name, an applied object whose version
	// the watch has not delivered yet.
	pending map[string]pendingObj
}

type pendingObj struct {
	obj   *unstructured.Unstructured
	since time.Time
}

func newLive(dyn dynamic.Interface, selector string, onChange func(Key)) *live {
	return &live{dyn: dyn, selector: selector, onChange: onChange,
		watches: map[schema.GroupVersionResource]*watch{}, stop: make(chan struct{})}
}

// ensure starts the watch of gvr unless it runs, and waits until it has
// listed.
func (l *live) ensure(ctx context.Context, gvr schema.GroupVersionResource) error {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return fmt.Errorf("watching %s: the applier is closed", gvr)
	}
	w, ok := l.watches[gvr]
	if !ok {
		w = &watch{pending: map[string]pendingObj{}}
		w.informer = dynamicinformer.NewFilteredDynamicInformer(l.dyn, gvr, metav1.NamespaceAll, 0, cache.Indexers{},
			func(o *metav1.ListOptions) { o.LabelSelector = l.selector }).Informer()
		_, _ = w.informer.AddEventHandler(cache.ResourceEventHandlerFuncs{
			AddFunc: func(obj any) { l.seen(w, obj, false, true) },
			UpdateFunc: func(old, obj any) {
				l.seen(w, obj, false, specChanged(old, obj))
			},
			DeleteFunc: func(obj any) { l.seen(w, obj, true, true) },
		})
		l.watches[gvr] = w
		go w.informer.Run(l.stop)
	}
	l.mu.Unlock()
	if !cache.WaitForCacheSync(ctx.Done(), w.informer.HasSynced) {
		return fmt.Errorf("listing %s: %w", gvr, context.Cause(ctx))
	}
	return nil
}

// seen takes an event of the watch: the version metalgit applied ends
// its pending copy; any other change that may touch what metalgit renders
// (report) is reported.
func (l *live) seen(w *watch, obj any, deleted, report bool) {
	if t, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = t.Obj
	}
	u, ok := obj.(*unstructured.Unstructured)
	if !ok {
		return
	}
	id := u.GetNamespace() + "/" + u.GetName()
	l.mu.Lock()
	p, pending := w.pending[id]
	ours := pending && p.obj.GetResourceVersion() == u.GetResourceVersion()
	if deleted || ours {
		delete(w.pending, id)
	}
	l.mu.Unlock()
	if report && !ours && !pending && l.onChange != nil {
		l.onChange(KeyOf(u))
	}
}

// get returns the object as the cluster holds it, or nil when it holds no
// such object with metalgit's labels.
func (l *live) get(gvr schema.GroupVersionResource, namespace, name string) *unstructured.Unstructured {
	l.mu.Lock()
	w := l.watches[gvr]
	if w == nil {
		l.mu.Unlock()
		return nil
	}
	id := namespace + "/" + name
	if p, ok := w.pending[id]; ok {
		if time.Since(p.since) < pendingFor {
			l.mu.Unlock()
			return p.obj
		}
		delete(w.pending, id)
	}
	l.mu.Unlock()
	key := name
	if namespace != "" {
		key = namespace + "/" + name
	}
	obj, ok, err := w.informer.GetStore().GetByKey(key)
	if err != nil || !ok {
		return nil
	}
	u, _ := obj.(*unstructured.Unstructured)
	return u
}

// list returns every object of gvr the watch holds.
func (l *live) list(gvr schema.GroupVersionResource) []*unstructured.Unstructured {
	l.mu.Lock()
	w := l.watches[gvr]
	l.mu.Unlock()
	if w == nil {
		return nil
	}
	var out []*unstructured.Unstructured
	for _, o := range w.informer.GetStore().List() {
		if u, ok := o.(*unstructured.Unstructured); ok {
			out = append(out, u)
		}
	}
	return out
}

// applied records the answer of an apply until the watch delivers it.
func (l *live) applied(gvr schema.GroupVersionResource, u *unstructured.Unstructured) {
	l.mu.Lock()
	defer l.mu.Unlock()
	w := l.watches[gvr]
	if w == nil {
		return
	}
	key := u.GetName()
	if u.GetNamespace() != "" {
		key = u.GetNamespace() + "/" + key
	}
	// The watch may have delivered this version already.
	if obj, ok, _ := w.informer.GetStore().GetByKey(key); ok {
		if have, _ := obj.(*unstructured.Unstructured); have != nil && have.GetResourceVersion() == u.GetResourceVersion() {
			return
		}
	}
	w.pending[u.GetNamespace()+"/"+u.GetName()] = pendingObj{obj: u, since: time.Now()}
}

// close stops every watch.
func (l *live) close() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.closed {
		l.closed = true
		close(l.stop)
	}
}

// specChanged tells an update that may touch what metalgit renders from
// one that cannot: a status written through its subresource (the Bare
// Metal Operator's, every few seconds while a host provisions) changes
// neither the generation nor the labels, annotations and finalizers. The
// one status change that counts is a BareMetalHost done deprovisioning
// (HostState.HoldsImage turns false): a pass may then release the host
// of a machine scaled in.
func specChanged(oldObj, newObj any) bool {
	o, ok1 := oldObj.(*unstructured.Unstructured)
	n, ok2 := newObj.(*unstructured.Unstructured)
	if !ok1 || !ok2 {
		return true
	}
	if n.GetGeneration() == 0 || o.GetGeneration() != n.GetGeneration() || n.GetDeletionTimestamp() != nil {
		return true
	}
	if provisioningState(o).HoldsImage() && !provisioningState(n).HoldsImage() {
		return true
	}
	return !maps.Equal(o.GetLabels(), n.GetLabels()) || !maps.Equal(o.GetAnnotations(), n.GetAnnotations()) ||
		!slices.Equal(o.GetFinalizers(), n.GetFinalizers())
}

// provisioningState is the operator's state of a BareMetalHost; the zero
// HostState for other kinds.
func provisioningState(u *unstructured.Unstructured) HostState {
	state, _, _ := unstructured.NestedString(u.Object, "status", "provisioning", "state")
	return HostState{State: state}
}
