package callback_test

import (
	"encoding/json"
	"net/http"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/metalgit/metalgit/boot/callback"
	"github.com/metalgit/metalgit/internal/pxelab"
)

// TestRealInspectorThroughProxy: Debian's Ironic 21.4 has no
// /v1/continue_inspection, so inspection goes to ironic-inspector 11.1:
// a node in inspect wait is found by the agent's lookup through the
// proxy, and its inspection data, posted to the proxy's /v1/continue,
// reaches ironic-inspector, which answers with the node and writes the
// properties back into Ironic.
func TestRealInspectorThroughProxy(t *testing.T) {
	client := &http.Client{Timeout: 30 * time.Second}
	inspectorPort := freePort(t)
	inspectorURL := "http://127.0.0.1:" + inspectorPort
	// Ironic refuses to give the inspector a callback URL on loopback;
	// the agent here is told the proxy's URL by its script anyway.
	ir := pxelab.StartIronic(t, exec.CommandContext, client, "127.0.0.1", freePort(t),
		pxelab.IronicInspectorConf(inspectorURL, "http://192.0.2.1:8081"))
	in := pxelab.StartInspector(t, exec.CommandContext, client, "127.0.0.1", inspectorPort, ir.URL)
	n, err := ir.EnrollNode("server-01", hostMAC.String())
	if err != nil {
		t.Fatal(err)
	}
	patch := []map[string]string{{"op": "replace", "path": "/inspect_interface", "value": "inspector"}}
	if err := ir.Do(http.MethodPatch, "/v1/nodes/"+n.UUID, patch, nil); err != nil {
		t.Fatal(err)
	}
	if err := ir.Provision(n.UUID, "manage", "manageable"); err != nil {
		t.Fatalf("%v\n%s", err, ir.Log)
	}
	if err := ir.Provision(n.UUID, "inspect", "inspect wait"); err != nil {
		t.Fatalf("%v\nIronic:\n%s\ninspector:\n%s", err, ir.Log, in.Log)
	}
	l := startProxy(t, ir.URL, "", hostTable(t), func(c *callback.Config) { c.InspectorURL = inspectorURL })
	node, _ := l.lookup(t)
	if node != n.UUID {
		t.Fatalf("lookup found %q, want %s", node, n.UUID)
	}
	data, _ := json.Marshal(map[string]any{
		"inventory": map[string]any{
			"interfaces": []map[string]any{{"name": "eth0", "mac_address": hostMAC.String(),
				// ironic-inspector skips interfaces with a loopback address.
				"ipv4_address": "192.0.2.10"}},
			"cpu":         map[string]any{"count": 2, "architecture": "x86_64"},
			"memory":      map[string]any{"physical_mb": 2048, "total": 2147483648},
			"disks":       []map[string]any{{"name": "/dev/vda", "size": 21474836480}},
			"bmc_address": "0.0.0.0",
		},
		"root_disk":      map[string]any{"name": "/dev/vda", "size": 21474836480},
		"boot_interface": hostMAC.String(),
	})
	code, body := post(t, l.agent, l.url+"/v1/continue", string(data))
	if code != http.StatusOK || !strings.Contains(body, n.UUID) {
		t.Fatalf("inspection data: %d %s\ninspector:\n%s\nproxy:\n%s", code, body, in.Log, l.logs)
	}
	deadline := time.Now().Add(time.Minute)
	for {
		var got struct {
			Properties map[string]any `json:"properties"`
		}
		if err := ir.Do(http.MethodGet, "/v1/nodes/"+n.UUID, nil, &got); err != nil {
			t.Fatal(err)
		}
		if got.Properties["memory_mb"] != nil {
			if got.Properties["cpu_arch"] != "x86_64" {
				t.Fatalf("node properties after inspection: %v", got.Properties)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("Ironic's node has no inspected properties: %v\ninspector:\n%s", got.Properties, in.Log)
		}
		time.Sleep(300 * time.Millisecond)
	}
}
