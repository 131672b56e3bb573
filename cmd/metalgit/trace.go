package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"text/tabwriter"
	"time"
	"unicode"

	"github.com/spf13/cobra"

	"github.com/metalgit/metalgit/boot/trace"
)

// Limits of 'boot trace'.
const (
	// maxTraceBytes bounds the answer read: a ring of 128 events of at
	// most a few KiB each, with room.
	maxTraceBytes        = 4 << 20
	defaultTraceTimeout  = 10 * time.Second
	defaultTraceServer   = "http://" + defaultBootListen
	traceEndpointPattern = "/debug/boot/"
)

type traceOptions struct {
	server  string
	output  string
	timeout time.Duration
}

func newBootTraceCmd() *cobra.Command {
	var o traceOptions
	cmd := &cobra.Command{
		Use:   "trace MAC",
		Short: "Print what a running boot proxy saw of a MAC's boot, and where and why it stopped",
		Long: `Trace asks a running boot proxy (its --listen address, or serve's with --boot)
for the boot trace of MAC — GET <server>/debug/boot/<mac> — and prints the
timeline: time since the first event, server, kind, what was asked and answered,
✗ for what failed. The last line is the verdict: where the boot stopped along
the PXE chain (DHCP, boot file over TFTP or HTTP, iPXE's DHCP, script, images,
the agent's inspection, lookup, heartbeats, Ironic's commands) and the likely
cause. -o json prints the proxy's answer as is.

Exit 0 when the proxy answered, whatever the verdict; 1 when it could not be
asked; 2 for a MAC that does not parse.`,
		Example: `  metalgit boot trace 02:00:00:00:00:01
  metalgit boot trace --server http://10.0.0.5:9091 -o json 02-00-00-00-00-01`,
		Args: func(_ *cobra.Command, args []string) error {
			if len(args) != 1 {
				return usageError{fmt.Errorf("boot trace takes one MAC address, got %d arguments", len(args))}
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			return o.run(cmd.Context(), args[0], cmd.OutOrStdout())
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.server, "server", defaultTraceServer, "the boot proxy's HTTP base URL (boot's --listen, or serve's with --boot)")
	f.StringVarP(&o.output, "output", "o", "text", "output format: text or json")
	f.DurationVar(&o.timeout, "timeout", defaultTraceTimeout, "time limit of the request")
	return cmd
}

// check parses the MAC and the flags, and returns the URL to ask.
func (o *traceOptions) check(arg string) (string, error) {
	var errs []error
	mac, err := trace.ParseMAC(arg)
	if err != nil {
		errs = append(errs, err)
	}
	u, err := url.Parse(o.server)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		errs = append(errs, fmt.Errorf("--server %q: want an http:// or https:// URL (%s)", o.server, defaultTraceServer))
	}
	if o.output != "text" && o.output != "json" {
		errs = append(errs, fmt.Errorf("unknown output format %q; use text or json", o.output))
	}
	if err := positiveDuration("timeout", o.timeout); err != nil {
		errs = append(errs, err)
	}
	if len(errs) > 0 {
		return "", usageError{errors.Join(errs...)}
	}
	return strings.TrimSuffix(o.server, "/") + traceEndpointPattern + mac.String(), nil
}

func (o *traceOptions) run(ctx context.Context, arg string, w io.Writer) error {
	target, err := o.check(arg)
	if err != nil {
		return err
	}
	body, err := fetchTrace(ctx, target, o.timeout)
	if err != nil {
		return err
	}
	if o.output == "json" {
		_, err := w.Write(body)
		return err
	}
	var rep trace.Report
	if err := json.Unmarshal(body, &rep); err != nil {
		return fmt.Errorf("GET %s: not a boot trace: %w", target, err)
	}
	return printTrace(w, rep)
}

// fetchTrace GETs the report, within the timeout and maxTraceBytes.
func fetchTrace(ctx context.Context, target string, timeout time.Duration) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
	if err != nil {
		return nil, fmt.Errorf("GET %s: %w", target, err)
	}
	req.Header.Set("Accept", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("asking the boot proxy (is it running, and is --server its --listen address?): %w", err)
	}
	defer func() { _ = resp.Body.Close() }()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxTraceBytes+1))
	if err != nil {
		return nil, fmt.Errorf("GET %s: reading the answer: %w", target, err)
	}
	if len(body) > maxTraceBytes {
		return nil, fmt.Errorf("GET %s: the answer is larger than %d bytes", target, maxTraceBytes)
	}
	if resp.StatusCode == http.StatusOK {
		return body, nil
	}
	var e trace.ErrorBody
	if json.Unmarshal(body, &e) == nil && e.Error != "" {
		return nil, fmt.Errorf("GET %s: %s: %s", target, resp.Status, printable(e.Error))
	}
	if resp.StatusCode == http.StatusNotFound {
		return nil, fmt.Errorf("GET %s: %s: the server has no boot trace (is --server a metalgit boot proxy's --listen address?)",
			target, resp.Status)
	}
	return nil, fmt.Errorf("GET %s: %s", target, resp.Status)
}

// printTrace writes the timeline and, last, the verdict.
func printTrace(w io.Writer, rep trace.Report) error {
	head := "MAC " + printable(rep.MAC)
	if rep.Known {
		head += fmt.Sprintf(": host %s, phase %s, address %s", printable(rep.Host), printable(rep.Phase), printable(rep.Address))
	} else {
		head += ": not in the host table"
	}
	fmt.Fprintln(w, head)
	if len(rep.Events) == 0 {
		fmt.Fprintln(w, "no events")
	} else {
		start := rep.Events[0].Time
		fmt.Fprintf(w, "events since %s:\n", start.UTC().Format("2006-01-02 15:04:05.000 MST"))
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		for _, e := range rep.Events {
			mark := " "
			if e.Failed {
				mark = "✗"
			}
			fmt.Fprintf(tw, "%s\t+%.3fs\t%s\t%s\t%s\n", mark, e.Time.Sub(start).Seconds(), printable(e.Server),
				printable(e.Kind), printable(e.Detail))
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	v := rep.Verdict
	v.Stage, v.Message = printable(v.Stage), printable(v.Message)
	_, err := fmt.Fprintln(w, "verdict: "+v.String())
	return err
}

// printable replaces control characters: the answer comes from the
// network and goes to a terminal.
func printable(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return '?'
		}
		return r
	}, s)
}
