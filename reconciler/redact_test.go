package reconciler

import (
	"errors"
	"fmt"
	"testing"
)

func TestRedact(t *testing.T) {
	tests := map[string]struct {
		err     error
		secrets []string
		want    string
	}{
		"url userinfo": {err: errors.New(`Get "https://bob:hunter2@git.example/r.git/info/refs": EOF`), want: `Get "https://***@git.example/r.git/info/refs": EOF`},
		"token":        {err: errors.New("authorization Bearer tok-123 rejected"), secrets: []string{"tok-123"}, want: "authorization Bearer *** rejected"},
		"ssh user":     {err: errors.New("ssh://git@host/repo: refused"), want: "ssh://***@host/repo: refused"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if got := redact(tc.err, tc.secrets).Error(); got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
	if err := redact(fmt.Errorf("x: %w", ErrPushAttempts), nil); !errors.Is(err, ErrPushAttempts) {
		t.Errorf("redact lost the sentinel: %v", err)
	}
}
