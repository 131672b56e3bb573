package bmh

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// The skipped gauge counts the BareMetalHosts of the last build by field,
// every field present from the start.
func TestSkippedMetric(t *testing.T) {
	reg := prometheus.NewRegistry()
	m, err := newMetrics(reg)
	if err != nil {
		t.Fatal(err)
	}
	zero := map[string]float64{}
	for _, f := range Fields() {
		zero[f] = 0
	}
	if diff := cmp.Diff(zero, gaugeValues(t, reg)); diff != "" {
		t.Errorf("before any build (-want +got):\n%s", diff)
	}

	ip := map[string]string{AnnotationIPAddress: "10.0.0.1/24"}
	b, err := BuildTable("test", []*unstructured.Unstructured{
		bmhObject("a", "bcast", "ff:ff:ff:ff:ff:ff", ip, nil),
		bmhObject("a", "mcast", "01:00:5e:00:00:01", ip, nil),
		bmhObject("a", "upper", "52:54:00:00:00:03", ip, withLabels(map[string]any{LabelMachine: "Node_3"})),
		bmhObject("a", "no-address", "52:54:00:00:00:04", nil, nil),
		bmhObject("a", "good", "52:54:00:00:00:05", ip, nil),
	})
	if err != nil {
		t.Fatal(err)
	}
	m.observe(b.Skipped)
	want := map[string]float64{}
	for f := range zero {
		want[f] = 0
	}
	want[FieldBootMAC] = 2
	want[LabelField(LabelMachine)] = 1
	want[AnnotationField(AnnotationIPAddress)] = 1
	if diff := cmp.Diff(want, gaugeValues(t, reg)); diff != "" {
		t.Errorf("after a build (-want +got):\n%s", diff)
	}
	m.observe(nil)
	if diff := cmp.Diff(zero, gaugeValues(t, reg)); diff != "" {
		t.Errorf("after a clean build (-want +got):\n%s", diff)
	}
	if _, err := newMetrics(reg); err == nil || !strings.Contains(err.Error(), "bmh: register metrics") {
		t.Errorf("registering twice: %v", err)
	}
}

// gaugeValues returns the skipped gauge by field, and checks the name.
func gaugeValues(t *testing.T, reg *prometheus.Registry) map[string]float64 {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, f := range families {
		if f.GetName() != MetricSkipped || !strings.HasPrefix(f.GetName(), "metalgit_") || strings.HasSuffix(f.GetName(), "_total") || f.GetHelp() == "" {
			t.Errorf("unexpected metric %s (%s)", f.GetName(), f.GetType())
			continue
		}
		for _, m := range f.GetMetric() {
			got[m.GetLabel()[0].GetValue()] = m.GetGauge().GetValue()
		}
	}
	return got
}
