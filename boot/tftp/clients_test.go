package tftp

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// requireCommands skips t unless the programs are in PATH. When the
// environment variable CI is set it fails t instead: CI installs them
// (hack/ci-deps.sh) and may not skip these tests.
func requireCommands(t testing.TB, names ...string) {
	t.Helper()
	var missing []string
	for _, name := range names {
		if _, err := exec.LookPath(name); err != nil {
			missing = append(missing, strconv.Quote(name))
		}
	}
	if len(missing) == 0 {
		return
	}
	msg := "this test needs " + strings.Join(missing, ", ") + " in PATH (Debian packages: see hack/ci-deps.sh)"
	if _, ci := os.LookupEnv("CI"); ci {
		t.Fatalf("%s (CI is set, so this test may not be skipped)", msg)
	}
	t.Skip(msg)
}

// run runs a client to its end (at most a minute) and returns its output.
func run(t *testing.T, name string, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = t.TempDir()
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// checkFetched compares a client's output file with the served file and
// the transfer's log line with what the client negotiated.
func (l *lab) checkFetched(t *testing.T, out, file string, blksize int, tsize bool) {
	t.Helper()
	got, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, l.files[file]) {
		t.Fatalf("fetched %d bytes, want the %d of %s", len(got), len(l.files[file]), file)
	}
	waitCounter(t, l.srv.metrics.byResult[ResultCompleted], 1)
	logs := l.transferLogs(t)
	if len(logs) != 1 {
		t.Fatalf("%d transfer log lines, want 1:\n%s", len(logs), l.logs.String())
	}
	if logs[0]["blksize"] != float64(blksize) || logs[0]["tsize"] != tsize || logs[0]["mac"] != clientMAC {
		t.Errorf("log line %v, want blksize %d, tsize %v, mac %s", logs[0], blksize, tsize, clientMAC)
	}
}

func (l *lab) port() string { return strconv.Itoa(l.addr.Port) }

// TestTFTPHPA: tftp-hpa's client sends no options: 512-byte blocks.
func TestTFTPHPA(t *testing.T) {
	requireCommands(t, "tftp")
	l := startLab(t, nil)
	out := filepath.Join(t.TempDir(), "out")
	log, err := run(t, "tftp", "-m", "binary", "127.0.0.1", l.port(), "-c", "get", "5MiB", out)
	if err != nil || strings.Contains(log, "Error") {
		t.Fatalf("tftp: %v\n%s", err, log)
	}
	l.checkFetched(t, out, "5MiB", 512, false)

	// tftp-hpa sends the name as typed: the server sees the "..".
	log, _ = run(t, "tftp", "-m", "binary", "127.0.0.1", l.port(), "-c", "get", "../secret", filepath.Join(t.TempDir(), "secret"))
	if want := "Error code 2: " + refusal(ReasonOutsideRoot).Error(); !strings.Contains(log, want) {
		t.Errorf("tftp output %q, want %q", log, want)
	}
	waitCounter(t, l.srv.metrics.byReason[ReasonOutsideRoot], 1)
	log, _ = run(t, "tftp", "-m", "binary", "127.0.0.1", l.port(), "-c", "put", out, "uploaded")
	if want := "Error code 2: " + refusal(ReasonWrite).Error(); !strings.Contains(log, want) {
		t.Errorf("tftp put output %q, want %q", log, want)
	}
	waitCounter(t, l.srv.metrics.byReason[ReasonWrite], 1)
}

// TestCurl: curl asks for blksize (--tftp-blksize), tsize and timeout.
func TestCurl(t *testing.T) {
	requireCommands(t, "curl")
	l := startLab(t, nil)
	out := filepath.Join(t.TempDir(), "out")
	url := "tftp://127.0.0.1:" + l.port() + "/"
	if log, err := run(t, "curl", "-sS", "--tftp-blksize", "1468", "-o", out, url+"5MiB"); err != nil {
		t.Fatalf("curl: %v\n%s", err, log)
	}
	l.checkFetched(t, out, "5MiB", 1468, true)

	// curl exits 68 (CURLE_TFTP_NOTFOUND) on error code 1 and 69
	// (CURLE_TFTP_PERM) on error code 2.
	for file, tc := range map[string]struct {
		reason Reason
		exit   int
	}{"missing.efi": {ReasonNotFound, 68}, "../secret": {ReasonOutsideRoot, 69}} {
		reason := tc.reason
		log, err := run(t, "curl", "-sS", "--path-as-is", "-o", filepath.Join(t.TempDir(), "x"), url+file)
		var exit *exec.ExitError
		if !errors.As(err, &exit) || exit.ExitCode() != tc.exit {
			t.Errorf("curl %s: %v, want exit code %d\n%s", file, err, tc.exit, log)
		}
		waitCounter(t, l.srv.metrics.byReason[reason], 1)
	}
}

// TestBusybox: busybox's tftp asks for blksize (-b) and tsize.
func TestBusybox(t *testing.T) {
	requireCommands(t, "busybox")
	l := startLab(t, nil)
	out := filepath.Join(t.TempDir(), "out")
	if log, err := run(t, "busybox", "tftp", "-g", "-b", "1468", "-l", out, "-r", "5MiB", "127.0.0.1", l.port()); err != nil {
		t.Fatalf("busybox tftp: %v\n%s", err, log)
	}
	l.checkFetched(t, out, "5MiB", 1468, true)

	log, err := run(t, "busybox", "tftp", "-g", "-l", filepath.Join(t.TempDir(), "x"), "-r", "sub", "127.0.0.1", l.port())
	if err == nil || !strings.Contains(log, refusal(ReasonNotAFile).Error()) {
		t.Errorf("busybox tftp of a directory: %v, output %q", err, log)
	}
	waitCounter(t, l.srv.metrics.byReason[ReasonNotAFile], 1)
}

// TestDebianIPXE serves the default root as Debian's ipxe package lays it
// out: the boot binaries the DHCP server offers are regular files there,
// but ipxe.efi is a symbolic link to /boot/ipxe.efi, outside the root.
func TestDebianIPXE(t *testing.T) {
	if _, err := os.Stat(filepath.Join(DefaultRoot, "undionly.kpxe")); err != nil {
		msg := "this test needs Debian's ipxe package (" + DefaultRoot + "): " + err.Error()
		if _, ci := os.LookupEnv("CI"); ci {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	l := startLab(t, func(c *Config) { c.Root = "" }) // the default
	for _, name := range []string{"undionly.kpxe", "snponly.efi"} {
		want, err := os.ReadFile(filepath.Join(DefaultRoot, name))
		if err != nil {
			t.Fatal(err)
		}
		got, _, _, err := l.fetch(t, name, 1468, true)
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("%s: %d bytes (want %d), %v", name, len(got), len(want), err)
		}
	}
	if target, err := os.Readlink(filepath.Join(DefaultRoot, "ipxe.efi")); err == nil && filepath.IsAbs(target) {
		c := dial(t, l.addr)
		c.rrq(t, "ipxe.efi", "octet")
		if p := c.recv(t); p.op != opERROR || p.msg != refusal(ReasonOutsideRoot).Error() {
			t.Errorf("ipxe.efi (a link to %s): %s, want it refused as outside the root", target, p)
		}
	}
}
