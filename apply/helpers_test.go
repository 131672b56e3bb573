package apply_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"

	"github.com/metalgit/metalgit/apply"
	"github.com/metalgit/metalgit/internal/kubetest"
)

const ns = "metal3-system"

var (
	bmhGVR    = schema.GroupVersionResource{Group: "metal3.io", Version: "v1alpha1", Resource: "baremetalhosts"}
	secretGVR = schema.GroupVersionResource{Version: "v1", Resource: "secrets"}
)

// cluster is a real API server with the BareMetalHost CRD and the
// namespace the objects live in.
type cluster struct {
	env    *kubetest.Env
	dyn    dynamic.Interface
	writes *atomic.Int64
	cfg    *rest.Config
}

func startCluster(t *testing.T) *cluster {
	t.Helper()
	env := kubetest.Start(t)
	env.InstallCRDs(t, kubetest.CRDFile(t, "metal3.io_baremetalhosts.yaml"))
	dyn := dynamic.NewForConfigOrDie(env.Config)
	nsObj := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "v1", "kind": "Namespace", "metadata": map[string]any{"name": ns}}}
	if _, err := dyn.Resource(schema.GroupVersionResource{Version: "v1", Resource: "namespaces"}).Create(context.Background(), nsObj, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	cfg, writes := countingConfig(env.Config)
	return &cluster{env: env, dyn: dyn, writes: writes, cfg: cfg}
}

// countingConfig is a copy of rc that counts its write requests (every
// method but GET).
func countingConfig(rc *rest.Config) (*rest.Config, *atomic.Int64) {
	writes := &atomic.Int64{}
	cfg := rest.CopyConfig(rc)
	cfg.WrapTransport = func(rt http.RoundTripper) http.RoundTripper {
		return roundTripFunc(func(r *http.Request) (*http.Response, error) {
			if r.Method != http.MethodGet {
				writes.Add(1)
			}
			return rt.RoundTrip(r)
		})
	}
	return cfg, writes
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func (c *cluster) applier(t *testing.T, mod func(*apply.Config)) *apply.Applier {
	t.Helper()
	cfg := apply.Config{Site: "dc1"}
	if mod != nil {
		mod(&cfg)
	}
	a, err := apply.New(c.cfg, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(a.Close)
	return a
}

// fleet renders n hosts: a BareMetalHost and its BMC Secret each.
func fleet(n int, mod func(i int, b *strings.Builder)) []byte {
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, `---
apiVersion: metal3.io/v1alpha1
kind: BareMetalHost
metadata:
  name: server-%02d
  namespace: %s
  labels:
    role: worker
spec:
  online: true
  bootMACAddress: "aa:bb:cc:dd:00:%02x"
  bmc:
    address: redfish://10.0.0.%d/redfish/v1/Systems/1
    credentialsName: server-%02d-bmc
`, i, ns, i, i+1, i)
		if mod != nil {
			mod(i, &b)
		}
		fmt.Fprintf(&b, `---
apiVersion: v1
kind: Secret
metadata:
  name: server-%02d-bmc
  namespace: %s
type: Opaque
stringData:
  username: admin
  password: secret-%d
`, i, ns, i)
	}
	return []byte(b.String())
}

func parse(t *testing.T, stream []byte) []apply.Object {
	t.Helper()
	objs, err := apply.Parse(stream, "dc1")
	if err != nil {
		t.Fatal(err)
	}
	return objs
}

// run applies stream and returns the result and the write requests it
// made.
func (c *cluster) run(t *testing.T, a *apply.Applier, stream []byte) (*apply.Result, int64, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	before := c.writes.Load()
	res, err := a.Apply(ctx, parse(t, stream))
	return res, c.writes.Load() - before, err
}

func (c *cluster) get(t *testing.T, gvr schema.GroupVersionResource, name string) *unstructured.Unstructured {
	t.Helper()
	u, err := c.dyn.Resource(gvr).Namespace(ns).Get(context.Background(), name, metav1.GetOptions{})
	if err != nil {
		t.Fatalf("get %s %s: %v", gvr.Resource, name, err)
	}
	return u
}

func outcomeOf(res *apply.Result, kind, name string) apply.Outcome {
	for _, o := range res.Objects {
		if o.Key.Kind == kind && o.Key.Name == name {
			return o.Outcome
		}
	}
	return ""
}
