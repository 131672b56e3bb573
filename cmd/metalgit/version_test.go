package main

import (
	"bytes"
	"context"
	"encoding/json"
	"runtime"
	"runtime/debug"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestReadBuildVersion(t *testing.T) {
	platform := runtime.GOOS + "/" + runtime.GOARCH
	stamped := &debug.BuildInfo{
		GoVersion: "go1.26.8",
		Main:      debug.Module{Path: "github.com/metalgit/metalgit", Version: "v0.0.0-20261204233800-5ea616021bb0+dirty"},
		Settings: []debug.BuildSetting{
			{Key: "-trimpath", Value: "true"},
			{Key: "vcs", Value: "git"},
			{Key: "vcs.revision", Value: "5ea616021bb008d3d671c6093dbb013cf0bc1cfe"},
			{Key: "vcs.time", Value: "2026-12-04T23:38:00Z"},
			{Key: "vcs.modified", Value: "true"},
		},
	}
	tests := map[string]struct {
		bi   *debug.BuildInfo
		ok   bool
		want buildVersion
		text string
	}{
		"stamped and modified": {
			bi: stamped, ok: true,
			want: buildVersion{Version: "v0.0.0-20261204233800-5ea616021bb0+dirty", Commit: "5ea616021bb008d3d671c6093dbb013cf0bc1cfe",
				CommitTime: "2026-12-04T23:38:00Z", Modified: true, Go: "go1.26.8", Platform: platform},
			text: "metalgit v0.0.0-20261204233800-5ea616021bb0+dirty commit 5ea616021bb008d3d671c6093dbb013cf0bc1cfe (2026-12-04T23:38:00Z, modified) go1.26.8 " + platform,
		},
		"no version control information": {
			bi: &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Path: "github.com/metalgit/metalgit", Version: "(devel)"}}, ok: true,
			want: buildVersion{Version: "(devel)", Go: "go1.26.8", Platform: platform},
			text: "metalgit (devel) go1.26.8 " + platform,
		},
		"no build information": {
			want: buildVersion{Version: "(devel)", Go: runtime.Version(), Platform: platform},
			text: "metalgit (devel) " + runtime.Version() + " " + platform,
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got := readBuildVersion(tc.bi, tc.ok)
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("readBuildVersion (-want +got):\n%s", diff)
			}
			if s := got.String(); s != tc.text {
				t.Errorf("String() = %q, want %q", s, tc.text)
			}
		})
	}
}

// TestVersionCommand runs `metalgit version` in the test binary, which
// carries build information but no version control stamp.
func TestVersionCommand(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if code := run(context.Background(), []string{"version"}, &stdout, &stderr); code != exitOK {
		t.Fatalf("exit %d\n%s", code, &stderr)
	}
	want := readBuildVersion(debug.ReadBuildInfo()).String() + "\n"
	if stdout.String() != want {
		t.Errorf("stdout %q, want %q", &stdout, want)
	}
	if !strings.HasPrefix(want, "metalgit ") || !strings.Contains(want, runtime.Version()) {
		t.Errorf("version line %q lacks the name or the Go release", want)
	}

	stdout.Reset()
	if code := run(context.Background(), []string{"version", "-o", "json"}, &stdout, &stderr); code != exitOK {
		t.Fatalf("-o json: exit %d\n%s", code, &stderr)
	}
	var got map[string]any
	if err := json.Unmarshal(stdout.Bytes(), &got); err != nil {
		t.Fatalf("-o json: %v\n%s", err, &stdout)
	}
	for _, k := range []string{"version", "modified", "go", "platform"} {
		if _, ok := got[k]; !ok {
			t.Errorf("-o json lacks %q: %s", k, &stdout)
		}
	}

	stderr.Reset()
	if code := run(context.Background(), []string{"version", "-o", "yaml"}, &stdout, &stderr); code != exitUsage {
		t.Errorf("-o yaml: exit %d, want %d", code, exitUsage)
	}
	if !strings.Contains(stderr.String(), "unknown output format") {
		t.Errorf("-o yaml: stderr %q", &stderr)
	}
}
