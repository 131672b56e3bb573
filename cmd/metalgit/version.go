package main

// This file is `metalgit version`: what the Go toolchain stamped into the
// binary (debug.ReadBuildInfo), never a variable set at link time.

import (
	"encoding/json"
	"fmt"
	"io"
	"runtime"
	"runtime/debug"
	"strings"

	"github.com/spf13/cobra"
)

// develVersion is the version of a binary that carries no module version.
const develVersion = "(devel)"

// buildVersion is what `metalgit version` prints.
type buildVersion struct {
	// Version is the main module's version: a tag, a pseudo-version
	// (with +dirty when built from a modified tree) or (devel).
	Version string `json:"version"`
	// Commit, CommitTime and Modified are the vcs.revision, vcs.time and
	// vcs.modified the toolchain recorded; empty (false) when the build
	// recorded no version control information (go build -buildvcs=false,
	// a source tree without .git, a linked git worktree).
	Commit     string `json:"commit,omitempty"`
	CommitTime string `json:"commitTime,omitempty"`
	Modified   bool   `json:"modified"`
	// Go is the Go release that built the binary; Platform its GOOS/GOARCH.
	Go       string `json:"go"`
	Platform string `json:"platform"`
}

// readBuildVersion turns the build information into a buildVersion; ok
// false (no build information) gives (devel) and the running Go release.
func readBuildVersion(bi *debug.BuildInfo, ok bool) buildVersion {
	v := buildVersion{Version: develVersion, Go: runtime.Version(), Platform: runtime.GOOS + "/" + runtime.GOARCH}
	if !ok || bi == nil {
		return v
	}
	if bi.Main.Version != "" {
		v.Version = bi.Main.Version
	}
	if bi.GoVersion != "" {
		v.Go = bi.GoVersion
	}
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			v.Commit = s.Value
		case "vcs.time":
			v.CommitTime = s.Value
		case "vcs.modified":
			v.Modified = s.Value == "true"
		}
	}
	return v
}

// String is the text form, one line:
//
//	metalgit v0.0.0-20261204233800-5ea616021bb0 commit 5ea6160… (2026-12-04T23:38:00Z) go1.26.8 linux/amd64
//
// with ", modified" after the commit time for a tree with uncommitted
// changes, and no commit part for a build that recorded none.
func (v buildVersion) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "metalgit %s", v.Version)
	if v.Commit != "" {
		fmt.Fprintf(&b, " commit %s", v.Commit)
		var notes []string
		if v.CommitTime != "" {
			notes = append(notes, v.CommitTime)
		}
		if v.Modified {
			notes = append(notes, "modified")
		}
		if len(notes) > 0 {
			fmt.Fprintf(&b, " (%s)", strings.Join(notes, ", "))
		}
	}
	fmt.Fprintf(&b, " %s %s", v.Go, v.Platform)
	return b.String()
}

// write prints v in the given format, text or json.
func (v buildVersion) write(w io.Writer, format string) error {
	if format == formatJSON {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		if err := enc.Encode(v); err != nil {
			return fmt.Errorf("writing the version: %w", err)
		}
		return nil
	}
	_, err := fmt.Fprintln(w, v.String())
	return err
}

func newVersionCmd() *cobra.Command {
	output := formatText
	cmd := &cobra.Command{
		Use:   "version",
		Short: "Print the version, commit and Go release of metalgit",
		Long: `version prints what the Go toolchain recorded in the binary: the module
version (a tag, a pseudo-version, or (devel)), the commit it was built from,
that commit's time and whether the tree had uncommitted changes, the Go
release and the platform. A build that recorded no version control
information (go build -buildvcs=false, a source tree without .git, a linked
git worktree) prints no commit.`,
		Example: `  metalgit version
  metalgit version -o json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if output != formatText && output != formatJSON {
				return usageError{fmt.Errorf("unknown output format %q; use text or json", output)}
			}
			return readBuildVersion(debug.ReadBuildInfo()).write(cmd.OutOrStdout(), output)
		},
	}
	cmd.Flags().StringVarP(&output, "output", "o", formatText, "output format: text or json")
	return cmd
}
