package reconciler_test

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/metalgit/metalgit/reconciler"
)

const (
	hookSecret = "k3y"
	// forgedSig is a well-formed signature of nothing in particular: it
	// gets a request past the header checks, so its body is read.
	forgedSig = "sha256=" + "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"
	// long is a timeout no test waits for: a request refused within
	// prompt was refused without waiting for its body.
	long   = time.Minute
	prompt = 3 * time.Second
)

// hookServer is a webhook handler behind a real HTTP server on loopback.
type hookServer struct {
	t        *testing.T
	srv      *httptest.Server
	metrics  *reconciler.Metrics
	triggers atomic.Int64
	last     atomic.Value // reconciler.Push
}

func startHook(t *testing.T, opts reconciler.WebhookOptions) *hookServer {
	t.Helper()
	h := &hookServer{t: t, metrics: reconciler.NewMetrics()}
	opts.Metrics = h.metrics
	handler, err := reconciler.WebhookHandler([]byte(hookSecret), func(p reconciler.Push) {
		h.last.Store(p)
		h.triggers.Add(1)
	}, opts)
	if err != nil {
		t.Fatal(err)
	}
	h.srv = httptest.NewServer(handler)
	t.Cleanup(h.srv.Close)
	return h
}

// dial opens a connection and sends a POST /hook's headers (extra ones
// as "Name: value" lines) and the first bytes of its body.
func (h *hookServer) dial(headers []string, body string) net.Conn {
	h.t.Helper()
	c, err := net.Dial("tcp", h.srv.Listener.Addr().String())
	if err != nil {
		h.t.Fatal(err)
	}
	h.t.Cleanup(func() { _ = c.Close() })
	req := "POST /hook HTTP/1.1\r\nHost: metalgit\r\n" + strings.Join(headers, "\r\n") + "\r\n\r\n" + body
	if _, err := io.WriteString(c, req); err != nil {
		h.t.Fatal(err)
	}
	return c
}

// reply is what answer read.
type reply struct {
	StatusCode int
	Status     string
	Header     http.Header
}

// answer reads the response on c, waiting at most wait, and returns it
// with its body.
func (h *hookServer) answer(c net.Conn, wait time.Duration) (reply, string) {
	h.t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(wait))
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		h.t.Fatalf("no response within %s: %v", wait, err)
	}
	b, err := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if err != nil {
		h.t.Fatalf("reading the response body: %v", err)
	}
	// The server closes the connection after a refusal, at once (with a
	// reset when part of the body was left unread).
	if resp.StatusCode != http.StatusAccepted {
		if n, err := br.Read(make([]byte, 1)); n != 0 || (!errors.Is(err, io.EOF) && !errors.Is(err, syscall.ECONNRESET)) {
			h.t.Errorf("connection still open after %s: read %d, %v", resp.Status, n, err)
		}
	}
	return reply{resp.StatusCode, resp.Status, resp.Header}, strings.TrimSpace(string(b))
}

// post sends a complete request with a real HTTP client.
func (h *hookServer) post(header, value, body string) (int, string) {
	h.t.Helper()
	req, err := http.NewRequestWithContext(h.t.Context(), http.MethodPost, h.srv.URL+"/hook", strings.NewReader(body))
	if err != nil {
		h.t.Fatal(err)
	}
	if header != "" {
		req.Header.Set(header, value)
	}
	resp, err := h.srv.Client().Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, strings.TrimSpace(string(b))
}

// results returns the webhook request counts by result, zeros included.
func (h *hookServer) results() map[string]float64 {
	h.t.Helper()
	return metricValues(h.t, h.metrics, "metalgit_webhook_requests_total")
}

// reading returns the bodies being read.
func (h *hookServer) reading() float64 {
	h.t.Helper()
	return metricValues(h.t, h.metrics, "metalgit_webhook_body_reads_in_flight")[""]
}

// metricValues returns a metric's values by the value of its one label
// ("" for a metric without labels).
func metricValues(t *testing.T, m *reconciler.Metrics, name string) map[string]float64 {
	t.Helper()
	families, err := m.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
		for _, s := range f.GetMetric() {
			label := ""
			if len(s.GetLabel()) > 0 {
				label = s.GetLabel()[0].GetValue()
			}
			switch {
			case s.GetCounter() != nil:
				out[label] = s.GetCounter().GetValue()
			case s.GetGauge() != nil:
				out[label] = s.GetGauge().GetValue()
			}
		}
	}
	return out
}

// counts is the webhook request counts, zero but for the ones given.
func counts(set map[string]int) map[string]float64 {
	out := map[string]float64{}
	for _, r := range []string{reconciler.WebhookAccepted, reconciler.WebhookUnauthorized, reconciler.WebhookTooLarge,
		reconciler.WebhookTimeout, reconciler.WebhookBusy, reconciler.WebhookBadRequest, reconciler.WebhookBadMethod} {
		out[r] = float64(set[r])
	}
	return out
}

func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// A sender that stalls or trickles is cut off once ReadTimeout has passed
// since its headers, answered 408, disconnected and counted.
func TestWebhookSlowSender(t *testing.T) {
	const timeout = 300 * time.Millisecond
	sig := "X-Hub-Signature-256: " + forgedSig
	tests := map[string]struct {
		headers []string
		body    string
		drip    bool // then send a byte every 50 ms
	}{
		"headers, then nothing":   {headers: []string{sig, "Content-Length: 100"}},
		"a few bytes, then stall": {headers: []string{sig, "Content-Length: 100"}, body: `{"ref":`},
		"a byte every 50 ms":      {headers: []string{sig, "Content-Length: 1000"}, body: "{", drip: true},
		"chunked, then stall":     {headers: []string{sig, "Transfer-Encoding: chunked"}, body: "7\r\n{\"ref\":\r\n"},
		"GitLab, then stall":      {headers: []string{"X-Gitlab-Token: " + hookSecret, "Content-Length: 50"}, body: "{"},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			h := startHook(t, reconciler.WebhookOptions{ReadTimeout: timeout})
			start := time.Now()
			c := h.dial(tt.headers, tt.body)
			if tt.drip {
				stop := make(chan struct{})
				defer close(stop)
				go func() {
					for {
						select {
						case <-stop:
							return
						case <-time.After(50 * time.Millisecond):
						}
						if _, err := c.Write([]byte(" ")); err != nil {
							return
						}
					}
				}()
			}
			resp, msg := h.answer(c, prompt+timeout)
			took := time.Since(start)
			if resp.StatusCode != http.StatusRequestTimeout || msg != "body not read within 300ms" {
				t.Errorf("answer %s %q, want 408 \"body not read within 300ms\"", resp.Status, msg)
			}
			if took < timeout || took > timeout+prompt {
				t.Errorf("answered after %s, want after %s and soon after", took, timeout)
			}
			if diff := cmp.Diff(counts(map[string]int{reconciler.WebhookTimeout: 1}), h.results()); diff != "" {
				t.Errorf("requests (-want +got):\n%s", diff)
			}
			if h.triggers.Load() != 0 || h.reading() != 0 {
				t.Errorf("%d triggers, %v bodies being read; want 0, 0", h.triggers.Load(), h.reading())
			}
		})
	}
}

// A body over MaxBody gets 413: at once when Content-Length says so, else
// when the read passes the limit. Both are counted.
func TestWebhookOversize(t *testing.T) {
	const maxBody = 1024
	big := `{"ref":"refs/heads/main","pad":"` + strings.Repeat("x", maxBody) + `"}`
	tests := map[string]struct {
		opts    reconciler.WebhookOptions
		headers []string
		body    string
		want    string
	}{
		"declared, one byte over": {
			opts:    reconciler.WebhookOptions{MaxBody: maxBody, ReadTimeout: long},
			headers: []string{"X-Hub-Signature-256: " + forgedSig, "Content-Length: 1025"},
			want:    "body of 1025 bytes is over the limit of 1024",
		},
		"declared, a terabyte": {
			opts:    reconciler.WebhookOptions{MaxBody: maxBody, ReadTimeout: long},
			headers: []string{"X-Gitlab-Token: " + hookSecret, "Content-Length: 1099511627776"},
			want:    "body of 1099511627776 bytes is over the limit of 1024",
		},
		"declared, GitHub's limit by default": {
			opts:    reconciler.WebhookOptions{ReadTimeout: long},
			headers: []string{"X-Hub-Signature-256: " + forgedSig, fmt.Sprintf("Content-Length: %d", reconciler.MaxWebhookBody+1)},
			want:    "body of 26214401 bytes is over the limit of 26214400",
		},
		"chunked, signed": {
			opts:    reconciler.WebhookOptions{MaxBody: maxBody, ReadTimeout: long},
			headers: []string{"X-Hub-Signature-256: " + reconciler.SignGitHub([]byte(hookSecret), []byte(big)), "Transfer-Encoding: chunked"},
			body:    fmt.Sprintf("%x\r\n%s\r\n0\r\n\r\n", len(big), big),
			want:    "body over the limit of 1024 bytes",
		},
		"chunked, endless": {
			opts:    reconciler.WebhookOptions{MaxBody: maxBody, ReadTimeout: long},
			headers: []string{"X-Gitlab-Token: " + hookSecret, "Transfer-Encoding: chunked"},
			body:    strings.Repeat("100\r\n"+strings.Repeat("y", 256)+"\r\n", 5),
			want:    "body over the limit of 1024 bytes",
		},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			h := startHook(t, tt.opts)
			start := time.Now()
			resp, msg := h.answer(h.dial(tt.headers, tt.body), prompt)
			if resp.StatusCode != http.StatusRequestEntityTooLarge || msg != tt.want {
				t.Errorf("answer %s %q, want 413 %q", resp.Status, msg, tt.want)
			}
			if took := time.Since(start); took > prompt {
				t.Errorf("answered after %s", took)
			}
			if diff := cmp.Diff(counts(map[string]int{reconciler.WebhookTooLarge: 1}), h.results()); diff != "" {
				t.Errorf("requests (-want +got):\n%s", diff)
			}
			if h.triggers.Load() != 0 {
				t.Errorf("%d triggers", h.triggers.Load())
			}
		})
	}
	// A body of exactly MaxBody bytes is read.
	h := startHook(t, reconciler.WebhookOptions{MaxBody: maxBody})
	exact := `{"ref":"refs/heads/main","pad":"` + strings.Repeat("x", maxBody-34) + `"}`
	if len(exact) != maxBody {
		t.Fatalf("test body of %d bytes", len(exact))
	}
	if code, msg := h.post(reconciler.GitHubSignatureHeader, reconciler.SignGitHub([]byte(hookSecret), []byte(exact)), exact); code != http.StatusAccepted {
		t.Errorf("a body of MaxBody bytes: %d %q", code, msg)
	}
}

// Requests that cannot be genuine are refused before their body is read,
// without taking a read slot.
func TestWebhookRefusedBeforeReading(t *testing.T) {
	tests := map[string]struct {
		headers []string
		code    int
		result  string
	}{
		"unsigned":               {headers: nil, code: http.StatusUnauthorized, result: reconciler.WebhookUnauthorized},
		"signature not sha256":   {headers: []string{"X-Hub-Signature-256: sha1=0011"}, code: http.StatusUnauthorized, result: reconciler.WebhookUnauthorized},
		"signature not hex":      {headers: []string{"X-Hub-Signature-256: sha256=" + strings.Repeat("z", 64)}, code: http.StatusUnauthorized, result: reconciler.WebhookUnauthorized},
		"signature too short":    {headers: []string{"X-Hub-Signature-256: sha256=00"}, code: http.StatusUnauthorized, result: reconciler.WebhookUnauthorized},
		"wrong GitLab token":     {headers: []string{"X-Gitlab-Token: k3y-not"}, code: http.StatusUnauthorized, result: reconciler.WebhookUnauthorized},
		"GitLab token prefix":    {headers: []string{"X-Gitlab-Token: k3"}, code: http.StatusUnauthorized, result: reconciler.WebhookUnauthorized},
		"signature, empty value": {headers: []string{"X-Hub-Signature-256: "}, code: http.StatusUnauthorized, result: reconciler.WebhookUnauthorized},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			h := startHook(t, reconciler.WebhookOptions{MaxReads: 1, ReadTimeout: long})
			// The one read slot is taken: a request that needed it
			// would get 503.
			h.dial([]string{"X-Hub-Signature-256: " + forgedSig, "Content-Length: 100"}, "{")
			waitUntil(t, "the slot taken", func() bool { return h.reading() == 1 })
			start := time.Now()
			resp, _ := h.answer(h.dial(append(tt.headers, "Content-Length: 100"), ""), prompt)
			if resp.StatusCode != tt.code || time.Since(start) > prompt {
				t.Errorf("answer %s after %s, want %d at once", resp.Status, time.Since(start), tt.code)
			}
			if diff := cmp.Diff(counts(map[string]int{tt.result: 1}), h.results()); diff != "" {
				t.Errorf("requests (-want +got):\n%s", diff)
			}
		})
	}
}

// With every read slot held by a stalled sender, one more request is
// refused at once (503, Retry-After) and counted; once the stalled senders
// are gone, a good signed request is accepted.
func TestWebhookConcurrency(t *testing.T) {
	const slots = 3
	h := startHook(t, reconciler.WebhookOptions{MaxReads: slots, ReadTimeout: long})
	var stalled []net.Conn
	for i := range slots {
		headers := []string{"X-Hub-Signature-256: " + forgedSig, "Content-Length: 100"}
		if i == 0 {
			headers = []string{"X-Gitlab-Token: " + hookSecret, "Content-Length: 100"}
		}
		stalled = append(stalled, h.dial(headers, `{"re`))
	}
	waitUntil(t, "every slot taken", func() bool { return h.reading() == slots })

	body := `{"ref":"refs/heads/main","after":"0123456789abcdef0123456789abcdef01234567"}`
	sig := reconciler.SignGitHub([]byte(hookSecret), []byte(body))
	for _, headers := range [][]string{
		{"X-Hub-Signature-256: " + sig, fmt.Sprintf("Content-Length: %d", len(body))},
		{"X-Gitlab-Token: " + hookSecret, "Content-Length: 100"},
		{"X-Hub-Signature-256: " + forgedSig, "Transfer-Encoding: chunked"},
	} {
		start := time.Now()
		resp, msg := h.answer(h.dial(headers, ""), prompt)
		if resp.StatusCode != http.StatusServiceUnavailable || msg != "busy: 3 webhook bodies are being read; try again" ||
			resp.Header.Get("Retry-After") != "1" {
			t.Errorf("%v: answer %s %q (Retry-After %q), want 503 busy", headers, resp.Status, msg, resp.Header.Get("Retry-After"))
		}
		if took := time.Since(start); took > prompt {
			t.Errorf("%v: answered after %s", headers, took)
		}
	}
	if diff := cmp.Diff(counts(map[string]int{reconciler.WebhookBusy: 3}), h.results()); diff != "" {
		t.Errorf("requests while busy (-want +got):\n%s", diff)
	}

	for _, c := range stalled {
		_ = c.Close()
	}
	waitUntil(t, "the slots freed", func() bool { return h.reading() == 0 })
	if code, msg := h.post(reconciler.GitHubSignatureHeader, sig, body); code != http.StatusAccepted || msg != "reconcile triggered" {
		t.Fatalf("after the stalled senders left: %d %q, want 202", code, msg)
	}
	want := reconciler.Push{Ref: "refs/heads/main", After: "0123456789abcdef0123456789abcdef01234567"}
	if got, _ := h.last.Load().(reconciler.Push); h.triggers.Load() != 1 || got != want {
		t.Errorf("%d triggers, last %+v; want 1, %+v", h.triggers.Load(), got, want)
	}
	if diff := cmp.Diff(counts(map[string]int{reconciler.WebhookBusy: 3, reconciler.WebhookBadRequest: slots, reconciler.WebhookAccepted: 1}), h.results()); diff != "" {
		t.Errorf("requests (-want +got):\n%s", diff)
	}
}

func TestWebhookOptionsRefused(t *testing.T) {
	for _, o := range []reconciler.WebhookOptions{{MaxReads: -1}, {MaxBody: -1}, {ReadTimeout: -time.Second}} {
		if _, err := reconciler.WebhookHandler([]byte(hookSecret), func(reconciler.Push) {}, o); err == nil ||
			!strings.Contains(err.Error(), "must not be negative") {
			t.Errorf("%+v: %v, want a refusal", o, err)
		}
	}
}
