package state

import (
	"strings"
	"testing"

	yaml "go.yaml.in/yaml/v3"
)

// TestScalarFastPathMatchesYAML: every string the fast path takes is
// written exactly as the YAML encoder writes it.
func TestScalarFastPathMatchesYAML(t *testing.T) {
	cases := []string{
		"Host/server-01", "Machine/gpu-workers-0", "Host/a.b_c-d", "Host/1", "H/x", "Host/", "Host//x", "Host/x/y",
		"192.168.100.3", "10.0.0.0", "1.2.3", "1.2.3.4.5", ".1.2.3", "1.2.3.", "1..2.3", "255.255.255.255",
		"fd00::1", "provisioning", "yes", "no", "on", "null", "~", "true", "1e3", "0x1F", "Host/x: y", "Host/#x",
		"Host/x ", " Host/x", "-Host/x", "Host/é", "", "Host/-", "n/a", "Y/n",
	}
	taken := 0
	for _, s := range cases {
		out, err := yaml.Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		want := strings.TrimSuffix(string(out), "\n")
		if got := scalar(s); got != want {
			t.Errorf("scalar(%q) = %s, YAML writes %s", s, got, want)
		}
		if plainSafe(s) {
			taken++
		}
	}
	if taken < 10 {
		t.Errorf("the fast path took only %d cases", taken)
	}
}
