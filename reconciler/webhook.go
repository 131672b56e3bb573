package reconciler

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Webhook headers.
const (
	GitHubSignatureHeader = "X-Hub-Signature-256"
	GitLabTokenHeader     = "X-Gitlab-Token" //nolint:gosec // a header name, not a secret
)

// Limits of the webhook (see WebhookOptions). They bound what a request
// may cost before its signature is checked: at most
// DefaultWebhookReads × MaxWebhookBody bytes of bodies in memory, each read
// within DefaultWebhookReadTimeout.
const (
	// MaxWebhookBody is the default bound of a request body, in bytes:
	// GitHub caps payloads at 25 MB.
	MaxWebhookBody = 25 << 20
	// DefaultWebhookReads is the default number of request bodies read at
	// once (a GitHub or GitLab server sends one push at a time per hook).
	DefaultWebhookReads = 4
	// DefaultWebhookReadTimeout is the default time a sender gets for a
	// whole body, once the headers are in (the server's
	// ReadHeaderTimeout bounds those).
	DefaultWebhookReadTimeout = 10 * time.Second
)

// Results of webhook requests, the values of the result label of
// metalgit_webhook_requests_total.
const (
	WebhookAccepted     = "accepted"           // 202: verified; a pass is triggered
	WebhookUnauthorized = "unauthorized"       // 401: unsigned or wrongly signed
	WebhookTooLarge     = "too_large"          // 413: body over WebhookOptions.MaxBody
	WebhookTimeout      = "timeout"            // 408: body not read within WebhookOptions.ReadTimeout
	WebhookBusy         = "busy"               // 503: every read slot taken; body not read
	WebhookBadRequest   = "bad_request"        // 400: the body could not be read (sender gone)
	WebhookBadMethod    = "method_not_allowed" // 405: not a POST
)

// webhookResults lists the result label values, to pre-initialise them.
var webhookResults = []string{WebhookAccepted, WebhookUnauthorized, WebhookTooLarge, WebhookTimeout, WebhookBusy,
	WebhookBadRequest, WebhookBadMethod}

// ErrNoWebhookSecret is returned when a webhook is asked for without a
// secret.
var ErrNoWebhookSecret = errors.New("webhook secret is empty")

// WebhookOptions bound what unauthenticated requests may cost; zero
// fields take the defaults.
type WebhookOptions struct {
	// MaxReads is how many request bodies are read at once, before their
	// signature can be checked. A request that finds every slot taken is
	// answered 503 at once, its body unread. Default DefaultWebhookReads.
	MaxReads int
	// MaxBody bounds a request body, in bytes; a larger one gets 413 (at
	// once when its Content-Length says so). Default MaxWebhookBody.
	MaxBody int64
	// ReadTimeout bounds the reading of one body, from the moment the
	// handler starts; a slower sender gets 408 and its connection is
	// closed. It is enforced with http.ResponseController's read
	// deadline; behind a ResponseWriter that cannot set one (not
	// net/http's server), the server's ReadTimeout must bound the read.
	// Default DefaultWebhookReadTimeout.
	ReadTimeout time.Duration
	// Metrics, when set, counts the requests by result and the bodies
	// being read.
	Metrics *Metrics
	// Logger receives refusals; default discards.
	Logger *slog.Logger
}

// withDefaults fills the zero fields and checks the rest.
func (o WebhookOptions) withDefaults() (WebhookOptions, error) {
	if o.MaxReads < 0 || o.MaxBody < 0 || o.ReadTimeout < 0 {
		return o, fmt.Errorf("webhook options: MaxReads %d, MaxBody %d and ReadTimeout %s must not be negative", o.MaxReads, o.MaxBody, o.ReadTimeout)
	}
	if o.MaxReads == 0 {
		o.MaxReads = DefaultWebhookReads
	}
	if o.MaxBody == 0 {
		o.MaxBody = MaxWebhookBody
	}
	if o.ReadTimeout == 0 {
		o.ReadTimeout = DefaultWebhookReadTimeout
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return o, nil
}

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
// wrongly signed one, 405 to anything but POST, and 413, 408, 503 or 400
// when a body is too large, too slow, finds no free read slot or cannot
// be read (see WebhookOptions). A request without a well-formed
// signature, or with a wrong GitLab token, is refused before its body is
// read.
func WebhookHandler(secret []byte, trigger func(Push), opts WebhookOptions) (http.Handler, error) {
	if len(secret) == 0 {
		return nil, ErrNoWebhookSecret
	}
	opts, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	return &webhook{
		secret:  append([]byte(nil), secret...),
		trigger: trigger,
		opts:    opts,
		log:     opts.Logger,
		slots:   make(chan struct{}, opts.MaxReads),
	}, nil
}

// webhook is the handler WebhookHandler returns.
type webhook struct {
	secret  []byte
	trigger func(Push)
	opts    WebhookOptions
	log     *slog.Logger
	// slots holds a token per body being read.
	slots chan struct{}
}

func (h *webhook) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	if req.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		h.refuse(w, req, http.StatusMethodNotAllowed, WebhookBadMethod, "method not allowed")
		return
	}
	if !plausiblySigned(req.Header, h.secret) {
		h.refuse(w, req, http.StatusUnauthorized, WebhookUnauthorized, "unsigned or wrongly signed webhook")
		return
	}
	if req.ContentLength > h.opts.MaxBody {
		h.refuse(w, req, http.StatusRequestEntityTooLarge, WebhookTooLarge,
			fmt.Sprintf("body of %d bytes is over the limit of %d", req.ContentLength, h.opts.MaxBody))
		return
	}
	select {
	case h.slots <- struct{}{}:
	default:
		w.Header().Set("Retry-After", "1")
		h.refuse(w, req, http.StatusServiceUnavailable, WebhookBusy,
			fmt.Sprintf("busy: %d webhook bodies are being read; try again", h.opts.MaxReads))
		return
	}
	// The slot is held until the signature is checked: no more than
	// MaxReads unverified bodies are ever in memory.
	h.opts.Metrics.webhookReading(1)
	defer func() {
		<-h.slots
		h.opts.Metrics.webhookReading(-1)
	}()
	body, code, result, err := h.readBody(w, req)
	if err != nil {
		h.refuse(w, req, code, result, err.Error())
		return
	}
	if !verifyWebhook(req.Header, body, h.secret) {
		h.refuse(w, req, http.StatusUnauthorized, WebhookUnauthorized, "unsigned or wrongly signed webhook")
		return
	}
	h.opts.Metrics.webhookResult(WebhookAccepted)
	h.trigger(parsePush(body))
	w.WriteHeader(http.StatusAccepted)
	_, _ = io.WriteString(w, "reconcile triggered\n")
}

// readBody reads the body within the read timeout and size bound. On
// failure it returns the status and result label to answer with.
func (h *webhook) readBody(w http.ResponseWriter, req *http.Request) ([]byte, int, string, error) {
	rc := http.NewResponseController(w)
	if err := rc.SetReadDeadline(time.Now().Add(h.opts.ReadTimeout)); err != nil {
		// http.ErrNotSupported: not net/http's server (see ReadTimeout).
		h.log.Debug("webhook: reading the body without a deadline", "err", err)
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, req.Body, h.opts.MaxBody))
	// The deadline was for the body alone.
	_ = rc.SetReadDeadline(time.Time{})
	var tooLarge *http.MaxBytesError
	switch {
	case err == nil:
		return body, 0, "", nil
	case errors.As(err, &tooLarge):
		return nil, http.StatusRequestEntityTooLarge, WebhookTooLarge, fmt.Errorf("body over the limit of %d bytes", h.opts.MaxBody)
	case errors.Is(err, os.ErrDeadlineExceeded):
		return nil, http.StatusRequestTimeout, WebhookTimeout, fmt.Errorf("body not read within %s", h.opts.ReadTimeout)
	default:
		return nil, http.StatusBadRequest, WebhookBadRequest, fmt.Errorf("reading the body: %w", err)
	}
}

// refuse answers a request that is not accepted, counts and logs it, and
// closes the connection after the answer. What is left of the body is
// never read: net/http would otherwise try to drain up to 256 KiB of it
// after the handler returns, waiting on a stalled sender for as long as
// it stalls.
func (h *webhook) refuse(w http.ResponseWriter, req *http.Request, code int, result, msg string) {
	h.opts.Metrics.webhookResult(result)
	level := slog.LevelWarn
	if result == WebhookBadMethod || result == WebhookBusy {
		level = slog.LevelDebug // cheap to send in floods, counted anyway
	}
	h.log.Log(req.Context(), level, "webhook refused", "result", result, "status", code, "reason", msg, "remote", req.RemoteAddr)
	_ = http.NewResponseController(w).SetReadDeadline(time.Now())
	w.Header().Set("Connection", "close")
	http.Error(w, msg, code)
}

// plausiblySigned is what can be checked of a request's signature before
// its body is read: a GitHub signature must be "sha256=" and 64 hex
// digits, a GitLab token must equal the secret (compared in constant
// time).
func plausiblySigned(h http.Header, secret []byte) bool {
	if sig := h.Get(GitHubSignatureHeader); sig != "" {
		hexSig, ok := strings.CutPrefix(sig, "sha256=")
		if !ok || len(hexSig) != 2*sha256.Size {
			return false
		}
		_, err := hex.DecodeString(hexSig)
		return err == nil
	}
	if token := h.Get(GitLabTokenHeader); token != "" {
		return subtle.ConstantTimeCompare([]byte(token), secret) == 1
	}
	return false
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
		hook, _ := WebhookHandler(secret, c.TriggerPush, WebhookOptions{Metrics: c.cfg.Metrics, Logger: c.log})
		mux.Handle("/hook", hook)
	}
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		_, _ = io.WriteString(w, "ok\n")
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, _ *http.Request) {
		if st := c.Status(); !st.Ready && !st.Standby {
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
