package main

import (
	"io"
	"strings"
	"testing"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// TestDurationFlags: every duration flag of every command refuses a value
// that cannot be meant, before anything starts, with an error naming the
// flag. --follow-window keeps 0, which turns following off; --lease-time
// has its own range (1 s to what DHCP's 32 bits hold).
func TestDurationFlags(t *testing.T) {
	const serve = "serve --repo /nonexistent --no-webhook"
	const probe = "boot probe --server 127.0.0.1:1067 --mac 02:00:00:00:00:01"
	// By command path and flag: the command line to add the flag to, and
	// the values refused with their errors.
	tests := map[string]struct {
		args    string
		refused map[string]string
	}{
		"serve --interval": {serve, map[string]string{
			"0": "--interval must be > 0, got 0s", "-1s": "--interval must be > 0, got -1s"}},
		"serve --pass-timeout": {serve, map[string]string{
			"0s": "--pass-timeout must be > 0, got 0s", "-10m": "--pass-timeout must be > 0, got -10m0s"}},
		"serve --follow-window": {serve, map[string]string{
			"-1ns": "--follow-window must be >= 0 (0 turns following off), got -1ns"}},
		"serve --leader-election-lease-duration": {serve, map[string]string{
			"0": "--leader-election-lease-duration must be > 0, got 0s", "1s": "want --leader-election-retry-period (2s) < --leader-election-renew-deadline (10s) < --leader-election-lease-duration (1s)"}},
		"serve --leader-election-renew-deadline": {serve, map[string]string{
			"-1s": "--leader-election-renew-deadline must be > 0, got -1s"}},
		"serve --leader-election-retry-period": {serve, map[string]string{
			"0": "--leader-election-retry-period must be > 0, got 0s"}},
		"status --interval": {"status --kubeconfig /nonexistent", map[string]string{
			"0": "--interval must be at least 1s, got 0s", "500ms": "--interval must be at least 1s, got 500ms"}},
		"serve --lease-time": {serve + " --boot", map[string]string{
			"0": "--lease-time 0s: must be from 1s", "-1h": "--lease-time -1h0m0s: must be from 1s"}},
		"boot --lease-time": {"boot --hosts hosts.yaml", map[string]string{
			"0": "--lease-time 0s: must be from 1s", "-1s": "--lease-time -1s: must be from 1s"}},
		"boot probe --timeout": {probe, map[string]string{
			"0": "--timeout must be > 0, got 0s", "-2s": "--timeout must be > 0, got -2s"}},
		"boot trace --timeout": {"boot trace 02:00:00:00:00:01", map[string]string{
			"0": "--timeout must be > 0, got 0s", "-1s": "--timeout must be > 0, got -1s"}},
	}
	for name, tc := range tests {
		_, flag, _ := strings.Cut(name, " --")
		flag = "--" + flag
		for value, want := range tc.refused {
			t.Run(name+"="+value, func(t *testing.T) {
				args := append(strings.Fields(tc.args), flag+"="+value)
				code, _, stderr := runCLI(t, args...)
				if code != exitUsage || !strings.Contains(stderr, "Error: "+want) {
					t.Errorf("%v: exit %d, stderr:\n%s\nwant %d and %q", args, code, stderr, exitUsage, want)
				}
			})
		}
	}

	// Every duration flag of every command is in the table.
	var walk func(*cobra.Command)
	walk = func(c *cobra.Command) {
		c.Flags().VisitAll(func(f *pflag.Flag) {
			name := strings.TrimPrefix(c.CommandPath(), "metalgit ") + " --" + f.Name
			if _, ok := tests[name]; f.Value.Type() == "duration" && !ok {
				t.Errorf("duration flag %s is not in TestDurationFlags", name)
			}
		})
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(newRootCmd(io.Discard, io.Discard))
}

// TestServeDurationFlagsAccepted: the defaults pass, and so does
// --follow-window 0, which turns following off.
func TestServeDurationFlagsAccepted(t *testing.T) {
	o := serveOptions{interval: time.Minute, passTimeout: 10 * time.Minute}
	for _, window := range []time.Duration{0, time.Second} {
		o.followWindow = window
		if err := o.checkFlags(); err != nil {
			t.Errorf("--follow-window %s: %v", window, err)
		}
	}
}
