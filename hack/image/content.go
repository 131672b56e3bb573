package main

// This file is what the image holds: every path, its mode and owner, and
// where on the build machine its bytes come from. The Dockerfile at the
// root of the repository holds the same (TestDockerfileMatchesBuilder).

import (
	"path"
	"sort"
)

// Paths, user and settings of the image.
const (
	binaryPath  = "/usr/local/bin/metalgit"
	caCertsPath = "/etc/ssl/certs/ca-certificates.crt"
	// ipxeDir is the boot proxy's default --tftp-root (boot/tftp.DefaultRoot).
	ipxeDir  = "/usr/lib/ipxe"
	homeDir  = "/home/metalgit"
	tmpDir   = "/tmp"
	userName = "metalgit"
	userID   = 65532
	groupID  = 65532
	// user is the image's USER: numeric, so that runtimes that refuse to
	// run a named user as non-root (Kubernetes runAsNonRoot) accept it.
	user     = "65532:65532"
	pathEnv  = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
	rootName = "root"
	// rootfsDir holds the image's own files (passwd, group), relative to
	// the module's root; the Dockerfile copies them from there too.
	rootfsDir = "hack/image/rootfs"
)

// ipxeFiles are the iPXE builds the boot proxy offers over TFTP and HTTP
// (boot.BIOSBinary, boot.EFIBinary, boot.EFIFullBinary), copied from
// Debian's ipxe package. Debian ships no ARM64 build (boot.ARM64Binary).
func ipxeFiles() []string { return []string{"undionly.kpxe", "snponly.efi", "ipxe.efi"} }

// labels are the image's fixed annotations; build adds
// org.opencontainers.image.version and .revision from the binary.
func labels() map[string]string {
	return map[string]string{
		"org.opencontainers.image.title":       "metalgit",
		"org.opencontainers.image.description": "GitOps for bare-metal fleets: Git inventory, Metal3 BareMetalHosts, PXE boot proxy",
		"org.opencontainers.image.source":      "https://github.com/metalgit/metalgit",
		"org.opencontainers.image.url":         "https://github.com/metalgit/metalgit",
	}
}

// entry is one file or directory of the image's layer.
type entry struct {
	// Path is absolute, as in the image: /usr/lib/ipxe/snponly.efi.
	Path string
	Dir  bool
	// Mode is the Unix permission bits, with 01000 (sticky) for /tmp.
	Mode     int64
	UID, GID int
	// Source is the file on the build machine whose bytes a regular file
	// holds; symbolic links are followed (Debian's ipxe.efi is one).
	Source string
}

// sources are where the image's files come from on the build machine.
type sources struct {
	Binary  string // the metalgit binary go build wrote
	CACerts string // /etc/ssl/certs/ca-certificates.crt of Debian's ca-certificates
	IPXEDir string // /usr/lib/ipxe of Debian's ipxe
	Rootfs  string // <module>/hack/image/rootfs: etc/passwd, etc/group
}

// contents lists every entry of the image, sorted by path: the files, the
// directories they need (root's, 0755), /tmp (1777) and the user's home,
// which is the working directory.
func contents(src sources) []entry {
	files := []entry{
		{Path: "/etc/passwd", Mode: 0o644, Source: path.Join(src.Rootfs, "etc/passwd")},
		{Path: "/etc/group", Mode: 0o644, Source: path.Join(src.Rootfs, "etc/group")},
		{Path: caCertsPath, Mode: 0o644, Source: src.CACerts},
		{Path: binaryPath, Mode: 0o755, Source: src.Binary},
	}
	for _, name := range ipxeFiles() {
		files = append(files, entry{Path: path.Join(ipxeDir, name), Mode: 0o644, Source: path.Join(src.IPXEDir, name)})
	}
	all := map[string]entry{
		tmpDir:  {Path: tmpDir, Dir: true, Mode: 0o1777},
		homeDir: {Path: homeDir, Dir: true, Mode: 0o755, UID: userID, GID: groupID},
	}
	for _, f := range files {
		all[f.Path] = f
	}
	for p := range all {
		for d := path.Dir(p); d != "/"; d = path.Dir(d) {
			if _, ok := all[d]; !ok {
				all[d] = entry{Path: d, Dir: true, Mode: 0o755}
			}
		}
	}
	out := make([]entry, 0, len(all))
	for _, e := range all {
		out = append(out, e)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out
}

// ownerName is the name /etc/passwd gives a user id, and /etc/group the
// same group id (metalgit's user and group are both 65532).
func ownerName(id int) string {
	if id == userID {
		return userName
	}
	return rootName
}
