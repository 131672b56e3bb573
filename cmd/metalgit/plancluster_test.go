package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/dynamic"

	"github.com/metalgit/metalgit/apply"
	"github.com/metalgit/metalgit/internal/kubetest"
)

// TestPlanAgainstCluster: `plan --kubeconfig` shows what applying the
// plan would change in a real API server without changing it — every
// object added to an empty cluster, then, after an apply, exactly the
// field a host's change touches.
func TestPlanAgainstCluster(t *testing.T) {
	env := kubetest.Start(t)
	env.InstallCRDs(t, append(siteCRDs(t), kubetest.CRDFile(t, "metal3.io_baremetalhosts.yaml"))...)
	siteNamespaces(t, env)
	kubeconfig := env.Kubeconfig(t, "admin", "system:masters")
	dir := filepath.Join(t.TempDir(), "dc1")
	if out, err := exec.Command("cp", "-R", "../../examples/dc1", dir).CombinedOutput(); err != nil {
		t.Fatalf("%v: %s", err, out)
	}

	out := runOK(t, "plan", "--kubeconfig", kubeconfig, dir)
	if !strings.Contains(out, "Diff of "+dir+": the cluster → this plan applied") || !strings.Contains(out, "+ BareMetalHost") ||
		!strings.Contains(out, "0 removed, 0 changed") {
		t.Fatalf("plan against an empty cluster:\n%s", out)
	}
	// The Site's deploy components and MetalLB pools, whose CRDs are installed.
	for _, want := range []string{"+ HelmRelease metal3-system/metal3", "+ HelmRelease metal3-system/metalgit-boot-proxy",
		"+ IPAddressPool metallb-system/default", "+ L2Advertisement metallb-system/services-pxe"} {
		if !strings.Contains(out, want) {
			t.Errorf("plan against an empty cluster lacks %q:\n%s", want, out)
		}
	}
	// No BMC Secret exists yet: each host is warned.
	if !strings.Contains(out, "warning: server-03: BMC credentials Secret metal3-system/server-03-bmc does not exist") {
		t.Errorf("plan did not warn of the missing BMC Secrets:\n%s", out)
	}
	dyn := dynamic.NewForConfigOrDie(env.Config)
	if l, err := dyn.Resource(bmhGVR).Namespace("metal3-system").List(t.Context(), metav1.ListOptions{}); err != nil || len(l.Items) != 0 {
		t.Fatalf("plan changed the cluster: %v %v", err, l)
	}

	cluster := apply.NewCluster(env.Config, apply.Config{})
	t.Cleanup(cluster.Close)
	if _, err := cluster.Apply(context.Background(), "dc1", []byte(runOK(t, "render", dir))); err != nil {
		t.Fatal(err)
	}
	out = runOK(t, "plan", "--kubeconfig", kubeconfig, dir)
	if !strings.Contains(out, "No changes") {
		t.Errorf("plan right after an apply:\n%s", out)
	}

	host := filepath.Join(dir, "hosts", "server-03.yaml")
	b, err := os.ReadFile(host)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(host, []byte(strings.Replace(string(b), "10.20.0.13", "10.20.0.99", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	out = runOK(t, "plan", "--kubeconfig", kubeconfig, dir)
	for _, want := range []string{"~ BareMetalHost metal3-system/server-03", "spec.bmc.address", "10.20.0.99", "Summary: 0 added, 0 removed, 1 changed."} {
		if !strings.Contains(out, want) {
			t.Errorf("plan after a change lacks %q:\n%s", want, out)
		}
	}
}
