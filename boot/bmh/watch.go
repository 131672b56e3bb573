package bmh

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/dynamic/dynamicinformer"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/cache"
	"k8s.io/utils/clock"

	"github.com/metalgit/metalgit/boot"
)

// DefaultDebounce is how long Run waits after a change for more changes
// before it rebuilds the table, when Config.Debounce is zero.
const DefaultDebounce = 200 * time.Millisecond

// startTimeout bounds the checks Run makes before it starts watching.
const startTimeout = 30 * time.Second

// The BareMetalHost resource.
const (
	group    = "metal3.io"
	version  = "v1alpha1"
	resource = "baremetalhosts"
)

// Resource returns the BareMetalHost resource, metal3.io/v1alpha1
// baremetalhosts.
func Resource() schema.GroupVersionResource {
	return schema.GroupVersionResource{Group: group, Version: version, Resource: resource}
}

// Config is what Run needs.
type Config struct {
	// RESTConfig reaches the Kubernetes API server (required).
	RESTConfig *rest.Config
	// Namespace is the namespace whose BareMetalHosts are watched; ""
	// means all namespaces.
	Namespace string
	// Store receives every new table (required).
	Store *boot.Store
	// Logger defaults to slog.Default().
	Logger *slog.Logger
	// OnChange, when set, is called with each table swapped into Store,
	// from Run's goroutine.
	OnChange func(*boot.Table)
	// OnSkipped, when set, is called after every build with the
	// BareMetalHosts left out of the table (nil when none), e.g. to set a
	// gauge.
	OnSkipped func([]*FieldError)
	// Debounce is how long to wait after a change for more changes before
	// rebuilding; zero means DefaultDebounce.
	Debounce time.Duration
	// Registerer receives the metrics (metalgit_bmh_…); none when nil.
	Registerer prometheus.Registerer

	// clock drives Debounce; nil means the real clock (tests set a fake
	// one from export_test.go).
	clock clock.Clock
}

// Run watches the BareMetalHosts and keeps cfg.Store's table in step with
// them until ctx ends, then returns nil. The first table is stored once the
// initial list is in; later ones after each change (a table equal to the
// current one is not stored again). Run returns an error at once when the
// configuration is incomplete, the API server cannot be reached, the
// BareMetalHost CRD is not installed or listing BareMetalHosts is not
// allowed.
func Run(ctx context.Context, cfg Config) error {
	if err := cfg.check(); err != nil {
		return err
	}
	rc := rest.CopyConfig(cfg.RESTConfig)
	if rc.UserAgent == "" {
		rc.UserAgent = "metalgit-boot-bmh"
	}
	client, err := dynamic.NewForConfig(rc)
	if err != nil {
		return fmt.Errorf("bmh: Kubernetes client for %s: %w", rc.Host, err)
	}
	if err := preflight(ctx, client, rc.Host, cfg.Namespace); err != nil {
		return err
	}
	m, err := newMetrics(cfg.Registerer)
	if err != nil {
		return err
	}
	return newWatcher(cfg, client, m).run(ctx)
}

func (c *Config) check() error {
	var missing []string
	if c.RESTConfig == nil {
		missing = append(missing, "RESTConfig")
	}
	if c.Store == nil {
		missing = append(missing, "Store")
	}
	if len(missing) > 0 {
		return fmt.Errorf("bmh: Config needs %v", missing)
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.Debounce <= 0 {
		c.Debounce = DefaultDebounce
	}
	if c.clock == nil {
		c.clock = clock.RealClock{}
	}
	return nil
}

// preflight lists at most one BareMetalHost, to turn the usual start-up
// failures into clear errors instead of a watch that retries forever.
func preflight(ctx context.Context, client dynamic.Interface, host, namespace string) error {
	tctx, cancel := context.WithTimeout(ctx, startTimeout)
	defer cancel()
	_, err := client.Resource(Resource()).Namespace(namespace).List(tctx, metav1.ListOptions{Limit: 1})
	if err == nil {
		return nil
	}
	where := "in all namespaces"
	if namespace != "" {
		where = "in namespace " + namespace
	}
	switch {
	case ctx.Err() != nil:
		return fmt.Errorf("bmh: stopped while listing BareMetalHosts %s at %s: %w", where, host, context.Cause(ctx))
	case apierrors.IsNotFound(err):
		return fmt.Errorf("bmh: the BareMetalHost CRD (%s.%s, %s/%s) is not installed in the cluster at %s: %w",
			resource, group, group, version, host, err)
	case apierrors.IsForbidden(err), apierrors.IsUnauthorized(err):
		return fmt.Errorf("bmh: not allowed to list BareMetalHosts %s at %s: %w", where, host, err)
	case tctx.Err() != nil:
		return fmt.Errorf("bmh: the Kubernetes API at %s did not answer within %s: %w", host, startTimeout, err)
	default:
		return fmt.Errorf("bmh: cannot list BareMetalHosts %s at %s (is the Kubernetes API reachable?): %w", where, host, err)
	}
}

// watcher rebuilds the table from an informer's cache.
type watcher struct {
	cfg     Config
	metrics *metrics
	source  string
	inf     cache.SharedIndexInformer
	changed chan struct{}
	// reported holds the last problem logged for each skipped
	// BareMetalHost, so that each is logged once, not at every build.
	reported map[string]string
}

func newWatcher(cfg Config, client dynamic.Interface, m *metrics) *watcher {
	source := "BareMetalHosts in all namespaces"
	if cfg.Namespace != "" {
		source = "BareMetalHosts in namespace " + cfg.Namespace
	}
	inf := dynamicinformer.NewFilteredDynamicInformer(client, Resource(), cfg.Namespace, 0, cache.Indexers{}, nil).Informer()
	return &watcher{cfg: cfg, metrics: m, source: source, inf: inf, changed: make(chan struct{}, 1), reported: map[string]string{}}
}

func (w *watcher) run(ctx context.Context) error {
	log := w.cfg.Logger
	signal := func(any) { w.signal() }
	if _, err := w.inf.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    signal,
		UpdateFunc: func(_, obj any) { signal(obj) },
		DeleteFunc: signal,
	}); err != nil {
		return fmt.Errorf("bmh: watch BareMetalHosts: %w", err)
	}
	if err := w.inf.SetWatchErrorHandlerWithContext(func(_ context.Context, _ *cache.Reflector, err error) {
		log.Warn("bmh: watching BareMetalHosts failed; retrying", "source", w.source, "err", err)
	}); err != nil {
		return fmt.Errorf("bmh: watch BareMetalHosts: %w", err)
	}

	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Go(func() { w.inf.RunWithContext(ctx) })
	defer wg.Wait()
	defer cancel()

	log.Info("bmh: waiting for the initial BareMetalHost list", "source", w.source)
	if !cache.WaitForCacheSync(ctx.Done(), w.inf.HasSynced) {
		return fmt.Errorf("bmh: %s: stopped before the initial list was in: %w", w.source, context.Cause(ctx))
	}
	w.drain()
	w.rebuild()
	w.loop(ctx)
	return nil
}

// signal notes a change without blocking: one pending change stands for
// any number.
func (w *watcher) signal() {
	select {
	case w.changed <- struct{}{}:
	default:
	}
}

func (w *watcher) drain() {
	select {
	case <-w.changed:
	default:
	}
}

// loop rebuilds the table Debounce after each change, until ctx ends.
// Changes during the wait are folded into that rebuild, so a steady stream
// of changes delays a rebuild by at most Debounce.
func (w *watcher) loop(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-w.changed:
		}
		select {
		case <-ctx.Done():
			return
		case <-w.cfg.clock.After(w.cfg.Debounce):
		}
		// The cache is updated before handlers are told, so the list
		// below holds every change signalled so far.
		w.drain()
		w.rebuild()
	}
}

// rebuild builds a table from the cache and stores it when it differs from
// the current one.
func (w *watcher) rebuild() {
	log := w.cfg.Logger
	items := w.inf.GetStore().List()
	objs := make([]*unstructured.Unstructured, 0, len(items))
	for _, it := range items {
		if u, ok := it.(*unstructured.Unstructured); ok {
			objs = append(objs, u)
		}
	}
	b, err := BuildTable(w.source, objs)
	if err != nil {
		log.Error("bmh: keeping the previous host table", "source", w.source, "err", err)
		return
	}
	w.report(b.Skipped)
	w.metrics.observe(b.Skipped)
	if w.cfg.OnSkipped != nil {
		w.cfg.OnSkipped(b.Skipped)
	}
	if old := w.cfg.Store.Load(); old != nil && old.Source == b.Table.Source && sameHosts(old.Hosts(), b.Table.Hosts()) {
		return
	}
	w.cfg.Store.Swap(b.Table)
	log.Info("bmh: host table updated", "source", w.source, "hosts", b.Table.Len(), "skipped", len(b.Skipped),
		"resourceVersion", w.inf.LastSyncResourceVersion())
	if w.cfg.OnChange != nil {
		w.cfg.OnChange(b.Table)
	}
}

// report logs each skipped BareMetalHost whose problem is new, and forgets
// those that are no longer skipped.
func (w *watcher) report(skipped []*FieldError) {
	now := make(map[string]string, len(skipped))
	for _, fe := range skipped {
		msg := fe.Field + ": " + fe.Err.Error()
		now[fe.ID()] = msg
		if w.reported[fe.ID()] == msg {
			continue
		}
		w.cfg.Logger.Warn("bmh: BareMetalHost left out of the host table",
			"namespace", fe.Namespace, "name", fe.Name, "field", fe.Field, "err", fe.Err)
	}
	for id := range w.reported {
		if _, still := now[id]; !still {
			w.cfg.Logger.Info("bmh: BareMetalHost no longer left out (fixed or deleted)", "baremetalhost", id)
		}
	}
	w.reported = now
}

// sameHosts reports whether two sorted host lists are equal.
func sameHosts(a, b []boot.Host) bool {
	return slices.EqualFunc(a, b, func(x, y boot.Host) bool {
		return bytes.Equal(x.MAC, y.MAC) && x.Name == y.Name && x.Address == y.Address &&
			x.Gateway == y.Gateway && slices.Equal(x.DNS, y.DNS) && slices.Equal(x.NTP, y.NTP) &&
			x.Hostname == y.Hostname && x.BootMode == y.BootMode && x.Phase == y.Phase
	})
}
