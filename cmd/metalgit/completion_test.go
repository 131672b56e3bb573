package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestCompletion: `metalgit completion bash|zsh|fish` prints a script for
// the shell that completes metalgit's commands; the bash one is valid
// bash.
func TestCompletion(t *testing.T) {
	for shell, marker := range map[string]string{
		"bash": "complete -o default -F __start_metalgit metalgit",
		"zsh":  "#compdef metalgit",
		"fish": "complete -c metalgit",
	} {
		code, stdout, stderr := runCLI(t, "completion", shell)
		if code != exitOK || !strings.Contains(stdout, marker) {
			t.Errorf("completion %s: exit %d, script lacks %q\nstderr: %s", shell, code, marker, stderr)
		}
		if shell != "bash" {
			continue
		}
		script := filepath.Join(t.TempDir(), "metalgit.bash")
		if err := os.WriteFile(script, []byte(stdout), 0o600); err != nil {
			t.Fatal(err)
		}
		if out, err := exec.Command("bash", "-n", script).CombinedOutput(); err != nil {
			t.Errorf("bash -n on the completion script: %v\n%s", err, out)
		}
	}
	if code, _, _ := runCLI(t, "completion", "tcsh"); code == exitOK {
		t.Error("completion tcsh succeeded")
	}
}
