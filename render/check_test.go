package render_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/metalgit/metalgit/alloc"
	"github.com/metalgit/metalgit/render"
	"github.com/metalgit/metalgit/schemas"
)

// checkBase is an inventory whose node type, compute, ends the file at
// line 40: each case adds the node type's data fields from line 41 on,
// then documents of its own. The MachineSet asks for app-0 and app-1,
// which bind to h-01 and h-02.
const checkBase = `apiVersion: metalgit.dev/v1alpha1
kind: Site
metadata: {name: dc}
spec: {namespace: metal3, provisioningPool: prov, properties: {region: east}}
---
apiVersion: metalgit.dev/v1alpha1
kind: IPPool
metadata: {name: prov}
spec: {cidr: 192.168.0.1/24}
---
apiVersion: metalgit.dev/v1alpha1
kind: IPPool
metadata: {name: tenant}
spec: {ranges: ["10.0.0.10-10.0.0.20"], prefix: 24, gateway: 10.0.0.1}
---
apiVersion: metalgit.dev/v1alpha1
kind: Host
metadata: {name: h-01, labels: {role: compute}}
spec:
  bmc: {address: "redfish://10.9.0.1/redfish/v1/Systems/1", credentialsName: h-01-bmc}
  bootMACAddress: "02:00:00:00:01:01"
---
apiVersion: metalgit.dev/v1alpha1
kind: Host
metadata: {name: h-02, labels: {role: compute}}
spec:
  bmc: {address: "redfish://10.9.0.2/redfish/v1/Systems/1", credentialsName: h-02-bmc}
  bootMACAddress: "02:00:00:00:01:02"
---
apiVersion: metalgit.dev/v1alpha1
kind: MachineSet
metadata: {name: app}
spec: {nodeType: compute, quantity: 2, properties: {list: [a, b]}}
---
apiVersion: metalgit.dev/v1alpha1
kind: NodeType
metadata: {name: compute}
spec:
  hostSelector: {matchLabels: {role: compute}}
  pool: tenant
`

// checkInput loads checkBase with the node type's fields and more
// documents, validates it (it must validate: Check is for what validation
// does not find) and plans it from an empty state.
func checkInput(t *testing.T, fields, more string) render.Input {
	t.Helper()
	text := checkBase + fields
	if more != "" {
		text += "---\n" + more
	}
	inv, problems := schemas.LoadBytes("inv.yaml", []byte(text))
	problems = append(problems, inv.Validate()...)
	if len(problems) > 0 {
		t.Fatalf("the case does not validate:\n%v", problems)
	}
	plan, err := alloc.Compute(inv, nil)
	if err != nil {
		t.Fatal(err)
	}
	return render.Input{Inventory: inv, State: plan.Next}
}

// block indents a template as a block scalar under field.
func block(field, text string) string {
	return "  " + field + ": |\n    " + strings.ReplaceAll(strings.TrimSuffix(text, "\n"), "\n", "\n    ") + "\n"
}

func problemLines(ps schemas.Problems) []string {
	var out []string
	for _, p := range ps {
		out = append(out, fmt.Sprintf("%s [%s]", p, p.Rule))
	}
	return out
}

// TestCheck: what render rejects, validate and plan find, with the file,
// document, field, template line and the machine it failed for. Every case
// validates; the bound machines fail the same way in Render.
func TestCheck(t *testing.T) {
	const both = "app-0 on Host/h-01, and 1 more" // app-1 on h-02 fails the same way
	tests := map[string]struct {
		fields, more string
		want         []string
	}{
		"unknown top-level key": {
			fields: block("userDataTemplate", "#cloud-config\nhostname: {{ .Nope }}"),
			want:   []string{`inv.yaml:43: NodeType/compute: spec.userDataTemplate: template line 2: <.Nope>: map has no entry for key "Nope"; templates see .Machine, .Host, .Properties, .SSHKeys, .AllocatedIP, .Gateway, .Prefix and .DNSServers (user-data of Machine/` + both + `) [template]`},
		},
		"unknown field of a struct": {
			fields: block("userDataTemplate", "#cloud-config\n\nhostname: {{ .Machine.Nope }}"),
			want:   []string{`inv.yaml:44: NodeType/compute: spec.userDataTemplate: template line 3: <.Machine.Nope>: can't evaluate field Nope in type interface {}; .Machine has .Name, .NodeType and .Set (user-data of Machine/` + both + `) [template]`},
		},
		"unset property": {
			fields: block("userDataTemplate", "#cloud-config\nhostname: {{ .Properties.region }}-{{ .Properties.rack }}"),
			want:   []string{`inv.yaml:43: NodeType/compute: spec.userDataTemplate: template line 2: <.Properties.rack>: map has no entry for key "rack"; set properties.rack (on the Site, NodeType, MachineSet or Machine), or guard it: {{ with index .Properties "rack" }}...{{ end }} (user-data of Machine/` + both + `) [template]`},
		},
		"index of an unset property": {
			fields: block("userDataTemplate", `#cloud-config
hostname: {{ index .Properties "x" 5 }}`),
			want: []string{`inv.yaml:43: NodeType/compute: spec.userDataTemplate: template line 2: <index .Properties "x" 5>: error calling index: index of nil pointer (user-data of Machine/` + both + `) [template]`},
		},
		"index out of range": {
			fields: block("userDataTemplate", `#cloud-config
hostname: {{ index .Properties.list 5 }}`),
			want: []string{`inv.yaml:43: NodeType/compute: spec.userDataTemplate: template line 2: <index .Properties.list 5>: error calling index: index out of range: 5 (user-data of Machine/` + both + `) [template]`},
		},
		"wrong number of arguments": {
			fields: block("networkDataTemplate", `{"links": {{ join "," }}}`),
			want:   []string{`inv.yaml:42: NodeType/compute: spec.networkDataTemplate: template line 1: <join>: wrong number of args for join: want 2 got 1 (network-data of Machine/` + both + `) [template]`},
		},
		"wrong argument type": {
			fields: block("userDataTemplate", `#cloud-config
hostname: {{ indent "two" .Machine.Name }}`),
			want: []string{`inv.yaml:43: NodeType/compute: spec.userDataTemplate: template line 2: <"two">: expected integer; found "two" (user-data of Machine/` + both + `) [template]`},
		},
		"negative indent": {
			fields: block("userDataTemplate", `#cloud-config
hostname: {{ indent -2 .Machine.Name }}`),
			want: []string{`inv.yaml:43: NodeType/compute: spec.userDataTemplate: template line 2: <indent -2 .Machine.Name>: error calling indent: indent: width -2 is negative (user-data of Machine/` + both + `) [template]`},
		},
		"a template calling a template": {
			fields: block("userDataTemplate", "#cloud-config\n{{ define \"x\" }}{{ template \"x\" . }}{{ template \"x\" . }}{{ end }}\nhostname: a\n{{ template \"x\" . }}"),
			want:   []string{`inv.yaml:45: NodeType/compute: spec.userDataTemplate: template line 4: {{ template }} and {{ block }} are not allowed in user-data and network-data templates (a template that calls itself runs without end); write the text where it is needed (user-data of Machine/` + both + `) [template]`},
		},
		"template result is not cloud-config": {
			fields: block("userDataTemplate", "hostname: {{ .Machine.Name }}"),
			want: []string{
				`inv.yaml:41: NodeType/compute: spec.userDataTemplate: user-data must start with the line #cloud-config, not "hostname: app-0" (user-data of Machine/app-0 on Host/h-01) [user-data]`,
				`inv.yaml:41: NodeType/compute: spec.userDataTemplate: user-data must start with the line #cloud-config, not "hostname: app-1" (user-data of Machine/app-1 on Host/h-02) [user-data]`,
			},
		},
		"literal user-data is not YAML": {
			fields: block("userData", "#cloud-config\nhostname: [a"),
			want:   []string{`inv.yaml:41: NodeType/compute: spec.userData: result is not valid YAML: yaml: line 1: did not find expected ',' or ']' (user-data of Machine/` + both + `) [user-data]`},
		},
		"literal user-data is a list": {
			fields: block("userData", "#cloud-config\n- a"),
			want:   []string{`inv.yaml:41: NodeType/compute: spec.userData: result is not a YAML mapping (line 2); cloud-config is a mapping such as hostname: x (user-data of Machine/` + both + `) [user-data]`},
		},
		"literal network-data is a list": {
			fields: "  networkData: '[1, 2]'\n",
			want:   []string{`inv.yaml:41: NodeType/compute: spec.networkData: result is not a JSON object or YAML mapping; network data is one, such as {"links": [...], "networks": [...]} (network-data of Machine/` + both + `) [network-data]`},
		},
		"literal network-data is not JSON": {
			fields: "  networkData: '{\"links\": [}'\n",
			want:   []string{`inv.yaml:41: NodeType/compute: spec.networkData: result is not valid JSON or YAML: yaml: did not find expected node content (network-data of Machine/` + both + `) [network-data]`},
		},
		"a runaway template": {
			fields: "  properties: {big: [" + strings.Repeat("0, ", 999) + "0]}\n" +
				block("userDataTemplate", "#cloud-config\n{{ range .Properties.big }}{{ range $.Properties.big }}{{ range $.Properties.big }}# {{ $.Machine.Name }}\n{{ end }}{{ end }}{{ end }}"),
			want: []string{`inv.yaml:42: NodeType/compute: spec.userDataTemplate: the template's output passed 48 KiB (49152 bytes), the limit per user-data and per network-data (Ironic takes both in one provisioning request); make it smaller, for example by moving files into the OS image (user-data of Machine/` + both + `) [data-size]`},
		},
		"a long literal user-data": {
			fields: block("userData", "#cloud-config\n# "+strings.Repeat("x", render.MaxDataSize)),
			want:   []string{`inv.yaml:41: NodeType/compute: spec.userData: the user-data passed 48 KiB (49152 bytes), the limit per user-data and per network-data (Ironic takes both in one provisioning request); make it smaller, for example by moving files into the OS image (user-data of Machine/` + both + `) [data-size]`},
		},
		"a long literal network-data": {
			fields: `  networkData: '{"links": [], "x": "` + strings.Repeat("x", render.MaxDataSize) + `"}'` + "\n",
			want:   []string{`inv.yaml:41: NodeType/compute: spec.networkData: the network-data passed 48 KiB (49152 bytes), the limit per user-data and per network-data (Ironic takes both in one provisioning request); make it smaller, for example by moving files into the OS image (network-data of Machine/` + both + `) [data-size]`},
		},
		"template Secret": {
			fields: "  userDataTemplateSecret: ud\n",
			more: `apiVersion: v1
kind: Secret
metadata: {name: ud, labels: {metalgit.dev/user-data-template-type: cloud-config}}
stringData:
  template: |
    #cloud-config
    hostname: {{ .Host.Nope }}
`,
			want: []string{`inv.yaml:49: Secret/ud: stringData.template: template line 2: <.Host.Nope>: can't evaluate field Nope in type interface {}; .Host has .Name, .Labels, .BootMACAddress and .Interfaces (user-data of Machine/` + both + `, through NodeType/compute spec.userDataTemplateSecret) [template]`},
		},
		"a host the generated network-data cannot use": {
			fields: "",
			more: `apiVersion: metalgit.dev/v1alpha1
kind: Host
metadata: {name: h-03, labels: {role: other}}
spec:
  bmc: {address: "redfish://10.9.0.3/redfish/v1/Systems/1", credentialsName: h-03-bmc}
  bootMACAddress: "02:00:00:00:01:03"
  interfaces:
    - {name: eno1, macAddress: "02:00:00:00:02:01"}
`,
			want: []string{`inv.yaml:48: Host/h-03: spec.interfaces: no interface has a pool and none has the boot MAC address 02:00:00:00:01:03; set pool on the interface that carries the address (preprovisioning network-data of Host/h-03) [network-data]`},
		},
		"a machine's Secret named like a host's": {
			more: `apiVersion: metalgit.dev/v1alpha1
kind: Machine
metadata: {name: h-01-preprov}
spec: {nodeType: compute}
---
apiVersion: metalgit.dev/v1alpha1
kind: Host
metadata: {name: h-03, labels: {role: compute}}
spec:
  bmc: {address: "redfish://10.9.0.3/redfish/v1/Systems/1", credentialsName: h-03-bmc}
  bootMACAddress: "02:00:00:00:01:03"
`,
			want: []string{`inv.yaml:44: Machine/h-01-preprov: metadata.name: the machine's network-data Secret h-01-preprov-network-data would have the name of the preprovisioning network-data Secret of Host/h-01; rename the machine (Machine/h-01-preprov) [object-name]`},
		},
		"a node type no machine is bound to": {
			more: `apiVersion: metalgit.dev/v1alpha1
kind: NodeType
metadata: {name: spare}
spec:
  hostSelector: {matchLabels: {role: compute}}
  userDataTemplate: |
    #cloud-config
    hostname: {{ .Nope }}
`,
			want: []string{`inv.yaml:49: NodeType/spare: spec.userDataTemplate: template line 2: <.Nope>: map has no entry for key "Nope"; templates see .Machine, .Host, .Properties, .SSHKeys, .AllocatedIP, .Gateway, .Prefix and .DNSServers (user-data of Machine/spare-example on Host/h-01, a representative context: no machine of NodeType/spare is bound) [template]`},
		},
		"a node type no host matches": {
			more: `apiVersion: metalgit.dev/v1alpha1
kind: NodeType
metadata: {name: spare}
spec:
  hostSelector: {matchLabels: {role: none}}
  networkDataTemplate: |
    {"ip": "{{ .AllocatedIP }}", "mac": "{{ (index .Host.Interfaces 0).MACAddress }}"}
`,
			want: []string{`inv.yaml:48: NodeType/spare: spec.networkDataTemplate: template line 1: <index .Host.Interfaces 0>: error calling index: reflect: slice index out of range (network-data of Machine/spare-example on a stand-in host (no host matches the node type), a representative context: no machine of NodeType/spare is bound) [template]`},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			in := checkInput(t, tc.fields, tc.more)
			got := problemLines(render.Check(in.Inventory, in.State))
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("Check (-want +got):\n%s", diff)
			}
			// Render refuses the same failures of bound machines, as
			// problems, and renders nothing; representative contexts are
			// Check's alone.
			var wantRendered []string
			for _, l := range tc.want {
				if !strings.Contains(l, "a representative context") {
					wantRendered = append(wantRendered, l)
				}
			}
			out, err := render.Render(in, render.Options{})
			if len(wantRendered) == 0 {
				if err != nil {
					t.Fatalf("Render: %v", err)
				}
				return
			}
			var problems schemas.Problems
			if !errors.As(err, &problems) || out != nil {
				t.Fatalf("Render: %d bytes, err %v; want problems and no output", len(out), err)
			}
			if diff := cmp.Diff(wantRendered, problemLines(problems)); diff != "" {
				t.Errorf("Render's problems differ from Check's (-check +render):\n%s", diff)
			}
		})
	}
}

// TestCheckSite: the Site's objects are checked too, with the problem on
// the Site.
func TestCheckSite(t *testing.T) {
	tests := map[string]struct{ namespace, want string }{
		"upper case":  {"Bad_NS", `inv.yaml:1: Site/dc: annotation metalgit.dev/metallb-namespace: "Bad_NS" is not a valid namespace: a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?') (Site/dc) [value]`},
		"a dot":       {"lb.system", `inv.yaml:1: Site/dc: annotation metalgit.dev/metallb-namespace: "lb.system" is not a valid namespace: must not contain dots (Site/dc) [value]`},
		"a valid one": {"lb", ""},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			in := checkInput(t, "", "")
			site := in.Inventory.Sites[0]
			site.Metadata.Annotations = map[string]string{"metalgit.dev/metallb-namespace": tc.namespace}
			site.Spec.MetalLB = &schemas.MetalLBSpec{Pools: []schemas.MetalLBPool{{Name: "lb", Addresses: []string{"10.1.0.1-10.1.0.5"}}}}
			got := problemLines(render.Check(in.Inventory, in.State))
			var want []string
			if tc.want != "" {
				want = []string{tc.want}
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("Check (-want +got):\n%s", diff)
			}
		})
	}
}
