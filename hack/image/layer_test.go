package main

import (
	"archive/tar"
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
)

// moduleDir is the module's root, seen from this package's directory.
const moduleDir = "../.."

// tarEntry is what a test checks of a layer's tar header.
type tarEntry struct {
	Name         string
	Type         byte
	Mode         int64
	UID, GID     int
	Uname, Gname string
	Size         int64
}

// readImage opens the one image of an OCI layout and returns it, its
// layer's entries and the bytes of its regular files.
func readImage(t *testing.T, dir string) (v1.Image, []tarEntry, map[string][]byte) {
	t.Helper()
	p, err := layout.FromPath(dir)
	if err != nil {
		t.Fatal(err)
	}
	idx, err := p.ImageIndex()
	if err != nil {
		t.Fatal(err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	if len(im.Manifests) != 1 {
		t.Fatalf("index.json lists %d manifests, want 1", len(im.Manifests))
	}
	img, err := idx.Image(im.Manifests[0].Digest)
	if err != nil {
		t.Fatal(err)
	}
	layers, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	if len(layers) != 1 {
		t.Fatalf("%d layers, want 1", len(layers))
	}
	rc, err := layers[0].Uncompressed()
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = rc.Close() }()
	var entries []tarEntry
	files := map[string][]byte{}
	tr := tar.NewReader(rc)
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if !hdr.ModTime.Equal(epochTime()) || !hdr.AccessTime.IsZero() || !hdr.ChangeTime.IsZero() || len(hdr.PAXRecords) > 0 {
			t.Errorf("%s: times %v %v %v, PAX %v; want %v only", hdr.Name, hdr.ModTime, hdr.AccessTime, hdr.ChangeTime, hdr.PAXRecords, epochTime())
		}
		entries = append(entries, tarEntry{hdr.Name, hdr.Typeflag, hdr.Mode, hdr.Uid, hdr.Gid, hdr.Uname, hdr.Gname, hdr.Size})
		if hdr.Typeflag == tar.TypeReg {
			b, err := io.ReadAll(tr)
			if err != nil {
				t.Fatal(err)
			}
			files[hdr.Name] = b
		}
	}
	return img, entries, files
}

// testEpoch is the SOURCE_DATE_EPOCH of the tests' builds.
const testEpoch = 1700000000

// epochTime is testEpoch as a time.
func epochTime() time.Time { return time.Unix(testEpoch, 0).UTC() }

// fakeSources lays out stand-ins for the binary, the CA bundle and the
// iPXE builds under dir, with the given mode and file times, ipxe.efi a
// symbolic link as in Debian's package.
func fakeSources(t *testing.T, dir string, mode os.FileMode, mtime time.Time) sources {
	t.Helper()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(p, mtime, mtime); err != nil {
			t.Fatal(err)
		}
		return p
	}
	src := sources{
		Binary:  write("bin/metalgit", "#binary"),
		CACerts: write("certs/ca.crt", "-----BEGIN CERTIFICATE-----\n"),
		IPXEDir: filepath.Join(dir, "ipxe"),
		Rootfs:  filepath.Join(moduleDir, rootfsDir),
	}
	write("ipxe/undionly.kpxe", "undionly")
	write("ipxe/snponly.efi", "snponly")
	write("boot/ipxe.efi", "ipxe.efi")
	if err := os.Symlink(filepath.Join(dir, "boot/ipxe.efi"), filepath.Join(src.IPXEDir, "ipxe.efi")); err != nil {
		t.Fatal(err)
	}
	return src
}

// buildFake writes the image of fake sources into a directory of its own.
func buildFake(t *testing.T, mode os.FileMode, mtime time.Time) (result, string) {
	t.Helper()
	dir := t.TempDir()
	src := fakeSources(t, dir, mode, mtime)
	o := options{ModuleDir: moduleDir, OutDir: filepath.Join(dir, "out"), GOARCH: "amd64", CACerts: src.CACerts,
		IPXEDir: src.IPXEDir, Tag: "test", Epoch: testEpoch}
	r, err := buildFrom(o, src.Binary, stamp{Version: "v1.2.3", Revision: "0123456789abcdef0123456789abcdef01234567"})
	if err != nil {
		t.Fatal(err)
	}
	return r, dir
}

// TestBuildIsReproducible: the same bytes from other paths, with other
// file times and modes, give the same image and the same archive, which
// holds none of the build machine's paths.
func TestBuildIsReproducible(t *testing.T) {
	a, dirA := buildFake(t, 0o644, time.Now())
	b, dirB := buildFake(t, 0o600, time.Unix(1, 0))
	if a.Digest != b.Digest {
		t.Errorf("digests differ: %s and %s", a.Digest, b.Digest)
	}
	archA := sameArchives(t, a.Archive, b.Archive)
	for _, dir := range []string{dirA, dirB} {
		if bytes.Contains(archA, []byte(dir)) {
			t.Errorf("the archive holds the build path %s", dir)
		}
	}
	_, entries, _ := readImage(t, a.Layout)
	for _, e := range entries {
		for _, dir := range []string{dirA, dirB} {
			if strings.Contains(e.Name, dir) {
				t.Errorf("the layer holds the build path %s in %s", dir, e.Name)
			}
		}
	}
}

// rootfsFile reads one of hack/image's own files.
func rootfsFile(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(moduleDir, rootfsDir, name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// wantEntries is the layer, entry by entry, its files of the given sizes.
func wantEntries(size map[string]int) []tarEntry {
	dir := func(name string, mode int64) tarEntry {
		return tarEntry{Name: name, Type: tar.TypeDir, Mode: mode, Uname: "root", Gname: "root"}
	}
	file := func(name string, mode int64) tarEntry {
		return tarEntry{Name: name, Type: tar.TypeReg, Mode: mode, Uname: "root", Gname: "root", Size: int64(size[name])}
	}
	return []tarEntry{
		dir("etc/", 0o755),
		file("etc/group", 0o644),
		file("etc/passwd", 0o644),
		dir("etc/ssl/", 0o755),
		dir("etc/ssl/certs/", 0o755),
		file("etc/ssl/certs/ca-certificates.crt", 0o644),
		dir("home/", 0o755),
		{Name: "home/metalgit/", Type: tar.TypeDir, Mode: 0o755, UID: 65532, GID: 65532, Uname: "metalgit", Gname: "metalgit"},
		dir("tmp/", 0o1777),
		dir("usr/", 0o755),
		dir("usr/lib/", 0o755),
		dir("usr/lib/ipxe/", 0o755),
		file("usr/lib/ipxe/ipxe.efi", 0o644),
		file("usr/lib/ipxe/snponly.efi", 0o644),
		file("usr/lib/ipxe/undionly.kpxe", 0o644),
		dir("usr/local/", 0o755),
		dir("usr/local/bin/", 0o755),
		file("usr/local/bin/metalgit", 0o755),
	}
}

// TestLayerContents: every path, type, mode and owner of the layer, in
// order, and the bytes of the files copied in.
func TestLayerContents(t *testing.T) {
	r, _ := buildFake(t, 0o600, time.Now())
	_, entries, files := readImage(t, r.Layout)
	passwd, group := rootfsFile(t, "etc/passwd"), rootfsFile(t, "etc/group")
	want := wantEntries(map[string]int{
		"etc/passwd":                        len(passwd),
		"etc/group":                         len(group),
		"etc/ssl/certs/ca-certificates.crt": len("-----BEGIN CERTIFICATE-----\n"),
		"usr/lib/ipxe/ipxe.efi":             len("ipxe.efi"),
		"usr/lib/ipxe/snponly.efi":          len("snponly"),
		"usr/lib/ipxe/undionly.kpxe":        len("undionly"),
		"usr/local/bin/metalgit":            len("#binary"),
	})
	if diff := cmp.Diff(want, entries); diff != "" {
		t.Errorf("layer entries (-want +got):\n%s", diff)
	}
	if got := string(files["etc/passwd"]); got != string(passwd) {
		t.Errorf("etc/passwd %q, want %q", got, passwd)
	}
	if !strings.Contains(string(passwd), "metalgit:x:65532:65532:") || !strings.Contains(string(group), "metalgit:x:65532:") {
		t.Errorf("passwd or group lacks the user 65532:\n%s\n%s", passwd, group)
	}
	if got := string(files["usr/lib/ipxe/ipxe.efi"]); got != "ipxe.efi" {
		t.Errorf("ipxe.efi holds %q: the symbolic link was not followed", got)
	}
}

// TestImageConfig: user, entrypoint, working directory, labels, platform
// and times of the configuration.
func TestImageConfig(t *testing.T) {
	r, _ := buildFake(t, 0o644, time.Now())
	img, _, _ := readImage(t, r.Layout)
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	wantLabels := labels()
	wantLabels["org.opencontainers.image.version"] = "v1.2.3"
	wantLabels["org.opencontainers.image.revision"] = "0123456789abcdef0123456789abcdef01234567"
	want := v1.Config{
		User:       "65532:65532",
		Entrypoint: []string{"/usr/local/bin/metalgit"},
		Env:        []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"},
		WorkingDir: "/home/metalgit",
		Labels:     wantLabels,
	}
	if diff := cmp.Diff(want, cf.Config); diff != "" {
		t.Errorf("config (-want +got):\n%s", diff)
	}
	if cf.OS != "linux" || cf.Architecture != "amd64" || !cf.Created.Equal(epochTime()) {
		t.Errorf("os %q, architecture %q, created %v", cf.OS, cf.Architecture, cf.Created)
	}
	if len(cf.History) != 1 || !cf.History[0].Created.Equal(epochTime()) {
		t.Errorf("history %+v", cf.History)
	}
	mt, err := img.MediaType()
	if err != nil || mt != "application/vnd.oci.image.manifest.v1+json" {
		t.Errorf("manifest media type %q (%v)", mt, err)
	}
}

// TestWriteLayerRefuses: a source that is not a regular file fails the
// build, naming it.
func TestWriteLayerRefuses(t *testing.T) {
	dir := t.TempDir()
	err := writeLayer(io.Discard, []entry{{Path: "/x", Mode: 0o644, Source: dir}}, epochTime())
	if err == nil || !strings.Contains(err.Error(), "not a regular file") {
		t.Errorf("a directory as a file: %v", err)
	}
	err = writeLayer(io.Discard, []entry{{Path: "/x", Mode: 0o644, Source: filepath.Join(dir, "missing")}}, epochTime())
	if !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a missing file: %v", err)
	}
}

// sameArchives fails the test unless the two archive files are byte for
// byte the same, and returns the first.
func sameArchives(t *testing.T, a, b string) []byte {
	t.Helper()
	archA, err := os.ReadFile(a)
	if err != nil {
		t.Fatal(err)
	}
	archB, err := os.ReadFile(b)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(archA, archB) {
		t.Errorf("the archives differ: %d and %d bytes", len(archA), len(archB))
	}
	return archA
}
