package alloc_test

import (
	"errors"
	"fmt"
	"hash/fnv"
	"net/netip"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/metalgit/metalgit/alloc"
	"github.com/metalgit/metalgit/alloc/state"
	"github.com/metalgit/metalgit/schemas"
)

// base is a small inventory: a provisioning pool, a tenant pool of three
// addresses and a GPU node type.
const base = `
apiVersion: metalgit.dev/v1alpha1
kind: Site
metadata: {name: lab}
spec:
  namespace: metal3
  provisioningPool: prov
  bootProxy: {vip: 192.168.0.2/24}
---
apiVersion: metalgit.dev/v1alpha1
kind: IPPool
metadata: {name: prov}
spec: {cidr: 192.168.0.1/24, reserved: [192.168.0.2, 192.168.0.250]}
---
apiVersion: metalgit.dev/v1alpha1
kind: IPPool
metadata: {name: tenant}
spec: {ranges: "10.0.0.10-10.0.0.12", prefix: 24, gateway: 10.0.0.1}
---
apiVersion: metalgit.dev/v1alpha1
kind: NodeType
metadata: {name: gpu}
spec:
  resources: {nvidia.com/gpu: "1"}
  hostSelector: {matchLabels: {role: gpu}}
  pool: tenant
---
apiVersion: metalgit.dev/v1alpha1
kind: NodeType
metadata: {name: shared}
spec:
  hostSelector: {matchLabels: {role: plain}}
`

func host(name, role string, gpus int, extra string) string {
	return fmt.Sprintf(`---
apiVersion: metalgit.dev/v1alpha1
kind: Host
metadata: {name: %s, labels: {role: %s}}
spec:
  bmc: {address: "redfish://10.9.0.1/%s", credentialsName: bmc}
  bootMACAddress: "%s"
  resources: {nvidia.com/gpu: "%d"}
%s`, name, role, name, mac(name), gpus, extra)
}

// mac derives a MAC address from a host name.
func mac(name string) string {
	h := fnv.New32a()
	h.Write([]byte(name))
	v := h.Sum32()
	return fmt.Sprintf("02:00:%02x:%02x:%02x:%02x", byte(v>>24), byte(v>>16), byte(v>>8), byte(v))
}

func set(name, nodeType string, quantity int) string {
	return fmt.Sprintf("---\napiVersion: metalgit.dev/v1alpha1\nkind: MachineSet\nmetadata: {name: %s}\nspec: {nodeType: %s, quantity: %d}\n", name, nodeType, quantity)
}

func machine(name, nodeType, pin string) string {
	return fmt.Sprintf("---\napiVersion: metalgit.dev/v1alpha1\nkind: Machine\nmetadata: {name: %s}\nspec: {nodeType: %s, serverName: %q}\n", name, nodeType, pin)
}

func load(t testing.TB, docs ...string) *schemas.Inventory {
	t.Helper()
	inv, problems := schemas.LoadBytes("inventory.yaml", []byte(base+strings.Join(docs, "")))
	problems = append(problems, inv.Validate()...)
	if len(problems) > 0 {
		t.Fatalf("inventory does not validate:\n%v", problems)
	}
	return inv
}

func plan(t testing.TB, inv *schemas.Inventory, prev *state.State) *alloc.Plan {
	t.Helper()
	p, err := alloc.Compute(inv, prev)
	if err != nil {
		t.Fatalf("Compute: %v", err)
	}
	return p
}

// entries lists the plan's bindings and allocations as short strings.
func entries(p *alloc.Plan) []string {
	var out []string
	for _, b := range p.Bindings {
		out = append(out, fmt.Sprintf("%s %s->%s", b.Status, b.Machine, b.Host))
	}
	for _, a := range p.Allocations {
		out = append(out, fmt.Sprintf("%s %s %s %s", a.Status, a.Pool, a.Address, a.Owner))
	}
	for _, r := range p.Releases {
		out = append(out, fmt.Sprintf("release %s %s%s %s%s: %s", r.Type, r.Machine, r.Owner, r.Host, r.Address, r.Reason))
	}
	for _, pr := range p.Problems {
		out = append(out, fmt.Sprintf("problem %s %s: %s", pr.Type, pr.Owner, pr.Reason))
	}
	return out
}

func TestCompute(t *testing.T) {
	tests := map[string]struct {
		docs []string
		prev []string // documents of a first pass whose result is the previous state
		want []string
	}{
		"two addresses per server": {
			docs: []string{host("gpu-1", "gpu", 1, ""), set("w", "gpu", 1)},
			want: []string{
				"new w-0->gpu-1",
				"new prov 192.168.0.3 Host/gpu-1",
				"new tenant 10.0.0.10 Machine/w-0",
			},
		},
		"same pool shares the host's address": {
			docs: []string{host("plain-1", "plain", 0, ""), set("s", "shared", 1)},
			want: []string{
				"new s-0->plain-1",
				"new prov 192.168.0.3 Host/plain-1",
			},
		},
		"new owners in lexical order, lowest address first": {
			docs: []string{host("gpu-2", "gpu", 1, ""), host("gpu-10", "gpu", 1, ""), set("w", "gpu", 2)},
			want: []string{
				"new w-0->gpu-10",
				"new w-1->gpu-2",
				"new prov 192.168.0.3 Host/gpu-10",
				"new prov 192.168.0.4 Host/gpu-2",
				"new tenant 10.0.0.10 Machine/w-0",
				"new tenant 10.0.0.11 Machine/w-1",
			},
		},
		"pinned host IP takes no lease": {
			docs: []string{host("gpu-1", "gpu", 1, ""), host("pin-1", "plain", 0, "  ipAddress: 192.168.0.250\n")},
			want: []string{"new prov 192.168.0.3 Host/gpu-1"},
		},
		"exhaustion reports the owner and leaves the others": {
			docs: []string{host("g1", "gpu", 1, ""), host("g2", "gpu", 1, ""), host("g3", "gpu", 1, ""), host("g4", "gpu", 1, ""), set("w", "gpu", 4)},
			want: []string{
				"new w-0->g1", "new w-1->g2", "new w-2->g3", "new w-3->g4",
				"new prov 192.168.0.3 Host/g1", "new prov 192.168.0.4 Host/g2", "new prov 192.168.0.5 Host/g3", "new prov 192.168.0.6 Host/g4",
				"new tenant 10.0.0.10 Machine/w-0", "new tenant 10.0.0.11 Machine/w-1", "new tenant 10.0.0.12 Machine/w-2",
				"problem exhausted Machine/w-3: pool exhausted",
			},
		},
		"unbindable machine is a problem, not an error": {
			docs: []string{host("g1", "gpu", 0, ""), set("w", "gpu", 1)},
			want: []string{"new prov 192.168.0.3 Host/g1", "problem unbound Machine/w-0: resources too small"},
		},
		"kept entries stay, scale-in releases the highest index": {
			prev: []string{host("g1", "gpu", 1, ""), host("g2", "gpu", 1, ""), set("w", "gpu", 2)},
			docs: []string{host("g1", "gpu", 1, ""), host("g2", "gpu", 1, ""), set("w", "gpu", 1)},
			want: []string{
				"kept w-0->g1",
				"kept prov 192.168.0.3 Host/g1", "kept prov 192.168.0.4 Host/g2",
				"kept tenant 10.0.0.10 Machine/w-0",
				"release binding w-1 g2: machine no longer requested",
				"release allocation Machine/w-1 10.0.0.11: machine no longer requested",
			},
		},
		"removed host: lease released, machine rebinds, new address": {
			prev: []string{host("g1", "gpu", 1, ""), host("g2", "gpu", 1, ""), set("w", "gpu", 1)},
			docs: []string{host("g2", "gpu", 1, ""), set("w", "gpu", 1)},
			want: []string{
				"new w-0->g2",
				"kept prov 192.168.0.4 Host/g2",
				"kept tenant 10.0.0.10 Machine/w-0",
				"release binding w-0 g1: host no longer in the inventory",
				"release allocation Host/g1 192.168.0.3: host no longer in the inventory",
			},
		},
		"released address is reused lowest first": {
			prev: []string{host("g1", "gpu", 1, ""), host("g2", "gpu", 1, "")},
			docs: []string{host("g2", "gpu", 1, ""), host("g3", "gpu", 1, "")},
			want: []string{
				"new prov 192.168.0.3 Host/g3",
				"kept prov 192.168.0.4 Host/g2",
				"release allocation Host/g1 192.168.0.3: host no longer in the inventory",
			},
		},
		"pinned machine binds before others": {
			docs: []string{host("g1", "gpu", 1, ""), set("a", "gpu", 1), machine("db", "gpu", "g1")},
			want: []string{
				"new db->g1",
				"new prov 192.168.0.3 Host/g1",
				"new tenant 10.0.0.10 Machine/db",
				"problem unbound Machine/a-0: all matching hosts are taken",
			},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			var prev *state.State
			if tc.prev != nil {
				prev = plan(t, load(t, tc.prev...), nil).Next
			}
			inv := load(t, tc.docs...)
			p := plan(t, inv, prev)
			assertSettled(t, inv, p)
			got := entries(p)
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("plan (-want +got):\n%s", diff)
			}
		})
	}
}

func TestComputeIsIdempotent(t *testing.T) {
	inv := load(t, host("g1", "gpu", 1, ""), host("g2", "gpu", 1, ""), host("p1", "plain", 0, ""), set("w", "gpu", 2), set("s", "shared", 1))
	first := plan(t, inv, nil)
	if !first.Changed() {
		t.Fatal("first pass changed nothing")
	}
	assertSettled(t, inv, first)
	second := plan(t, inv, first.Next)
	if second.Changed() {
		t.Errorf("second pass changed the state:\n%v", entries(second))
	}
	if diff := cmp.Diff(state.Marshal(first.Next), state.Marshal(second.Next)); diff != "" {
		t.Errorf("state differs after the second pass:\n%s", diff)
	}
}

func TestComputeRejectsBadState(t *testing.T) {
	inv := load(t, host("g1", "gpu", 1, ""))
	tests := map[string]struct {
		alloc state.Allocation
		want  string
	}{
		"outside the pool": {state.Allocation{Pool: "prov", Address: netip.MustParseAddr("10.1.1.1"), Owner: "Host/g1"}, "not an allocatable address of pool prov"},
		"reserved":         {state.Allocation{Pool: "prov", Address: netip.MustParseAddr("192.168.0.2"), Owner: "Host/g1"}, "not an allocatable address of pool prov"},
		"gateway":          {state.Allocation{Pool: "prov", Address: netip.MustParseAddr("192.168.0.1"), Owner: "Host/g1"}, "not an allocatable address"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := alloc.Compute(inv, &state.State{Allocations: []state.Allocation{tc.alloc}})
			var problems schemas.Problems
			if !errors.As(err, &problems) || len(problems) != 1 || !strings.Contains(problems[0].Message, tc.want) {
				t.Fatalf("Compute error = %v, want one state problem containing %q", err, tc.want)
			}
		})
	}
}

func TestComputeReleasesWhatLeftTheInventory(t *testing.T) {
	inv := load(t, host("g1", "gpu", 1, ""))
	prev := &state.State{
		Bindings: []state.Binding{{Machine: "gone-0", Host: "g1"}},
		Allocations: []state.Allocation{
			{Pool: "old", Address: netip.MustParseAddr("172.16.0.5"), Owner: "Host/g1"},
			{Pool: "tenant", Address: netip.MustParseAddr("10.0.0.11"), Owner: "Machine/gone-0"},
		},
	}
	got := entries(plan(t, inv, prev))
	want := []string{
		"new prov 192.168.0.3 Host/g1",
		"release binding gone-0 g1: machine no longer requested",
		"release allocation Host/g1 172.16.0.5: pool no longer in the inventory",
		"release allocation Machine/gone-0 10.0.0.11: machine no longer requested",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("plan (-want +got):\n%s", diff)
	}
}

// FuzzCompute plans arbitrary inventories that validate, on top of the
// base documents: planning must not fail, no address may be given twice,
// every address must be allocatable in its pool, no host may run two
// machines, and a second pass over the result must change nothing.
func FuzzCompute(f *testing.F) {
	f.Add(host("g1", "gpu", 1, "") + set("w", "gpu", 2))
	f.Add(host("g1", "gpu", 1, "") + host("g2", "gpu", 2, "") + host("p1", "plain", 0, "") + set("w", "gpu", 5) + set("s", "shared", 1) + machine("db", "gpu", "g2"))
	f.Add(host("p1", "plain", 0, "  ipAddress: 192.168.0.250\n") + set("s", "shared", 3))
	f.Fuzz(func(t *testing.T, docs string) {
		inv, problems := schemas.LoadBytes("fuzz.yaml", []byte(base+docs))
		if len(problems) > 0 || len(inv.Validate()) > 0 {
			return
		}
		p, err := alloc.Compute(inv, nil)
		if err != nil {
			t.Fatalf("Compute on a valid inventory: %v", err)
		}
		pools := map[string]schemas.PoolAddresses{}
		for _, pool := range inv.IPPools {
			addrs, _ := pool.Spec.Addresses()
			pools[pool.Metadata.Name] = addrs
		}
		seen := map[netip.Addr]string{}
		for _, a := range p.Next.Allocations {
			if prev, dup := seen[a.Address]; dup {
				t.Fatalf("%s given to %s and %s", a.Address, prev, a.Owner)
			}
			seen[a.Address] = a.Owner
			if !pools[a.Pool].Allocatable.Contains(a.Address) {
				t.Fatalf("%s of %s is not allocatable in pool %s", a.Address, a.Owner, a.Pool)
			}
		}
		hosts := map[string]string{}
		for _, b := range p.Next.Bindings {
			if prev, dup := hosts[b.Host]; dup {
				t.Fatalf("host %s runs %s and %s", b.Host, prev, b.Machine)
			}
			hosts[b.Host] = b.Machine
		}
		again, err := alloc.Compute(inv, p.Next)
		if err != nil || again.Changed() {
			t.Fatalf("second pass: err %v, changed %v: %v", err, again != nil && again.Changed(), entries(again))
		}
		assertSettled(t, inv, p)
	})
}

// assertSettled checks that p.Settled() is the plan Compute makes from
// p.Next, both as it is and as written to and read back from files.
func assertSettled(t *testing.T, inv *schemas.Inventory, p *alloc.Plan) {
	t.Helper()
	dir := t.TempDir()
	if _, err := state.Write(dir, p.Next); err != nil {
		t.Fatal(err)
	}
	read, problems, err := state.Read(dir)
	if err != nil || len(problems) > 0 {
		t.Fatalf("reading the written state: %v %v", err, problems)
	}
	want := p.Settled()
	for name, prev := range map[string]*state.State{"in memory": p.Next, "read back": read} {
		got, err := alloc.Compute(inv, prev)
		if err != nil {
			t.Fatalf("planning the next state %s: %v", name, err)
		}
		if diff := cmp.Diff(want, got, cmpopts.IgnoreFields(alloc.Plan{}, "Next"), cmpopts.EquateComparable(netip.Addr{})); diff != "" {
			t.Errorf("Settled differs from planning the next state %s (-settled +planned):\n%s", name, diff)
		}
		if diff := cmp.Diff(state.Marshal(want.Next), state.Marshal(got.Next)); diff != "" {
			t.Errorf("Settled state differs from planning the next state %s:\n%s", name, diff)
		}
	}
}

// TestComputeWaitsForBareMetalHostDeletion: a host that left the
// inventory keeps its address while its BareMetalHost is still in the
// cluster (nothing changes, nobody else gets the address), and the pass
// after the object is gone releases it.
func TestComputeWaitsForBareMetalHostDeletion(t *testing.T) {
	inv := load(t, host("g2", "gpu", 2, ""))
	prev := &state.State{Allocations: []state.Allocation{
		{Pool: "prov", Address: netip.MustParseAddr("192.168.0.3"), Owner: "Host/g1"},
	}}
	present := true
	opts := alloc.Options{Deleting: func(h string) bool { return h == "g1" && present }}
	p, err := alloc.ComputeWith(inv, prev, opts)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"waiting prov 192.168.0.3 Host/g1", "new prov 192.168.0.4 Host/g2"}
	if diff := cmp.Diff(want, entries(p)); diff != "" {
		t.Errorf("while the BareMetalHost is deleted (-want +got):\n%s", diff)
	}
	if !strings.Contains(p.Summary(), "1 waiting for BareMetalHost deletion") {
		t.Errorf("summary: %s", p.Summary())
	}
	again, err := alloc.ComputeWith(inv, p.Next, opts)
	if err != nil || again.Changed() {
		t.Fatalf("a pass while it is still deleted changes the state: %v %v", err, entries(again))
	}

	present = false
	p, err = alloc.ComputeWith(inv, again.Next, opts)
	if err != nil {
		t.Fatal(err)
	}
	want = []string{"kept prov 192.168.0.4 Host/g2", "release allocation Host/g1 192.168.0.3: host no longer in the inventory"}
	if diff := cmp.Diff(want, entries(p)); diff != "" {
		t.Errorf("once it is gone (-want +got):\n%s", diff)
	}
}

// TestComputeHoldsScaledInMachineUntilDeprovisioned: a machine scaled in
// keeps its host and its address while the host deprovisions; no other
// machine gets either; the next pass after it is done releases both.
func TestComputeHoldsScaledInMachineUntilDeprovisioned(t *testing.T) {
	hosts := host("g1", "gpu", 1, "") + host("g2", "gpu", 1, "")
	first := plan(t, load(t, hosts, set("w", "gpu", 2)), nil)

	inv := load(t, hosts, set("w", "gpu", 1), machine("x", "gpu", ""))
	busy := true
	opts := alloc.Options{Deprovisioning: func(h string) bool { return h == first.Bindings[1].Host && busy }}
	p, err := alloc.ComputeWith(inv, first.Next, opts)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"kept w-0->g1", "waiting w-1->g2",
		"kept prov 192.168.0.3 Host/g1", "kept prov 192.168.0.4 Host/g2",
		"kept tenant 10.0.0.10 Machine/w-0", "waiting tenant 10.0.0.11 Machine/w-1",
		"problem unbound Machine/x: all matching hosts are taken",
	}
	if diff := cmp.Diff(want, entries(p)); diff != "" {
		t.Errorf("while g2 deprovisions (-want +got):\n%s", diff)
	}
	if !strings.Contains(p.Summary(), "1 machines waiting for their hosts' deprovisioning") {
		t.Errorf("summary: %s", p.Summary())
	}
	if p.Changed() {
		t.Errorf("holding changes the state: %v", entries(p))
	}

	busy = false
	p, err = alloc.ComputeWith(inv, p.Next, opts)
	if err != nil {
		t.Fatal(err)
	}
	want = []string{
		"kept w-0->g1", "new x->g2",
		"kept prov 192.168.0.3 Host/g1", "kept prov 192.168.0.4 Host/g2",
		"kept tenant 10.0.0.10 Machine/w-0", "new tenant 10.0.0.11 Machine/x",
		"release binding w-1 g2: machine no longer requested",
		"release allocation Machine/w-1 10.0.0.11: machine no longer requested",
	}
	if diff := cmp.Diff(want, entries(p)); diff != "" {
		t.Errorf("once g2 is deprovisioned (-want +got):\n%s", diff)
	}
}
