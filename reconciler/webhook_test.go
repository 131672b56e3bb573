package reconciler_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/metalgit/metalgit/reconciler"
)

func TestWebhookHandler(t *testing.T) {
	if _, err := reconciler.WebhookHandler(nil, func() {}, nil); err == nil {
		t.Fatal("a webhook without a secret was accepted")
	}
	secret := []byte("k3y")
	body := `{"ref":"refs/heads/main"}`
	for _, c := range []struct {
		name, method, header, value string
		want                        int
	}{
		{"github ok", http.MethodPost, reconciler.GitHubSignatureHeader, reconciler.SignGitHub(secret, []byte(body)), http.StatusAccepted},
		{"github wrong secret", http.MethodPost, reconciler.GitHubSignatureHeader, reconciler.SignGitHub([]byte("nope"), []byte(body)), http.StatusUnauthorized},
		{"github other body", http.MethodPost, reconciler.GitHubSignatureHeader, reconciler.SignGitHub(secret, []byte("{}")), http.StatusUnauthorized},
		{"github no prefix", http.MethodPost, reconciler.GitHubSignatureHeader, strings.TrimPrefix(reconciler.SignGitHub(secret, []byte(body)), "sha256="), http.StatusUnauthorized},
		{"github not hex", http.MethodPost, reconciler.GitHubSignatureHeader, "sha256=zz", http.StatusUnauthorized},
		{"gitlab ok", http.MethodPost, reconciler.GitLabTokenHeader, "k3y", http.StatusAccepted},
		{"gitlab wrong", http.MethodPost, reconciler.GitLabTokenHeader, "k3y2", http.StatusUnauthorized},
		{"unsigned", http.MethodPost, "", "", http.StatusUnauthorized},
		{"get", http.MethodGet, reconciler.GitLabTokenHeader, "k3y", http.StatusMethodNotAllowed},
	} {
		t.Run(c.name, func(t *testing.T) {
			n := 0
			h, err := reconciler.WebhookHandler(secret, func() { n++ }, nil)
			if err != nil {
				t.Fatal(err)
			}
			req := httptest.NewRequest(c.method, "/hook", strings.NewReader(body))
			if c.header != "" {
				req.Header.Set(c.header, c.value)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != c.want {
				t.Errorf("status %d, want %d", rec.Code, c.want)
			}
			if wantN := map[bool]int{true: 1, false: 0}[c.want == http.StatusAccepted]; n != wantN {
				t.Errorf("%d triggers, want %d", n, wantN)
			}
		})
	}
}
