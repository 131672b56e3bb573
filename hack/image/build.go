package main

// This file is one image build: compile, lay out the files, assemble,
// write.

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// options are the inputs of a build.
type options struct {
	ModuleDir string // the metalgit module's root: go build runs there
	OutDir    string // gets the layout (oci/) and the archive (metalgit.oci.tar)
	Go        string // the go command
	GOARCH    string
	CACerts   string // the CA bundle to copy
	IPXEDir   string // the directory of the iPXE builds to copy
	Tag       string // the image's name in the layout (org.opencontainers.image.ref.name)
	// Epoch is SOURCE_DATE_EPOCH, the time of the image and of every
	// file in seconds since 1970; negative for the commit time the binary
	// recorded, or 0 when it recorded none.
	Epoch int64
}

// result is what a build wrote.
type result struct {
	Digest  v1.Hash // the image manifest's digest
	Layout  string  // the OCI image layout directory
	Archive string  // the same layout as one tar file
	Stamp   stamp   // what the binary recorded
	Created time.Time
}

// build compiles metalgit and writes its image.
func build(ctx context.Context, o options) (result, error) {
	tmp, err := os.MkdirTemp("", "metalgit-image-")
	if err != nil {
		return result{}, fmt.Errorf("build: %w", err)
	}
	defer func() { _ = os.RemoveAll(tmp) }() // a temporary directory: nothing to do if it stays
	binary := filepath.Join(tmp, "metalgit")
	if err := goBuild(ctx, o.Go, o.ModuleDir, o.GOARCH, binary); err != nil {
		return result{}, err
	}
	st, err := readStamp(binary)
	if err != nil {
		return result{}, err
	}
	return buildFrom(o, binary, st)
}

// buildFrom writes the image of binary, whose build information is st.
func buildFrom(o options, binary string, st stamp) (result, error) {
	created := time.Unix(0, 0).UTC()
	switch {
	case o.Epoch >= 0:
		created = time.Unix(o.Epoch, 0).UTC()
	case !st.CommitTime.IsZero():
		created = st.CommitTime.UTC()
	}
	entries := contents(sources{
		Binary:  binary,
		CACerts: o.CACerts,
		IPXEDir: o.IPXEDir,
		Rootfs:  filepath.Join(o.ModuleDir, rootfsDir),
	})
	var layer bytes.Buffer
	if err := writeLayer(&layer, entries, created); err != nil {
		return result{}, err
	}
	img, err := assemble(layer.Bytes(), metadata{Created: created, GOARCH: o.GOARCH, Version: st.Version, Revision: st.Revision})
	if err != nil {
		return result{}, err
	}
	digest, err := img.Digest()
	if err != nil {
		return result{}, fmt.Errorf("image digest: %w", err)
	}
	if err := os.MkdirAll(o.OutDir, 0o755); err != nil {
		return result{}, fmt.Errorf("output directory: %w", err)
	}
	r := result{
		Digest:  digest,
		Layout:  filepath.Join(o.OutDir, layoutName),
		Archive: filepath.Join(o.OutDir, archiveName),
		Stamp:   st,
		Created: created,
	}
	if err := writeLayout(r.Layout, img, o.GOARCH, o.Tag); err != nil {
		return result{}, err
	}
	if err := writeArchive(r.Archive, r.Layout, created); err != nil {
		return result{}, err
	}
	return r, nil
}
