package main

// This file turns the layer into an OCI image: its configuration (user,
// entrypoint, working directory, labels, platform, times) and manifest.

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// metadata is what the image says about itself beyond its files.
type metadata struct {
	Created  time.Time // config, history and every file's time
	GOARCH   string
	Version  string // org.opencontainers.image.version: the binary's module version
	Revision string // org.opencontainers.image.revision: its vcs.revision, if any
}

// config is the image configuration's runtime part.
func config(md metadata) v1.Config {
	l := labels()
	l["org.opencontainers.image.version"] = md.Version
	if md.Revision != "" {
		l["org.opencontainers.image.revision"] = md.Revision
	}
	return v1.Config{
		User:       user,
		Entrypoint: []string{binaryPath},
		Env:        []string{pathEnv},
		WorkingDir: homeDir,
		Labels:     l,
	}
}

// assemble builds the OCI image of one layer, the uncompressed tar in
// layer. gzip (compress/gzip at its default level, no name or time in
// its header) is deterministic for one Go release: the same tar gives
// the same layer digest. Level 9 would save 0.5% for three times the
// time.
func assemble(layer []byte, md metadata) (v1.Image, error) {
	open := func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(layer)), nil }
	l, err := tarball.LayerFromOpener(open,
		tarball.WithMediaType(types.OCILayer),
		tarball.WithCompressionLevel(gzip.DefaultCompression),
		tarball.WithCompressedCaching)
	if err != nil {
		return nil, fmt.Errorf("image: compressing the layer: %w", err)
	}
	created := v1.Time{Time: md.Created}
	cfg := &v1.ConfigFile{
		Architecture: md.GOARCH,
		OS:           "linux",
		Created:      created,
		Config:       config(md),
		RootFS:       v1.RootFS{Type: "layers"},
	}
	img := mutate.ConfigMediaType(mutate.MediaType(empty.Image, types.OCIManifestSchema1), types.OCIConfigJSON)
	img, err = mutate.ConfigFile(img, cfg)
	if err != nil {
		return nil, fmt.Errorf("image: config: %w", err)
	}
	img, err = mutate.Append(img, mutate.Addendum{
		Layer:     l,
		MediaType: types.OCILayer,
		History: v1.History{
			Created:   created,
			CreatedBy: "hack/image: metalgit " + md.Version + ", CA certificates, iPXE binaries, passwd and group",
		},
	})
	if err != nil {
		return nil, fmt.Errorf("image: appending the layer: %w", err)
	}
	return img, nil
}
