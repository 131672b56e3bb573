package apply_test

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/fluxcd/pkg/ssa"

	"github.com/metalgit/metalgit/apply"
	"github.com/metalgit/metalgit/internal/kubetest"
)

// benchHosts is the fleet size of the apply benchmarks
// (METALGIT_BENCH_HOSTS, default 1000): a BareMetalHost and a Secret each.
func benchHosts(b *testing.B) int {
	if s := os.Getenv("METALGIT_BENCH_HOSTS"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			b.Fatalf("METALGIT_BENCH_HOSTS=%q is not a positive number", s)
		}
		return n
	}
	return 1000
}

func fleetIn(namespace string, n int) []byte {
	return []byte(strings.ReplaceAll(string(fleet(n, nil)), "namespace: "+ns, "namespace: "+namespace))
}

// benchCluster is a real API server with the BareMetalHost CRD; its
// configuration counts write requests as startCluster's does.
func benchCluster(b *testing.B) *cluster {
	b.Helper()
	env := kubetest.Start(b)
	env.InstallCRDs(b, kubetest.CRDFile(b, "metal3.io_baremetalhosts.yaml"))
	c := &cluster{env: env}
	c.cfg, c.writes = countingConfig(env.Config)
	c.cfg.QPS, c.cfg.Burst = 200, 400 // the same for both appliers
	return c
}

func newNamespace(b *testing.B, c *cluster, name string) {
	b.Helper()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}
	if _, err := c.env.Client.CoreV1().Namespaces().Create(context.Background(), ns, metav1.CreateOptions{}); err != nil {
		b.Fatal(err)
	}
}

// fluxApplier applies as Flux's kustomize-controller does on every
// interval: fluxcd/pkg/ssa's ApplyAllStaged.
func fluxApplier(b *testing.B, cfg *rest.Config) *ssa.ResourceManager {
	b.Helper()
	kc, err := client.New(cfg, client.Options{})
	if err != nil {
		b.Fatal(err)
	}
	return ssa.NewResourceManager(kc, nil, ssa.Owner{Field: "kustomize-controller", Group: "kustomize.toolkit.fluxcd.io"})
}

func unstructuredOf(objs []apply.Object) []*unstructured.Unstructured {
	out := make([]*unstructured.Unstructured, len(objs))
	for i, o := range objs {
		out[i] = o.Obj.DeepCopy()
	}
	return out
}

// BenchmarkApplyFirst creates a fleet in a new namespace per iteration:
// metalgit's Applier against fluxcd/pkg/ssa's ApplyAllStaged, on the same
// API server and objects.
func BenchmarkApplyFirst(b *testing.B) {
	n := benchHosts(b)
	c := benchCluster(b)
	round := 0
	b.Run("metalgit", func(b *testing.B) {
		for b.Loop() {
			round++
			space := fmt.Sprintf("m%d", round)
			b.StopTimer()
			newNamespace(b, c, space)
			objs, err := apply.Parse(fleetIn(space, n), space)
			if err != nil {
				b.Fatal(err)
			}
			a, err := apply.New(c.cfg, apply.Config{Site: space})
			if err != nil {
				b.Fatal(err)
			}
			b.StartTimer()
			if _, err := a.Apply(context.Background(), objs); err != nil {
				b.Fatal(err)
			}
			b.StopTimer()
			a.Close()
			b.StartTimer()
		}
		b.ReportMetric(float64(2*n), "objects/op")
	})
	b.Run("fluxcd-ssa", func(b *testing.B) {
		rm := fluxApplier(b, c.cfg)
		for b.Loop() {
			round++
			space := fmt.Sprintf("f%d", round)
			b.StopTimer()
			newNamespace(b, c, space)
			objs, err := apply.Parse(fleetIn(space, n), space)
			if err != nil {
				b.Fatal(err)
			}
			u := unstructuredOf(objs)
			b.StartTimer()
			if _, err := rm.ApplyAllStaged(context.Background(), u, ssa.DefaultApplyOptions()); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(2*n), "objects/op")
	})
}

// BenchmarkApplyNoChange applies a fleet that is already in the cluster
// as it is rendered: metalgit's Applier (its watch says nothing changed)
// against ApplyAllStaged (a dry-run of every object), with the write
// requests each makes per pass.
func BenchmarkApplyNoChange(b *testing.B) {
	n := benchHosts(b)
	c := benchCluster(b)
	b.Run("metalgit", func(b *testing.B) {
		newNamespaceOnce(b, c, "mnc")
		objs, err := apply.Parse(fleetIn("mnc", n), "mnc")
		if err != nil {
			b.Fatal(err)
		}
		a, err := apply.New(c.cfg, apply.Config{Site: "mnc"})
		if err != nil {
			b.Fatal(err)
		}
		defer a.Close()
		if _, err := a.Apply(context.Background(), objs); err != nil {
			b.Fatal(err)
		}
		before := c.writes.Load()
		for b.Loop() {
			if _, err := a.Apply(context.Background(), objs); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(c.writes.Load()-before)/float64(b.N), "writes/op")
	})
	b.Run("fluxcd-ssa", func(b *testing.B) {
		newNamespaceOnce(b, c, "fnc")
		objs, err := apply.Parse(fleetIn("fnc", n), "fnc")
		if err != nil {
			b.Fatal(err)
		}
		rm := fluxApplier(b, c.cfg)
		if _, err := rm.ApplyAllStaged(context.Background(), unstructuredOf(objs), ssa.DefaultApplyOptions()); err != nil {
			b.Fatal(err)
		}
		before := c.writes.Load()
		for b.Loop() {
			if _, err := rm.ApplyAllStaged(context.Background(), unstructuredOf(objs), ssa.DefaultApplyOptions()); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(c.writes.Load()-before)/float64(b.N), "writes/op")
	})
}

// newNamespaceOnce creates name unless it exists (a benchmark function
// runs again for each -count and each b.N probe).
func newNamespaceOnce(b *testing.B, c *cluster, name string) {
	b.Helper()
	if _, err := c.env.Client.CoreV1().Namespaces().Get(context.Background(), name, metav1.GetOptions{}); err == nil {
		return
	}
	newNamespace(b, c, name)
}
