package main

// This file writes the image out: an OCI image layout directory, and the
// same layout as one tar file (what podman load, skopeo's oci-archive:
// and crane accept), both reproducible.

import (
	"archive/tar"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
)

// Names of the outputs under the output directory.
const (
	layoutName  = "oci"
	archiveName = "metalgit.oci.tar"
	// refNameAnnotation names the image in the layout's index.json.
	refNameAnnotation = "org.opencontainers.image.ref.name"
)

// writeLayout replaces dir with an OCI image layout holding img alone,
// named tag.
func writeLayout(dir string, img v1.Image, goarch, tag string) error {
	if err := os.RemoveAll(dir); err != nil {
		return fmt.Errorf("removing the previous layout: %w", err)
	}
	idx := mutate.AppendManifests(empty.Index, mutate.IndexAddendum{
		Add: img,
		Descriptor: v1.Descriptor{
			Platform:    &v1.Platform{OS: "linux", Architecture: goarch},
			Annotations: map[string]string{refNameAnnotation: tag},
		},
	})
	if _, err := layout.Write(dir, idx); err != nil {
		return fmt.Errorf("writing the OCI layout %s: %w", dir, err)
	}
	// go-containerregistry writes some blobs 0600 (temporary files it
	// renames) and the rest after the umask: make them all 0644.
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		return os.Chmod(p, 0o644)
	})
	if err != nil {
		return fmt.Errorf("OCI layout %s: %w", dir, err)
	}
	return nil
}

// writeArchive writes the layout directory dir as the tar file archive:
// entries in lexical order, every time mtime, root's, 0755 and 0644. It
// writes a temporary file first and renames it.
func writeArchive(archive, dir string, mtime time.Time) (err error) {
	tmp, err := os.CreateTemp(filepath.Dir(archive), "."+filepath.Base(archive)+".*")
	if err != nil {
		return fmt.Errorf("archive: %w", err)
	}
	defer func() {
		if err != nil {
			_ = tmp.Close()
			_ = os.Remove(tmp.Name())
		}
	}()
	tw := tar.NewWriter(tmp)
	// WalkDir visits in lexical order: the archive does not depend on
	// the order the file system lists a directory in.
	err = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || p == dir {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		return archiveEntry(tw, p, filepath.ToSlash(rel), d, mtime)
	})
	if err != nil {
		return fmt.Errorf("archive %s: %w", archive, err)
	}
	if err := tw.Close(); err != nil {
		return fmt.Errorf("archive %s: %w", archive, err)
	}
	if err := tmp.Chmod(0o644); err != nil {
		return fmt.Errorf("archive %s: %w", archive, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("archive %s: %w", archive, err)
	}
	if err := os.Rename(tmp.Name(), archive); err != nil {
		return fmt.Errorf("archive: %w", err)
	}
	return nil
}

func archiveEntry(tw *tar.Writer, p, name string, d fs.DirEntry, mtime time.Time) error {
	hdr := &tar.Header{Name: name, ModTime: mtime, Uname: rootName, Gname: rootName, Format: tar.FormatUSTAR}
	if d.IsDir() {
		hdr.Typeflag, hdr.Name, hdr.Mode = tar.TypeDir, name+"/", 0o755
		return tw.WriteHeader(hdr)
	}
	if !d.Type().IsRegular() {
		return fmt.Errorf("%s is not a regular file", p)
	}
	f, err := os.Open(p)
	if err != nil {
		return err
	}
	defer func() { _ = f.Close() }() // read only
	info, err := f.Stat()
	if err != nil {
		return err
	}
	hdr.Typeflag, hdr.Mode, hdr.Size = tar.TypeReg, 0o644, info.Size()
	if err := tw.WriteHeader(hdr); err != nil {
		return err
	}
	_, err = io.Copy(tw, f)
	return err
}
