package httpboot

import (
	"flag"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/metalgit/metalgit/boot"
)

var update = flag.Bool("update", false, "rewrite the golden scripts in testdata")

// scriptConfig has parameters at every level, each naming its level.
func scriptConfig() Config {
	return Config{
		SiteParams:      boot.KernelParams{Inspector: []string{"site-inspector=1"}, Installer: []string{"site-installer=1"}},
		InspectorParams: []string{"flag-inspector=1"},
		InstallerParams: []string{"flag-installer=1"},
	}
}

// TestScripts compares each kind of script with its golden file
// (go test -run TestScripts -update rewrites them).
func TestScripts(t *testing.T) {
	ironicInspector := scriptConfig()
	ironicInspector.IronicInspector = true
	ironicInspector.ScriptRetries = -1
	ironicInspector.InspectorCollectors = "default,logs"
	tests := []struct {
		golden string
		cfg    Config
		path   string
		kind   string
	}{
		{"inspector.ipxe", scriptConfig(), "/boot/02-00-00-00-00-01.ipxe", ScriptInspector},
		{"inspector.ipxe", scriptConfig(), "/boot/02:00:00:00:00:01.ipxe", ScriptInspector},
		{"installer.ipxe", scriptConfig(), "/boot/02-00-00-00-00-02.ipxe", ScriptInstaller},
		{"none.ipxe", scriptConfig(), "/boot/02-00-00-00-00-03.ipxe", ScriptNone},
		{"unknown.ipxe", scriptConfig(), "/boot/02-00-00-00-00-99.ipxe", ScriptUnknown},
		{"unknown.ipxe", scriptConfig(), "/boot/02:00:00:00:00:99.ipxe", ScriptUnknown},
		{"inspector-ironic-inspector.ipxe", ironicInspector, "/boot/02-00-00-00-00-01.ipxe", ScriptInspector},
	}
	for _, tt := range tests {
		t.Run(tt.golden+tt.path, func(t *testing.T) {
			env := newEnv(t, tt.cfg)
			resp, body := get(t, env.url+tt.path, nil)
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("status %d, body %q", resp.StatusCode, body)
			}
			if ct := resp.Header.Get("Content-Type"); ct != "text/plain; charset=utf-8" {
				t.Errorf("Content-Type %q", ct)
			}
			if cc := resp.Header.Get("Cache-Control"); cc != "no-store" {
				t.Errorf("Cache-Control %q", cc)
			}
			golden := filepath.Join("testdata", tt.golden)
			if *update {
				if err := os.WriteFile(golden, []byte(body), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(string(want), body); diff != "" {
				t.Errorf("%s (-want +got):\n%s", golden, diff)
			}
			checkScript(t, body)
			if !strings.Contains(env.logs.String(), "script="+tt.kind) {
				t.Errorf("no log line with script=%s:\n%s", tt.kind, env.logs.String())
			}
		})
	}
}

// checkScript checks what every script must be: it starts with #!ipxe,
// ends with exit, expands no setting but ${mac} and the script's own
// ${metalgit-step}, and every goto has its label.
func checkScript(t *testing.T, s string) {
	t.Helper()
	if !strings.HasPrefix(s, "#!ipxe\n") {
		t.Error("the script does not start with #!ipxe")
	}
	lines := strings.Split(strings.TrimSuffix(s, "\n"), "\n")
	if last := lines[len(lines)-1]; !strings.HasPrefix(last, "exit ") {
		t.Errorf("the script ends with %q, not exit", last)
	}
	rest := strings.NewReplacer("${mac}", "", "${metalgit-step}", "").Replace(s)
	if strings.Contains(rest, "$") {
		t.Errorf("the script expands other settings:\n%s", s)
	}
	labels := map[string]bool{}
	for _, l := range lines {
		if name, ok := strings.CutPrefix(l, ":"); ok {
			labels[name] = true
		}
	}
	for _, l := range lines {
		if _, target, ok := strings.Cut(l, "goto "); ok && !labels[target] {
			t.Errorf("goto %s has no label", target)
		}
	}
}

// The kernel line holds the proxy's parameters, then the Site's, the
// host's and the flags' (so that a later one wins), then initrd=.
func TestKernelParamOrder(t *testing.T) {
	env := newEnv(t, scriptConfig())
	for _, tt := range []struct {
		mac  string
		want string
	}{
		{"02-00-00-00-00-01", "kernel http://192.168.100.2:8080/images/ironic-python-agent.kernel BOOTIF=${mac} " +
			"ipa-api-url=http://192.168.100.2:8081 ipa-inspection-callback-url=http://192.168.100.2:8081/v1/continue_inspection " +
			"ipa-inspection-collectors=default,extra-hardware,logs site-inspector=1 host-inspector=1 flag-inspector=1 " +
			"initrd=ironic-python-agent.initramfs || goto failed1"},
		{"02-00-00-00-00-02", "kernel http://192.168.100.2:8080/images/ironic-python-agent.kernel BOOTIF=${mac} " +
			"ipa-api-url=http://192.168.100.2:8081 site-installer=1 host-installer=2 flag-installer=1 " +
			"initrd=ironic-python-agent.initramfs || goto failed1"},
	} {
		_, body := get(t, env.url+"/boot/"+tt.mac+".ipxe", nil)
		var kernel string
		for l := range strings.Lines(body) {
			if strings.HasPrefix(l, "kernel ") {
				kernel = strings.TrimSuffix(l, "\n")
				break
			}
		}
		if diff := cmp.Diff(tt.want, kernel); diff != "" {
			t.Errorf("%s: kernel line (-want +got):\n%s", tt.mac, diff)
		}
	}
}

// The retries are bounded: 1+ScriptRetries attempts, pauses doubling,
// then exit 1.
func TestScriptRetriesAreBounded(t *testing.T) {
	for _, retries := range []int{-1, 1, 5, MaxScriptRetries} {
		cfg := scriptConfig()
		cfg.ScriptRetries = retries
		env := newEnv(t, cfg)
		_, body := get(t, env.url+"/boot/02-00-00-00-00-02.ipxe", nil)
		attempts := max(retries, 0) + 1
		if n := strings.Count(body, "\nkernel "); n != attempts {
			t.Errorf("ScriptRetries %d: %d kernel commands, want %d", retries, n, attempts)
		}
		var sleeps []string
		for l := range strings.Lines(body) {
			if s, ok := strings.CutPrefix(l, "sleep "); ok {
				sleeps = append(sleeps, strings.TrimSpace(s))
			}
		}
		var want []string
		for i := range attempts - 1 {
			want = append(want, strconv.Itoa(1<<i))
		}
		if diff := cmp.Diff(want, sleeps); diff != "" {
			t.Errorf("ScriptRetries %d: sleeps (-want +got):\n%s", retries, diff)
		}
		if !strings.HasSuffix(body, "giving up\necho metalgit: the boot proxy cannot boot 02:00:00:00:00:02: run metalgit boot trace 02:00:00:00:00:02\nexit 1\n") {
			t.Errorf("ScriptRetries %d: the script does not end by giving up:\n%s", retries, body)
		}
	}
	if _, err := New(Config{ScriptRetries: MaxScriptRetries + 1}); err == nil || !strings.Contains(err.Error(), "ScriptRetries: 11: must be -1 (none) to 10") {
		t.Errorf("ScriptRetries 11: %v", err)
	}
}

// A kernel command line the kernel would cut is refused in the script.
func TestScriptCommandLineTooLong(t *testing.T) {
	cfg := scriptConfig()
	for i := range boot.MaxKernelParams - 1 {
		cfg.InstallerParams = append(cfg.InstallerParams, "p"+strings.Repeat("x", 70)+strconv.Itoa(i))
	}
	env := newEnv(t, cfg)
	resp, body := get(t, env.url+"/boot/02-00-00-00-00-02.ipxe", nil)
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, "more than 2047: the kernel would cut it") ||
		strings.Contains(body, "\nkernel ") || !strings.HasSuffix(body, "exit 1\n") {
		t.Errorf("status %d, script:\n%s", resp.StatusCode, body)
	}
	checkScript(t, body)
}

// Paths that are not /boot/<mac>.ipxe get 404.
func TestScriptBadPaths(t *testing.T) {
	env := newEnv(t, scriptConfig())
	for _, p := range []string{"/boot/", "/boot/02-00-00-00-00-01", "/boot/02-00-00-00-00-01.ipxe.x", "/boot/0200.0000.0001.ipxe",
		"/boot/02-00:00-00-00-01.ipxe", "/boot/02-00-00-00-00-0g.ipxe", "/boot/02-00-00-00-00-01-02.ipxe", "/boot/+2-00-00-00-00-01.ipxe",
		"/boot/x/02-00-00-00-00-01.ipxe"} {
		code, body := rawGet(t, env.addr, p)
		if code != http.StatusNotFound || !strings.Contains(body, "/boot/<mac>.ipxe") {
			t.Errorf("GET %s: %d %q, want 404", p, code, body)
		}
	}
}

// Upper-case MACs are the same host.
func TestScriptUpperCaseMAC(t *testing.T) {
	env := newEnv(t, scriptConfig())
	_, lower := get(t, env.url+"/boot/02-00-00-00-00-0a.ipxe", nil)
	_, upper := get(t, env.url+"/boot/02-00-00-00-00-0A.ipxe", nil)
	if lower != upper {
		t.Errorf("upper and lower case differ:\n%s\n%s", lower, upper)
	}
}

// TestSiteOfTheTable: under serve --boot the Site's kernel parameters
// come with the host table (after Config.SiteParams), and so does Ironic's
// image server when no flag names one.
func TestSiteOfTheTable(t *testing.T) {
	store := testHosts(t)
	tab, err := store.Load().WithSite(boot.Site{KernelParams: boot.KernelParams{Inspector: []string{"table-site=1"}},
		IronicHTTPURL: "http://127.0.0.1:1"})
	if err != nil {
		t.Fatal(err)
	}
	store.Swap(tab)
	cfg := scriptConfig()
	cfg.Hosts = store
	env := newEnv(t, cfg)
	_, body := get(t, env.url+"/boot/02-00-00-00-00-01.ipxe", nil)
	if !strings.Contains(body, " site-inspector=1 table-site=1 host-inspector=1 ") {
		t.Fatalf("the table's Site parameters are not after the configured ones:\n%s", body)
	}
}
