// Package kubetest runs a real Kubernetes API server (kube-apiserver and
// etcd, started by controller-runtime's envtest) for tests, and installs
// CustomResourceDefinitions into it.
//
// The binaries come from the directory named by METALGIT_KUBE_BIN (what
// hack/kube.sh prints), the CRDs from the ':'-separated directories named by
// METALGIT_CRD_DIR (what `make crds` fills). When either is missing the
// test is skipped, or fails when the environment variable CI is set, so
// that CI never passes by skipping.
//
// Each Start runs its own etcd and kube-apiserver on free loopback ports
// with their data in temporary directories; t.Cleanup stops them by their
// process IDs. A start takes about 3 seconds.
package kubetest

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"
)

// Environment variables kubetest reads.
const (
	// EnvKubeBin names the directory holding kube-apiserver and etcd.
	EnvKubeBin = "METALGIT_KUBE_BIN"
	// EnvCRDDir lists the directories holding CRD files, ':'-separated.
	EnvCRDDir = "METALGIT_CRD_DIR"
	// EnvCI, when set to anything, turns a skip for missing binaries or
	// CRDs into a failure.
	EnvCI = "CI"
)

// Binaries kubetest starts.
const (
	APIServerBinary = "kube-apiserver"
	EtcdBinary      = "etcd"
)

// startTimeout bounds the start of each of etcd and kube-apiserver; they
// start in seconds, but a loaded CI machine may be slow.
const startTimeout = 60 * time.Second

// Env is a running API server.
type Env struct {
	// Config reaches the API server as a cluster admin.
	Config *rest.Config
	// Client is a clientset for Config.
	Client kubernetes.Interface

	env *envtest.Environment
}

// Start starts etcd and kube-apiserver from METALGIT_KUBE_BIN and stops
// them when the test ends. Their output is logged when the test fails.
func Start(t testing.TB) *Env {
	t.Helper()
	dir, err := BinDir(os.Getenv)
	if err != nil {
		skipOrFail(t, "%v", err)
	}
	// envtest logs through controller-runtime's global logger, which
	// complains when it was never set.
	ctrllog.SetLogger(logr.Discard())

	out := &syncBuffer{}
	env := &envtest.Environment{
		ControlPlaneStartTimeout: startTimeout,
		ControlPlaneStopTimeout:  startTimeout,
	}
	env.ControlPlane.APIServer = &envtest.APIServer{Path: filepath.Join(dir, APIServerBinary), Out: out, Err: out}
	env.ControlPlane.Etcd = &envtest.Etcd{Path: filepath.Join(dir, EtcdBinary), Out: out, Err: out}

	begin := time.Now()
	cfg, err := env.Start()
	if err != nil {
		_ = env.Stop()
		t.Fatalf("kubetest: start kube-apiserver and etcd from %s: %v\n%s", dir, err, out.Tail(4096))
	}
	t.Logf("kubetest: kube-apiserver at %s started in %s", cfg.Host, time.Since(begin).Round(time.Millisecond))
	t.Cleanup(func() {
		if err := env.Stop(); err != nil {
			t.Errorf("kubetest: stop kube-apiserver and etcd: %v", err)
		}
		if t.Failed() {
			t.Logf("kubetest: kube-apiserver and etcd output (tail):\n%s", out.Tail(8192))
		}
	})
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatalf("kubetest: clientset: %v", err)
	}
	return &Env{Config: cfg, Client: client, env: env}
}

// InstallCRDs installs the CRDs in files (YAML; see CRDFile) and waits
// until the API server serves them.
func (e *Env) InstallCRDs(t testing.TB, files ...string) {
	t.Helper()
	crds, err := envtest.InstallCRDs(e.Config, envtest.CRDInstallOptions{
		Paths:              files,
		ErrorIfPathMissing: true,
		MaxTime:            startTimeout,
	})
	if err != nil {
		t.Fatalf("kubetest: install CRDs from %v: %v", files, err)
	}
	if len(crds) == 0 {
		t.Fatalf("kubetest: %v hold no CRD", files)
	}
}

// UserConfig returns a configuration that reaches the API server as the
// user name in groups, with no rights but those of the groups (the API
// server authorizes with RBAC).
func (e *Env) UserConfig(t testing.TB, name string, groups ...string) *rest.Config {
	t.Helper()
	u, err := e.env.AddUser(envtest.User{Name: name, Groups: groups}, nil)
	if err != nil {
		t.Fatalf("kubetest: add user %s: %v", name, err)
	}
	return u.Config()
}

// Kubeconfig writes a kubeconfig file for the user name in groups (as
// system:masters for an administrator) into the test's temporary
// directory and returns its path: for processes the test starts.
func (e *Env) Kubeconfig(t testing.TB, name string, groups ...string) string {
	t.Helper()
	u, err := e.env.AddUser(envtest.User{Name: name, Groups: groups}, nil)
	if err != nil {
		t.Fatalf("kubetest: add user %s: %v", name, err)
	}
	b, err := u.KubeConfig()
	if err != nil {
		t.Fatalf("kubetest: kubeconfig of %s: %v", name, err)
	}
	path := filepath.Join(t.TempDir(), name+".kubeconfig")
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// Namespace creates a namespace named after prefix (with a random suffix)
// and returns its name. It is not deleted: the API server has no
// namespace controller and goes away with the test anyway.
func (e *Env) Namespace(t testing.TB, prefix string) string {
	t.Helper()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: prefix + "-"}}
	created, err := e.Client.CoreV1().Namespaces().Create(t.Context(), ns, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("kubetest: create namespace %s-*: %v", prefix, err)
	}
	return created.Name
}

// CRDFile returns the path of the file called name in the first directory
// of METALGIT_CRD_DIR that holds one; the test is skipped (or fails under
// CI) when there is none.
func CRDFile(t testing.TB, name string) string {
	t.Helper()
	path, err := FindCRDFile(os.Getenv, name)
	if err != nil {
		skipOrFail(t, "%v", err)
	}
	return path
}

// BinDir returns METALGIT_KUBE_BIN (read with getenv) once it has checked
// that it holds kube-apiserver and etcd.
func BinDir(getenv func(string) string) (string, error) {
	dir := getenv(EnvKubeBin)
	if dir == "" {
		return "", fmt.Errorf("kubetest: %s is not set (run hack/kube.sh and set it to the directory it prints)", EnvKubeBin)
	}
	for _, name := range []string{APIServerBinary, EtcdBinary} {
		if err := checkExecutable(filepath.Join(dir, name)); err != nil {
			return "", fmt.Errorf("kubetest: %s=%s: %w (run hack/kube.sh)", EnvKubeBin, dir, err)
		}
	}
	return dir, nil
}

// FindCRDFile returns the path of the file called name in the first of the
// METALGIT_CRD_DIR directories (read with getenv) that holds one.
func FindCRDFile(getenv func(string) string, name string) (string, error) {
	list := getenv(EnvCRDDir)
	if list == "" {
		return "", fmt.Errorf("kubetest: %s is not set (run `make crds`)", EnvCRDDir)
	}
	for dir := range strings.SplitSeq(list, string(filepath.ListSeparator)) {
		if dir == "" {
			continue
		}
		path := filepath.Join(dir, name)
		if fi, err := os.Stat(path); err == nil && fi.Mode().IsRegular() {
			return path, nil
		}
	}
	return "", fmt.Errorf("kubetest: no %s in %s=%s (run `make crds`)", name, EnvCRDDir, list)
}

func checkExecutable(path string) error {
	fi, err := os.Stat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("no %s", filepath.Base(path))
	case err != nil:
		return err
	case !fi.Mode().IsRegular() || fi.Mode().Perm()&0o111 == 0:
		return fmt.Errorf("%s is not an executable file", path)
	}
	return nil
}

// skipOrFail skips the test, or fails it when CI is set.
func skipOrFail(t testing.TB, format string, args ...any) {
	t.Helper()
	if os.Getenv(EnvCI) != "" {
		t.Fatalf(format+" (fatal because %s is set)", append(args, EnvCI)...)
	}
	t.Skipf(format, args...)
}

// maxOutput bounds the output kept from the processes.
const maxOutput = 1 << 20

// syncBuffer collects the processes' output, the last maxOutput bytes or
// so; both write to it from their own goroutines.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.buf.Len()+len(p) > maxOutput {
		keep := append([]byte(nil), b.buf.Bytes()[b.buf.Len()/2:]...)
		b.buf.Reset()
		b.buf.Write(keep)
	}
	return b.buf.Write(p)
}

// Tail returns the last n bytes written at most.
func (b *syncBuffer) Tail(n int) string {
	b.mu.Lock()
	defer b.mu.Unlock()
	s := b.buf.Bytes()
	if len(s) > n {
		s = s[len(s)-n:]
	}
	return string(s)
}
