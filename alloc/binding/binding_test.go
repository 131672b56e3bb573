package binding

import (
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/metalgit/metalgit/schemas"
)

func mkHost(name string, labels, res map[string]string) *schemas.Host {
	h := &schemas.Host{
		APIVersion: schemas.APIVersion,
		Kind:       schemas.KindHost,
		Metadata:   schemas.ObjectMeta{Name: name, Labels: labels},
	}
	if res != nil {
		h.Spec.Resources = map[string]schemas.Quantity{}
		for k, v := range res {
			h.Spec.Resources[k] = schemas.Quantity(v)
		}
	}
	return h
}

func mkNodeType(name string, sel *schemas.LabelSelector, res map[string]string) *schemas.NodeType {
	nt := &schemas.NodeType{
		APIVersion: schemas.APIVersion,
		Kind:       schemas.KindNodeType,
		Metadata:   schemas.ObjectMeta{Name: name},
		Spec:       schemas.NodeTypeSpec{HostSelector: sel},
	}
	if res != nil {
		nt.Spec.Resources = map[string]schemas.Quantity{}
		for k, v := range res {
			nt.Spec.Resources[k] = schemas.Quantity(v)
		}
	}
	return nt
}

func matchLabels(kv ...string) *schemas.LabelSelector {
	s := &schemas.LabelSelector{MatchLabels: map[string]string{}}
	for i := 0; i < len(kv); i += 2 {
		s.MatchLabels[kv[i]] = kv[i+1]
	}
	return s
}

func expr(key, op string, values ...string) *schemas.LabelSelector {
	return &schemas.LabelSelector{MatchExpressions: []schemas.LabelSelectorRequirement{{Key: key, Operator: op, Values: values}}}
}

func reqs(nt *schemas.NodeType, machines ...string) []Request {
	out := make([]Request, len(machines))
	for i, m := range machines {
		out[i] = Request{Machine: m, NodeType: nt}
	}
	return out
}

func kept(m, h string) Assignment     { return Assignment{Machine: m, Host: h, Status: StatusKept} }
func newly(m, h string) Assignment    { return Assignment{Machine: m, Host: h, Status: StatusNew} }
func gone(m, h string) Release        { return Release{Machine: m, Host: h, Reason: ReleaseMachineGone} }
func hostGone(m, h string) Release    { return Release{Machine: m, Host: h, Reason: ReleaseHostGone} }
func role(r string) map[string]string { return map[string]string{"role": r} }

var (
	anyNT = mkNodeType("any", nil, nil)
	gpuNT = mkNodeType("gpu-server", matchLabels("role", "gpu"), map[string]string{"cpu": "64", "memory": "256Gi", "nvidia.com/gpu": "4"})
)

type bindCase struct {
	hosts    []*schemas.Host
	requests []Request
	existing map[string]string
	want     Result
}

var bindCases = map[string]bindCase{
	"nothing": {},
	"matchLabels": {
		hosts: []*schemas.Host{
			mkHost("a", role("cpu"), nil),
			mkHost("b", role("gpu"), nil),
			mkHost("c", map[string]string{"role": "gpu", "dc": "east"}, nil),
		},
		requests: reqs(mkNodeType("g", matchLabels("role", "gpu"), nil), "m-0", "m-1"),
		want:     Result{Bindings: []Assignment{newly("m-0", "b"), newly("m-1", "c")}},
	},
	"matchLabels requires every label": {
		hosts: []*schemas.Host{
			mkHost("a", map[string]string{"role": "gpu", "dc": "west"}, nil),
			mkHost("b", map[string]string{"role": "gpu"}, nil),
			mkHost("c", map[string]string{"role": "gpu", "dc": "east"}, nil),
		},
		requests: reqs(mkNodeType("g", matchLabels("role", "gpu", "dc", "east"), nil), "m-0", "m-1"),
		want: Result{
			Bindings: []Assignment{newly("m-0", "c")},
			Unbound: []Unbound{{Machine: "m-1", Reason: ReasonAllTaken,
				Detail: "g: 1 host matches dc=east,role=gpu with enough resources, all bound to other machines"}},
		},
	},
	"In": {
		hosts: []*schemas.Host{
			mkHost("a", role("cpu"), nil),
			mkHost("b", role("gpu"), nil),
			mkHost("c", nil, nil),
			mkHost("d", role("storage"), nil),
		},
		requests: reqs(mkNodeType("g", expr("role", "In", "gpu", "storage"), nil), "m-0", "m-1", "m-2"),
		want: Result{
			Bindings: []Assignment{newly("m-0", "b"), newly("m-1", "d")},
			Unbound: []Unbound{{Machine: "m-2", Reason: ReasonAllTaken,
				Detail: "g: 2 hosts match role in (gpu,storage) with enough resources, all bound to other machines"}},
		},
	},
	"NotIn matches hosts without the label": {
		hosts: []*schemas.Host{
			mkHost("a", role("gpu"), nil),
			mkHost("b", nil, nil),
			mkHost("c", role("cpu"), nil),
			mkHost("d", role("storage"), nil),
		},
		requests: reqs(mkNodeType("g", expr("role", "NotIn", "gpu", "storage"), nil), "m-0", "m-1", "m-2"),
		want: Result{
			Bindings: []Assignment{newly("m-0", "b"), newly("m-1", "c")},
			Unbound: []Unbound{{Machine: "m-2", Reason: ReasonAllTaken,
				Detail: "g: 2 hosts match role notin (gpu,storage) with enough resources, all bound to other machines"}},
		},
	},
	"Exists": {
		hosts: []*schemas.Host{
			mkHost("a", nil, nil),
			mkHost("b", map[string]string{"rack": ""}, nil),
			mkHost("c", map[string]string{"rack": "r1"}, nil),
			mkHost("d", map[string]string{"row": "r1"}, nil),
		},
		requests: reqs(mkNodeType("g", expr("rack", "Exists"), nil), "m-0", "m-1"),
		want:     Result{Bindings: []Assignment{newly("m-0", "b"), newly("m-1", "c")}},
	},
	"DoesNotExist": {
		hosts: []*schemas.Host{
			mkHost("a", map[string]string{"maintenance": "true"}, nil),
			mkHost("b", map[string]string{"maintenance": ""}, nil),
			mkHost("c", map[string]string{"role": "gpu"}, nil),
		},
		requests: reqs(mkNodeType("g", expr("maintenance", "DoesNotExist"), nil), "m-0", "m-1"),
		want: Result{
			Bindings: []Assignment{newly("m-0", "c")},
			Unbound: []Unbound{{Machine: "m-1", Reason: ReasonAllTaken,
				Detail: "g: 1 host matches !maintenance with enough resources, all bound to other machines"}},
		},
	},
	"matchLabels and matchExpressions combine": {
		hosts: []*schemas.Host{
			mkHost("a", map[string]string{"role": "gpu", "maintenance": "true"}, nil),
			mkHost("b", map[string]string{"role": "cpu"}, nil),
			mkHost("c", map[string]string{"role": "gpu"}, nil),
		},
		requests: reqs(mkNodeType("g", &schemas.LabelSelector{
			MatchLabels:      map[string]string{"role": "gpu"},
			MatchExpressions: []schemas.LabelSelectorRequirement{{Key: "maintenance", Operator: "DoesNotExist"}},
		}, nil), "m-0"),
		want: Result{Bindings: []Assignment{newly("m-0", "c")}},
	},
	"nil selector matches every host": {
		hosts:    []*schemas.Host{mkHost("b", role("gpu"), nil), mkHost("a", nil, nil)},
		requests: reqs(anyNT, "m-0", "m-1"),
		want:     Result{Bindings: []Assignment{newly("m-0", "a"), newly("m-1", "b")}},
	},
	"no host matches the selector": {
		hosts:    []*schemas.Host{mkHost("a", role("cpu"), nil)},
		requests: reqs(gpuNT, "m-0", "m-1"),
		want: Result{Unbound: []Unbound{
			{Machine: "m-0", Reason: ReasonNoSelectorMatch, Detail: "gpu-server: no host matches role=gpu"},
			{Machine: "m-1", Reason: ReasonNoSelectorMatch, Detail: "gpu-server: no host matches role=gpu"},
		}},
	},
	"no hosts at all": {
		requests: reqs(anyNT, "m-0"),
		want: Result{Unbound: []Unbound{
			{Machine: "m-0", Reason: ReasonNoSelectorMatch, Detail: "any: the inventory has no hosts"},
		}},
	},
	"resources exactly at the minimum bind": {
		hosts: []*schemas.Host{
			// 262144Mi is 256Gi: units do not matter, only the amount.
			mkHost("a", role("gpu"), map[string]string{"cpu": "64", "memory": "262144Mi", "nvidia.com/gpu": "4"}),
		},
		requests: reqs(gpuNT, "m-0"),
		want:     Result{Bindings: []Assignment{newly("m-0", "a")}},
	},
	"one short of the minimum": {
		hosts: []*schemas.Host{
			mkHost("a", role("gpu"), map[string]string{"cpu": "63", "memory": "256Gi", "nvidia.com/gpu": "4"}),
			mkHost("b", role("gpu"), map[string]string{"cpu": "64", "memory": "268435455", "nvidia.com/gpu": "4"}),
			mkHost("c", role("gpu"), map[string]string{"cpu": "63999m", "memory": "256Gi", "nvidia.com/gpu": "4"}),
		},
		requests: reqs(gpuNT, "m-0"),
		want: Result{Unbound: []Unbound{{Machine: "m-0", Reason: ReasonResources,
			Detail: "gpu-server: 3 hosts match role=gpu; closest: a has cpu 63, needs 64"}}},
	},
	"extended resource nvidia.com/gpu": {
		hosts: []*schemas.Host{
			mkHost("a", role("gpu"), map[string]string{"cpu": "96", "memory": "512Gi", "nvidia.com/gpu": "2"}),
			mkHost("b", role("gpu"), map[string]string{"cpu": "96", "memory": "512Gi", "nvidia.com/gpu": "8"}),
		},
		requests: reqs(gpuNT, "m-0", "m-1"),
		want: Result{
			Bindings: []Assignment{newly("m-0", "b")},
			Unbound: []Unbound{{Machine: "m-1", Reason: ReasonAllTaken,
				Detail: "gpu-server: 1 host matches role=gpu with enough resources, all bound to other machines"}},
		},
	},
	"resource missing on the host counts as zero": {
		hosts: []*schemas.Host{
			mkHost("a", role("gpu"), map[string]string{"cpu": "96", "memory": "512Gi"}),
			mkHost("b", role("gpu"), nil),
		},
		requests: reqs(gpuNT, "m-0"),
		want: Result{Unbound: []Unbound{{Machine: "m-0", Reason: ReasonResources,
			Detail: "gpu-server: 2 hosts match role=gpu; closest: a has no nvidia.com/gpu, needs 4"}}},
	},
	"a zero minimum is met by a host without the resource": {
		hosts:    []*schemas.Host{mkHost("a", nil, nil)},
		requests: reqs(mkNodeType("z", nil, map[string]string{"nvidia.com/gpu": "0"}), "m-0"),
		want:     Result{Bindings: []Assignment{newly("m-0", "a")}},
	},
	"resources too small: every shortfall of the closest host": {
		hosts: []*schemas.Host{
			mkHost("a", role("gpu"), nil),
			mkHost("b", role("gpu"), map[string]string{"cpu": "32", "memory": "512Gi"}),
			mkHost("c", role("gpu"), map[string]string{"cpu": "32", "memory": "512Gi"}),
		},
		requests: reqs(gpuNT, "m-0"),
		want: Result{Unbound: []Unbound{{Machine: "m-0", Reason: ReasonResources,
			Detail: "gpu-server: 3 hosts match role=gpu; closest: b has cpu 32, needs 64; has no nvidia.com/gpu, needs 4"}}},
	},
	"pin ok": {
		hosts:    []*schemas.Host{mkHost("a", nil, nil), mkHost("b", nil, nil)},
		requests: []Request{{Machine: "db-0", NodeType: anyNT, Pin: "b"}},
		want:     Result{Bindings: []Assignment{newly("db-0", "b")}},
	},
	"pinned host missing": {
		hosts:    []*schemas.Host{mkHost("a", nil, nil)},
		requests: []Request{{Machine: "db-0", NodeType: anyNT, Pin: "b"}},
		want: Result{Unbound: []Unbound{{Machine: "db-0", Reason: ReasonPinnedMissing,
			Detail: "serverName b: no such host"}}},
	},
	"pinned host taken by an existing binding": {
		hosts:    []*schemas.Host{mkHost("a", nil, nil), mkHost("b", nil, nil)},
		requests: append(reqs(anyNT, "aaa"), Request{Machine: "db-0", NodeType: anyNT, Pin: "b"}),
		existing: map[string]string{"aaa": "b"},
		want: Result{
			Bindings: []Assignment{kept("aaa", "b")},
			Unbound: []Unbound{{Machine: "db-0", Reason: ReasonPinnedTaken,
				Detail: "b is bound to machine aaa"}},
		},
	},
	"pinned host taken by an earlier pinned machine": {
		hosts: []*schemas.Host{mkHost("a", nil, nil)},
		requests: []Request{
			{Machine: "db-1", NodeType: anyNT, Pin: "a"},
			{Machine: "db-0", NodeType: anyNT, Pin: "a"},
		},
		want: Result{
			Bindings: []Assignment{newly("db-0", "a")},
			Unbound: []Unbound{{Machine: "db-1", Reason: ReasonPinnedTaken,
				Detail: "a is bound to machine db-0"}},
		},
	},
	"pinned host does not match the selector": {
		hosts: []*schemas.Host{
			mkHost("a", role("cpu"), map[string]string{"cpu": "64", "memory": "256Gi", "nvidia.com/gpu": "4"}),
			mkHost("b", role("gpu"), map[string]string{"cpu": "64", "memory": "256Gi", "nvidia.com/gpu": "4"}),
		},
		requests: []Request{{Machine: "db-0", NodeType: gpuNT, Pin: "a"}},
		want: Result{Unbound: []Unbound{{Machine: "db-0", Reason: ReasonPinnedMismatch,
			Detail: "a does not match role=gpu (node type gpu-server)"}}},
	},
	"pinned host lacks resources": {
		hosts: []*schemas.Host{
			mkHost("a", role("gpu"), map[string]string{"cpu": "64", "memory": "256Gi", "nvidia.com/gpu": "2"}),
		},
		requests: []Request{{Machine: "db-0", NodeType: gpuNT, Pin: "a"}},
		want: Result{Unbound: []Unbound{{Machine: "db-0", Reason: ReasonPinnedMismatch,
			Detail: "a has nvidia.com/gpu 2, needs 4 (node type gpu-server)"}}},
	},
	"pinned host mismatches labels and resources": {
		hosts: []*schemas.Host{mkHost("a", map[string]string{"maintenance": "yes"}, nil)},
		requests: []Request{{Machine: "db-0", Pin: "a", NodeType: mkNodeType("t", &schemas.LabelSelector{
			MatchLabels:      map[string]string{"role": "gpu"},
			MatchExpressions: []schemas.LabelSelectorRequirement{{Key: "maintenance", Operator: "DoesNotExist"}},
		}, map[string]string{"cpu": "8"})}},
		want: Result{Unbound: []Unbound{{Machine: "db-0", Reason: ReasonPinnedMismatch,
			Detail: "a does not match !maintenance, role=gpu; has no cpu, needs 8 (node type t)"}}},
	},
	"pinned machines bind first": {
		hosts: []*schemas.Host{mkHost("a", nil, nil), mkHost("b", nil, nil)},
		requests: []Request{
			{Machine: "zz-pinned", NodeType: anyNT, Pin: "a"},
			{Machine: "aa-free", NodeType: anyNT},
		},
		want: Result{Bindings: []Assignment{newly("aa-free", "b"), newly("zz-pinned", "a")}},
	},
	"lexical machine and host order": {
		hosts:    []*schemas.Host{mkHost("h-2", nil, nil), mkHost("h-10", nil, nil), mkHost("h-1", nil, nil)},
		requests: reqs(anyNT, "m-2", "m-10", "m-1"),
		want:     Result{Bindings: []Assignment{newly("m-1", "h-1"), newly("m-10", "h-10"), newly("m-2", "h-2")}},
	},
	"node types share hosts": {
		hosts: []*schemas.Host{
			mkHost("a", role("gpu"), nil),
			mkHost("b", role("gpu"), nil),
			mkHost("c", role("cpu"), nil),
		},
		requests: append(reqs(anyNT, "b-any-0", "b-any-1"), reqs(mkNodeType("g", matchLabels("role", "gpu"), nil), "a-gpu-0", "c-gpu-1")...),
		want: Result{
			Bindings: []Assignment{newly("a-gpu-0", "a"), newly("b-any-0", "b"), newly("b-any-1", "c")},
			Unbound: []Unbound{{Machine: "c-gpu-1", Reason: ReasonAllTaken,
				Detail: "g: 2 hosts match role=gpu with enough resources, all bound to other machines"}},
		},
	},
	"existing binding kept after label and resource change": {
		hosts:    []*schemas.Host{mkHost("a", role("cpu"), nil), mkHost("b", role("gpu"), map[string]string{"cpu": "96", "memory": "1Ti", "nvidia.com/gpu": "8"})},
		requests: reqs(gpuNT, "m-0", "m-1"),
		existing: map[string]string{"m-1": "a"},
		want: Result{Bindings: []Assignment{
			newly("m-0", "b"),
			kept("m-1", "a"),
		}},
	},
	"existing binding kept although the machine is now pinned elsewhere": {
		hosts:    []*schemas.Host{mkHost("a", nil, nil), mkHost("b", nil, nil)},
		requests: []Request{{Machine: "db-0", NodeType: anyNT, Pin: "b"}},
		existing: map[string]string{"db-0": "a"},
		want:     Result{Bindings: []Assignment{kept("db-0", "a")}},
	},
	"host removed: released and rebound": {
		hosts:    []*schemas.Host{mkHost("a", nil, nil), mkHost("c", nil, nil)},
		requests: reqs(anyNT, "m-0", "m-1"),
		existing: map[string]string{"m-0": "b", "m-1": "a"},
		want: Result{
			Bindings: []Assignment{newly("m-0", "c"), kept("m-1", "a")},
			Released: []Release{hostGone("m-0", "b")},
		},
	},
	"host removed, no other host": {
		hosts:    []*schemas.Host{mkHost("a", nil, nil)},
		requests: reqs(anyNT, "m-0", "m-1"),
		existing: map[string]string{"m-0": "b", "m-1": "a"},
		want: Result{
			Bindings: []Assignment{kept("m-1", "a")},
			Released: []Release{hostGone("m-0", "b")},
			Unbound: []Unbound{{Machine: "m-0", Reason: ReasonAllTaken,
				Detail: "any: 1 host matches the empty selector with enough resources, all bound to other machines"}},
		},
	},
	"scale in 3 to 1": {
		hosts:    []*schemas.Host{mkHost("a", nil, nil), mkHost("b", nil, nil), mkHost("c", nil, nil)},
		requests: reqs(anyNT, "ws-0"),
		existing: map[string]string{"ws-0": "b", "ws-1": "c", "ws-2": "a"},
		want: Result{
			Bindings: []Assignment{kept("ws-0", "b")},
			Released: []Release{gone("ws-1", "c"), gone("ws-2", "a")},
		},
	},
	"machine and host both gone": {
		hosts:    []*schemas.Host{mkHost("a", nil, nil)},
		existing: map[string]string{"old-0": "x"},
		want:     Result{Released: []Release{gone("old-0", "x")}},
	},
	"released host is free for a new machine in the same pass": {
		hosts:    []*schemas.Host{mkHost("a", nil, nil)},
		requests: reqs(anyNT, "new-0"),
		existing: map[string]string{"old-0": "a"},
		want: Result{
			Bindings: []Assignment{newly("new-0", "a")},
			Released: []Release{gone("old-0", "a")},
		},
	},
	"all matching hosts taken": {
		hosts: []*schemas.Host{
			mkHost("a", role("gpu"), nil),
			mkHost("b", role("gpu"), nil),
			mkHost("c", role("cpu"), nil),
		},
		requests: reqs(mkNodeType("g", matchLabels("role", "gpu"), nil), "m-0", "m-1", "m-2", "m-3"),
		existing: map[string]string{"m-2": "a"},
		want: Result{
			Bindings: []Assignment{newly("m-0", "b"), kept("m-2", "a")},
			Unbound: []Unbound{
				{Machine: "m-1", Reason: ReasonAllTaken, Detail: "g: 2 hosts match role=gpu with enough resources, all bound to other machines"},
				{Machine: "m-3", Reason: ReasonAllTaken, Detail: "g: 2 hosts match role=gpu with enough resources, all bound to other machines"},
			},
		},
	},
}

func TestBind(t *testing.T) {
	for name, tc := range bindCases {
		t.Run(name, func(t *testing.T) {
			got, err := Bind(tc.hosts, tc.requests, tc.existing)
			if err != nil {
				t.Fatalf("Bind: %v", err)
			}
			if diff := cmp.Diff(tc.want, got, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("Bind (-want +got):\n%s", diff)
			}
		})
	}
}

// Binding again from a pass's result keeps every binding, releases
// nothing and leaves the same machines unbound for the same reasons.
func TestBindIdempotent(t *testing.T) {
	for name, tc := range bindCases {
		t.Run(name, func(t *testing.T) {
			first, err := Bind(tc.hosts, tc.requests, tc.existing)
			if err != nil {
				t.Fatalf("Bind: %v", err)
			}
			second, err := Bind(tc.hosts, tc.requests, first.Bound())
			if err != nil {
				t.Fatalf("Bind again: %v", err)
			}
			want := Result{Unbound: first.Unbound}
			for _, b := range first.Bindings {
				want.Bindings = append(want.Bindings, kept(b.Machine, b.Host))
			}
			if diff := cmp.Diff(want, second, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("second Bind (-want +got):\n%s", diff)
			}
		})
	}
}

func TestBindDoesNotModifyInput(t *testing.T) {
	requests := reqs(anyNT, "m-2", "m-1")
	hosts := []*schemas.Host{mkHost("b", nil, nil), mkHost("a", nil, nil)}
	existing := map[string]string{"m-9": "b"}
	if _, err := Bind(hosts, requests, existing); err != nil {
		t.Fatal(err)
	}
	if requests[0].Machine != "m-2" || hosts[0].Metadata.Name != "b" || len(existing) != 1 {
		t.Errorf("Bind reordered or changed its input: %v %v %v", requests, hosts[0].Metadata.Name, existing)
	}
}

func TestBindErrors(t *testing.T) {
	a, b := mkHost("a", nil, nil), mkHost("b", nil, nil)
	for name, tc := range map[string]struct {
		hosts    []*schemas.Host
		requests []Request
		existing map[string]string
		want     []string // substrings of the error
	}{
		"two existing bindings name one host": {
			hosts:    []*schemas.Host{a, b},
			requests: reqs(anyNT, "m-0"),
			existing: map[string]string{"m-0": "a", "m-7": "a", "m-1": "b"},
			want:     []string{"m-0", "m-7", "host a"},
		},
		"two existing bindings name one missing host": {
			existing: map[string]string{"x": "gone", "y": "gone"},
			want:     []string{"x", "y", "gone"},
		},
		"existing binding without host": {
			existing: map[string]string{"m-0": ""},
			want:     []string{"m-0", "empty name"},
		},
		"unknown operator": {
			hosts:    []*schemas.Host{a},
			requests: reqs(mkNodeType("bad", expr("role", "Equals", "x"), nil), "m-0"),
			want:     []string{"node type bad", "hostSelector", "Equals"},
		},
		"In without values": {
			hosts:    []*schemas.Host{a},
			requests: reqs(mkNodeType("bad", expr("role", "In"), nil), "m-0"),
			want:     []string{"node type bad", "hostSelector"},
		},
		"invalid label value": {
			requests: reqs(mkNodeType("bad", matchLabels("role", "not a value!"), nil), "m-0"),
			want:     []string{"node type bad", "hostSelector"},
		},
		"node type quantity": {
			requests: reqs(mkNodeType("bad", nil, map[string]string{"memory": "lots"}), "m-0"),
			want:     []string{"node type bad", "memory"},
		},
		"host quantity": {
			hosts:    []*schemas.Host{mkHost("h", nil, map[string]string{"memory": "12 GB"})},
			requests: reqs(mkNodeType("t", nil, map[string]string{"memory": "1Gi"}), "m-0"),
			want:     []string{"host h", "memory"},
		},
		"duplicate host": {
			hosts: []*schemas.Host{a, b, mkHost("a", nil, nil)},
			want:  []string{"host a appears twice"},
		},
		"nil host": {
			hosts: []*schemas.Host{a, nil},
			want:  []string{"nil host"},
		},
		"duplicate machine": {
			requests: append(reqs(anyNT, "m-0", "m-1"), Request{Machine: "m-0", NodeType: anyNT, Pin: "a"}),
			want:     []string{"machine m-0 is requested twice"},
		},
		"no node type": {
			requests: []Request{{Machine: "m-0"}},
			want:     []string{"machine m-0", "no node type"},
		},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := Bind(tc.hosts, tc.requests, tc.existing)
			if err == nil {
				t.Fatal("Bind succeeded, want an error")
			}
			for _, s := range tc.want {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q does not mention %q", err, s)
				}
			}
		})
	}
}

func TestExpand(t *testing.T) {
	gpu := mkNodeType("gpu-server", nil, nil)
	cpu := mkNodeType("cpu-server", nil, nil)
	nts := map[string]*schemas.NodeType{"gpu-server": gpu, "cpu-server": cpu}
	set := func(name, nt string, q int) *schemas.MachineSet {
		return &schemas.MachineSet{Metadata: schemas.ObjectMeta{Name: name}, Spec: schemas.MachineSetSpec{NodeType: nt, Quantity: q}}
	}
	machine := func(name, nt, pin string) *schemas.Machine {
		return &schemas.Machine{Metadata: schemas.ObjectMeta{Name: name}, Spec: schemas.MachineSpec{NodeType: nt, ServerName: pin}}
	}
	for name, tc := range map[string]struct {
		sets     []*schemas.MachineSet
		machines []*schemas.Machine
		want     []Request
		wantErr  string
	}{
		"nothing": {},
		"sets and machines": {
			sets:     []*schemas.MachineSet{set("gpu-workers", "gpu-server", 3), set("empty", "cpu-server", 0)},
			machines: []*schemas.Machine{machine("db-0", "gpu-server", "server-02"), machine("util", "cpu-server", "")},
			want: []Request{
				{Machine: "db-0", NodeType: gpu, Pin: "server-02"},
				{Machine: "gpu-workers-0", NodeType: gpu},
				{Machine: "gpu-workers-1", NodeType: gpu},
				{Machine: "gpu-workers-2", NodeType: gpu},
				{Machine: "util", NodeType: cpu},
			},
		},
		"unknown node type of a set": {
			sets:    []*schemas.MachineSet{set("w", "nope", 1)},
			wantErr: "MachineSet w: unknown node type nope",
		},
		"unknown node type of a machine": {
			machines: []*schemas.Machine{machine("m", "nope", "")},
			wantErr:  "Machine m: unknown node type nope",
		},
		"negative quantity": {
			sets:    []*schemas.MachineSet{set("w", "cpu-server", -1)},
			wantErr: "MachineSet w: negative quantity -1",
		},
	} {
		t.Run(name, func(t *testing.T) {
			got, err := Expand(tc.sets, tc.machines, nts)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("Expand error = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Expand: %v", err)
			}
			samePointer := cmp.Comparer(func(a, b *schemas.NodeType) bool { return a == b })
			if diff := cmp.Diff(tc.want, got, cmpopts.EquateEmpty(), samePointer); diff != "" {
				t.Errorf("Expand (-want +got):\n%s", diff)
			}
		})
	}
}

// Scale-in through Expand: lowering a set's quantity releases the highest indices.
func TestExpandScaleIn(t *testing.T) {
	nt := mkNodeType("t", nil, nil)
	nts := map[string]*schemas.NodeType{"t": nt}
	hosts := []*schemas.Host{mkHost("a", nil, nil), mkHost("b", nil, nil), mkHost("c", nil, nil)}
	set := &schemas.MachineSet{Metadata: schemas.ObjectMeta{Name: "ws"}, Spec: schemas.MachineSetSpec{NodeType: "t", Quantity: 3}}

	r3, err := Expand([]*schemas.MachineSet{set}, nil, nts)
	if err != nil {
		t.Fatal(err)
	}
	first, err := Bind(hosts, r3, nil)
	if err != nil {
		t.Fatal(err)
	}
	set.Spec.Quantity = 1
	r1, err := Expand([]*schemas.MachineSet{set}, nil, nts)
	if err != nil {
		t.Fatal(err)
	}
	got, err := Bind(hosts, r1, first.Bound())
	if err != nil {
		t.Fatal(err)
	}
	want := Result{
		Bindings: []Assignment{kept("ws-0", "a")},
		Released: []Release{gone("ws-1", "b"), gone("ws-2", "c")},
	}
	if diff := cmp.Diff(want, got, cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("Bind after scale-in (-want +got):\n%s", diff)
	}
}

// TestBindHoldsDeprovisioningHosts: a machine scaled in keeps its host
// while Hold says the host is deprovisioned, and no new machine gets it;
// once Hold lets go, the binding is released and the host is free.
func TestBindHoldsDeprovisioningHosts(t *testing.T) {
	nt := mkNodeType("t", nil, nil)
	nts := map[string]*schemas.NodeType{"t": nt}
	hosts := []*schemas.Host{mkHost("a", nil, nil), mkHost("b", nil, nil)}
	set := &schemas.MachineSet{Metadata: schemas.ObjectMeta{Name: "ws"}, Spec: schemas.MachineSetSpec{NodeType: "t", Quantity: 2}}
	other := &schemas.MachineSet{Metadata: schemas.ObjectMeta{Name: "x"}, Spec: schemas.MachineSetSpec{NodeType: "t", Quantity: 1}}
	before := map[string]string{"ws-0": "a", "ws-1": "b"}

	set.Spec.Quantity = 1
	reqs, err := Expand([]*schemas.MachineSet{set, other}, nil, nts)
	if err != nil {
		t.Fatal(err)
	}
	var asked []string
	holdB := func(m, h string) bool { asked = append(asked, m+"→"+h); return h == "b" }
	got, err := BindWith(hosts, reqs, before, Options{Hold: holdB})
	if err != nil {
		t.Fatal(err)
	}
	want := Result{
		Bindings: []Assignment{kept("ws-0", "a"), {Machine: "ws-1", Host: "b", Status: StatusWaiting}},
		Unbound:  []Unbound{{Machine: "x-0", Reason: ReasonAllTaken}},
	}
	if diff := cmp.Diff(want, got, cmpopts.EquateEmpty(), cmpopts.IgnoreFields(Unbound{}, "Detail")); diff != "" {
		t.Errorf("BindWith while b deprovisions (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"ws-1→b"}, asked); diff != "" {
		t.Errorf("Hold asked only of released bindings (-want +got):\n%s", diff)
	}

	got, err = BindWith(hosts, reqs, got.Bound(), Options{Hold: func(string, string) bool { return false }})
	if err != nil {
		t.Fatal(err)
	}
	want = Result{
		Bindings: []Assignment{kept("ws-0", "a"), {Machine: "x-0", Host: "b", Status: StatusNew}},
		Released: []Release{gone("ws-1", "b")},
	}
	if diff := cmp.Diff(want, got, cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("BindWith once b is deprovisioned (-want +got):\n%s", diff)
	}
}

// benchInput builds n hosts in four racks of two kinds and n machine
// requests over three node types, most of which fit.
func benchInput(n int) ([]*schemas.Host, []Request) {
	gpu := mkNodeType("gpu", matchLabels("role", "gpu"), map[string]string{"cpu": "32", "memory": "256Gi", "nvidia.com/gpu": "4"})
	cpu := mkNodeType("cpu", &schemas.LabelSelector{
		MatchLabels:      map[string]string{"role": "cpu"},
		MatchExpressions: []schemas.LabelSelectorRequirement{{Key: "rack", Operator: "In", Values: []string{"r0", "r1", "r2"}}},
	}, map[string]string{"cpu": "16", "memory": "64Gi"})
	anyT := mkNodeType("any", nil, map[string]string{"cpu": "8"})

	hosts := make([]*schemas.Host, n)
	for i := range hosts {
		labels := map[string]string{"rack": fmt.Sprintf("r%d", i%4), "datacenter": "us-east"}
		res := map[string]string{"cpu": "64", "memory": "512Gi"}
		if i%2 == 0 {
			labels["role"] = "gpu"
			res["nvidia.com/gpu"] = []string{"8", "2"}[i/2%2]
		} else {
			labels["role"] = "cpu"
		}
		hosts[i] = mkHost(fmt.Sprintf("server-%06d", i), labels, res)
	}
	requests := make([]Request, 0, n)
	for i := 0; len(requests) < n; i++ {
		requests = append(requests,
			Request{Machine: fmt.Sprintf("gpu-workers-%d", i), NodeType: gpu},
			Request{Machine: fmt.Sprintf("cpu-workers-%d", i), NodeType: cpu},
			Request{Machine: fmt.Sprintf("misc-%d", i), NodeType: anyT},
		)
		if i%100 == 0 {
			requests = append(requests, Request{Machine: fmt.Sprintf("db-%d", i), NodeType: anyT, Pin: fmt.Sprintf("server-%06d", (i*7)%n)})
		}
	}
	return hosts, requests[:n]
}

func BenchmarkBind(b *testing.B) {
	for _, n := range []int{1000, 10000, 50000} {
		hosts, requests := benchInput(n)
		first, err := Bind(hosts, requests, nil)
		if err != nil {
			b.Fatal(err)
		}
		existing := first.Bound()
		b.Run(fmt.Sprintf("fresh/n=%d", n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := Bind(hosts, requests, nil); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(fmt.Sprintf("steady/n=%d", n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := Bind(hosts, requests, existing); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
