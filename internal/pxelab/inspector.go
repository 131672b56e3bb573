package pxelab

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/metalgit/metalgit/internal/testlog"
)

// InspectorBinaries are Debian's ironic-inspector commands (package
// python3-ironic-inspector).
const (
	inspectorDBSync = "/usr/bin/ironic-inspector-dbsync"
	inspectorServer = "/usr/bin/ironic-inspector"
)

// inspectorConf runs ironic-inspector 11.1 alone: no authentication, no
// message bus, no PXE filter, nothing stored.
const inspectorConf = `[DEFAULT]
auth_strategy = noauth
standalone = True
transport_url = fake://
listen_address = %s
listen_port = %s
[ironic]
auth_type = none
endpoint_override = %s
[pxe_filter]
driver = noop
[processing]
store_data = none
[database]
connection = sqlite:///%s
`

// IronicInspectorConf is what Ironic needs to inspect through
// ironic-inspector at inspectorURL; callbackURL is the inspection
// callback Ironic tells it (Ironic refuses to build one on loopback).
func IronicInspectorConf(inspectorURL, callbackURL string) string {
	return fmt.Sprintf(`[DEFAULT]
enabled_inspect_interfaces = fake,no-inspect,inspector
[inspector]
auth_type = none
endpoint_override = %s
callback_endpoint_override = %s
status_check_period = 2
`, inspectorURL, callbackURL)
}

// Inspector is a real ironic-inspector.
type Inspector struct {
	URL string
	Log *testlog.Buffer
}

// StartInspector runs ironic-inspector on host:port for Ironic at
// ironicURL until the test ends (skipped without it, a failure under CI).
func StartInspector(t testing.TB, command Command, client *http.Client, host, port, ironicURL string) *Inspector {
	t.Helper()
	if _, err := os.Stat(inspectorServer); err != nil {
		msg := "ironic-inspector is not installed (Debian package python3-ironic-inspector)"
		if os.Getenv("CI") != "" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	dir := t.TempDir()
	conf := filepath.Join(dir, "inspector.conf")
	text := fmt.Sprintf(inspectorConf, host, port, ironicURL, filepath.Join(dir, "inspector.db"))
	if err := os.WriteFile(conf, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	out, err := command(ctx, inspectorDBSync, "--config-file", conf, "upgrade").CombinedOutput()
	cancel()
	if err != nil {
		t.Fatalf("ironic-inspector-dbsync: %v\n%s", err, out)
	}
	in := &Inspector{URL: "http://" + host + ":" + port, Log: &testlog.Buffer{}}
	startProcess(t, command, in.Log, inspectorServer, "--config-file", conf)
	waitUp(t, client, in.URL+"/", "ironic-inspector", in.Log)
	return in
}

// Provision moves a node to a provision state target (manage, inspect,
// …) and waits until it reaches want.
func (ir *Ironic) Provision(id, target, want string) error {
	if err := ir.Do(http.MethodPut, "/v1/nodes/"+id+"/states/provision", map[string]any{"target": target}, nil); err != nil {
		return err
	}
	deadline := time.Now().Add(time.Minute)
	for {
		n, err := ir.GetNode(id)
		if err != nil {
			return err
		}
		if n.ProvisionState == want {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("node %s is %q, not %q, a minute after %s", id, n.ProvisionState, want, target)
		}
		time.Sleep(300 * time.Millisecond)
	}
}

// PowerOff powers a node off through Ironic, as Ironic does before it
// boots a node again: that wipes the agent token, so the next boot's
// lookup gets a new one.
func (ir *Ironic) PowerOff(id string) error {
	if err := ir.Do(http.MethodPut, "/v1/nodes/"+id+"/states/power", map[string]any{"target": "power off"}, nil); err != nil {
		return err
	}
	deadline := time.Now().Add(time.Minute)
	for {
		var n struct {
			PowerState  string `json:"power_state"`
			TargetPower any    `json:"target_power_state"`
		}
		if err := ir.Do(http.MethodGet, "/v1/nodes/"+id, nil, &n); err != nil {
			return err
		}
		if n.PowerState == "power off" && n.TargetPower == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("node %s is still %q a minute after power off", id, n.PowerState)
		}
		time.Sleep(200 * time.Millisecond)
	}
}
