package apply_test

import (
	"context"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/metalgit/metalgit/apply"
)

// TestHostsCollector: metalgit_hosts and metalgit_host_errors count the
// BareMetalHosts by the state and error the operator wrote in their
// status, from the watch; metalgit_host_state_max_age_seconds has every
// state.
func TestHostsCollector(t *testing.T) {
	c := startCluster(t)
	ctx := context.Background()
	cl := apply.NewCluster(c.cfg, apply.Config{})
	t.Cleanup(cl.Close)
	if _, err := cl.Apply(ctx, "dc1", fleet(3, nil)); err != nil {
		t.Fatal(err)
	}
	// The operator's status, written through the status subresource.
	for name, status := range map[string]map[string]any{
		"server-00": {"provisioning": map[string]any{"state": "available", "ID": ""}, "operationalStatus": "OK",
			"poweredOn": true, "errorMessage": ""},
		"server-01": {"provisioning": map[string]any{"state": "registering", "ID": ""}, "operationalStatus": "error",
			"poweredOn": false, "errorType": "registration error", "errorMessage": "BMC CredentialsName secret doesn't exist"},
	} {
		u := c.get(t, bmhGVR, name)
		u.Object["status"] = status
		if _, err := c.dyn.Resource(bmhGVR).Namespace(ns).UpdateStatus(ctx, u, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	reg := prometheus.NewPedanticRegistry()
	if err := reg.Register(apply.NewHostsCollector(cl)); err != nil {
		t.Fatal(err)
	}
	want := map[string]float64{"metalgit_hosts{state=available}": 1, "metalgit_hosts{state=registering}": 1,
		"metalgit_hosts{state=unknown}": 1, "metalgit_host_errors{type=registration error}": 1}
	deadline := time.Now().Add(time.Minute)
	for {
		got := gatherHosts(t, reg)
		ok := true
		for k, v := range want {
			if got[k] != v {
				ok = false
			}
		}
		if ok {
			if got["metalgit_hosts{state=provisioned}"] != 0 {
				t.Errorf("provisioned: %v", got["metalgit_hosts{state=provisioned}"])
			}
			// Every state has its age, at zero when no host is in it.
			for _, s := range []string{"registering", "provisioned"} {
				if _, ok := got["metalgit_host_state_max_age_seconds{state="+s+"}"]; !ok {
					t.Errorf("no metalgit_host_state_max_age_seconds{state=%q}", s)
				}
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("metrics %v, want %v", got, want)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func gatherHosts(t *testing.T, reg *prometheus.Registry) map[string]float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				out[mf.GetName()+"{"+l.GetName()+"="+l.GetValue()+"}"] = m.GetGauge().GetValue()
			}
		}
	}
	return out
}
