package callback_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/metalgit/metalgit/boot/trace"
)

// TestRealIronicThroughProxy: with Debian's Ironic behind the proxy, the
// agent's lookup returns its node and token, every heartbeat is accepted
// (its callback_url rewritten the same way each time, and the same after
// the proxy restarts), and the agent URL Ironic stored carries Ironic's
// command to the agent with its query string.
func TestRealIronicThroughProxy(t *testing.T) {
	ir := startIronic(t)
	n, err := ir.EnrollNode("server-01", hostMAC.String())
	if err != nil {
		t.Fatalf("%v\n%s", err, ir.Log)
	}
	store := hostTable(t)
	agent := startAgent(t, hostLease.Addr().String())
	l := startProxy(t, ir.URL, "", store, nil)

	node, token := l.lookup(t)
	if node != n.UUID || token == "" || token == "******" {
		t.Fatalf("lookup: node %q token %q, want node %s and its first token", node, token, n.UUID)
	}
	cb := fmt.Sprintf("http://%s:%s", hostLease.Addr(), agent.port())
	for i := range 3 {
		if code, body := post(t, l.agent, l.url+"/v1/heartbeat/"+node, heartbeatBody(cb, token)); code != http.StatusAccepted {
			t.Fatalf("heartbeat %d: %d %s\nproxy log:\n%s", i+1, code, body, l.logs)
		}
	}
	// Ironic answers 202 and takes the heartbeat in the background (a
	// locked node waits for the next one): wait until it stored the URL.
	var agentURL string
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(200 * time.Millisecond) {
		got, err := ir.GetNode(node)
		if err != nil {
			t.Fatal(err)
		}
		if agentURL, err = got.AgentURL(); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%v\nIronic log:\n%s", err, ir.Log)
		}
	}
	if want := l.url + "/agents/" + node; agentURL != want {
		t.Fatalf("Ironic stored agent_url %q, want %q", agentURL, want)
	}

	// A new proxy (a restart) with the same --agent-proxy-url: Ironic
	// accepts the heartbeat, so the callback_url did not change.
	l2 := startProxy(t, ir.URL, l.url, store, nil)
	if code, body := post(t, l2.agent, l2.url+"/v1/heartbeat/"+node, heartbeatBody(cb, token)); code != http.StatusAccepted {
		t.Fatalf("heartbeat after a restart: %d %s", code, body)
	}

	// Ironic → agent, through the URL Ironic stored, from the cluster
	// side.
	code, body := post(t, http.DefaultClient, agentURL+"/v1/commands/?wait=true&agent_token="+token,
		`{"name": "standby.get_partition_uuids", "params": {}}`)
	if code != http.StatusOK || !strings.Contains(body, "SUCCEEDED") {
		t.Fatalf("command through the proxy: %d %s\nproxy log:\n%s", code, body, l.logs)
	}
	reqs := agent.requests()
	want := "POST /v1/commands/?wait=true&agent_token=" + token + ` {"name": "standby.get_partition_uuids", "params": {}}`
	if len(reqs) != 1 || reqs[0] != want {
		t.Fatalf("the agent got %q, want [%q]", reqs, want)
	}

	// The boot trace holds the lookup, the heartbeats and the command,
	// and no agent token.
	var kinds []string
	for _, e := range l.trace.Events(hostMAC) {
		kinds = append(kinds, e.Kind)
		if strings.Contains(fmt.Sprint(e), token) {
			t.Errorf("the trace holds the agent token: %+v", e)
		}
	}
	wantKinds := []string{trace.KindLookup, trace.KindHeartbeat, trace.KindHeartbeat, trace.KindHeartbeat, trace.KindCommand}
	if strings.Join(kinds, " ") != strings.Join(wantKinds, " ") {
		t.Errorf("trace kinds %v, want %v", kinds, wantKinds)
	}
	if strings.Contains(l.logs.String(), token) {
		t.Errorf("the proxy logged the agent token:\n%s", l.logs)
	}
	if v := trace.Diagnose(l.trace.Events(hostMAC), true); !v.OK {
		t.Errorf("verdict %+v, want OK", v)
	}
}

// TestHeartbeatNamingAnotherAddressDialsNothing: a heartbeat whose
// callback_url names an address other than its own is refused, Ironic
// never sees it, and nothing is ever dialled at that address.
func TestHeartbeatNamingAnotherAddressDialsNothing(t *testing.T) {
	ir := startIronic(t)
	if _, err := ir.EnrollNode("server-01", hostMAC.String()); err != nil {
		t.Fatal(err)
	}
	victim := listenCounting(t, otherAddr)
	l := startProxy(t, ir.URL, "", hostTable(t), nil)
	node, token := l.lookup(t)
	cb := "http://" + victim.ln.Addr().String()
	code, body := post(t, l.agent, l.url+"/v1/heartbeat/"+node, heartbeatBody(cb, token))
	if code != http.StatusBadRequest || !strings.Contains(body, "does not name the address the heartbeat came from") {
		t.Fatalf("heartbeat naming %s: %d %s", cb, code, body)
	}
	got, err := ir.GetNode(node)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := got.AgentURL(); err == nil {
		t.Fatalf("Ironic stored an agent_url from a refused heartbeat: %v", got.DriverInternalInfo)
	}
	// Ironic asking for that node's agent gets nothing either.
	code, _ = post(t, http.DefaultClient, l.url+"/agents/"+node+"/v1/commands/", `{}`)
	if code != http.StatusServiceUnavailable {
		t.Fatalf("command to a node with no accepted heartbeat: %d, want 503", code)
	}
	if n := victim.count.Load(); n != 0 {
		t.Fatalf("%s was dialled %d times", otherAddr, n)
	}
}
