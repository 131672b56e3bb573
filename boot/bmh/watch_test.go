package bmh_test

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"
	clocktesting "k8s.io/utils/clock/testing"

	"github.com/metalgit/metalgit/boot"
	"github.com/metalgit/metalgit/boot/bmh"
	"github.com/metalgit/metalgit/internal/kubetest"
	"github.com/metalgit/metalgit/internal/testlog"
)

const crdFile = "metal3.io_baremetalhosts.yaml"

// TestWatch runs the watch against a real kube-apiserver: first without
// the BareMetalHost CRD, then with it.
func TestWatch(t *testing.T) {
	crd := kubetest.CRDFile(t, crdFile)
	env := kubetest.Start(t)

	t.Run("missing CRD", func(t *testing.T) {
		store := &boot.Store{}
		err := bmh.Run(t.Context(), bmh.Config{RESTConfig: env.Config, Store: store, Logger: testLogger(t, nil)})
		if err == nil || !strings.Contains(err.Error(), "BareMetalHost CRD") || !strings.Contains(err.Error(), "not installed") {
			t.Fatalf("Run without the CRD: error %v, want one saying the BareMetalHost CRD is not installed", err)
		}
		if store.Load() != nil {
			t.Error("Run without the CRD stored a table")
		}
	})

	env.InstallCRDs(t, crd)
	client, err := dynamic.NewForConfig(env.Config)
	if err != nil {
		t.Fatal(err)
	}
	k := &kube{t: t, client: client}
	t.Run("forbidden", func(t *testing.T) {
		cfg := env.UserConfig(t, "nobody")
		err := bmh.Run(t.Context(), bmh.Config{RESTConfig: cfg, Namespace: "fleet", Store: &boot.Store{}, Logger: testLogger(t, nil)})
		if err == nil || !strings.Contains(err.Error(), "not allowed to list BareMetalHosts in namespace fleet") {
			t.Fatalf("Run as a user without rights: error %v, want one saying listing is not allowed", err)
		}
	})
	t.Run("namespace", func(t *testing.T) { testNamespace(t, env, k.with(t)) })
	t.Run("all namespaces", func(t *testing.T) { testAllNamespaces(t, env, k.with(t)) })
	t.Run("hostile hosts", func(t *testing.T) { testHostile(t, env, k.with(t)) })
}

// testHostile: BareMetalHosts the API server accepts but the proxy must
// not serve (a broadcast or multicast boot MAC, a machine label that is no
// DNS name) are left out, logged and counted in the metric by field.
func testHostile(t *testing.T, env *kubetest.Env, k *kube) {
	ns := env.Namespace(t, "hostile")
	ip := func(a string) map[string]string { return map[string]string{bmh.AnnotationIPAddress: a} }
	label := func(v string) func(*unstructured.Unstructured) {
		return func(o *unstructured.Unstructured) { o.SetLabels(map[string]string{bmh.LabelMachine: v}) }
	}
	k.create(ns, "good", "52:54:00:00:03:01", ip("10.30.0.1/24"), nil)
	k.create(ns, "bcast", "ff:ff:ff:ff:ff:ff", ip("10.30.0.2/24"), nil)
	k.create(ns, "mcast", "01:00:5E:00:00:01", ip("10.30.0.3/24"), nil)
	k.create(ns, "upper", "52:54:00:00:03:04", ip("10.30.0.4/24"), label("Worker_4"))
	k.create(ns, "dots", "52:54:00:00:03:05", ip("10.30.0.5/24"), label("worker..5"))
	logs := &testlog.Buffer{}
	w := startWatch(t, env.Config, ns, logs)
	w.waitFor("the good host alone", func(tb *boot.Table) error { return wantHosts(tb, ns+"/good") })
	w.wantSkipped(
		ns+"/bcast spec.bootMACAddress: MAC ff:ff:ff:ff:ff:ff is the broadcast address; use the MAC address of the host's boot interface",
		ns+"/dots metadata.labels[metalgit.dev/machine]: hostname \"worker..5\" is not a DNS name: label 2 is empty",
		ns+"/mcast spec.bootMACAddress: MAC 01:00:5e:00:00:01 is a multicast address",
		ns+"/upper metadata.labels[metalgit.dev/machine]: hostname \"Worker_4\" is not a DNS name: upper-case 'W' at byte 0",
	)
	families, err := w.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, f := range families {
		if f.GetName() == bmh.MetricSkipped {
			for _, m := range f.GetMetric() {
				if v := m.GetGauge().GetValue(); v != 0 {
					got[m.GetLabel()[0].GetValue()] = v
				}
			}
		}
	}
	want := map[string]float64{bmh.FieldBootMAC: 2, bmh.LabelField(bmh.LabelMachine): 2}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("%s (-want +got):\n%s", bmh.MetricSkipped, diff)
	}
}

// testNamespace walks one namespace's BareMetalHosts through creation,
// annotation and status changes and deletion.
func testNamespace(t *testing.T, env *kubetest.Env, k *kube) {
	ns, other := env.Namespace(t, "fleet"), env.Namespace(t, "other")
	k.create(ns, "node-1", "52:54:00:00:01:01", map[string]string{bmh.AnnotationIPAddress: "192.168.100.11/24"}, nil)
	k.create(ns, "node-2", "52:54:00:00:01:02", map[string]string{
		bmh.AnnotationIPAddress: "192.168.100.12/24", bmh.AnnotationGateway: "192.168.100.1",
		bmh.AnnotationDNSServers: "192.168.100.2,9.9.9.9", bmh.AnnotationNTPServers: "192.168.100.3",
	}, func(o *unstructured.Unstructured) {
		o.SetLabels(map[string]string{bmh.LabelMachine: "worker-2", bmh.LabelHost: "node-2"})
		_ = unstructured.SetNestedField(o.Object, "legacy", "spec", "bootMode")
	})
	k.create(ns, "bad", "52:54:00:00:01:03", map[string]string{bmh.AnnotationIPAddress: "192.168.100.13"}, nil)
	k.create(other, "elsewhere", "52:54:00:00:01:04", map[string]string{bmh.AnnotationIPAddress: "192.168.100.14/24"}, nil)

	logs := &testlog.Buffer{}
	w := startWatch(t, env.Config, ns, logs)

	// The initial list: node-1 and node-2; bad is left out, logged and
	// counted; the other namespace is not watched.
	w.waitFor("the initial table", func(tb *boot.Table) error {
		return wantHosts(tb, ns+"/node-1", ns+"/node-2")
	})
	node2 := boot.Host{
		MAC: mac(t, "52:54:00:00:01:02"), Name: ns + "/node-2", Address: netip.MustParsePrefix("192.168.100.12/24"),
		Gateway: netip.MustParseAddr("192.168.100.1"), DNS: addrs("192.168.100.2", "9.9.9.9"), NTP: addrs("192.168.100.3"),
		Hostname: "worker-2", BootMode: boot.BootModeLegacy, Phase: boot.PhaseInspect,
	}
	w.waitFor("node-2 mapped", hostIs(node2))
	w.waitFor("node-1 hostname", hostMatches(ns+"/node-1", func(h boot.Host) bool { return h.Hostname == "node-1" && h.Phase == boot.PhaseInspect }))
	w.wantSkipped(ns + "/bad metadata.annotations[metalgit.dev/ip-address]: ")

	// An annotation changes.
	k.patchAnnotation(ns, "node-1", bmh.AnnotationIPAddress, "192.168.100.21/24")
	w.waitFor("node-1's new address", hostMatches(ns+"/node-1", func(h boot.Host) bool {
		return h.Address == netip.MustParsePrefix("192.168.100.21/24")
	}))

	// The provisioning state changes, through the status subresource.
	k.setState(ns, "node-2", "provisioning")
	w.waitFor("node-2 deploying", hostMatches(ns+"/node-2", func(h boot.Host) bool { return h.Phase == boot.PhaseDeploy }))
	k.setState(ns, "node-2", "provisioned")
	w.waitFor("node-2 provisioned", hostMatches(ns+"/node-2", func(h boot.Host) bool { return h.Phase == boot.PhaseNone }))

	// The malformed annotation is fixed; a host is added; one is deleted.
	k.patchAnnotation(ns, "bad", bmh.AnnotationIPAddress, "192.168.100.13/24")
	k.create(ns, "node-3", "52:54:00:00:01:05", map[string]string{bmh.AnnotationIPAddress: "192.168.100.15/24"}, nil)
	w.waitFor("bad fixed, node-3 added", func(tb *boot.Table) error {
		return wantHosts(tb, ns+"/bad", ns+"/node-1", ns+"/node-2", ns+"/node-3")
	})
	w.wantSkipped()
	k.delete(ns, "node-1")
	w.waitFor("node-1 deleted", func(tb *boot.Table) error {
		return wantHosts(tb, ns+"/bad", ns+"/node-2", ns+"/node-3")
	})
	if tb, _ := w.last.Load().(*boot.Table); tb != w.store.Load() {
		t.Error("OnChange's last table is not the stored one")
	}
}

// testAllNamespaces watches every namespace.
func testAllNamespaces(t *testing.T, env *kubetest.Env, k *kube) {
	a, b := env.Namespace(t, "site-a"), env.Namespace(t, "site-b")
	k.create(a, "host", "52:54:00:00:02:01", map[string]string{bmh.AnnotationIPAddress: "10.20.0.1/24"}, nil)
	k.create(b, "host", "52:54:00:00:02:02", map[string]string{bmh.AnnotationIPAddress: "10.20.0.2/24"}, nil)
	w := startWatch(t, env.Config, "", &testlog.Buffer{})
	w.waitFor("hosts of both namespaces", func(tb *boot.Table) error {
		return hasHosts(tb, a+"/host", b+"/host")
	})
	k.delete(b, "host")
	k.create(b, "new", "52:54:00:00:02:03", map[string]string{bmh.AnnotationIPAddress: "10.20.0.3/24"}, nil)
	w.waitFor("b/host replaced by b/new", func(tb *boot.Table) error {
		if _, ok := tb.Lookup(mac(t, "52:54:00:00:02:02")); ok {
			return fmt.Errorf("%s/host is still in the table", b)
		}
		return hasHosts(tb, a+"/host", b+"/new")
	})
}

func TestRunUnreachable(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	host := "http://" + l.Addr().String()
	_ = l.Close()
	err = bmh.Run(t.Context(), bmh.Config{RESTConfig: &rest.Config{Host: host}, Store: &boot.Store{}, Logger: testLogger(t, nil)})
	if err == nil || !strings.Contains(err.Error(), "reachable") || !strings.Contains(err.Error(), host) {
		t.Fatalf("Run against %s: error %v, want one saying the API is not reachable", host, err)
	}
}

func TestRunConfig(t *testing.T) {
	err := bmh.Run(t.Context(), bmh.Config{})
	if err == nil || !strings.Contains(err.Error(), "RESTConfig") || !strings.Contains(err.Error(), "Store") {
		t.Fatalf("Run(Config{}) = %v, want an error naming RESTConfig and Store", err)
	}
}

// debounce is the watch's Debounce in the tests: an hour, so that only
// the fake clock (stepped by waitFor) ends it.
const debounce = time.Hour

// watch is a running bmh.Run.
type watch struct {
	t       *testing.T
	store   *boot.Store
	clock   *clocktesting.FakeClock
	reg     *prometheus.Registry
	skipped atomic.Pointer[[]*bmh.FieldError] // of the last build
	last    atomic.Value                      // *boot.Table
}

// startWatch runs bmh.Run until the test ends; it must then return nil.
func startWatch(t *testing.T, cfg *rest.Config, namespace string, logs *testlog.Buffer) *watch {
	w := &watch{t: t, store: &boot.Store{}, clock: clocktesting.NewFakeClock(time.Now()), reg: prometheus.NewRegistry()}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- bmh.Run(ctx, bmh.WithClock(bmh.Config{
			RESTConfig: cfg, Namespace: namespace, Store: w.store, Logger: testLogger(t, logs),
			OnChange:   func(tb *boot.Table) { w.last.Store(tb) },
			OnSkipped:  func(s []*bmh.FieldError) { w.skipped.Store(&s) },
			Debounce:   debounce,
			Registerer: w.reg,
		}, w.clock))
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Run: %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Error("Run did not return 10s after its context ended")
		}
	})
	return w
}

// wantSkipped checks the BareMetalHosts the last build left out, each as
// "namespace/name field: error", sorted; an entry matches an error that
// starts with it.
func (w *watch) wantSkipped(want ...string) {
	w.t.Helper()
	var got []string
	if s := w.skipped.Load(); s != nil {
		for _, fe := range *s {
			got = append(got, fe.ID()+" "+fe.Field+": "+fe.Err.Error())
		}
	}
	slices.Sort(got)
	ok := len(got) == len(want)
	for i := 0; ok && i < len(got); i++ {
		ok = strings.HasPrefix(got[i], want[i])
	}
	if !ok {
		w.t.Errorf("BareMetalHosts left out:\n  %s\nwant:\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
}

// waitFor polls the stored table until check accepts it, ending every
// debounce the watch waits out on the way.
func (w *watch) waitFor(what string, check func(*boot.Table) error) {
	w.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		err := check(w.store.Load())
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			w.t.Fatalf("waiting for %s: %v", what, err)
		}
		if w.clock.HasWaiters() {
			w.clock.Step(debounce)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func names(tb *boot.Table) []string {
	var out []string
	for _, h := range tb.Hosts() {
		out = append(out, h.Name)
	}
	return out
}

// wantHosts checks that tb holds exactly the hosts named.
func wantHosts(tb *boot.Table, want ...string) error {
	if got := names(tb); strings.Join(got, " ") != strings.Join(want, " ") {
		return fmt.Errorf("hosts %v, want %v", got, want)
	}
	return nil
}

// hasHosts checks that tb holds the hosts named, among others.
func hasHosts(tb *boot.Table, want ...string) error {
	have := map[string]bool{}
	for _, n := range names(tb) {
		have[n] = true
	}
	for _, n := range want {
		if !have[n] {
			return fmt.Errorf("no host %s in %v", n, names(tb))
		}
	}
	return nil
}

func find(tb *boot.Table, name string) (boot.Host, error) {
	for _, h := range tb.Hosts() {
		if h.Name == name {
			return h, nil
		}
	}
	return boot.Host{}, fmt.Errorf("no host %s in %v", name, names(tb))
}

func hostMatches(name string, ok func(boot.Host) bool) func(*boot.Table) error {
	return func(tb *boot.Table) error {
		h, err := find(tb, name)
		if err != nil {
			return err
		}
		if !ok(h) {
			return fmt.Errorf("host %s is %+v", name, h)
		}
		return nil
	}
}

func hostIs(want boot.Host) func(*boot.Table) error {
	return func(tb *boot.Table) error {
		got, ok := tb.Lookup(want.MAC)
		if !ok {
			return fmt.Errorf("no host with MAC %s in %v", want.MAC, names(tb))
		}
		if g, w := fmt.Sprintf("%+v", got), fmt.Sprintf("%+v", want); g != w {
			return fmt.Errorf("host\n  %s, want\n  %s", g, w)
		}
		return nil
	}
}

func mac(t *testing.T, s string) net.HardwareAddr {
	t.Helper()
	m, err := net.ParseMAC(s)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func addrs(ss ...string) []netip.Addr {
	out := make([]netip.Addr, len(ss))
	for i, s := range ss {
		out[i] = netip.MustParseAddr(s)
	}
	return out
}

// kube creates and changes BareMetalHosts.
type kube struct {
	t      *testing.T
	client dynamic.Interface
}

func (k *kube) with(t *testing.T) *kube { return &kube{t: t, client: k.client} }

func (k *kube) bmhs(ns string) dynamic.ResourceInterface {
	return k.client.Resource(bmh.Resource()).Namespace(ns)
}

func (k *kube) create(ns, name, bootMAC string, ann map[string]string, edit func(*unstructured.Unstructured)) {
	k.t.Helper()
	obj := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "metal3.io/v1alpha1",
		"kind":       "BareMetalHost",
		"metadata":   map[string]any{"name": name, "namespace": ns},
		"spec":       map[string]any{"online": false, "bootMACAddress": bootMAC},
	}}
	obj.SetAnnotations(ann)
	if edit != nil {
		edit(obj)
	}
	if _, err := k.bmhs(ns).Create(k.t.Context(), obj, metav1.CreateOptions{}); err != nil {
		k.t.Fatalf("create BareMetalHost %s/%s: %v", ns, name, err)
	}
}

func (k *kube) get(ns, name string) *unstructured.Unstructured {
	k.t.Helper()
	obj, err := k.bmhs(ns).Get(k.t.Context(), name, metav1.GetOptions{})
	if err != nil {
		k.t.Fatalf("get BareMetalHost %s/%s: %v", ns, name, err)
	}
	return obj
}

func (k *kube) patchAnnotation(ns, name, key, value string) {
	k.t.Helper()
	obj := k.get(ns, name)
	ann := obj.GetAnnotations()
	ann[key] = value
	obj.SetAnnotations(ann)
	if _, err := k.bmhs(ns).Update(k.t.Context(), obj, metav1.UpdateOptions{}); err != nil {
		k.t.Fatalf("update BareMetalHost %s/%s: %v", ns, name, err)
	}
}

// setState sets status.provisioning.state as the operator would, with the
// other status fields the CRD requires.
func (k *kube) setState(ns, name, state string) {
	k.t.Helper()
	obj := k.get(ns, name)
	obj.Object["status"] = map[string]any{
		"errorCount": int64(0), "errorMessage": "", "operationalStatus": "OK", "poweredOn": false,
		"provisioning": map[string]any{"ID": "", "state": state},
	}
	if _, err := k.bmhs(ns).UpdateStatus(k.t.Context(), obj, metav1.UpdateOptions{}); err != nil {
		k.t.Fatalf("update the status of BareMetalHost %s/%s: %v", ns, name, err)
	}
}

func (k *kube) delete(ns, name string) {
	k.t.Helper()
	if err := k.bmhs(ns).Delete(k.t.Context(), name, metav1.DeleteOptions{}); err != nil {
		k.t.Fatalf("delete BareMetalHost %s/%s: %v", ns, name, err)
	}
}

// testLogger logs JSON lines to the test log and, when buf is set, to buf.
func testLogger(t *testing.T, buf *testlog.Buffer) *slog.Logger {
	return slog.New(slog.NewJSONHandler(&testWriter{t: t, buf: buf}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type testWriter struct {
	t   *testing.T
	buf *testlog.Buffer
}

func (w *testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSuffix(string(p), "\n"))
	if w.buf != nil {
		return w.buf.Write(p)
	}
	return len(p), nil
}
