package main

// This file compiles the metalgit binary the image holds and reads back
// what the toolchain stamped into it.

import (
	"bytes"
	"context"
	"debug/buildinfo"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"time"
)

// mainPackage is the command the image runs, relative to the module root.
const mainPackage = "./cmd/metalgit"

// goBuildFlags are the flags of the image's go build, the Dockerfile's too:
// no file system paths in the binary, no symbol table or DWARF, and Go's
// own version control stamp (which -buildvcs=auto leaves out, without
// failing, where there is no repository).
func goBuildFlags() []string {
	return []string{"-trimpath", "-buildvcs=auto", "-ldflags=-s -w"}
}

// goBuildSettings are the variables the image's go build sets over the
// environment, the Dockerfile's too (but GOARCH): a static Linux binary,
// and nothing from the user's GOFLAGS (a non-empty value replaces the one
// of `go env -w`) or a go.work.
func goBuildSettings() []string {
	return []string{"CGO_ENABLED=0", "GOOS=linux", "GOFLAGS=-mod=readonly", "GOWORK=off"}
}

// buildError is a go build that failed, with what it printed.
type buildError struct {
	err    error
	output string
}

func (e *buildError) Error() string {
	return fmt.Sprintf("go build %s: %v\n%s", mainPackage, e.err, strings.TrimSpace(e.output))
}

func (e *buildError) Unwrap() error { return e.err }

// goBuild compiles the module's metalgit command into out.
func goBuild(ctx context.Context, goCmd, moduleDir, goarch, out string) error {
	args := append([]string{"build"}, goBuildFlags()...)
	args = append(args, "-o", out, mainPackage)
	cmd := exec.CommandContext(ctx, goCmd, args...) //nolint:gosec // the go command the user names (-go)
	cmd.Dir = moduleDir
	cmd.Env = append(append(os.Environ(), goBuildSettings()...), "GOARCH="+goarch)
	var output bytes.Buffer
	cmd.Stdout, cmd.Stderr = &output, &output
	if err := cmd.Run(); err != nil {
		return &buildError{err: err, output: output.String()}
	}
	return nil
}

// stamp is what the toolchain recorded in a binary.
type stamp struct {
	Version    string    // the main module's version; (devel) when none
	Revision   string    // vcs.revision, "" when none
	CommitTime time.Time // vcs.time, zero when none
	Modified   bool      // vcs.modified
}

// readStamp reads the build information of the binary at path.
func readStamp(path string) (stamp, error) {
	bi, err := buildinfo.ReadFile(path)
	if err != nil {
		return stamp{}, fmt.Errorf("reading the build information of %s: %w", path, err)
	}
	s := stamp{Version: bi.Main.Version}
	if s.Version == "" {
		s.Version = "(devel)"
	}
	for _, kv := range bi.Settings {
		switch kv.Key {
		case "vcs.revision":
			s.Revision = kv.Value
		case "vcs.modified":
			s.Modified = kv.Value == "true"
		case "vcs.time":
			t, err := time.Parse(time.RFC3339, kv.Value)
			if err != nil {
				return stamp{}, fmt.Errorf("%s: vcs.time %q: %w", path, kv.Value, err)
			}
			s.CommitTime = t
		}
	}
	return s, nil
}
