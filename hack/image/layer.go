package main

// This file writes the image's one layer, reproducibly: the same entries
// and bytes give the same tar whatever the build machine's paths, file
// times, owners or umask.

import (
	"archive/tar"
	"fmt"
	"io"
	"os"
	"strings"
	"time"
)

// writeLayer writes entries, in their order, as an uncompressed tar: names
// relative to / (directories with a trailing slash), every time mtime,
// owners and modes from the entry (never from the source file), ustar
// format so that no PAX record carries access or change times.
func writeLayer(w io.Writer, entries []entry, mtime time.Time) error {
	tw := tar.NewWriter(w)
	for _, e := range entries {
		if err := writeEntry(tw, e, mtime); err != nil {
			return fmt.Errorf("layer: %s: %w", e.Path, err)
		}
	}
	if err := tw.Close(); err != nil {
		return fmt.Errorf("layer: %w", err)
	}
	return nil
}

func writeEntry(tw *tar.Writer, e entry, mtime time.Time) error {
	hdr := &tar.Header{
		Name:    strings.TrimPrefix(e.Path, "/"),
		Mode:    e.Mode,
		Uid:     e.UID,
		Gid:     e.GID,
		Uname:   ownerName(e.UID),
		Gname:   ownerName(e.GID),
		ModTime: mtime,
		Format:  tar.FormatUSTAR,
	}
	if e.Dir {
		hdr.Typeflag = tar.TypeDir
		hdr.Name += "/"
		return tw.WriteHeader(hdr)
	}
	// os.Open follows symbolic links: the layer holds the file's bytes.
	f, err := os.Open(e.Source)
	if err != nil {
		return err
	}
	defer func() { _ = f.Close() }() // read only
	info, err := f.Stat()
	if err != nil {
		return err
	}
	if !info.Mode().IsRegular() {
		return fmt.Errorf("%s is not a regular file", e.Source)
	}
	hdr.Typeflag = tar.TypeReg
	hdr.Size = info.Size()
	if err := tw.WriteHeader(hdr); err != nil {
		return err
	}
	// A file that changes size while it is copied fails here (tar's
	// short write or ErrWriteTooLong) rather than in a broken layer.
	if _, err := io.Copy(tw, f); err != nil {
		return fmt.Errorf("copying %s: %w", e.Source, err)
	}
	return nil
}
