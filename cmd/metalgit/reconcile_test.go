package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// bareRemote creates a bare repository whose main branch holds
// examples/dc1 without its state directory.
func bareRemote(t *testing.T) string {
	t.Helper()
	tmp := t.TempDir()
	bare, seed := filepath.Join(tmp, "remote.git"), filepath.Join(tmp, "seed")
	gitOut(t, tmp, "init", "-q", "--bare", "-b", "main", bare)
	if out, err := exec.Command("cp", "-R", "../../examples/dc1", seed).CombinedOutput(); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if err := os.RemoveAll(filepath.Join(seed, "state")); err != nil {
		t.Fatal(err)
	}
	gitOut(t, seed, "init", "-q", "-b", "main")
	gitOut(t, seed, "add", "-A")
	gitOut(t, seed, "commit", "-q", "-m", "inventory")
	gitOut(t, seed, "push", "-q", bare, "main")
	return bare
}

func TestReconcileCommand(t *testing.T) {
	remote := bareRemote(t)
	out := filepath.Join(t.TempDir(), "out")
	args := []string{"reconcile", "--repo", "file://" + remote, "--branch", "main", "--path", ".", "--output", out}

	var stdout, stderr bytes.Buffer
	if code := run(context.Background(), args, &stdout, &stderr); code != exitOK {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, &stdout, &stderr)
	}
	for _, want := range []string{"source commit: ", "state commit: ", "allocate 192.168.100.3 to Host/server-01 (pool provisioning)", "files to " + out} {
		if !strings.Contains(stdout.String(), want) {
			t.Errorf("stdout lacks %q:\n%s", want, &stdout)
		}
	}

	stdout.Reset()
	stderr.Reset()
	if code := run(context.Background(), args, &stdout, &stderr); code != exitOK {
		t.Fatalf("second run: exit %d\n%s", code, &stderr)
	}
	if !strings.Contains(stdout.String(), "state commit: no changes") {
		t.Errorf("second run:\n%s", &stdout)
	}
}

func TestReconcileCommandFails(t *testing.T) {
	tests := map[string]struct {
		args []string
		code int
		want string
	}{
		"no repo":                        {args: []string{"reconcile"}, code: exitUsage, want: "repo"},
		"missing remote":                 {args: []string{"reconcile", "--repo", "/nonexistent/repo.git"}, code: exitFailed, want: "fetching branch main"},
		"bad attempts":                   {args: []string{"reconcile", "--repo", "x", "--max-push-attempts", "-1"}, code: exitUsage, want: "--max-push-attempts"},
		"escaping path":                  {args: []string{"reconcile", "--repo", "x", "--path", "../x"}, code: exitUsage, want: "--path"},
		"scp-like ssh URL without a key": {args: []string{"reconcile", "--repo", "git@example.com:fleet.git"}, code: exitFailed, want: "--ssh-key-file"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			if code := run(context.Background(), tc.args, &stdout, &stderr); code != tc.code {
				t.Fatalf("exit %d, want %d\n%s", code, tc.code, &stderr)
			}
			if !strings.Contains(stderr.String(), tc.want) {
				t.Errorf("stderr lacks %q:\n%s", tc.want, &stderr)
			}
		})
	}
}

// TestReconcileSigningFlags: --signing-key-file with an encrypted OpenSSH
// key and its passphrase from the environment signs the state commit so
// that git verify-commit accepts it; a wrong passphrase fails before
// anything is pushed.
func TestReconcileSigningFlags(t *testing.T) {
	if _, err := exec.LookPath("ssh-keygen"); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("ssh-keygen is missing (Debian openssh-client)")
		}
		t.Skip("ssh-keygen is missing")
	}
	dir := t.TempDir()
	key := filepath.Join(dir, "signing")
	if out, err := exec.Command("ssh-keygen", "-q", "-t", "ed25519", "-N", "s3cret", "-C", "metalgit@localhost", "-f", key).CombinedOutput(); err != nil {
		t.Fatalf("ssh-keygen: %v\n%s", err, out)
	}
	pub, err := os.ReadFile(key + ".pub")
	if err != nil {
		t.Fatal(err)
	}
	allowed := filepath.Join(dir, "allowed_signers")
	if err := os.WriteFile(allowed, []byte("metalgit@localhost "+string(pub)), 0o600); err != nil {
		t.Fatal(err)
	}
	remote := bareRemote(t)
	head := func() string {
		out, err := exec.Command("git", "--git-dir", remote, "rev-parse", "main").Output()
		if err != nil {
			t.Fatal(err)
		}
		return strings.TrimSpace(string(out))
	}
	before := head()
	args := []string{"reconcile", "--repo", remote, "--output", filepath.Join(dir, "out"), "--signing-key-file", key}

	t.Setenv("METALGIT_SIGNING_KEY_PASSPHRASE", "wrong")
	code, _, stderr := runCLI(t, args...)
	if code == exitOK || !strings.Contains(stderr, "signing") {
		t.Fatalf("wrong passphrase: exit %d\n%s", code, stderr)
	}
	if strings.Contains(stderr, "wrong") {
		t.Errorf("the passphrase shows in the error:\n%s", stderr)
	}
	if head() != before {
		t.Fatal("a failed signing pushed a commit")
	}

	t.Setenv("METALGIT_SIGNING_KEY_PASSPHRASE", "s3cret")
	if code, stdout, stderr := runCLI(t, args...); code != exitOK {
		t.Fatalf("exit %d\n%s\n%s", code, stdout, stderr)
	}
	verify := exec.Command("git", "--git-dir", remote, "-c", "gpg.format=ssh", "-c", "gpg.ssh.allowedSignersFile="+allowed,
		"verify-commit", "main")
	verify.Env = append(os.Environ(), "GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL=/dev/null")
	if out, err := verify.CombinedOutput(); err != nil || !strings.Contains(string(out), `Good "git" signature for metalgit@localhost`) {
		t.Fatalf("git verify-commit: %v\n%s", err, out)
	}
}

// gitOut runs the git CLI in dir, isolated from the user's configuration,
// and returns its trimmed output.
func gitOut(t *testing.T, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL=/dev/null",
		"GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@example.com", "GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@example.com")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("git %v: %v\n%s", args, err, out)
	}
	return strings.TrimSpace(string(out))
}
