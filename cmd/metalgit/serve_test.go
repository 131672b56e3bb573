package main

import (
	"context"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/metalgit/metalgit/reconciler"
)

func TestServeRefusesWebhookWithoutSecret(t *testing.T) {
	t.Setenv(webhookSecretEnv, "")
	code, _, stderr := runCLI(t, "serve", "--repo", "/nonexistent")
	if code != exitUsage || !strings.Contains(stderr, "webhook needs a secret") {
		t.Fatalf("exit %d, stderr:\n%s", code, stderr)
	}
}

func TestServeWebhookAndShutdown(t *testing.T) {
	remote := bareRemote(t)
	secretFile := filepath.Join(t.TempDir(), "secret")
	if err := os.WriteFile(secretFile, []byte("hook-secret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	o := serveOptions{listen: "127.0.0.1:0", interval: time.Hour, webhookSecretFile: secretFile}
	o.cfg = reconciler.Config{URL: "file://" + remote, Output: filepath.Join(t.TempDir(), "out"), WorkDir: t.TempDir()}
	secret, err := o.webhookSecret()
	if err != nil || string(secret) != "hook-secret" {
		t.Fatalf("secret %q, %v", secret, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	addrs, done := make(chan net.Addr, 1), make(chan error, 1)
	go func() { done <- o.run(ctx, secret, func(a net.Addr) { addrs <- a }) }()
	base := "http://" + (<-addrs).String()

	// The first pass runs at start; /readyz turns 200 when it is done.
	deadline := time.Now().Add(time.Minute)
	for {
		resp, err := http.Get(base + "/readyz")
		if err == nil {
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatal("/readyz never turned 200")
		}
		time.Sleep(20 * time.Millisecond)
	}
	body := `{}`
	req, _ := http.NewRequest(http.MethodPost, base+"/hook", strings.NewReader(body))
	req.Header.Set(reconciler.GitHubSignatureHeader, reconciler.SignGitHub(secret, []byte(body)))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		t.Errorf("signed hook = %d", resp.StatusCode)
	}
	resp, err = http.Post(base+"/hook", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("unsigned hook = %d", resp.StatusCode)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("serve: %v", err)
	}
}
