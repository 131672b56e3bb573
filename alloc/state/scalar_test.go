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

// TestScalarFastPathExhaustive: every string of up to three characters
// over an alphabet of letters YAML gives meaning to, digits and the
// punctuation names use, that the fast path takes, is written as the
// YAML encoder writes it; so is every case spelling of YAML's boolean and
// null words.
func TestScalarFastPathExhaustive(t *testing.T) {
	const alphabet = "aeflnorstuyENOY019._-/~"
	check := func(s string) {
		if !plainSafe(s) {
			return
		}
		out, err := yaml.Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		if want := strings.TrimSuffix(string(out), "\n"); want != s {
			t.Errorf("plainSafe(%q), but YAML writes %s", s, want)
		}
	}
	var gen func(prefix string, n int)
	gen = func(prefix string, n int) {
		check(prefix)
		if n == 0 {
			return
		}
		for _, c := range alphabet {
			gen(prefix+string(c), n-1)
		}
	}
	gen("", 3)
	for _, w := range []string{"y", "yes", "n", "no", "true", "false", "on", "off", "null", "nil", "none", "inf", "nan"} {
		for mask := range 1 << len(w) {
			b := []byte(w)
			for i := range b {
				if mask&(1<<i) != 0 {
					b[i] -= 'a' - 'A'
				}
			}
			check(string(b))
		}
	}
}
