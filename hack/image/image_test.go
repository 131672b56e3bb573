package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/metalgit/metalgit/boot"
	"github.com/metalgit/metalgit/boot/httpboot"
	"github.com/metalgit/metalgit/boot/tftp"
)

// Debian's files the image copies (ca-certificates, ipxe).
const (
	hostCACerts = "/etc/ssl/certs/ca-certificates.crt"
	hostIPXEDir = "/usr/lib/ipxe"
)

// TestImageHoldsWhatTheBootProxyServes: the iPXE builds sit where the
// boot proxy looks by default, under the names it offers.
func TestImageHoldsWhatTheBootProxyServes(t *testing.T) {
	for server, root := range map[string]string{"TFTP (--tftp-root)": tftp.DefaultRoot, "HTTP": httpboot.DefaultRoot} {
		if root != ipxeDir {
			t.Errorf("the image's iPXE builds are in %s, %s serves %s by default", ipxeDir, server, root)
		}
	}
	want := []string{boot.BIOSBinary, boot.EFIBinary, boot.EFIFullBinary}
	if !slices.Equal(ipxeFiles(), want) {
		t.Errorf("the image holds %v, the boot proxy offers %v", ipxeFiles(), want)
	}
}

// requireHostFiles skips the test when Debian's ca-certificates or ipxe
// is missing, and fails it under CI (hack/ci-deps.sh installs both).
func requireHostFiles(t *testing.T) {
	t.Helper()
	need := []string{hostCACerts}
	for _, name := range ipxeFiles() {
		need = append(need, filepath.Join(hostIPXEDir, name))
	}
	for _, p := range need {
		if _, err := os.Stat(p); err != nil {
			msg := p + " is missing (Debian's ca-certificates and ipxe; hack/ci-deps.sh installs them): " + err.Error()
			if os.Getenv("CI") != "" {
				t.Fatal(msg)
			}
			t.Skip(msg)
		}
	}
}

// buildContext bounds a test's builds by its deadline, less a minute to
// report; 15 minutes without one (a cold build cache takes 4 on 2 cores).
func buildContext(t *testing.T) context.Context {
	t.Helper()
	deadline, ok := t.Deadline()
	if !ok {
		deadline = time.Now().Add(15 * time.Minute)
	}
	ctx, cancel := context.WithDeadline(context.Background(), deadline.Add(-time.Minute))
	t.Cleanup(cancel)
	return ctx
}

// TestImageBuildsReproducibly runs the builder twice, as `make image`
// does, into two directories: the digests and the archives are the same;
// the layer holds Debian's CA bundle and iPXE builds byte for byte; the
// binary in it is static and runs `version`, which reports what the
// image's labels say. The second go build of metalgit comes from the
// build cache. The builder runs as a process of its own: under -race,
// gzip in this test binary would take a minute a build.
func TestImageBuildsReproducibly(t *testing.T) {
	requireHostFiles(t)
	goCmd, err := exec.LookPath("go")
	if err != nil {
		t.Fatal("go is not on PATH (go test puts its own there):", err)
	}
	ctx := buildContext(t)
	builder := filepath.Join(t.TempDir(), "image")
	if out, err := exec.CommandContext(ctx, goCmd, "build", "-o", builder, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build of the builder: %v\n%s", err, out)
	}
	var results []builderRun
	for i := range 2 {
		results = append(results, runBuilder(ctx, t, builder, i+1))
	}
	a, b := results[0], results[1]
	if a.Digest != b.Digest {
		t.Fatalf("two builds, two digests: %s and %s", a.Digest, b.Digest)
	}
	sameArchives(t, a.Archive, b.Archive)

	img, entries, files := readImage(t, a.Layout)
	sizes := map[string]int{}
	for name, b := range files {
		sizes[name] = len(b)
	}
	if diff := cmp.Diff(wantEntries(sizes), entries); diff != "" {
		t.Errorf("layer entries (-want +got):\n%s", diff)
	}
	for _, p := range append([]string{hostCACerts}, ipxePaths()...) {
		want, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(files[strings.TrimPrefix(p, "/")], want) {
			t.Errorf("the layer's %s differs from the build machine's", p)
		}
	}
	if !bytes.Equal(files["etc/passwd"], rootfsFile(t, "etc/passwd")) || !bytes.Equal(files["etc/group"], rootfsFile(t, "etc/group")) {
		t.Errorf("the layer's passwd or group differs from %s's", rootfsDir)
	}

	binary := filepath.Join(t.TempDir(), "metalgit")
	if err := os.WriteFile(binary, files[strings.TrimPrefix(binaryPath, "/")], 0o755); err != nil {
		t.Fatal(err)
	}
	got := runVersion(ctx, t, binary)
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	l := cf.Config.Labels
	if l["org.opencontainers.image.version"] != got.Version || l["org.opencontainers.image.revision"] != got.Commit {
		t.Errorf("version -o json %+v; labels %v", got, l)
	}
	if !strings.Contains(a.Summary, " metalgit "+got.Version) || got.Modified != strings.Contains(a.Summary, ", modified") {
		t.Errorf("the builder printed %q, the binary says %+v", a.Summary, got)
	}
	if got.Go != runtime.Version() || got.Platform != "linux/"+runtime.GOARCH {
		t.Errorf("version reports %s %s, want %s linux/%s", got.Go, got.Platform, runtime.Version(), runtime.GOARCH)
	}
	checkCommit(t, got.Commit)
}

// builderRun is what one run of the builder printed.
type builderRun struct {
	Digest, Summary, Layout, Archive string
}

// runBuilder runs the builder into a directory of its own and reads what
// it printed: the digest and summary, then the layout and the archive.
func runBuilder(ctx context.Context, t *testing.T, builder string, n int) builderRun {
	t.Helper()
	out := t.TempDir()
	cmd := exec.CommandContext(ctx, builder, "-module", moduleDir, "-out", out, "-tag", "test",
		"-ca-certs", hostCACerts, "-ipxe-dir", hostIPXEDir, "-goarch", runtime.GOARCH, "-source-date-epoch", strconv.Itoa(testEpoch))
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	if err := cmd.Run(); err != nil {
		t.Fatalf("build %d: %v\n%s", n, err, &stderr)
	}
	t.Logf("build %d in %v: %s%s", n, time.Since(start).Round(time.Millisecond), &stdout, &stderr)
	lines := strings.Split(strings.TrimSpace(stdout.String()), "\n")
	if len(lines) != 3 {
		t.Fatalf("build %d printed %q, want 3 lines", n, &stdout)
	}
	r := builderRun{Summary: lines[0]}
	r.Digest, _, _ = strings.Cut(lines[0], " ")
	r.Layout = strings.TrimSpace(strings.TrimPrefix(lines[1], "  layout"))
	r.Archive = strings.TrimSpace(strings.TrimPrefix(lines[2], "  archive"))
	if !strings.HasPrefix(r.Digest, "sha256:") || r.Layout != filepath.Join(out, layoutName) || r.Archive != filepath.Join(out, archiveName) {
		t.Fatalf("build %d printed %q", n, &stdout)
	}
	return r
}

func ipxePaths() []string {
	var out []string
	for _, name := range ipxeFiles() {
		out = append(out, path.Join(hostIPXEDir, name))
	}
	return out
}

// versionJSON is `metalgit version -o json`.
type versionJSON struct {
	Version, Commit, CommitTime, Go, Platform string
	Modified                                  bool
}

// runVersion runs `metalgit version -o json` with an empty environment:
// a static binary needs nothing of the machine.
func runVersion(ctx context.Context, t *testing.T, binary string) versionJSON {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary, "version", "-o", "json")
	cmd.Env = []string{}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s version -o json: %v\n%s", binary, err, &stderr)
	}
	var v versionJSON
	if err := json.Unmarshal(stdout.Bytes(), &v); err != nil {
		t.Fatalf("version -o json: %v\n%s", err, &stdout)
	}
	return v
}

// checkCommit: in a clone (a .git directory at the module's root), the
// binary names the commit checked out; elsewhere Go records none
// (golang/go#58218: it does not recognise a linked worktree's .git file).
func checkCommit(t *testing.T, commit string) {
	t.Helper()
	info, err := os.Stat(filepath.Join(moduleDir, ".git"))
	if err != nil || !info.IsDir() {
		if commit != "" {
			t.Errorf("no .git directory, yet the binary names commit %s", commit)
		}
		t.Logf("no .git directory at the module's root (a linked worktree, or no repository): the binary records no commit")
		return
	}
	out, err := exec.Command("git", "-C", moduleDir, "rev-parse", "HEAD").Output()
	if err != nil {
		t.Fatalf("git rev-parse HEAD: %v", err)
	}
	if head := strings.TrimSpace(string(out)); commit != head {
		t.Errorf("the binary names commit %q, HEAD is %s", commit, head)
	}
}
