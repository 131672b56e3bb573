package reconciler_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/metalgit/metalgit/reconciler"
)

func TestWebhookHandler(t *testing.T) {
	if _, err := reconciler.WebhookHandler(nil, func(reconciler.Push) {}, reconciler.WebhookOptions{}); err == nil {
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
			h, err := reconciler.WebhookHandler(secret, func(reconciler.Push) { n++ }, reconciler.WebhookOptions{})
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

// A push event's ref and new head reach the trigger; anything else gives
// an empty Push.
func TestWebhookPush(t *testing.T) {
	secret := []byte("k3y")
	const head = "0123456789abcdef0123456789abcdef01234567"
	for _, c := range []struct {
		name, body string
		want       reconciler.Push
	}{
		{"github push", `{"ref":"refs/heads/main","before":"` + strings.Repeat("1", 40) + `","after":"` + head + `","repository":{"full_name":"org/fleet"}}`, reconciler.Push{Ref: "refs/heads/main", After: head}},
		{"gitlab push", `{"object_kind":"push","ref":"refs/heads/main","after":"` + strings.ToUpper(head) + `","checkout_sha":"` + head + `"}`, reconciler.Push{Ref: "refs/heads/main", After: head}},
		{"branch deleted", `{"ref":"refs/heads/main","after":"` + strings.Repeat("0", 40) + `"}`, reconciler.Push{Ref: "refs/heads/main"}},
		{"not a hash", `{"ref":"refs/heads/main","after":"HEAD~1"}`, reconciler.Push{Ref: "refs/heads/main"}},
		{"ping", `{"zen":"Keep it logically awesome.","hook_id":1}`, reconciler.Push{}},
		{"not JSON", `payload=%7B%7D`, reconciler.Push{}},
	} {
		t.Run(c.name, func(t *testing.T) {
			var got []reconciler.Push
			h, err := reconciler.WebhookHandler(secret, func(p reconciler.Push) { got = append(got, p) }, reconciler.WebhookOptions{})
			if err != nil {
				t.Fatal(err)
			}
			req := httptest.NewRequest(http.MethodPost, "/hook", strings.NewReader(c.body))
			req.Header.Set(reconciler.GitHubSignatureHeader, reconciler.SignGitHub(secret, []byte(c.body)))
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != http.StatusAccepted || len(got) != 1 || got[0] != c.want {
				t.Fatalf("status %d, triggers %+v, want 202 and %+v", rec.Code, got, c.want)
			}
		})
	}
}
