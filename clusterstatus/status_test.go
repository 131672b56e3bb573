package clusterstatus

import (
	"context"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/metalgit/metalgit/internal/kubetest"
)

// TestCheckBMCSecret against a real API server: a complete Secret is
// fine, one without a password and a missing one are warned, naming what
// to fix.
func TestCheckBMCSecret(t *testing.T) {
	env := kubetest.Start(t)
	ns := env.Namespace(t, "bmc")
	ctx := context.Background()
	for name, data := range map[string]map[string]string{
		"full":    {"username": "admin", "password": "pw"},
		"no-pass": {"username": "admin"},
	} {
		s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns}, StringData: data}
		if _, err := env.Client.CoreV1().Secrets(ns).Create(ctx, s, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	for name, want := range map[string]string{
		"full":    "",
		"no-pass": "lacks [password]",
		"absent":  "does not exist",
		"":        "credentialsName is empty",
	} {
		got, err := CheckBMCSecret(ctx, env.Client, ns, name)
		if err != nil {
			t.Fatal(err)
		}
		if (want == "") != (got == "") || !strings.Contains(got, want) {
			t.Errorf("Secret %q: warning %q, want one with %q", name, got, want)
		}
	}
}
