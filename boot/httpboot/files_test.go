package httpboot

import (
	"bytes"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/metalgit/metalgit/boot/trace"
)

// bootRoot makes a served directory with a binary, a subdirectory, a
// FIFO and links that stay in or lead out of it, and a secret next to
// it that must never be served.
func bootRoot(t *testing.T) (root string, binary []byte) {
	t.Helper()
	dir := t.TempDir()
	root = filepath.Join(dir, "root")
	binary = bytes.Repeat([]byte("snponly-efi-"), 10000)
	secret := filepath.Join(dir, "secret")
	for _, f := range []struct {
		path string
		data []byte
	}{{filepath.Join(root, "snponly.efi"), binary}, {filepath.Join(root, "sub", "x.efi"), []byte("x")}, {secret, []byte("SECRET")}} {
		if err := os.MkdirAll(filepath.Dir(f.path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(f.path, f.data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for link, target := range map[string]string{"abs-out": secret, "rel-out": "../secret", "in": "snponly.efi", "sub/up-out": "../../secret"} {
		if err := os.Symlink(target, filepath.Join(root, link)); err != nil {
			t.Fatal(err)
		}
	}
	if err := syscall.Mkfifo(filepath.Join(root, "fifo"), 0o644); err != nil {
		t.Fatal(err)
	}
	return root, binary
}

func TestBinaries(t *testing.T) {
	root, binary := bootRoot(t)
	env := newEnv(t, Config{Root: root})

	resp, body := get(t, env.url+"/snponly.efi", nil)
	if resp.StatusCode != http.StatusOK || body != string(binary) {
		t.Fatalf("GET /snponly.efi: %d, %d bytes", resp.StatusCode, len(body))
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/octet-stream" {
		t.Errorf("Content-Type %q", ct)
	}
	resp, body = get(t, env.url+"/snponly.efi", http.Header{"Range": {"bytes=100-199"}})
	if resp.StatusCode != http.StatusPartialContent || body != string(binary[100:200]) ||
		resp.Header.Get("Content-Range") != "bytes 100-199/120000" {
		t.Errorf("Range: %d %q %q", resp.StatusCode, resp.Header.Get("Content-Range"), body)
	}
	resp, _ = get(t, env.url+"/snponly.efi", http.Header{"If-Modified-Since": {resp.Header.Get("Last-Modified")}})
	if resp.StatusCode != http.StatusNotModified {
		t.Errorf("If-Modified-Since: %d", resp.StatusCode)
	}
	if resp, body = get(t, env.url+"/in", nil); resp.StatusCode != http.StatusOK || body != string(binary) {
		t.Errorf("a link inside the root: %d", resp.StatusCode)
	}
	if resp, body = get(t, env.url+"/sub/x.efi", nil); resp.StatusCode != http.StatusOK || body != "x" {
		t.Errorf("sub/x.efi: %d %q", resp.StatusCode, body)
	}
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodHead, env.url+"/snponly.efi", nil)
	hr, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_ = hr.Body.Close()
	if hr.StatusCode != http.StatusOK || hr.ContentLength != int64(len(binary)) {
		t.Errorf("HEAD: %d, length %d", hr.StatusCode, hr.ContentLength)
	}
	ev := env.ring.Events(mac1)
	if len(ev) == 0 {
		t.Fatal("no trace event under the MAC of 127.0.0.1")
	}
	want := trace.Event{Server: trace.ServerHTTP, Kind: trace.KindBinary, Detail: "GET /snponly.efi: 200, 120000 bytes",
		Attrs: map[string]string{"file": "snponly.efi", "status": "200", "bytes": "120000"}}
	if diff := cmp.Diff(want, ev[0], cmp.FilterPath(func(p cmp.Path) bool { return p.String() == "Time" }, cmp.Ignore())); diff != "" {
		t.Errorf("trace event (-want +got):\n%s", diff)
	}
}

// Nothing outside the root is served, however the path is spelt.
func TestBinariesRefusals(t *testing.T) {
	root, _ := bootRoot(t)
	env := newEnv(t, Config{Root: root})
	for target, want := range map[string]int{
		"/../secret":                http.StatusForbidden,
		"/sub/../../secret":         http.StatusForbidden,
		"/%2e%2e/secret":            http.StatusForbidden,
		"/sub/%2e%2e/%2e%2e/secret": http.StatusForbidden,
		"/..%2fsecret":              http.StatusForbidden,
		"//etc/passwd":              http.StatusForbidden,
		"/abs-out":                  http.StatusForbidden,
		"/rel-out":                  http.StatusForbidden,
		"/sub/up-out":               http.StatusForbidden,
		"/sub":                      http.StatusForbidden,
		"/sub/":                     http.StatusForbidden,
		"/":                         http.StatusForbidden,
		"/fifo":                     http.StatusForbidden,
		"/missing.efi":              http.StatusNotFound,
		"/snponly.efi/x":            http.StatusNotFound,
		"/sub\\..\\..\\secret":      http.StatusForbidden,
		"/x%00":                     http.StatusForbidden,
	} {
		code, body := rawGet(t, env.addr, target)
		if code != want || strings.Contains(body, "SECRET") {
			t.Errorf("GET %s: %d %q, want %d", target, code, body, want)
		}
	}
	for _, m := range []string{http.MethodPost, http.MethodPut, http.MethodDelete} {
		req, _ := http.NewRequestWithContext(t.Context(), m, env.url+"/snponly.efi", strings.NewReader("x"))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_ = resp.Body.Close()
		if resp.StatusCode != http.StatusMethodNotAllowed || resp.Header.Get("Allow") != "GET, HEAD" {
			t.Errorf("%s: %d, Allow %q", m, resp.StatusCode, resp.Header.Get("Allow"))
		}
	}
	if b, _ := os.ReadFile(filepath.Join(root, "..", "secret")); string(b) != "SECRET" {
		t.Error("the secret changed")
	}
}

// A path with control characters reaches the trace and the logs escaped.
func TestPathsEscapedInTraceAndLogs(t *testing.T) {
	root, _ := bootRoot(t)
	env := newEnv(t, Config{Root: root})
	code, _ := rawGet(t, env.addr, "/x%0a%1b[31mforged")
	if code != http.StatusNotFound {
		t.Fatalf("status %d", code)
	}
	ev := env.ring.Events(mac1)
	if len(ev) != 1 || ev[0].Detail != "GET /x%0A%1B[31mforged: 404, 10 bytes" || ev[0].Attrs["file"] != "x%0A%1B[31mforged" {
		t.Errorf("trace: %+v", ev)
	}
	if logs := env.logs.String(); strings.Contains(logs, "\x1b") || !strings.Contains(logs, "path=/x%0A%1B[31mforged") {
		t.Errorf("logs:\n%q", logs)
	}
	if got := shorten(strings.Repeat("é", 200)); len(got) != 200+len("…") {
		t.Errorf("shorten: %d bytes", len(got))
	}
}
