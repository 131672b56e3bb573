package gitrepo

import (
	"context"
	"errors"
	"fmt"
	"strings"
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
			if got := Redact(tc.err, tc.secrets).Error(); got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
	// The chain is kept: a deadline or a typed error is still found.
	err := Redact(fmt.Errorf("pushing to https://bob:hunter2@git.example: %w", context.DeadlineExceeded), nil)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Redact lost the chain: %v", err)
	}
	if strings.Contains(err.Error(), "hunter2") {
		t.Errorf("Redact kept the password: %v", err)
	}
}
