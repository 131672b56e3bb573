package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// instruction is one Dockerfile instruction, continuation lines joined.
type instruction struct {
	Line int
	Cmd  string // upper case: FROM, COPY, RUN, …
	Args string
}

// parseDockerfile reads the instructions of a Dockerfile; it knows only
// what the repository's Dockerfile uses (no heredocs, no escape directive).
func parseDockerfile(t *testing.T, file string) []instruction {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var out []instruction
	var cur strings.Builder
	start := 0
	for i, line := range strings.Split(string(data), "\n") {
		trimmed := strings.TrimSpace(line)
		if cur.Len() == 0 && (trimmed == "" || strings.HasPrefix(trimmed, "#")) {
			continue
		}
		if cur.Len() == 0 {
			start = i + 1
		}
		if body, ok := strings.CutSuffix(trimmed, `\`); ok {
			cur.WriteString(body + " ")
			continue
		}
		cur.WriteString(trimmed)
		cmd, args, _ := strings.Cut(cur.String(), " ")
		out = append(out, instruction{Line: start, Cmd: strings.ToUpper(cmd), Args: strings.TrimSpace(args)})
		cur.Reset()
	}
	return out
}

// dockerCopy is a COPY of the final stage.
type dockerCopy struct {
	From, Chown, Chmod, Src, Dst string
}

// stages splits the instructions at each FROM, by the stage's name (the
// word after AS, or the image for a stage with no name).
func stages(t *testing.T, ins []instruction) (map[string][]instruction, string) {
	t.Helper()
	by := map[string][]instruction{}
	name := ""
	for _, in := range ins {
		if in.Cmd == "FROM" {
			f := strings.Fields(in.Args)
			name = f[len(f)-1]
			continue
		}
		if name == "" {
			t.Fatalf("Dockerfile:%d: %s before FROM", in.Line, in.Cmd)
		}
		by[name] = append(by[name], in)
	}
	return by, name
}

func parseCopy(t *testing.T, in instruction) dockerCopy {
	t.Helper()
	var c dockerCopy
	var words []string
	for _, w := range strings.Fields(in.Args) {
		switch {
		case strings.HasPrefix(w, "--from="):
			c.From = strings.TrimPrefix(w, "--from=")
		case strings.HasPrefix(w, "--chown="):
			c.Chown = strings.TrimPrefix(w, "--chown=")
		case strings.HasPrefix(w, "--chmod="):
			c.Chmod = strings.TrimPrefix(w, "--chmod=")
		case strings.HasPrefix(w, "--"):
			t.Fatalf("Dockerfile:%d: COPY flag %s the test does not know", in.Line, w)
		default:
			words = append(words, w)
		}
	}
	if len(words) != 2 {
		t.Fatalf("Dockerfile:%d: COPY of %d words, want a source and a destination", in.Line, len(words))
	}
	c.Src, c.Dst = words[0], words[1]
	return c
}

// shellFlags is how goBuildFlags read on a shell command line.
func shellFlags() string {
	var out []string
	for _, f := range goBuildFlags() {
		if name, value, ok := strings.Cut(f, "="); ok && strings.Contains(value, " ") {
			f = name + "='" + value + "'"
		}
		out = append(out, f)
	}
	return strings.Join(out, " ")
}

// TestDockerfileMatchesBuilder: the Dockerfile's final stage copies the
// files hack/image puts in the image, to the same paths, with the same
// modes and owners, and sets the same user, working directory,
// environment, labels and entrypoint; its go build has the same flags.
func TestDockerfileMatchesBuilder(t *testing.T) {
	by, final := stages(t, parseDockerfile(t, filepath.Join(moduleDir, "Dockerfile")))
	if final != "scratch" {
		t.Fatalf("the final stage is FROM %s, want scratch", final)
	}
	entries := contents(sources{Binary: "b", CACerts: "c", IPXEDir: "i", Rootfs: rootfsDir})
	want := map[string]entry{} // copied: every file, and the directories of an owner or mode of their own
	for _, e := range entries {
		if !e.Dir || e.Mode != 0o755 || e.UID != 0 || e.GID != 0 {
			want[e.Path] = e
		}
	}
	labelRE := regexp.MustCompile(`([\w.-]+)="([^"]*)"`)
	gotLabels := map[string]string{}
	copied := map[string]bool{}
	var gotUser, gotWorkdir, gotEnv string
	var gotEntrypoint []string
	for _, in := range by[final] {
		switch in.Cmd {
		case "COPY":
			c := parseCopy(t, in)
			copied[c.Dst] = true
			e, ok := want[c.Dst]
			if !ok {
				t.Errorf("Dockerfile:%d: copies %s, which hack/image does not put in the image", in.Line, c.Dst)
				continue
			}
			chown := ""
			if e.UID != 0 || e.GID != 0 {
				chown = fmt.Sprintf("%d:%d", e.UID, e.GID)
			}
			if c.Chown != chown {
				t.Errorf("Dockerfile:%d: %s --chown=%q, want %q", in.Line, c.Dst, c.Chown, chown)
			}
			if e.Dir {
				// A directory keeps its mode from the files stage.
				if c.Chmod != "" || !strings.Contains(runText(by["files"]), fmt.Sprintf("chmod %04o /rootfs%s", e.Mode, e.Path)) {
					t.Errorf("Dockerfile:%d: %s: want no --chmod and `chmod %04o /rootfs%s` in the files stage", in.Line, c.Dst, e.Mode, e.Path)
				}
			} else if c.Chmod != fmt.Sprintf("%04o", e.Mode) {
				t.Errorf("Dockerfile:%d: %s --chmod=%s, want %04o", in.Line, c.Dst, c.Chmod, e.Mode)
			}
			if c.From == "" {
				// From the build context: one of hack/image's own files.
				if rel, ok := strings.CutPrefix(c.Src, rootfsDir); !ok || rel != c.Dst {
					t.Errorf("Dockerfile:%d: copies %s from the context to %s, want %s%s", in.Line, c.Src, c.Dst, rootfsDir, c.Dst)
				}
			}
		case "USER":
			gotUser = in.Args
		case "WORKDIR":
			gotWorkdir = in.Args
		case "ENV":
			gotEnv = in.Args
		case "ARG":
		case "LABEL":
			for _, m := range labelRE.FindAllStringSubmatch(in.Args, -1) {
				gotLabels[m[1]] = m[2]
			}
		case "ENTRYPOINT":
			if err := json.Unmarshal([]byte(in.Args), &gotEntrypoint); err != nil {
				t.Errorf("Dockerfile:%d: ENTRYPOINT %s: want the exec (JSON) form: %v", in.Line, in.Args, err)
			}
		default:
			t.Errorf("Dockerfile:%d: %s in the final stage, which the test does not compare", in.Line, in.Cmd)
		}
	}
	for p := range want {
		if !copied[p] {
			t.Errorf("the Dockerfile does not copy %s", p)
		}
	}
	for _, e := range entries {
		// The directories COPY creates are root's, 0755.
		if _, ok := want[e.Path]; !ok && (e.Mode != 0o755 || e.UID != 0) {
			t.Errorf("%s: mode %04o uid %d, which a COPY's parent directory cannot have", e.Path, e.Mode, e.UID)
		}
	}
	if gotUser != user || gotWorkdir != homeDir || gotEnv != pathEnv || !slices.Equal(gotEntrypoint, []string{binaryPath}) {
		t.Errorf("USER %q WORKDIR %q ENV %q ENTRYPOINT %q; want %q %q %q [%q]",
			gotUser, gotWorkdir, gotEnv, gotEntrypoint, user, homeDir, pathEnv, binaryPath)
	}
	wantLabels := labels()
	wantLabels["org.opencontainers.image.version"] = "${VERSION}"
	wantLabels["org.opencontainers.image.revision"] = "${REVISION}"
	if diff := cmp.Diff(wantLabels, gotLabels); diff != "" {
		t.Errorf("LABEL (-hack/image +Dockerfile):\n%s", diff)
	}
	if build := runText(by["build"]); !strings.Contains(build, "go build "+shellFlags()+" -o /out/metalgit "+mainPackage) {
		t.Errorf("the build stage's go build lacks hack/image's flags %s:\n%s", shellFlags(), build)
	}
	for _, v := range goBuildSettings() {
		if !strings.Contains(runText(by["build"]), v+" ") {
			t.Errorf("the build stage's go build does not set %s", v)
		}
	}
	for _, name := range ipxeFiles() {
		if !strings.Contains(runText(by["files"]), path.Join(ipxeDir, name)) {
			t.Errorf("the files stage does not copy %s", name)
		}
	}
}

// runText joins the RUN instructions of a stage.
func runText(ins []instruction) string {
	var b strings.Builder
	for _, in := range ins {
		if in.Cmd == "RUN" {
			b.WriteString(in.Args + "\n")
		}
	}
	return b.String()
}
