package reconciler

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strings"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Webhook headers.
const (
	GitHubSignatureHeader = "X-Hub-Signature-256"
	GitLabTokenHeader     = "X-Gitlab-Token" //nolint:gosec // a header name, not a secret
)

// MaxWebhookBody bounds the body of a webhook request (GitHub caps payloads
// at 25 MB).
const MaxWebhookBody = 25 << 20

// ErrNoWebhookSecret is returned when a webhook is asked for without a
// secret.
var ErrNoWebhookSecret = errors.New("webhook secret is empty")

// Push is what a webhook says of a push: the ref pushed and the commit it
// points at now (GitHub's and GitLab's push events carry both as "ref"
// and "after"). Either is "" when the request does not say; After is ""
// for a deleted ref.
type Push struct {
	Ref, After string
}

// parsePush reads the ref and new head of a push event's body; anything
// else gives an empty Push.
func parsePush(body []byte) Push {
	var ev struct {
		Ref   string `json:"ref"`
		After string `json:"after"`
	}
	if json.Unmarshal(body, &ev) != nil {
		return Push{}
	}
	if !plumbing.IsHash(ev.After) || plumbing.NewHash(ev.After).IsZero() {
		ev.After = ""
	}
	return Push{Ref: ev.Ref, After: strings.ToLower(ev.After)}
}

// WebhookHandler verifies a push webhook and calls trigger for each good
// one, with what its body says of the push: GitHub's X-Hub-Signature-256
// ("sha256=" and the hex HMAC-SHA256 of the body keyed with the secret)
// or GitLab's X-Gitlab-Token (the secret itself), both compared in
// constant time. It answers 202 to a good request, 401 to an unsigned or
// wrongly signed one, 405 to anything but POST.
func WebhookHandler(secret []byte, trigger func(Push), log *slog.Logger) (http.Handler, error) {
	if len(secret) == 0 {
		return nil, ErrNoWebhookSecret
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	secret = append([]byte(nil), secret...)
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if req.Method != http.MethodPost {
			w.Header().Set("Allow", http.MethodPost)
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		body, err := io.ReadAll(http.MaxBytesReader(w, req.Body, MaxWebhookBody))
		if err != nil {
			http.Error(w, "reading body: "+err.Error(), http.StatusRequestEntityTooLarge)
			return
		}
		if !verifyWebhook(req.Header, body, secret) {
			log.Warn("webhook refused: unsigned or wrongly signed", "remote", req.RemoteAddr)
			http.Error(w, "unsigned or wrongly signed webhook", http.StatusUnauthorized)
			return
		}
		trigger(parsePush(body))
		w.WriteHeader(http.StatusAccepted)
		_, _ = io.WriteString(w, "reconcile triggered\n")
	}), nil
}

// verifyWebhook checks the GitHub signature when present, else the GitLab
// token; a request with neither is refused.
func verifyWebhook(h http.Header, body, secret []byte) bool {
	if sig := h.Get(GitHubSignatureHeader); sig != "" {
		hexSig, ok := strings.CutPrefix(sig, "sha256=")
		if !ok {
			return false
		}
		got, err := hex.DecodeString(hexSig)
		if err != nil {
			return false
		}
		mac := hmac.New(sha256.New, secret)
		mac.Write(body)
		return hmac.Equal(got, mac.Sum(nil))
	}
	if token := h.Get(GitLabTokenHeader); token != "" {
		return subtle.ConstantTimeCompare([]byte(token), secret) == 1
	}
	return false
}

// SignGitHub returns the X-Hub-Signature-256 value of body.
func SignGitHub(secret, body []byte) string {
	mac := hmac.New(sha256.New, secret)
	mac.Write(body)
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}

// Handler returns the controller's HTTP endpoints: POST /hook (only when
// secret is not empty), GET /healthz, /readyz, /status and /metrics.
func (c *Controller) Handler(secret []byte) http.Handler {
	mux := http.NewServeMux()
	if len(secret) > 0 {
		hook, _ := WebhookHandler(secret, c.TriggerPush, c.log)
		mux.Handle("/hook", hook)
	}
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		_, _ = io.WriteString(w, "ok\n")
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, _ *http.Request) {
		if !c.Status().Ready {
			http.Error(w, "no successful reconcile pass yet", http.StatusServiceUnavailable)
			return
		}
		_, _ = io.WriteString(w, "ok\n")
	})
	mux.HandleFunc("GET /status", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		_ = enc.Encode(c.Status())
	})
	if m := c.cfg.Metrics; m != nil {
		mux.Handle("GET /metrics", promhttp.HandlerFor(m.Registry, promhttp.HandlerOpts{Registry: m.Registry}))
	}
	return mux
}
