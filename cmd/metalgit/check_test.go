package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestStateCheckedAlike: an address of the state that is not allocatable
// in its pool stops validate, plan, allocate and render with the same
// problem; render renders nothing and allocate writes nothing.
func TestStateCheckedAlike(t *testing.T) {
	base := copyDir(t, "../../render/testdata/section10/inventory")
	if code, _, stderr := runCLI(t, "allocate", base); code != exitOK {
		t.Fatalf("allocate: exit %d\n%s", code, stderr)
	}
	const notAllocatable = " is not an allocatable address of pool %s (outside it, reserved, or its network/gateway/broadcast); restore the state file from Git history or fix the pool"
	tests := map[string]struct {
		from, to string // in state/allocations.yaml
		line     int
		pool     string
	}{
		"the gateway of a CIDR pool":     {"192.168.100.3: Host/server-01", "192.168.100.1: Host/server-01", 6, "provisioning"},
		"the network address":            {"192.168.100.3: Host/server-01", "192.168.100.0: Host/server-01", 6, "provisioning"},
		"the broadcast address":          {"192.168.100.3: Host/server-01", "192.168.100.255: Host/server-01", 6, "provisioning"},
		"a reserved address":             {"192.168.100.3: Host/server-01", "192.168.100.2: Host/server-01", 6, "provisioning"},
		"an address of a reserved range": {"192.168.100.3: Host/server-01", "192.168.100.245: Host/server-01", 6, "provisioning"},
		"outside the subnet":             {"192.168.100.3: Host/server-01", "192.168.101.3: Host/server-01", 6, "provisioning"},
		"another address family":         {"192.168.100.3: Host/server-01", "fd00::3: Host/server-01", 6, "provisioning"},
		"between the ranges of a pool":   {"10.0.0.20: Machine/db-0", "10.0.0.35: Machine/db-0", 9, "tenant"},
		"the gateway of a range pool":    {"10.0.0.20: Machine/db-0", "10.0.0.1: Machine/db-0", 9, "tenant"},
		"past the last range":            {"10.0.0.20: Machine/db-0", "10.0.0.51: Machine/db-0", 9, "tenant"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			inv := copyDir(t, base)
			file := filepath.Join(inv, "state", "allocations.yaml")
			replaceInFile(t, file, tc.from, tc.to)
			before, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			addr, owner, _ := strings.Cut(tc.to, ": ")
			want := file + ":" + strconv.Itoa(tc.line) + ": pools." + tc.pool + "[" + addr + "]: " + addr + " of " + owner +
				strings.Replace(notAllocatable, "%s", tc.pool, 1) + "\nError: 1 problem\n"
			out := filepath.Join(t.TempDir(), "deploy")
			for _, args := range [][]string{{"render", inv}, {"render", inv, "-o", out}, {"plan", inv}, {"allocate", inv}, {"validate", inv}} {
				code, stdout, stderr := runCLI(t, args...)
				if code != exitFailed || stdout != "" {
					t.Errorf("%s: exit %d, stdout %q", args[0], code, stdout)
				}
				if diff := cmp.Diff(want, stderr); diff != "" {
					t.Errorf("%s: stderr (-want +got):\n%s", args, diff)
				}
			}
			if _, err := os.Stat(out); !os.IsNotExist(err) {
				t.Errorf("render -o wrote %s", out)
			}
			if after, err := os.ReadFile(file); err != nil || string(after) != string(before) {
				t.Errorf("allocate rewrote the state: %v", err)
			}
		})
	}
}

// leftOutInventory has a provisioning pool of two addresses for three
// hosts, a tenant pool of one address for two machines, and a machine
// whose node type no host matches.
const leftOutInventory = `apiVersion: metalgit.dev/v1alpha1
kind: Site
metadata: {name: dc}
spec: {namespace: metal3, provisioningPool: prov}
---
apiVersion: metalgit.dev/v1alpha1
kind: IPPool
metadata: {name: prov}
spec: {ranges: ["192.168.0.10-192.168.0.11"], prefix: 24, gateway: 192.168.0.1}
---
apiVersion: metalgit.dev/v1alpha1
kind: IPPool
metadata: {name: tenant}
spec: {ranges: ["10.0.0.10-10.0.0.10"], prefix: 24, gateway: 10.0.0.1}
---
apiVersion: metalgit.dev/v1alpha1
kind: NodeType
metadata: {name: compute}
spec:
  hostSelector: {matchLabels: {role: compute}}
  pool: tenant
  userDataTemplate: |
    #cloud-config
    hostname: {{ .Machine.Name }}
---
apiVersion: metalgit.dev/v1alpha1
kind: NodeType
metadata: {name: gpu}
spec:
  hostSelector: {matchLabels: {role: gpu}}
---
apiVersion: metalgit.dev/v1alpha1
kind: MachineSet
metadata: {name: app}
spec: {nodeType: compute, quantity: 2}
---
apiVersion: metalgit.dev/v1alpha1
kind: Machine
metadata: {name: gpu-0}
spec: {nodeType: gpu}
`

func leftOutHost(name string) string {
	return `apiVersion: metalgit.dev/v1alpha1
kind: Host
metadata: {name: ` + name + `, labels: {role: compute}}
spec:
  bmc: {address: "redfish://10.9.0.1/redfish/v1/Systems/` + name + `", credentialsName: ` + name + `-bmc}
  bootMACAddress: "02:00:00:00:01:0` + name[len(name)-1:] + `"
`
}

// TestRenderLeavesOutWhatTheStateLacks: an exhausted pool and a machine
// that cannot bind do not stop the rest of the fleet from rendering; what
// is left out is listed with why, and nothing of it is half rendered.
func TestRenderLeavesOutWhatTheStateLacks(t *testing.T) {
	inv := t.TempDir()
	files := map[string]string{"inventory.yaml": leftOutInventory, "h-01.yaml": leftOutHost("h-01"), "h-02.yaml": leftOutHost("h-02"), "h-03.yaml": leftOutHost("h-03")}
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(inv, name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	code, stdout, stderr := runCLI(t, "allocate", inv)
	if code != exitOK {
		t.Fatalf("allocate: exit %d\n%s", code, stderr)
	}
	for _, s := range []string{
		"pool prov (2 addresses) is exhausted: no free address for Host/h-03\n",
		"pool tenant (1 address) is exhausted: no free address for Machine/app-1\n",
		"Machine/gpu-0 cannot bind: no host matches the selector (gpu: no host matches role=gpu)\n",
	} {
		if !strings.Contains(stdout, s) {
			t.Errorf("allocate does not report %q:\n%s", s, stdout)
		}
	}

	want := "Host/h-03: not rendered: no address in pool prov in the state; allocate cannot serve it either: pool exhausted\n" +
		"Machine/app-1: not rendered: no address in pool tenant in the state; Host/h-02 is rendered without it (no image, user-data or network-data); allocate cannot serve it either: pool exhausted\n" +
		"Machine/gpu-0: not rendered: the state binds it to no host; allocate cannot serve it either: no host matches the selector\n"
	code, stream, stderr := runCLI(t, "render", inv)
	if code != exitOK {
		t.Fatalf("render: exit %d\n%s", code, stderr)
	}
	if diff := cmp.Diff(want, stderr); diff != "" {
		t.Errorf("stderr (-want +got):\n%s", diff)
	}
	// h-01 with app-0; h-02 without app-1; h-03 not at all.
	var objects []string
	for _, d := range strings.Split(stream, "---\n") {
		kind, name := field(d, "kind: "), field(d, "  name: ")
		objects = append(objects, kind+"/"+name)
		if kind == "BareMetalHost" && name == "h-02" {
			for _, s := range []string{"image:", "userData:", "networkData:", "metalgit.dev/machine"} {
				if strings.Contains(d, s) {
					t.Errorf("h-02, rendered without app-1, has %s:\n%s", s, d)
				}
			}
		}
	}
	wantObjects := []string{"BareMetalHost/h-01", "BareMetalHost/h-02", "Secret/app-0-network-data", "Secret/app-0-user-data",
		"Secret/h-01-preprov-network-data", "Secret/h-02-preprov-network-data"}
	if diff := cmp.Diff(wantObjects, objects); diff != "" {
		t.Errorf("objects (-want +got):\n%s", diff)
	}

	// --fail-on-problems: the same output and report, then exit 1.
	out := filepath.Join(t.TempDir(), "deploy")
	code, _, stderr = runCLI(t, "render", "--fail-on-problems", inv, "-o", out)
	if code != exitFailed {
		t.Errorf("render --fail-on-problems: exit %d", code)
	}
	if diff := cmp.Diff("wrote 7 files to "+out+"\n"+want+"Error: 3 hosts or machines not rendered\n", stderr); diff != "" {
		t.Errorf("stderr (-want +got):\n%s", diff)
	}
}

// field returns the value after the first line starting with prefix.
func field(doc, prefix string) string {
	for _, l := range strings.Split(doc, "\n") {
		if v, ok := strings.CutPrefix(l, prefix); ok {
			return v
		}
	}
	return ""
}

// TestPlanProblemsAsRequested: plan and allocate print the problems of an
// invalid inventory in the format asked for, and exit 1.
func TestPlanProblemsAsRequested(t *testing.T) {
	inv := copyDir(t, "../../render/testdata/template-error/inventory")
	file := filepath.Join(inv, "inventory.yaml")
	problem := file + ":25: NodeType/compute: spec.userDataTemplate: template line 2: <len 3>: error calling len: len of type int (user-data of Machine/app-0 on Host/compute-01)"
	unknown := copyDir(t, "../../examples/invalid/unknown-field")
	for _, command := range []string{"plan", "allocate"} {
		t.Run(command+" json", func(t *testing.T) {
			code, stdout, stderr := runCLI(t, command, "-o", "json", inv)
			if code != exitFailed || stderr != "" {
				t.Errorf("exit %d, stderr %q", code, stderr)
			}
			var got struct {
				Valid    bool `json:"valid"`
				Problems []struct {
					File, Object, Field, Rule, Message string
					Line                               int
				} `json:"problems"`
			}
			if err := json.Unmarshal([]byte(stdout), &got); err != nil {
				t.Fatalf("not JSON: %v\n%s", err, stdout)
			}
			want := `{false [{` + file + ` NodeType/compute spec.userDataTemplate template template line 2: <len 3>: error calling len: len of type int (user-data of Machine/app-0 on Host/compute-01) 25}]}`
			if diff := cmp.Diff(want, fmt.Sprint(got)); diff != "" {
				t.Errorf("JSON (-want +got):\n%s", diff)
			}

			// An inventory that does not validate, likewise.
			code, stdout, _ = runCLI(t, command, "-o", "json", unknown)
			if code != exitFailed || !strings.HasPrefix(stdout, "{\n  \"valid\": false,\n  \"problems\": [\n") || strings.Count(stdout, `"rule": "unknown-field"`) != 3 {
				t.Errorf("exit %d, stdout:\n%s", code, stdout)
			}
		})
		t.Run(command+" markdown", func(t *testing.T) {
			code, stdout, stderr := runCLI(t, command, "-o", "markdown", inv)
			if code != exitFailed {
				t.Errorf("exit %d", code)
			}
			wantOut := "### metalgit " + command + ": `" + inv + "`\n\n**1 problem**; nothing can be planned until they are fixed:\n\n- " + problem + "\n"
			if diff := cmp.Diff(wantOut, stdout); diff != "" {
				t.Errorf("stdout (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(problem+"\nError: 1 problem\n", stderr); diff != "" {
				t.Errorf("stderr (-want +got):\n%s", diff)
			}
		})
	}

	// A valid plan says so too.
	code, stdout, _ := runCLI(t, "plan", "-o", "json", "../../examples/dc1")
	if code != exitOK || !strings.HasPrefix(stdout, "{\n  \"valid\": true,\n  \"bindings\": [") {
		t.Errorf("exit %d, stdout:\n%.200s", code, stdout)
	}
}
