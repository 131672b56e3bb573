package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"

	corev1 "k8s.io/api/core/v1"

	"github.com/metalgit/metalgit/internal/bmotest"
	"github.com/metalgit/metalgit/internal/kubetest"
	"github.com/metalgit/metalgit/render"
)

// metal3CRDs are the eleven CRDs the Bare Metal Operator watches.
var metal3CRDs = []string{"baremetalhosts", "bmceventsubscriptions", "dataimages", "firmwareschemas", "hardwaredata",
	"hostclaims", "hostdeploypolicies", "hostfirmwarecomponents", "hostfirmwaresettings", "hostupdatepolicies",
	"preprovisioningimages"}

var bmhGVR = schema.GroupVersionResource{Group: "metal3.io", Version: "v1alpha1", Resource: "baremetalhosts"}

// siteCRDs returns the CRD files, besides the Metal3 ones, of the objects
// examples/dc1 renders: the boot proxy's NetworkAttachmentDefinition, the
// deploy components' Flux HelmReleases and the MetalLB pools'
// IPAddressPools and L2Advertisements.
func siteCRDs(t *testing.T) []string {
	t.Helper()
	return []string{kubetest.CRDFile(t, "networks-crd.yaml"), kubetest.CRDFile(t, "helm.toolkit.fluxcd.io_helmreleases.yaml"),
		kubetest.CRDFile(t, "metallb.io_ipaddresspools.yaml"), kubetest.CRDFile(t, "metallb.io_l2advertisements.yaml")}
}

// siteNamespaces creates the namespaces examples/dc1's objects go to:
// metal3-system (the Site's) and metallb-system (MetalLB's, which
// installing MetalLB creates).
func siteNamespaces(t *testing.T, env *kubetest.Env) {
	t.Helper()
	for _, name := range []string{"metal3-system", render.MetalLBNamespace} {
		ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}
		if _, err := env.Client.CoreV1().Namespaces().Create(t.Context(), ns, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
}

// operatorCluster is a real API server with the CRDs of everything
// examples/dc1 renders (siteCRDs and the Metal3 ones) and the real Bare
// Metal Operator in its test mode; it returns the administrator's
// kubeconfig.
func operatorCluster(t *testing.T) (string, dynamic.Interface, *kubetest.Env) {
	t.Helper()
	env := kubetest.Start(t)
	files := siteCRDs(t)
	for _, c := range metal3CRDs {
		files = append(files, kubetest.CRDFile(t, "metal3.io_"+c+".yaml"))
	}
	env.InstallCRDs(t, files...)
	siteNamespaces(t, env)
	kubeconfig := env.Kubeconfig(t, "admin", "system:masters")
	bmotest.Start(t, kubeconfig)
	return kubeconfig, dynamic.NewForConfigOrDie(env.Config), env
}

// bmcSecrets creates the BMC credentials of the hosts named, as an
// operator does by hand (metalgit never holds BMC passwords).
func bmcSecrets(t *testing.T, env *kubetest.Env, hosts ...string) {
	t.Helper()
	for _, h := range hosts {
		s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: h + "-bmc", Namespace: "metal3-system"},
			StringData: map[string]string{"username": "admin", "password": "pw-" + h}}
		if _, err := env.Client.CoreV1().Secrets("metal3-system").Create(t.Context(), s, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
}

func provisioningState(t *testing.T, dyn dynamic.Interface, name string) (string, error) {
	t.Helper()
	u, err := dyn.Resource(bmhGVR).Namespace("metal3-system").Get(t.Context(), name, metav1.GetOptions{})
	if err != nil {
		return "", err
	}
	state, _, _ := unstructured.NestedString(u.Object, "status", "provisioning", "state")
	return state, nil
}

func waitState(t *testing.T, dyn dynamic.Interface, name string, want ...string) {
	t.Helper()
	deadline := time.Now().Add(3 * time.Minute)
	var state string
	for time.Now().Before(deadline) {
		s, err := provisioningState(t, dyn, name)
		if err != nil {
			t.Fatal(err)
		}
		state = s
		for _, w := range want {
			if state == w {
				return
			}
		}
		time.Sleep(500 * time.Millisecond)
	}
	t.Fatalf("BareMetalHost %s stayed %q, want one of %v", name, state, want)
}

// TestReconcileAppliesToOperator: `metalgit reconcile --kubeconfig` puts
// the rendered fleet into a cluster where the real Bare Metal Operator
// takes the BareMetalHosts through registration and inspection to
// provisioned (a bound machine's image) or available; a second pass
// changes nothing; a host removed from Git is deleted through the
// operator's finalizer, kept in the inventory as deleting until it is
// gone, then pruned, and its address is released only by a state commit
// after that; a machine scaled in keeps its host and address until the
// operator has deprovisioned the host.
func TestReconcileAppliesToOperator(t *testing.T) {
	kubeconfig, dyn, env := operatorCluster(t)
	remote := bareRemote(t)
	hosts := []string{"server-01", "server-02", "server-03", "server-04", "server-05", "server-06",
		"server-07", "server-08", "server-09", "server-10"}
	bmcSecrets(t, env, hosts[:9]...) // server-10's is missing
	args := []string{"reconcile", "--repo", "file://" + remote, "--kubeconfig", kubeconfig}

	out := reconcileOK(t, args)
	if !strings.Contains(out, " 0 failed") && strings.Contains(out, "failed") {
		t.Fatalf("first pass:\n%s", out)
	}
	if !strings.Contains(out, "created") {
		t.Fatalf("first pass created nothing:\n%s", out)
	}
	waitState(t, dyn, "server-01", "provisioned") // bound: gpu-workers-0's image
	waitState(t, dyn, "server-03", "available")   // unbound

	out = reconcileOK(t, args)
	if strings.Contains(out, "created") || strings.Contains(out, "updated") {
		t.Errorf("second pass changed objects:\n%s", out)
	}

	// status: the operator's states, and server-10's missing BMC Secret
	// warned and then reported by the operator.
	var report struct {
		Hosts []struct {
			Name, State, Error string
			Warnings           []string
		}
	}
	deadline := time.Now().Add(3 * time.Minute)
	for {
		js := runOK(t, "status", "--kubeconfig", kubeconfig, "-o", "json")
		decodeJSON(t, js, &report)
		rows := map[string]int{}
		for i, h := range report.Hosts {
			rows[h.Name] = i
		}
		s10 := report.Hosts[rows["server-10"]]
		if len(report.Hosts) == 10 && report.Hosts[rows["server-01"]].State == "provisioned" &&
			strings.Contains(s10.Error, "CredentialsName secret doesn't exist") {
			if len(s10.Warnings) != 1 || !strings.Contains(s10.Warnings[0], "metal3-system/server-10-bmc does not exist") {
				t.Errorf("server-10's warnings: %v", s10.Warnings)
			}
			if w := report.Hosts[rows["server-03"]].Warnings; len(w) != 0 {
				t.Errorf("server-03 has a BMC Secret, warned: %v", w)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("status never showed the operator's states:\n%s", js)
		}
		time.Sleep(time.Second)
	}
	table := runOK(t, "status", "--kubeconfig", kubeconfig)
	for _, want := range []string{"HOST", "server-01", "provisioned", "warning: server-10: BMC credentials Secret", "10 hosts: "} {
		if !strings.Contains(table, want) {
			t.Errorf("status table lacks %q:\n%s", want, table)
		}
	}
	t.Logf("metalgit status:\n%s", table)

	// server-07 leaves Git.
	work := filepath.Join(t.TempDir(), "work")
	gitOut(t, filepath.Dir(work), "clone", "-q", remote, work)
	gitOut(t, work, "rm", "-q", "hosts/server-07.yaml")
	gitOut(t, work, "-c", "user.name=t", "-c", "user.email=t@example", "commit", "-q", "-m", "server-07 leaves")
	gitOut(t, work, "push", "-q", "origin", "main")
	out = reconcileOK(t, args)
	if !strings.Contains(out, "deleting") && !strings.Contains(out, "pruned") {
		t.Fatalf("pass after removal:\n%s", out)
	}
	// Its address stays in the state until the object is gone.
	if strings.Contains(out, "release 192.168.100.9") || !strings.Contains(out, "1 waiting for BareMetalHost deletion") {
		t.Fatalf("server-07's address was not kept while its BareMetalHost is deleted:\n%s", out)
	}
	// The operator deprovisions it and lets it go.
	deadline = time.Now().Add(3 * time.Minute)
	for {
		_, err := provisioningState(t, dyn, "server-07")
		if apierrors.IsNotFound(err) {
			break
		}
		if time.Now().After(deadline) {
			u, _ := dyn.Resource(bmhGVR).Namespace("metal3-system").Get(t.Context(), "server-07", metav1.GetOptions{})
			var status, fin any
			if u != nil {
				status, fin = u.Object["status"], u.GetFinalizers()
			}
			t.Fatalf("server-07 was never deleted (%v): finalizers %v, status %v", err, fin, status)
		}
		time.Sleep(500 * time.Millisecond)
	}
	out = reconcileOK(t, args)
	if strings.Contains(out, "deleting") {
		t.Errorf("server-07 still deleting after it is gone:\n%s", out)
	}
	// Now a state commit releases the address.
	if !strings.Contains(out, "release 192.168.100.9 from Host/server-07 (pool provisioning): host no longer in the inventory") {
		t.Errorf("the pass after the deletion did not release server-07's address:\n%s", out)
	}
	out = reconcileOK(t, args)
	if !strings.Contains(out, "state commit: no changes") {
		t.Errorf("a further pass changed the state:\n%s", out)
	}

	// compute-workers scales in from 3 to 2: compute-workers-2 leaves
	// server-08, and a Machine pinned to server-08 arrives in the same
	// commit. The host and the machine's address wait until the operator
	// has deprovisioned it; only then are they released and rebound.
	// The operator's test mode keeps one provisioning state for all hosts:
	// a host deprovisioned while another provisions would take turns with
	// it forever, so every bound host is provisioned first.
	for _, h := range []string{"server-01", "server-02", "server-05", "server-06", "server-08", "server-09"} {
		waitState(t, dyn, h, "provisioned")
	}
	gitOut(t, work, "pull", "-q", "--rebase", "origin", "main")
	sets := filepath.Join(work, "machinesets.yaml")
	b, err := os.ReadFile(sets)
	if err != nil {
		t.Fatal(err)
	}
	scaled := strings.Replace(string(b), "quantity: 3", "quantity: 2", 1) + `---
apiVersion: metalgit.dev/v1alpha1
kind: Machine
metadata: {name: spare-0}
spec: {nodeType: compute, serverName: server-08}
`
	if err := os.WriteFile(sets, []byte(scaled), 0o644); err != nil {
		t.Fatal(err)
	}
	gitOut(t, work, "-c", "user.name=t", "-c", "user.email=t@example", "commit", "-q", "-am", "compute-workers: 2; spare-0 on server-08")
	gitOut(t, work, "push", "-q", "origin", "main")
	out = reconcileOK(t, args)
	if !strings.Contains(out, "1 machines waiting for their hosts' deprovisioning") || strings.Contains(out, "unbind Machine/compute-workers-2") ||
		strings.Contains(out, "release 10.0.0.22") || strings.Contains(out, "bind Machine/spare-0") {
		t.Fatalf("server-08 was released or rebound while it still runs compute-workers-2:\n%s", out)
	}
	u, err := dyn.Resource(bmhGVR).Namespace("metal3-system").Get(t.Context(), "server-08", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if img, found, _ := unstructured.NestedMap(u.Object, "spec", "image"); found {
		t.Fatalf("server-08 still has compute-workers-2's image %v", img)
	}
	waitState(t, dyn, "server-08", "available")
	out = reconcileOK(t, args)
	for _, want := range []string{
		"unbind Machine/compute-workers-2 from Host/server-08: machine no longer requested",
		"release 10.0.0.22 from Machine/compute-workers-2 (pool tenant): machine no longer requested",
		"bind Machine/spare-0 to Host/server-08",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("the pass after deprovisioning lacks %q:\n%s", want, out)
		}
	}
	waitState(t, dyn, "server-08", "provisioning", "provisioned") // spare-0's image

	cm, err := env.Client.CoreV1().ConfigMaps("metalgit-system").Get(t.Context(), "metalgit-inventory-dc1", metav1.GetOptions{})
	if err != nil || len(cm.BinaryData["inventory.json.gz"]) == 0 {
		t.Fatalf("inventory ConfigMap: %v", err)
	}
}

func reconcileOK(t *testing.T, args []string) string {
	t.Helper()
	var stdout, stderr bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	if code := run(ctx, args, &stdout, &stderr); code != exitOK {
		t.Fatalf("metalgit %s: exit %d\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), code, &stdout, &stderr)
	}
	t.Logf("metalgit reconcile:\n%s", &stdout)
	return stdout.String()
}

func runOK(t *testing.T, args ...string) string {
	t.Helper()
	var stdout, stderr bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if code := run(ctx, args, &stdout, &stderr); code != exitOK {
		t.Fatalf("metalgit %s: exit %d\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), code, &stdout, &stderr)
	}
	return stdout.String()
}
