package main

import (
	"bytes"
	"context"
	"runtime"
	"strings"
	"testing"
)

func TestParseFlags(t *testing.T) {
	env := func(kv map[string]string) func(string) string { return func(k string) string { return kv[k] } }
	tests := map[string]struct {
		args    []string
		env     map[string]string
		epoch   int64
		goarch  string
		wantErr string
	}{
		"defaults":                        {epoch: -1, goarch: runtime.GOARCH},
		"SOURCE_DATE_EPOCH":               {env: map[string]string{"SOURCE_DATE_EPOCH": "1700000000"}, epoch: 1700000000, goarch: runtime.GOARCH},
		"the flag over SOURCE_DATE_EPOCH": {args: []string{"-source-date-epoch", "5"}, env: map[string]string{"SOURCE_DATE_EPOCH": "7"}, epoch: 5, goarch: runtime.GOARCH},
		"GOARCH":                          {env: map[string]string{"GOARCH": "arm64"}, epoch: -1, goarch: "arm64"},
		"the flag over GOARCH":            {args: []string{"-goarch", "amd64"}, env: map[string]string{"GOARCH": "arm64"}, epoch: -1, goarch: "amd64"},
		"SOURCE_DATE_EPOCH not a number":  {env: map[string]string{"SOURCE_DATE_EPOCH": "yesterday"}, wantErr: "SOURCE_DATE_EPOCH"},
		"SOURCE_DATE_EPOCH before 1970":   {env: map[string]string{"SOURCE_DATE_EPOCH": "-1"}, wantErr: "SOURCE_DATE_EPOCH"},
		"an argument":                     {args: []string{"out"}, wantErr: "unexpected arguments"},
		"an empty tag":                    {args: []string{"-tag", ""}, wantErr: "-tag"},
		"an unknown flag":                 {args: []string{"-push"}, wantErr: "not defined"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			var stderr bytes.Buffer
			o, err := parseFlags(tc.args, env(tc.env), &stderr)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error %v, want one about %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if o.Epoch != tc.epoch || o.GOARCH != tc.goarch || o.OutDir != "out/image" || o.Tag != "latest" {
				t.Errorf("options %+v", o)
			}
		})
	}
}

// TestRunUsage: bad arguments exit 2 before anything is built.
func TestRunUsage(t *testing.T) {
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), []string{"extra"}, func(string) string { return "" }, &stdout, &stderr)
	if code != 2 || stdout.Len() != 0 || !strings.Contains(stderr.String(), "image: unexpected arguments") {
		t.Errorf("exit %d, stdout %q, stderr %q", code, &stdout, &stderr)
	}
}
