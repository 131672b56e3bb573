package reconciler_test

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	gitssh "github.com/go-git/go-git/v5/plumbing/transport/ssh"

	"github.com/metalgit/metalgit/reconciler"
)

const sshdPath = "/usr/sbin/sshd"

// sshServer is an OpenSSH server the test started on a loopback port.
type sshServer struct {
	port     int
	user     string
	userKey  string // private key file authorised to log in
	hostPub  string // the server's public host key line
	otherPub string // a public host key the server does not have
}

// knownHosts writes a known_hosts file naming the server with pub.
func (s *sshServer) knownHosts(t *testing.T, pub string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "known_hosts")
	line := fmt.Sprintf("[127.0.0.1]:%d %s\n", s.port, pub)
	if err := os.WriteFile(p, []byte(line), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// needSSH skips the test when OpenSSH is missing, except in CI.
func needSSH(t *testing.T) {
	t.Helper()
	for _, p := range []string{sshdPath, "ssh-keygen"} {
		if _, err := exec.LookPath(p); err != nil {
			if os.Getenv("CI") != "" {
				t.Fatalf("%s not found (CI must run the SSH tests; see hack/ci-deps.sh): %v", p, err)
			}
			t.Skipf("%s not found; install openssh-server and openssh-client", p)
		}
	}
}

// keygen makes a key pair at path (passphrase may be "") and returns the
// public key line without its comment.
func keygen(t *testing.T, path, passphrase string) string {
	t.Helper()
	if out, err := exec.Command("ssh-keygen", "-q", "-t", "ed25519", "-N", passphrase, "-C", "", "-f", path).CombinedOutput(); err != nil {
		t.Fatalf("ssh-keygen: %v\n%s", err, out)
	}
	b, err := os.ReadFile(path + ".pub")
	if err != nil {
		t.Fatal(err)
	}
	f := strings.Fields(string(b))
	return f[0] + " " + f[1]
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = l.Close() }()
	addr, ok := l.Addr().(*net.TCPAddr)
	if !ok {
		t.Fatalf("listener address %v is not TCP", l.Addr())
	}
	return addr.Port
}

// startSSHD starts sshd -D on a free loopback port with fresh host and user
// keys (extraKeys are authorised too) and stops it by its PID on cleanup.
func startSSHD(t *testing.T, extraKeys ...string) *sshServer {
	t.Helper()
	needSSH(t)
	if os.Geteuid() == 0 {
		// Privilege separation directory, which sshd run as root requires.
		if err := os.MkdirAll("/run/sshd", 0o755); err != nil {
			t.Fatal(err)
		}
	}
	me, err := user.Current()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	s := &sshServer{port: freePort(t), user: me.Username, userKey: filepath.Join(dir, "id_user")}
	s.hostPub = keygen(t, filepath.Join(dir, "host_key"), "")
	s.otherPub = keygen(t, filepath.Join(dir, "other_host_key"), "")
	userPub := keygen(t, s.userKey, "")
	auth := filepath.Join(dir, "authorized_keys")
	if err := os.WriteFile(auth, []byte(strings.Join(append([]string{userPub}, extraKeys...), "\n")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	conf := filepath.Join(dir, "sshd_config")
	if err := os.WriteFile(conf, fmt.Appendf(nil, `Port %d
ListenAddress 127.0.0.1
HostKey %s
AuthorizedKeysFile %s
PidFile %s
PasswordAuthentication no
KbdInteractiveAuthentication no
PubkeyAuthentication yes
PermitRootLogin prohibit-password
StrictModes no
UsePAM no
LogLevel VERBOSE
`, s.port, filepath.Join(dir, "host_key"), auth, filepath.Join(dir, "sshd.pid")), 0o600); err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	cmd := exec.Command(sshdPath, "-D", "-e", "-f", conf)
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pid := cmd.Process.Pid
	t.Cleanup(func() {
		_ = syscall.Kill(pid, syscall.SIGTERM)
		_ = cmd.Wait()
		if t.Failed() {
			t.Logf("sshd (pid %d) log:\n%s", pid, logs.String())
		}
	})
	// Ready when it answers with its banner.
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", s.port), time.Second)
		if err == nil {
			_ = c.SetReadDeadline(time.Now().Add(2 * time.Second))
			line, rerr := bufio.NewReader(c).ReadString('\n')
			_ = c.Close()
			if rerr == nil && strings.HasPrefix(line, "SSH-") {
				return s
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("sshd did not come up on port %d: %v", s.port, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestPassSSH(t *testing.T) {
	dir := t.TempDir()
	encKey := filepath.Join(dir, "id_enc")
	passFile := filepath.Join(dir, "passphrase")
	needSSH(t)
	encPub := keygen(t, encKey, "s3cret-phrase")
	if err := os.WriteFile(passFile, []byte("s3cret-phrase\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	srv := startSSHD(t, encPub)

	t.Run("ssh URL pushes the allocation", func(t *testing.T) {
		remote := newRemote(t)
		seed := git(t, remote, "rev-parse", "main")
		r := newReconciler(t, reconciler.Config{
			URL: fmt.Sprintf("ssh://%s@127.0.0.1:%d%s", srv.user, srv.port, remote),
			Credentials: reconciler.Credentials{
				SSHKeyFile: srv.userKey, KnownHostsFile: srv.knownHosts(t, srv.hostPub),
			},
		})
		res, err := r.Pass(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if !res.Pushed || res.SourceCommit != seed {
			t.Fatalf("%+v: want pushed from %s", res, seed)
		}
		if head := git(t, remote, "rev-parse", "main"); head != res.StateCommit {
			t.Fatalf("remote main is %s, want %s", head, res.StateCommit)
		}
		if a := showFile(t, remote, "main", "state/allocations.yaml"); !strings.Contains(a, "192.168.100.3: Host/server-01") {
			t.Errorf("allocations.yaml:\n%s", a)
		}
		res2, err := r.Pass(context.Background())
		if err != nil || res2.Pushed {
			t.Fatalf("second pass: %+v, %v; want nothing to push", res2, err)
		}
	})

	t.Run("encrypted key with passphrase file", func(t *testing.T) {
		remote := newRemote(t)
		r := newReconciler(t, reconciler.Config{
			URL: fmt.Sprintf("ssh://%s@127.0.0.1:%d%s", srv.user, srv.port, remote),
			Credentials: reconciler.Credentials{
				SSHKeyFile: encKey, SSHKeyPassphraseFile: passFile,
				KnownHostsFile: srv.knownHosts(t, srv.hostPub),
			},
		})
		res, err := r.Pass(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if !res.Pushed {
			t.Fatalf("%+v: want pushed", res)
		}
	})

	t.Run("scp-like URL", func(t *testing.T) {
		// git@host:path has no port; point the alias at the test server the
		// way an ssh_config Host entry would.
		old := gitssh.DefaultSSHConfig
		gitssh.DefaultSSHConfig = sshConfig{"metalgit-test-sshd": {"Hostname": "127.0.0.1", "Port": fmt.Sprint(srv.port)}}
		t.Cleanup(func() { gitssh.DefaultSSHConfig = old })
		remote := newRemote(t)
		r := newReconciler(t, reconciler.Config{
			URL: srv.user + "@metalgit-test-sshd:" + remote,
			Credentials: reconciler.Credentials{
				SSHKeyFile: srv.userKey, KnownHostsFile: srv.knownHosts(t, srv.hostPub),
			},
		})
		res, err := r.Pass(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if head := git(t, remote, "rev-parse", "main"); !res.Pushed || head != res.StateCommit {
			t.Fatalf("%+v: remote main %s, want the pushed state commit", res, head)
		}
	})

	t.Run("wrong host key is refused", func(t *testing.T) {
		remote := newRemote(t)
		seed := git(t, remote, "rev-parse", "main")
		r := newReconciler(t, reconciler.Config{
			URL: fmt.Sprintf("ssh://%s@127.0.0.1:%d%s", srv.user, srv.port, remote),
			Credentials: reconciler.Credentials{
				SSHKeyFile: srv.userKey, KnownHostsFile: srv.knownHosts(t, srv.otherPub),
			},
		})
		res, err := r.Pass(context.Background())
		if err == nil {
			t.Fatalf("pass succeeded with a wrong host key: %+v", res)
		}
		if !strings.Contains(err.Error(), "key") {
			t.Errorf("err = %v, want a host key error", err)
		}
		if head := git(t, remote, "rev-parse", "main"); head != seed {
			t.Errorf("remote moved to %s", head)
		}
	})
}

// sshConfig is an ssh_config for go-git: alias → key → value.
type sshConfig map[string]map[string]string

func (c sshConfig) Get(alias, key string) string { return c[alias][key] }

func TestSSHConfigErrors(t *testing.T) {
	dir := t.TempDir()
	key := filepath.Join(dir, "id")
	if err := os.WriteFile(key, []byte("not a key"), 0o600); err != nil {
		t.Fatal(err)
	}
	empty := filepath.Join(dir, "known_hosts")
	if err := os.WriteFile(empty, []byte("# nothing\n\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, url string
		creds     reconciler.Credentials
		want      string
	}{
		{"no known_hosts", "ssh://git@127.0.0.1:1/r.git", reconciler.Credentials{SSHKeyFile: key}, "known_hosts"},
		{"scp-like, no known_hosts", "git@example.invalid:r.git", reconciler.Credentials{SSHKeyFile: key}, "known_hosts"},
		{"empty known_hosts", "ssh://git@127.0.0.1:1/r.git", reconciler.Credentials{SSHKeyFile: key, KnownHostsFile: empty}, "holds no host key"},
		{"no key", "git@example.invalid:r.git", reconciler.Credentials{KnownHostsFile: empty}, "--ssh-key-file"},
		{"password in URL", "ssh://git:pw@127.0.0.1:1/r.git", reconciler.Credentials{SSHKeyFile: key, KnownHostsFile: empty}, "must not hold a password"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newReconciler(t, reconciler.Config{URL: tc.url, Credentials: tc.creds})
			_, err := r.Pass(context.Background())
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want one mentioning %q", err, tc.want)
			}
			if strings.Contains(err.Error(), ":pw@") {
				t.Errorf("err leaks the password: %v", err)
			}
		})
	}
}
