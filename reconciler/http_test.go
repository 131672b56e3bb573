package reconciler_test

import (
	"context"
	"encoding/pem"
	"net/http"
	"net/http/cgi"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/metalgit/metalgit/reconciler"
)

// gitHTTPServer serves the repositories under root with `git http-backend`
// over TLS, behind basic auth; it returns the server and its CA file.
func gitHTTPServer(t *testing.T, root, user, pass string) (*httptest.Server, string) {
	t.Helper()
	gitPath, err := exec.LookPath("git")
	if err != nil {
		t.Skip("git not installed")
	}
	backend := &cgi.Handler{
		Path: gitPath,
		Args: []string{"http-backend"},
		Env:  []string{"GIT_PROJECT_ROOT=" + root, "GIT_HTTP_EXPORT_ALL=1", "GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL=/dev/null"},
	}
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		u, p, ok := req.BasicAuth()
		if !ok || u != user || p != pass {
			w.Header().Set("WWW-Authenticate", `Basic realm="git"`)
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		req.Header.Del("Authorization")
		req.Header.Set("Remote-User", u) // REMOTE_USER lets http-backend accept pushes
		backend.ServeHTTP(w, req)
	}))
	t.Cleanup(srv.Close)
	ca := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	return srv, ca
}

func TestPassHTTPSBasicAuth(t *testing.T) {
	remote := newRemote(t)
	git(t, remote, "config", "http.receivepack", "true")
	const user, pass = "fleet", "s3cret-Passw0rd"
	srv, ca := gitHTTPServer(t, filepath.Dir(remote), user, pass)
	dir := t.TempDir()
	write := func(name, v string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(v+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	creds := reconciler.Credentials{UsernameFile: write("user", user), PasswordFile: write("pass", pass), CAFile: ca}
	url := srv.URL + "/" + filepath.Base(remote)

	t.Run("good password", func(t *testing.T) {
		r := newReconciler(t, reconciler.Config{URL: url, Credentials: creds})
		res, err := r.Pass(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if !res.Pushed || git(t, remote, "rev-parse", "main") != res.StateCommit {
			t.Fatalf("%+v: state commit not on the remote", res)
		}
	})
	t.Run("wrong password", func(t *testing.T) {
		const wrong = "wrong-Passw0rd-xyz"
		bad := creds
		bad.PasswordFile = write("bad", wrong)
		r := newReconciler(t, reconciler.Config{URL: url, Credentials: bad})
		_, err := r.Pass(context.Background())
		if err == nil {
			t.Fatal("pass succeeded with a wrong password")
		}
		if strings.Contains(err.Error(), wrong) || strings.Contains(err.Error(), pass) {
			t.Errorf("error leaks the password: %v", err)
		}
	})
	t.Run("password from environment", func(t *testing.T) {
		t.Setenv("TEST_GIT_PASSWORD", pass)
		c := creds
		c.PasswordFile, c.PasswordEnv = "", "TEST_GIT_PASSWORD"
		r := newReconciler(t, reconciler.Config{URL: url, Credentials: c})
		if _, err := r.Pass(context.Background()); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("credentials in the URL are refused", func(t *testing.T) {
		u := strings.Replace(url, "https://", "https://"+user+":"+pass+"@", 1)
		r := newReconciler(t, reconciler.Config{URL: u})
		_, err := r.Pass(context.Background())
		if err == nil || strings.Contains(err.Error(), pass) {
			t.Fatalf("err = %v, want a refusal without the password", err)
		}
	})
}
