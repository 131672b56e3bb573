package pxelab

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/metalgit/metalgit/internal/testlog"
)

// Python is Debian's interpreter, which has python3-ironic (a pyenv
// python on PATH would not).
const Python = "/usr/bin/python3"

// IronicAPIVersion is what the tests ask for: Debian 12's Ironic 21.4
// tops at 1.82.
const IronicAPIVersion = "1.80"

// Ironic is a real Ironic (Debian's python3-ironic) running as one
// process: API and conductor, fake-hardware, sqlite, no authentication.
type Ironic struct {
	// URL is its API, as the test reaches it through Client.
	URL    string
	Client *http.Client
	Log    *testlog.Buffer
}

// ironicConf enables fake-hardware only and turns off every interface
// whose default needs a host tool (ipmitool and the like). Nodes use the
// direct (agent) deploy interface, whose heartbeat stores the agent's
// URL, and fast track, which takes heartbeats in any state a node may
// have before deployment (enroll, manageable, available): the tests need
// no fake deployment to get there.
const ironicConf = `[DEFAULT]
auth_strategy = noauth
rpc_transport = none
host = metalgit-test
enabled_hardware_types = fake-hardware
enabled_boot_interfaces = fake
enabled_deploy_interfaces = fake,direct
enabled_management_interfaces = fake
enabled_power_interfaces = fake
enabled_inspect_interfaces = fake,no-inspect
enabled_vendor_interfaces = no-vendor
enabled_console_interfaces = no-console
enabled_raid_interfaces = no-raid
enabled_bios_interfaces = no-bios
enabled_rescue_interfaces = no-rescue
enabled_network_interfaces = noop
enabled_storage_interfaces = noop
[api]
host_ip = %s
port = %s
restrict_lookup = false
[database]
connection = sqlite:///%s
[dhcp]
dhcp_provider = none
[deploy]
fast_track = true
`

// RequireIronic skips the test (fails it under CI) without Debian's
// python3-ironic.
func RequireIronic(t testing.TB) {
	t.Helper()
	if err := exec.Command(Python, "-c", "import ironic.cmd.singleprocess").Run(); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("Ironic is not installed (Debian package python3-ironic): %v", err)
		}
		t.Skipf("Ironic is not installed (Debian package python3-ironic): %v", err)
	}
}

// Command makes the command that runs a program: exec.CommandContext, or a
// network namespace's Command.
type Command func(ctx context.Context, name string, args ...string) *exec.Cmd

// StartIronic runs Ironic on host:port, through command, until the test
// ends; client reaches it. extraConf is appended to its configuration
// (oslo.config takes the last value of a key).
func StartIronic(t testing.TB, command Command, client *http.Client, host, port string, extraConf ...string) *Ironic {
	t.Helper()
	RequireIronic(t)
	dir := t.TempDir()
	conf := filepath.Join(dir, "ironic.conf")
	text := fmt.Sprintf(ironicConf, host, port, filepath.Join(dir, "ironic.db")) + strings.Join(extraConf, "\n")
	if err := os.WriteFile(conf, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	entry := func(module, argv0 string, args ...string) []string {
		// A JSON list of strings is a Python list literal.
		argv, _ := json.Marshal(append([]string{argv0, "--config-file", conf}, args...))
		return []string{"-c", "import sys; sys.argv=" + string(argv) + "; from " + module + " import main; main()"}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	out, err := command(ctx, Python, entry("ironic.cmd.dbsync", "ironic-dbsync", "create_schema")...).CombinedOutput()
	cancel()
	if err != nil {
		t.Fatalf("ironic-dbsync: %v\n%s", err, out)
	}
	ir := &Ironic{URL: "http://" + host + ":" + port, Client: client, Log: &testlog.Buffer{}}
	startProcess(t, command, ir.Log, Python, entry("ironic.cmd.singleprocess", "ironic")...)
	waitUp(t, client, ir.URL+"/v1", "Ironic", ir.Log)
	return ir
}

// startProcess runs a server until the test ends; it is stopped by its
// PID, SIGTERM first.
func startProcess(t testing.TB, command Command, log *testlog.Buffer, name string, args ...string) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	cmd := command(ctx, name, args...)
	cmd.Stdout, cmd.Stderr = log, log
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.WaitDelay = 10 * time.Second
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cancel()
		_ = cmd.Wait()
	})
}

// waitUp waits until url answers 200.
func waitUp(t testing.TB, client *http.Client, url, what string, log *testlog.Buffer) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		resp, err := client.Get(url)
		if err == nil {
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s did not start: %v\n%s", what, err, log)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// Do sends a request to Ironic's API and decodes its JSON answer into out
// (when not nil); an answer other than 2xx is an error with its body.
func (ir *Ironic) Do(method, path string, body, out any) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, ir.URL+path, rd)
	if err != nil {
		return err
	}
	req.Header.Set("X-OpenStack-Ironic-API-Version", IronicAPIVersion)
	req.Header.Set("Content-Type", "application/json")
	resp, err := ir.Client.Do(req)
	if err != nil {
		return err
	}
	defer func() { _ = resp.Body.Close() }()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("%s %s: %s: %s", method, path, resp.Status, b)
	}
	if out != nil && len(b) > 0 {
		return json.Unmarshal(b, out)
	}
	return nil
}

// Node is the part of an Ironic node the tests read.
type Node struct {
	UUID               string         `json:"uuid"`
	Name               string         `json:"name"`
	ProvisionState     string         `json:"provision_state"`
	DriverInternalInfo map[string]any `json:"driver_internal_info"`
}

// EnrollNode creates a fake-hardware node named name with one port of
// mac and returns it.
func (ir *Ironic) EnrollNode(name, mac string) (Node, error) {
	var n Node
	node := map[string]any{"name": name, "driver": "fake-hardware", "deploy_interface": "direct"}
	if err := ir.Do(http.MethodPost, "/v1/nodes", node, &n); err != nil {
		return n, err
	}
	if err := ir.Do(http.MethodPost, "/v1/ports", map[string]any{"node_uuid": n.UUID, "address": mac}, nil); err != nil {
		return n, err
	}
	return n, nil
}

// GetNode reads a node back.
func (ir *Ironic) GetNode(id string) (Node, error) {
	var n Node
	err := ir.Do(http.MethodGet, "/v1/nodes/"+id, nil, &n)
	return n, err
}

// AgentURL is the agent URL Ironic stored from the node's heartbeats.
func (n Node) AgentURL() (string, error) {
	u, ok := n.DriverInternalInfo["agent_url"].(string)
	if !ok || u == "" {
		return "", errors.New("node " + n.UUID + " has no agent_url in driver_internal_info")
	}
	return u, nil
}
