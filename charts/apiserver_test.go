package charts_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/restmapper"
	"sigs.k8s.io/yaml"

	"github.com/metalgit/metalgit/apply"
	"github.com/metalgit/metalgit/clusterstatus"
	"github.com/metalgit/metalgit/internal/kubetest"
	"github.com/metalgit/metalgit/render"
)

// cluster is a real API server with the CRDs metalgit's objects need.
type cluster struct {
	env    *kubetest.Env
	dyn    dynamic.Interface
	mapper meta.RESTMapper
}

func startCluster(t *testing.T) *cluster {
	t.Helper()
	env := kubetest.Start(t)
	env.InstallCRDs(t, kubetest.CRDFile(t, "networks-crd.yaml"), kubetest.CRDFile(t, "metal3.io_baremetalhosts.yaml"))
	dyn, err := dynamic.NewForConfig(env.Config)
	if err != nil {
		t.Fatal(err)
	}
	disc, err := discovery.NewDiscoveryClientForConfig(env.Config)
	if err != nil {
		t.Fatal(err)
	}
	return &cluster{env: env, dyn: dyn, mapper: restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(disc))}
}

// namespace creates namespace name with labels.
func (c *cluster) namespace(t *testing.T, name string, labels map[string]string) {
	t.Helper()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels}}
	if _, err := c.env.Client.CoreV1().Namespaces().Create(t.Context(), ns, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
}

// objects splits a manifest into objects.
func objects(t *testing.T, manifest string) []*unstructured.Unstructured {
	t.Helper()
	var out []*unstructured.Unstructured
	dec := utilyaml.NewYAMLOrJSONDecoder(strings.NewReader(manifest), 4096)
	for {
		u := &unstructured.Unstructured{}
		err := dec.Decode(&u.Object)
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatalf("decoding the chart's manifest: %v", err)
		}
		if len(u.Object) > 0 {
			out = append(out, u)
		}
	}
}

// send applies u server-side (field manager helm), as a dry-run unless
// dryRun is false.
func (c *cluster) send(ctx context.Context, u *unstructured.Unstructured, dryRun bool) error {
	gvk := u.GroupVersionKind()
	m, err := c.mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
	if err != nil {
		return err
	}
	var ri dynamic.ResourceInterface = c.dyn.Resource(m.Resource)
	if m.Scope.Name() == meta.RESTScopeNameNamespace {
		ri = c.dyn.Resource(m.Resource).Namespace(u.GetNamespace())
	}
	body, err := json.Marshal(u.Object)
	if err != nil {
		return err
	}
	opts := metav1.PatchOptions{FieldManager: "helm", Force: new(true)}
	if dryRun {
		opts.DryRun = []string{metav1.DryRunAll}
	}
	_, err = ri.Patch(ctx, u.GetName(), types.ApplyPatchType, body, opts)
	return err
}

// podOf makes a Pod of a Deployment's template in its namespace, so that
// the namespace's Pod Security admission judges it.
func podOf(t *testing.T, d *unstructured.Unstructured) *unstructured.Unstructured {
	t.Helper()
	tmpl, ok, err := unstructured.NestedMap(d.Object, "spec", "template")
	if err != nil || !ok {
		t.Fatalf("Deployment %s has no pod template: %v", d.GetName(), err)
	}
	pod := &unstructured.Unstructured{Object: tmpl}
	pod.SetAPIVersion("v1")
	pod.SetKind("Pod")
	pod.SetName(d.GetName())
	pod.SetNamespace(d.GetNamespace())
	return pod
}

// TestChartsOnAPIServer renders both charts (the boot proxy from the
// values metalgit render generates for examples/dc1, with its Multus
// attachment and as hostNetwork) and sends every object to a real API
// server as a server-side dry-run; each Deployment's pod is judged by Pod
// Security admission: the controller and the Multus boot proxy at
// "restricted", the hostNetwork boot proxy at "privileged" only.
func TestChartsOnAPIServer(t *testing.T) {
	c := startCluster(t)
	c.env.InstallCRDs(t, kubetest.CRDFile(t, "monitoring.coreos.com_servicemonitors.yaml"))
	c.namespace(t, "metalgit-system", map[string]string{"pod-security.kubernetes.io/enforce": "restricted"})
	c.namespace(t, "metal3-system", map[string]string{"pod-security.kubernetes.io/enforce": "restricted"})
	c.namespace(t, "boot-hostnet", map[string]string{"pod-security.kubernetes.io/enforce": "baseline"})

	withMonitor := controllerValues()
	withMonitor["serviceMonitor"] = map[string]any{"enabled": true, "labels": map[string]any{"release": "prometheus"}}
	hostNet := bootProxyValues(t)
	hostNet["attachment"] = map[string]any{"type": "hostNetwork"}
	hostNet["hostNetwork"] = true
	hostNet["interface"] = "eno2"
	cases := []struct {
		name, chart, namespace string
		values                 map[string]any
		podRefused             string // "" when the pod is admitted
	}{
		{"controller", "metalgit", "metalgit-system", withMonitor, ""},
		{"boot proxy, Multus", render.ComponentBootProxy, "metal3-system", bootProxyValues(t), ""},
		{"boot proxy, hostNetwork", render.ComponentBootProxy, "boot-hostnet", hostNet, "host namespaces"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			manifest, err := template(t, loadChart(t, tc.chart), tc.namespace, tc.values)
			if err != nil {
				t.Fatal(err)
			}
			objs := objects(t, manifest)
			kinds := map[string]int{}
			for _, u := range objs {
				kinds[u.GetKind()]++
				if err := c.send(t.Context(), u, true); err != nil {
					t.Errorf("%s %s refused: %v", u.GetKind(), u.GetName(), err)
				}
				if u.GetKind() != "Deployment" {
					continue
				}
				err := c.send(t.Context(), podOf(t, u), true)
				switch {
				case tc.podRefused == "" && err != nil:
					t.Errorf("the pod of %s is refused: %v", u.GetName(), err)
				case tc.podRefused != "" && (err == nil || !strings.Contains(err.Error(), tc.podRefused)):
					t.Errorf("the pod of %s should be refused for %q: %v", u.GetName(), tc.podRefused, err)
				}
			}
			if kinds["Deployment"] != 1 || kinds["Service"] != 1 || kinds["ServiceAccount"] != 1 ||
				(tc.chart == "metalgit" && (kinds["ServiceMonitor"] != 1 || kinds["PodDisruptionBudget"] != 1)) {
				t.Errorf("objects by kind: %v", kinds)
			}
		})
	}
}

// TestControllerRBACSuffices installs the controller chart's RBAC for real
// and does, as its ServiceAccount, what metalgit serve does: apply
// examples/dc1 (server-side apply, the inventory ConfigMap), prune a host
// removed from it, read status, hold the leader election Lease. Nothing
// is refused: the ClusterRole and Roles are enough; and the account can
// do nothing else it was not given (it cannot read ConfigMaps elsewhere).
func TestControllerRBACSuffices(t *testing.T) {
	c := startCluster(t)
	const ns = "metalgit-system"
	c.namespace(t, ns, nil)
	c.namespace(t, "metal3-system", nil)
	manifest, err := template(t, loadChart(t, "metalgit"), ns, controllerValues())
	if err != nil {
		t.Fatal(err)
	}
	sa := ""
	for _, u := range objects(t, manifest) {
		switch u.GetKind() {
		case "ServiceAccount":
			sa = u.GetName()
		case "ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding":
		default:
			continue
		}
		if err := c.send(t.Context(), u, false); err != nil {
			t.Fatalf("creating %s %s: %v", u.GetKind(), u.GetName(), err)
		}
	}
	if sa == "" {
		t.Fatal("the chart makes no ServiceAccount")
	}
	as := rest.CopyConfig(c.env.Config)
	as.Impersonate = rest.ImpersonationConfig{UserName: "system:serviceaccount:" + ns + ":" + sa,
		Groups: []string{"system:serviceaccounts", "system:serviceaccounts:" + ns, "system:authenticated"}}

	inv, st := dc1(t)
	rendered, err := render.Render(render.Input{Inventory: inv, State: st}, render.Options{})
	if err != nil {
		t.Fatal(err)
	}
	rendered = c.served(t, rendered)
	cl := apply.NewCluster(as, apply.Config{InventoryNamespace: ns, Workers: 4})
	defer cl.Close()
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	res, err := cl.Apply(ctx, "dc1", rendered)
	if err != nil {
		t.Fatalf("apply as the chart's ServiceAccount: %v", err)
	}
	if res.Counts[apply.Created] == 0 {
		t.Fatalf("nothing created: %v", res.Counts)
	}

	// Prune: server-10 leaves.
	var kept [][]byte
	for _, doc := range bytes.Split(rendered, []byte("\n---\n")) {
		if !bytes.Contains(doc, []byte("server-10")) {
			kept = append(kept, doc)
		}
	}
	res, err = cl.Apply(ctx, "dc1", bytes.Join(kept, []byte("\n---\n")))
	if err != nil || res.Counts[apply.Pruned] == 0 {
		t.Fatalf("prune as the chart's ServiceAccount: %v %v", err, res)
	}

	dyn, err := dynamic.NewForConfig(as)
	if err != nil {
		t.Fatal(err)
	}
	kube, err := kubernetes.NewForConfig(as)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := clusterstatus.Collect(ctx, dyn, kube, clusterstatus.Options{Site: "dc1"})
	if err != nil || len(rep.Hosts) == 0 {
		t.Fatalf("status as the chart's ServiceAccount: %v %+v", err, rep)
	}
	for _, h := range rep.Hosts {
		for _, w := range h.Warnings {
			if strings.Contains(w, "forbidden") {
				t.Errorf("status cannot read %s's BMC Secret: %s", h.Name, w)
			}
		}
	}

	leases := kube.CoordinationV1().Leases(ns)
	lease, err := leases.Create(ctx, &coordinationv1.Lease{ObjectMeta: metav1.ObjectMeta{Name: "metalgit"},
		Spec: coordinationv1.LeaseSpec{HolderIdentity: new("replica-a")}}, metav1.CreateOptions{})
	if err == nil {
		lease.Spec.HolderIdentity = new("replica-b")
		_, err = leases.Update(ctx, lease, metav1.UpdateOptions{})
	}
	if err == nil {
		_, err = leases.Get(ctx, "metalgit", metav1.GetOptions{})
	}
	if err != nil {
		t.Errorf("leader election Lease as the chart's ServiceAccount: %v", err)
	}

	// Least privilege: nothing beyond the list.
	if _, err := kube.CoreV1().ConfigMaps("metal3-system").List(ctx, metav1.ListOptions{}); err == nil {
		t.Error("the ServiceAccount may list ConfigMaps outside its inventory namespace")
	}
	if _, err := kube.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{}); err == nil {
		t.Error("the ServiceAccount may list Pods")
	}
}

// served keeps the documents of kinds the API server serves (the test
// cluster may lack the Flux and MetalLB CRDs).
func (c *cluster) served(t *testing.T, manifests []byte) []byte {
	t.Helper()
	var out [][]byte
	for _, doc := range bytes.Split(manifests, []byte("\n---\n")) {
		var tm metav1.TypeMeta
		if err := yaml.Unmarshal(doc, &tm); err != nil {
			t.Fatal(err)
		}
		gvk := tm.GroupVersionKind()
		if _, err := c.mapper.RESTMapping(gvk.GroupKind(), gvk.Version); err == nil {
			out = append(out, doc)
		}
	}
	return bytes.Join(out, []byte("\n---\n"))
}

// TestPrometheusRuleOnAPIServer: the alerts of deploy/observability are a
// PrometheusRule the Prometheus Operator's CRD accepts.
func TestPrometheusRuleOnAPIServer(t *testing.T) {
	c := startCluster(t)
	c.env.InstallCRDs(t, kubetest.CRDFile(t, "monitoring.coreos.com_prometheusrules.yaml"))
	c.namespace(t, "monitoring", nil)
	b, err := os.ReadFile(filepath.Join("..", "deploy", "observability", "prometheus-rules.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	objs := objects(t, string(b))
	if len(objs) != 1 || objs[0].GetKind() != "PrometheusRule" {
		t.Fatalf("prometheus-rules.yaml holds %d objects, want one PrometheusRule", len(objs))
	}
	objs[0].SetNamespace("monitoring")
	if err := c.send(t.Context(), objs[0], true); err != nil {
		t.Errorf("PrometheusRule refused: %v", err)
	}
	bad := objs[0].DeepCopy()
	groups, _, _ := unstructured.NestedSlice(bad.Object, "spec", "groups")
	first, ok := groups[0].(map[string]any)
	if !ok {
		t.Fatalf("spec.groups[0] is %T", groups[0])
	}
	first["interval"] = "often"
	if err := unstructured.SetNestedSlice(bad.Object, groups, "spec", "groups"); err != nil {
		t.Fatal(err)
	}
	if err := c.send(t.Context(), bad, true); err == nil || !strings.Contains(err.Error(), "interval") {
		t.Errorf("a PrometheusRule with interval \"often\" was accepted: %v", err)
	}
}
