package render_test

import (
	"bytes"
	"errors"
	"io"
	"path/filepath"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/restmapper"

	"github.com/metalgit/metalgit/internal/kubetest"
	"github.com/metalgit/metalgit/render"
)

// siteCluster is an API server with the CRDs (hack/crds.sh) of every kind
// render emits installed, and Flux's HelmRepository (the HelmReleases'
// source) and Kustomization.
type siteCluster struct {
	env    *kubetest.Env
	dyn    dynamic.Interface
	mapper meta.RESTMapper
}

func startSiteCluster(t *testing.T) *siteCluster {
	t.Helper()
	var files []string
	for _, name := range []string{
		"metal3.io_baremetalhosts.yaml",
		"networks-crd.yaml",
		"helm.toolkit.fluxcd.io_helmreleases.yaml",
		"source.toolkit.fluxcd.io_helmrepositories.yaml",
		"kustomize.toolkit.fluxcd.io_kustomizations.yaml",
		"metallb.io_ipaddresspools.yaml",
		"metallb.io_l2advertisements.yaml",
	} {
		files = append(files, kubetest.CRDFile(t, name))
	}
	env := kubetest.Start(t)
	env.InstallCRDs(t, files...)
	disc, err := discovery.NewDiscoveryClientForConfig(env.Config)
	if err != nil {
		t.Fatal(err)
	}
	groups, err := restmapper.GetAPIGroupResources(disc)
	if err != nil {
		t.Fatalf("discovery: %v", err)
	}
	dyn, err := dynamic.NewForConfig(env.Config)
	if err != nil {
		t.Fatal(err)
	}
	return &siteCluster{env: env, dyn: dyn, mapper: restmapper.NewDiscoveryRESTMapper(groups)}
}

// create creates obj with strict field validation (a field the schema
// does not know is refused, not pruned), only as a dry run when dryRun.
func (c *siteCluster) create(t *testing.T, obj *unstructured.Unstructured, dryRun bool) error {
	t.Helper()
	gvk := obj.GroupVersionKind()
	m, err := c.mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
	if err != nil {
		return err
	}
	opts := metav1.CreateOptions{FieldValidation: metav1.FieldValidationStrict}
	if dryRun {
		opts.DryRun = []string{metav1.DryRunAll}
	}
	_, err = c.dyn.Resource(m.Resource).Namespace(obj.GetNamespace()).Create(t.Context(), obj, opts)
	return err
}

// ensureNamespace creates namespace ns unless it exists.
func (c *siteCluster) ensureNamespace(t *testing.T, ns string) {
	t.Helper()
	_, err := c.env.Client.CoreV1().Namespaces().Create(t.Context(),
		&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{})
	if err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatalf("namespace %s: %v", ns, err)
	}
}

// decodeObjects decodes a rendered YAML stream into objects.
func decodeObjects(t *testing.T, data []byte) []*unstructured.Unstructured {
	t.Helper()
	dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(data), 4096)
	var objs []*unstructured.Unstructured
	for {
		u := &unstructured.Unstructured{}
		if err := dec.Decode(&u.Object); errors.Is(err, io.EOF) {
			return objs
		} else if err != nil {
			t.Fatalf("decoding the rendered objects: %v", err)
		}
		if len(u.Object) > 0 {
			objs = append(objs, u)
		}
	}
}

// TestSiteObjectsOnAPIServer renders examples/dc1, whose Site enables
// every deploy component and has two MetalLB pools, and creates every
// rendered object on a real kube-apiserver with the real CRDs installed
// (strict field validation, so an unknown field fails rather than being
// pruned). Then it proves the CRDs' schemas are enforced: a broken copy
// of each kind of the Site's objects is refused, while the unbroken copy
// passes.
func TestSiteObjectsOnAPIServer(t *testing.T) {
	c := startSiteCluster(t)
	out, err := render.Render(loadAt(t, filepath.Join("..", "examples", "dc1")), render.Options{})
	if err != nil {
		t.Fatal(err)
	}
	objs := decodeObjects(t, out)
	created := map[string]int{}
	first := map[string]*unstructured.Unstructured{}
	for _, o := range objs {
		c.ensureNamespace(t, o.GetNamespace())
		if err := c.create(t, o, false); err != nil {
			t.Errorf("the API server refuses %s %s/%s: %v", o.GetAPIVersion(), o.GetKind(), o.GetName(), err)
			continue
		}
		created[o.GetKind()]++
		if first[o.GetKind()] == nil {
			first[o.GetKind()] = o
		}
	}
	t.Logf("created: %v", created)
	for kind, want := range map[string]int{"HelmRelease": 3, "IPAddressPool": 2, "L2Advertisement": 2, "NetworkAttachmentDefinition": 1} {
		if created[kind] != want {
			t.Errorf("created %d %s objects, want %d (dc1's Site)", created[kind], kind, want)
		}
	}
	if created["BareMetalHost"] == 0 {
		t.Error("created no BareMetalHost")
	}
	if t.Failed() {
		return
	}

	ns := c.env.Namespace(t, "rejects")
	for _, tc := range siteRejectCases(t) {
		t.Run(tc.kind+"/"+tc.name, func(t *testing.T) {
			good := first[tc.kind].DeepCopy()
			good.SetNamespace(ns)
			if err := c.create(t, good, true); err != nil {
				t.Fatalf("the unbroken %s is refused: %v", tc.kind, err)
			}
			bad := good.DeepCopy()
			tc.edit(bad.Object)
			err := c.create(t, bad, true)
			if err == nil || !(apierrors.IsInvalid(err) || apierrors.IsBadRequest(err)) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want the API server to refuse it naming %q", err, tc.want)
			}
			t.Logf("refused: %v", err)
		})
	}
}

// rejectCase breaks one of the Site's rendered objects.
type rejectCase struct {
	kind, name string
	edit       func(obj map[string]any)
	want       string // in the API server's error
}

func siteRejectCases(t *testing.T) []rejectCase {
	set := func(obj map[string]any, v any, fields ...string) {
		if err := unstructured.SetNestedField(obj, v, fields...); err != nil {
			t.Fatalf("set %s: %v", strings.Join(fields, "."), err)
		}
	}
	unset := unstructured.RemoveNestedField
	return []rejectCase{
		{"HelmRelease", "interval not a duration", func(o map[string]any) { set(o, "ten minutes", "spec", "interval") }, "spec.interval"},
		{"HelmRelease", "no interval", func(o map[string]any) { unset(o, "spec", "interval") }, "spec.interval: Required"},
		{"HelmRelease", "sourceRef kind not in enum", func(o map[string]any) {
			set(o, "ConfigMap", "spec", "chart", "spec", "sourceRef", "kind")
		}, "spec.chart.spec.sourceRef.kind"},
		{"HelmRelease", "neither chart nor chartRef (CEL)", func(o map[string]any) { unset(o, "spec", "chart") }, "either chart or chartRef must be set"},
		{"HelmRelease", "unknown field", func(o map[string]any) { set(o, "x", "spec", "chart", "spec", "chartName") }, `unknown field "spec.chart.spec.chartName"`},
		{"IPAddressPool", "addresses not a list", func(o map[string]any) { set(o, "10.10.0.100-10.10.0.150", "spec", "addresses") }, "spec.addresses"},
		{"IPAddressPool", "no addresses", func(o map[string]any) { unset(o, "spec", "addresses") }, "spec.addresses: Required"},
		{"IPAddressPool", "autoAssign not a boolean", func(o map[string]any) { set(o, "no", "spec", "autoAssign") }, "spec.autoAssign"},
		{"IPAddressPool", "unknown field", func(o map[string]any) { set(o, true, "spec", "autoassign") }, `unknown field "spec.autoassign"`},
		{"L2Advertisement", "ipAddressPools not a list", func(o map[string]any) { set(o, "default", "spec", "ipAddressPools") }, "spec.ipAddressPools"},
		{"L2Advertisement", "unknown field", func(o map[string]any) { set(o, []any{"default"}, "spec", "ipAddressPool") }, `unknown field "spec.ipAddressPool"`},
	}
}
