// Command image builds metalgit's container image without a container
// daemon or registry (go-containerregistry writes it), reproducibly: the
// same source, toolchain, CA bundle and iPXE builds give the same digest.
//
// It owns the image: what it holds and with which modes and owners
// (content.go), the layer's tar (layer.go), the configuration and manifest
// (image.go), the outputs (write.go) and the go build of the binary
// (gobuild.go). The Dockerfile at the repository's root builds the same
// image with a daemon; TestDockerfileMatchesBuilder keeps the two in step.
//
// `make image` runs it from the module's root:
//
//	go run ./hack/image [-out out/image] [-goarch amd64] [-tag latest]
//
// and it writes out/image/oci (an OCI image layout) and
// out/image/metalgit.oci.tar (the same, as one file), and prints the
// image's digest.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime"
	"strconv"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run builds the image the arguments ask for and returns the exit code:
// 0 built, 1 failed, 2 bad arguments.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	o, err := parseFlags(args, getenv, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintln(stderr, "image:", err)
		return 2
	}
	r, err := build(ctx, o)
	if err != nil {
		fmt.Fprintln(stderr, "image:", err)
		return 1
	}
	if r.Stamp.Revision == "" {
		fmt.Fprintln(stderr, "image: warning: the binary recorded no commit (no .git directory: a source tree without one, "+
			"or a linked git worktree, golang/go#58218); metalgit version and the image's labels say", r.Stamp.Version)
	}
	modified := ""
	if r.Stamp.Modified {
		modified = ", modified"
	}
	fmt.Fprintf(stdout, "%s linux/%s metalgit %s%s, created %s\n  layout  %s\n  archive %s\n",
		r.Digest, o.GOARCH, r.Stamp.Version, modified, r.Created.Format("2006-01-02T15:04:05Z"), r.Layout, r.Archive)
	return 0
}

// parseFlags reads the options; SOURCE_DATE_EPOCH and GOARCH come from
// the environment unless a flag gives them.
func parseFlags(args []string, getenv func(string) string, stderr io.Writer) (options, error) {
	o := options{Epoch: -1, GOARCH: runtime.GOARCH}
	if v := getenv("GOARCH"); v != "" {
		o.GOARCH = v
	}
	if v := getenv("SOURCE_DATE_EPOCH"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 {
			return options{}, fmt.Errorf("SOURCE_DATE_EPOCH=%q: want seconds since 1970", v)
		}
		o.Epoch = n
	}
	fs := flag.NewFlagSet("image", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.ModuleDir, "module", ".", "the metalgit module's root directory")
	fs.StringVar(&o.OutDir, "out", "out/image", "output directory: OCI layout in oci/, archive metalgit.oci.tar")
	fs.StringVar(&o.Go, "go", "go", "the go command")
	fs.StringVar(&o.GOARCH, "goarch", o.GOARCH, "the image's architecture (GOARCH of the binary)")
	fs.StringVar(&o.CACerts, "ca-certs", "/etc/ssl/certs/ca-certificates.crt", "CA bundle to copy (Debian's ca-certificates)")
	fs.StringVar(&o.IPXEDir, "ipxe-dir", "/usr/lib/ipxe", "directory of the iPXE builds to copy (Debian's ipxe)")
	fs.StringVar(&o.Tag, "tag", "latest", "the image's name in the layout's index.json (org.opencontainers.image.ref.name)")
	fs.Int64Var(&o.Epoch, "source-date-epoch", o.Epoch,
		"time of the image and its files, seconds since 1970 (default $SOURCE_DATE_EPOCH, else the binary's commit time, else 0)")
	if err := fs.Parse(args); err != nil {
		return options{}, err
	}
	if fs.NArg() > 0 {
		return options{}, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	if o.Tag == "" {
		return options{}, errors.New("-tag is empty")
	}
	return o, nil
}
