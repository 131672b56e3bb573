package render_test

import (
	"bytes"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/metalgit/metalgit/alloc/state"
	"github.com/metalgit/metalgit/render"
	"github.com/metalgit/metalgit/schemas"
)

var update = flag.Bool("update", false, "rewrite testdata/<case>/expected.yaml from the current output")

// goldenCases are the directories of testdata with inventory/ and expected.yaml.
var goldenCases = []string{"section10", "pinned-ip", "unbound", "direct-image", "overlay", "site-macvlan", "site-hostnetwork", "precedence"}

// load loads and validates testdata/<name>/inventory and plans its state
// from scratch, the way `metalgit allocate` would on a fresh repository.
func load(t *testing.T, name string) render.Input {
	t.Helper()
	return loadAt(t, filepath.Join("testdata", name, "inventory"))
}

func TestRenderGolden(t *testing.T) {
	for _, name := range goldenCases {
		t.Run(name, func(t *testing.T) {
			got, err := render.Render(load(t, name), render.Options{})
			if err != nil {
				t.Fatal(err)
			}
			path := filepath.Join("testdata", name, "expected.yaml")
			if *update {
				if err := os.WriteFile(path, got, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test ./render/ -run TestRenderGolden -update to create it)", err)
			}
			if diff := cmp.Diff(string(want), string(got)); diff != "" {
				t.Errorf("%s differs (-want +got); review, then -update:\n%s", path, diff)
			}
		})
	}
}

// TestRenderFacts checks what the golden files are meant to show, so that an
// -update cannot silently bless a regression.
func TestRenderFacts(t *testing.T) {
	tests := map[string]struct {
		contains, absent []string
	}{
		"section10": {contains: []string{
			"kind: BareMetalHost\nmetadata:\n  annotations:\n    metalgit.dev/dns-servers: 8.8.8.8,8.8.4.4\n    metalgit.dev/gateway: 192.168.100.1\n    metalgit.dev/ip-address: 192.168.100.3/24\n    metalgit.dev/machine-ip-address: 10.0.0.21/24\n    metalgit.dev/ntp-servers: 192.168.100.1\n",
			"metalgit.dev/machine: gpu-workers-0",
			"metalgit.dev/machine: db-0",
			"    checksumType: sha256\n    format: qcow2\n    url: https://images.example.com/noble-server-cloudimg-amd64.img",
			"  bootMode: legacy",
			"  rootDeviceHints:\n    deviceName: /dev/nvme0n1",
			"    credentialsName: server-01-bmc\n    disableCertificateVerification: true",
			"  name: gpu-workers-0-user-data\n",
			"  name: db-0-network-data\n",
			`config: '{"cniVersion":"0.3.1","name":"dc1-provisioning","type":"bridge","bridge":"br0","ipam":{"type":"static","addresses":[{"address":"192.168.100.2/24","gateway":"192.168.100.1"}]}}'`,
			"  name: services-pxe\n  namespace: metallb-system\nspec:\n  addresses:\n  - 192.168.100.240-192.168.100.250\n  autoAssign: false\n",
			"  ipAddressPools:\n  - services-pxe\n",
			"    ironic:\n      apiURL: http://ironic.metal3-system.svc:6385\n      httpURL: http://ironic.metal3-system.svc:6180\n      image:\n        tag: release-32.0\n",
		}},
		"pinned-ip": {contains: []string{
			"metalgit.dev/ip-address: 10.1.0.5/24\n    metalgit.dev/kernel-params-inspector: ipa-debug=1 console=ttyS0,115200n8\n    metalgit.dev/kernel-params-installer: nomodeset\n",
			"metalgit.dev/ntp-servers: 10.1.0.1,10.1.0.2",
			"  online: false",
			"  bootMode: UEFISecureBoot",
		}, absent: []string{"image:", "userData:"}},
		"unbound": {contains: []string{"metalgit.dev/machine: app-0", "storage-01-preprov-network-data", "rotational: false"},
			absent: []string{"metalgit.dev/machine: storage"}},
		"direct-image": {contains: []string{"    checksumType: sha512\n    format: raw\n", "app-0-user-data"}},
		"site-macvlan": {contains: []string{
			`config: '{"cniVersion":"0.3.1","name":"edge-provisioning","type":"macvlan","master":"eno2","mode":"bridge",`,
			"  name: api\n  namespace: lb\nspec:\n  addresses:\n  - 10.3.1.10-10.3.1.12\n---\n",
			"  name: ingress\n  namespace: lb\nspec:\n  addresses:\n  - 10.3.0.0/28\n---\n", // autoAssign: true is omitted
			"      apiURL: https://ironic.edge.example:6385\n",                              // user over generated
			"      callback: 9081\n      dhcp: 67\n      http: 8880\n      tftp: 69\n",      // user > Site > default
			"      networkAttachmentDefinition: edge-hosts/edge-provisioning\n",
			"  values:\n    image:\n      tag: v4.1.0\n",
		}, absent: []string{"autoAssign", "metallb-system", "hostNetwork"}},
		"site-hostnetwork": {contains: []string{"    hostNetwork: true\n", "      dhcp: 67\n      http: 8880\n      tftp: 1069\n"},
			absent: []string{"NetworkAttachmentDefinition", "networkAttachmentDefinition", "name: metal3\n", "name: multus\n", "metallb.io"}},
		"overlay": {
			contains: []string{"  namespace: fleet-a\n", "    team: infra\n", "  automatedCleaningMode: disabled\n",
				"  networkData:\n    name: app-0-network-data\n    namespace: fleet-a\n"},
			absent: []string{"lab-hosts"},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, err := render.Render(load(t, name), render.Options{})
			if err != nil {
				t.Fatal(err)
			}
			for _, s := range tc.contains {
				if !bytes.Contains(got, []byte(s)) {
					t.Errorf("output lacks %q", s)
				}
			}
			for _, s := range tc.absent {
				if bytes.Contains(got, []byte(s)) {
					t.Errorf("output has %q", s)
				}
			}
			// The unbound host has no machine references.
			if name == "unbound" {
				storage := doc(t, got, "kind: BareMetalHost", "name: storage-01\n")
				for _, s := range []string{"image:", "userData:", "networkData:"} {
					if strings.Contains(storage, s) {
						t.Errorf("unbound host storage-01 has %s:\n%s", s, storage)
					}
				}
			}
		})
	}
}

// doc returns the document of a stream that contains every marker.
func doc(t *testing.T, stream []byte, markers ...string) string {
	t.Helper()
	for _, d := range strings.Split(string(stream), "---\n") {
		if !slices.ContainsFunc(markers, func(m string) bool { return !strings.Contains(d, m) }) {
			return d
		}
	}
	t.Fatalf("no document with %q", markers)
	return ""
}

func TestRenderDeterministic(t *testing.T) {
	in := load(t, "section10")
	first, err := render.Render(in, render.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		again, err := render.Render(in, render.Options{})
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(first, again) {
			t.Fatal("two renders of the same input differ")
		}
	}
	// Document order in the inventory does not matter either.
	shuffled := *in.Inventory
	shuffled.Hosts = slices.Clone(in.Inventory.Hosts)
	slices.Reverse(shuffled.Hosts)
	in.Inventory = &shuffled
	reordered, err := render.Render(in, render.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(string(first), string(reordered)); diff != "" {
		t.Errorf("host order changes the output:\n%s", diff)
	}
}

func TestRenderTemplateErrorNoOutput(t *testing.T) {
	out, err := render.Render(load(t, "template-error"), render.Options{})
	if out != nil {
		t.Errorf("partial output on error: %q", out)
	}
	var problems schemas.Problems
	if !errors.As(err, &problems) {
		t.Fatalf("err = %v, want schemas.Problems", err)
	}
	// The file and the template's own line, the document and field, the
	// template line, and the machine and host it failed for.
	want := "testdata/template-error/inventory/inventory.yaml:25: NodeType/compute: spec.userDataTemplate: template line 2: <len 3>: error calling len: len of type int (user-data of Machine/app-0 on Host/compute-01)"
	if diff := cmp.Diff(want, err.Error()); diff != "" {
		t.Errorf("error (-want +got):\n%s", diff)
	}
}

// TestRenderOmissions: hosts and machines the state gives no address or
// host are left out and listed; the rest of the fleet renders as it would
// with them.
func TestRenderOmissions(t *testing.T) {
	full := load(t, "section10")
	tests := map[string]struct {
		state func(st *state.State)
		want  []string
		// absent are objects the stream must not hold; unbound are hosts
		// rendered without a machine.
		absent, unbound []string
	}{
		"no state at all": {
			state: func(st *state.State) { *st = state.State{} },
			want: []string{
				"Host/server-01: not rendered: no address in pool provisioning in the state",
				"Host/server-02: not rendered: no address in pool provisioning in the state",
				"Machine/db-0: not rendered: the state binds it to no host",
				"Machine/gpu-workers-0: not rendered: the state binds it to no host",
			},
			absent: []string{"name: server-01\n", "name: server-02\n", "server-01-preprov-network-data", "db-0-network-data"},
		},
		"one host without its lease": {
			state: func(st *state.State) {
				st.Allocations = slices.DeleteFunc(st.Allocations, func(a state.Allocation) bool { return a.Owner == "Host/server-01" })
			},
			want:   []string{"Host/server-01: not rendered: no address in pool provisioning in the state"},
			absent: []string{"name: server-01\n", "server-01-preprov-network-data", "gpu-workers-0-user-data", "gpu-workers-0-network-data"},
		},
		"a bound machine without its address": {
			state: func(st *state.State) {
				st.Allocations = slices.DeleteFunc(st.Allocations, func(a state.Allocation) bool { return a.Owner == "Machine/db-0" })
			},
			want:    []string{"Machine/db-0: not rendered: no address in pool tenant in the state; Host/server-02 is rendered without it (no image, user-data or network-data)"},
			absent:  []string{"db-0-user-data", "db-0-network-data", "metalgit.dev/machine: db-0"},
			unbound: []string{"server-02"},
		},
		"a machine without a binding": {
			state: func(st *state.State) {
				st.Bindings = slices.DeleteFunc(st.Bindings, func(b state.Binding) bool { return b.Machine == "gpu-workers-0" })
			},
			want:    []string{"Machine/gpu-workers-0: not rendered: the state binds it to no host"},
			absent:  []string{"gpu-workers-0-user-data", "gpu-workers-0-network-data"},
			unbound: []string{"server-01"},
		},
		"a binding to a host that left": {
			state: func(st *state.State) {
				for i := range st.Bindings {
					if st.Bindings[i].Machine == "gpu-workers-0" {
						st.Bindings[i].Host = "server-99"
					}
				}
			},
			want:    []string{"Machine/gpu-workers-0: not rendered: the state binds it to Host/server-99, which is not in the inventory"},
			absent:  []string{"gpu-workers-0-user-data", "gpu-workers-0-network-data"},
			unbound: []string{"server-01"},
		},
	}
	whole, err := render.Render(full, render.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			in := load(t, "section10")
			st := *in.State
			st.Bindings, st.Allocations = slices.Clone(st.Bindings), slices.Clone(st.Allocations)
			tc.state(&st)
			in.State = &st
			out, omitted, err := render.Report(in, render.Options{})
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, o := range omitted {
				got = append(got, o.String())
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("omissions (-want +got):\n%s", diff)
			}
			for _, s := range tc.absent {
				if bytes.Contains(out, []byte(s)) {
					t.Errorf("output holds %q", s)
				}
			}
			for _, h := range tc.unbound {
				bmh := doc(t, out, "kind: BareMetalHost", "name: "+h+"\n")
				for _, s := range []string{"image:", "userData:", "networkData:", "metalgit.dev/machine"} {
					if strings.Contains(bmh, s) {
						t.Errorf("host %s, rendered without its machine, has %s:\n%s", h, s, bmh)
					}
				}
			}
			// Every document of the partial output is one of the whole
			// render, but for the hosts rendered without their machine.
			wholeDocs := strings.Split(string(whole), "---\n")
			for _, d := range strings.Split(string(out), "---\n") {
				if !slices.Contains(wholeDocs, d) && !slices.ContainsFunc(tc.unbound, func(h string) bool { return strings.Contains(d, "name: "+h+"\n") }) {
					t.Errorf("the partial render has a document the whole one lacks:\n%s", d)
				}
			}
		})
	}
}

func TestRenderOutputKustomizationOption(t *testing.T) {
	in := load(t, "unbound")
	dir := t.TempDir()
	k := filepath.Join(dir, "prod.yaml")
	if err := os.WriteFile(k, []byte("namePrefix: prod-\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := render.Render(in, render.Options{OutputKustomization: k})
	if err != nil {
		t.Fatal(err)
	}
	bmh := doc(t, out, "kind: BareMetalHost", "name: prod-compute-01\n")
	// The references follow the renamed Secrets.
	for _, s := range []string{"name: prod-app-0-network-data", "preprovisioningNetworkDataName: prod-compute-01-preprov-network-data"} {
		if !strings.Contains(bmh, s) {
			t.Errorf("BareMetalHost lacks %q:\n%s", s, bmh)
		}
	}

	if err := os.WriteFile(k, []byte("resources: [missing.yaml]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err = render.Render(in, render.Options{OutputKustomization: k})
	if err == nil || out != nil || !strings.Contains(err.Error(), k) {
		t.Errorf("broken output kustomization: err = %v, out = %d bytes; want an error naming %s", err, len(out), k)
	}
}

func TestChecksumType(t *testing.T) {
	tests := map[string]struct{ declared, checksum, want string }{
		"declared wins": {"md5", strings.Repeat("a", 64), "md5"},
		"md5":           {"", strings.Repeat("a", 32), "md5"},
		"sha256":        {"", strings.Repeat("a", 64), "sha256"},
		"sha512":        {"", strings.Repeat("a", 128), "sha512"},
		"unknown":       {"", "abc", ""},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if got := render.ChecksumType(tc.declared, tc.checksum); string(got) != tc.want {
				t.Errorf("ChecksumType(%q, %q) = %q, want %q", tc.declared, tc.checksum, got, tc.want)
			}
		})
	}
}

func TestWriteDir(t *testing.T) {
	out, err := render.Render(load(t, "unbound"), render.Options{})
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "deploy")
	files, err := render.WriteDir(dir, out)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, f := range files {
		names = append(names, filepath.Base(f))
	}
	want := []string{"baremetalhost-compute-01.yaml", "baremetalhost-storage-01.yaml", "secret-app-0-network-data.yaml",
		"secret-compute-01-preprov-network-data.yaml", "secret-storage-01-preprov-network-data.yaml", "kustomization.yaml"}
	if diff := cmp.Diff(want, names); diff != "" {
		t.Errorf("files (-want +got):\n%s", diff)
	}
	// A directory that holds something else is never replaced.
	other := t.TempDir()
	if err := os.WriteFile(filepath.Join(other, "notes.txt"), []byte("mine"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := render.WriteDir(other, out); err == nil || !strings.Contains(err.Error(), "notes.txt") {
		t.Errorf("err = %v, want a refusal naming notes.txt", err)
	}
	if data, err := os.ReadFile(filepath.Join(other, "notes.txt")); err != nil || string(data) != "mine" {
		t.Errorf("notes.txt was touched: %q, %v", data, err)
	}
}
