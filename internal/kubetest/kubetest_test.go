package kubetest

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/discovery"
)

func env(vars map[string]string) func(string) string {
	return func(k string) string { return vars[k] }
}

func write(t *testing.T, path string, mode os.FileMode) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte("x"), mode); err != nil {
		t.Fatal(err)
	}
}

func TestBinDir(t *testing.T) {
	good, partial, noexec := t.TempDir(), t.TempDir(), t.TempDir()
	write(t, filepath.Join(good, APIServerBinary), 0o755)
	write(t, filepath.Join(good, EtcdBinary), 0o755)
	write(t, filepath.Join(partial, APIServerBinary), 0o755)
	write(t, filepath.Join(noexec, APIServerBinary), 0o755)
	write(t, filepath.Join(noexec, EtcdBinary), 0o644)

	if dir, err := BinDir(env(map[string]string{EnvKubeBin: good})); err != nil || dir != good {
		t.Errorf("BinDir(good) = %q, %v; want %q", dir, err, good)
	}
	for name, tt := range map[string]struct{ dir, want string }{
		"unset":     {"", EnvKubeBin + " is not set"},
		"no etcd":   {partial, "no etcd"},
		"not exec":  {noexec, "not an executable"},
		"no dir":    {filepath.Join(good, "nope"), "no kube-apiserver"},
		"file mode": {filepath.Join(good, EtcdBinary), "not a directory"},
	} {
		_, err := BinDir(env(map[string]string{EnvKubeBin: tt.dir}))
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: BinDir(%q) error %v, want one containing %q", name, tt.dir, err, tt.want)
		}
	}
}

func TestFindCRDFile(t *testing.T) {
	a, b := t.TempDir(), t.TempDir()
	write(t, filepath.Join(b, "x.yaml"), 0o644)
	write(t, filepath.Join(a, "y.yaml"), 0o644)
	write(t, filepath.Join(b, "y.yaml"), 0o644)
	if err := os.Mkdir(filepath.Join(a, "x.yaml"), 0o755); err != nil { // a directory is not a file
		t.Fatal(err)
	}
	list := strings.Join([]string{"", filepath.Join(a, "missing"), a, b}, string(filepath.ListSeparator))
	for name, want := range map[string]string{"x.yaml": filepath.Join(b, "x.yaml"), "y.yaml": filepath.Join(a, "y.yaml")} {
		if got, err := FindCRDFile(env(map[string]string{EnvCRDDir: list}), name); err != nil || got != want {
			t.Errorf("FindCRDFile(%s) = %q, %v; want %q", name, got, err, want)
		}
	}
	if _, err := FindCRDFile(env(map[string]string{EnvCRDDir: list}), "z.yaml"); err == nil || !strings.Contains(err.Error(), "no z.yaml") {
		t.Errorf("FindCRDFile(z.yaml) error %v, want one saying there is none", err)
	}
	if _, err := FindCRDFile(env(nil), "x.yaml"); err == nil || !strings.Contains(err.Error(), EnvCRDDir+" is not set") {
		t.Errorf("FindCRDFile without %s: error %v", EnvCRDDir, err)
	}
}

func TestSyncBufferTail(t *testing.T) {
	var b syncBuffer
	for range 3 {
		if _, err := b.Write(make([]byte, maxOutput/2+1)); err != nil {
			t.Fatal(err)
		}
	}
	_, _ = b.Write([]byte("end"))
	if got := b.Tail(3); got != "end" {
		t.Errorf("Tail(3) = %q, want end", got)
	}
	if n := len(b.Tail(10 * maxOutput)); n > maxOutput+3 {
		t.Errorf("the buffer holds %d bytes, want at most about %d", n, maxOutput)
	}
}

// TestStart starts a real API server and installs a CRD into it.
func TestStart(t *testing.T) {
	crd := CRDFile(t, "metal3.io_baremetalhosts.yaml")
	e := Start(t)
	e.InstallCRDs(t, crd)

	disc, err := discovery.NewDiscoveryClientForConfig(e.Config)
	if err != nil {
		t.Fatal(err)
	}
	v, err := disc.ServerVersion()
	if err != nil {
		t.Fatalf("server version: %v", err)
	}
	t.Logf("kube-apiserver %s", v.GitVersion)
	res, err := disc.ServerResourcesForGroupVersion("metal3.io/v1alpha1")
	if err != nil {
		t.Fatalf("metal3.io/v1alpha1 resources: %v", err)
	}
	found := false
	for _, r := range res.APIResources {
		found = found || r.Name == "baremetalhosts"
	}
	if !found {
		t.Errorf("the API server does not serve baremetalhosts after InstallCRDs: %v", res.APIResources)
	}

	ns := e.Namespace(t, "kubetest")
	if _, err := e.Client.CoreV1().Namespaces().Get(t.Context(), ns, metav1.GetOptions{}); err != nil {
		t.Errorf("namespace %s: %v", ns, err)
	}
}
