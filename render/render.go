// Package render turns a validated inventory and its state into the
// manifests a cluster needs: one Metal3 BareMetalHost per Host, its
// preprovisioning network-data Secret and, for a host bound to a machine,
// the machine's user-data and network-data Secrets. Every object goes
// through kustomize (in memory) so that an optional output kustomization
// can set namespaces, labels and patches the kustomize way; the output is
// a deterministic YAML stream, objects sorted by kind, then name. A Cache
// (Options.Cache) kept from one render to the next makes rendering again
// after a few hosts changed cheap, with the same output; a DirWriter
// skips rewriting a rendered directory that did not change.
//
// Render never allocates: it reads the bindings and leases that
// `metalgit allocate` wrote. It imports the model (schemas) and the state
// (alloc/state), never reconciler or boot.
//
// A machine's data is built from its MachineContext (machinecontext.go):
// user-data in userdata.go, network data in networkdata.go, merged
// properties in properties.go; templates are parsed and run in
// template.go with the functions of templatefuncs.go, within the size
// limits of limit.go.
package render

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"github.com/metalgit/metalgit/alloc/state"
	"github.com/metalgit/metalgit/schemas"
)

// Annotations and labels set on rendered objects.
const (
	// AnnotationIPAddress is the host's provisioning lease in CIDR form
	// (192.168.100.10/24).
	AnnotationIPAddress = "metalgit.dev/ip-address"
	// AnnotationMachineIPAddress is the bound machine's address in CIDR
	// form (10.0.0.20/24), for `metalgit status`; absent while no machine
	// is bound.
	AnnotationMachineIPAddress = "metalgit.dev/machine-ip-address"
	// AnnotationGateway is the provisioning pool's gateway.
	AnnotationGateway = "metalgit.dev/gateway"
	// AnnotationDNSServers and AnnotationNTPServers are comma-separated.
	AnnotationDNSServers = "metalgit.dev/dns-servers"
	AnnotationNTPServers = "metalgit.dev/ntp-servers"
	// AnnotationKernelParamsInspector and AnnotationKernelParamsInstaller
	// hold the Host's own spec.kernelParams, space-separated (each
	// parameter is one word: schemas checks it), for the boot proxy run
	// from BareMetalHosts.
	AnnotationKernelParamsInspector = "metalgit.dev/kernel-params-inspector"
	AnnotationKernelParamsInstaller = "metalgit.dev/kernel-params-installer"
	// LabelHost and LabelMachine name the inventory Host and the Machine
	// bound to it.
	LabelHost    = "metalgit.dev/host"
	LabelMachine = "metalgit.dev/machine"
)

// Secret keys, as Metal3 reads them.
const (
	KeyUserData    = "userData"
	KeyNetworkData = "networkData"
)

// DefaultOutputKustomization is the output kustomization Render applies
// when the inventory root holds one.
const DefaultOutputKustomization = "render/kustomization.yaml"

// Input is what Render turns into manifests.
type Input struct {
	// Inventory must have passed validation.
	Inventory *schemas.Inventory
	// State holds the bindings and allocations; nil is an empty state. It
	// must be one alloc.Compute accepts (every address allocatable in its
	// pool): 'metalgit render' checks it so, and the reconciler renders a
	// plan's next state.
	State *state.State
	// Root is the inventory root, where render/kustomization.yaml is
	// looked up; "" means Inventory.Root.
	Root string
	// FS, when set, is where Root lies (a slash-separated path in FS, as
	// schemas.LoadOptions.FS has it): the inventory's output kustomization
	// is read from FS, under the same rules (a real directory, a regular
	// file, no link followed), so that a Git revision renders without
	// being checked out. Options.OutputKustomization is still a file of
	// the operating system.
	FS fs.FS
}

// Options tune Render.
type Options struct {
	// Context, when set, stops a render: parts not built when it is done
	// are not built, and Render returns its error.
	Context context.Context
	// OutputKustomization is a kustomization file applied on top of the
	// generated objects, with them as a base. "" means
	// <root>/render/kustomization.yaml when it exists, and none otherwise.
	// A relative path is relative to the working directory.
	OutputKustomization string
	// WithoutHelmReleases leaves the Flux HelmReleases out, for users who
	// take the plain values files (HelmValues, WriteValuesDir) instead.
	WithoutHelmReleases bool
	// Cache, when set, keeps what this render builds for the next render
	// with the same Cache, which then builds again only the objects of the
	// hosts whose content changed (the host's document, the other
	// objects' documents, its addresses: see schemas.Source.Digest) and
	// converts or builds again only the objects (or, with an output
	// kustomization, the parts) that changed. The output is the same with
	// and without it.
	Cache *Cache
}

// OmissionReason says why a host or machine was left out.
type OmissionReason string

// Reasons for leaving a host or machine out.
const (
	// OmittedNoAddress: the state holds no address for the host in the
	// provisioning pool, or for the bound machine in its node type's pool.
	OmittedNoAddress OmissionReason = "no address"
	// OmittedUnbound: the state binds the requested machine to no host.
	OmittedUnbound OmissionReason = "not bound"
	// OmittedHostGone: the state binds the machine to a host that left the
	// inventory.
	OmittedHostGone OmissionReason = "host gone"
)

// Omission is a host or machine that Render leaves out because the state
// does not hold what it needs: the rest of the fleet is rendered. A host
// without a lease has no objects at all; a bound machine without its
// address is left off its host, whose BareMetalHost is rendered as if
// unbound (no image, user-data or network-data). 'metalgit allocate'
// gives them what they lack, unless the pool is exhausted or no host fits.
type Omission struct {
	// Owner is "Host/<name>" or "Machine/<name>".
	Owner string `json:"owner"`
	// Host is, for a machine, the host the state binds it to.
	Host string `json:"host,omitempty"`
	// Pool is the pool the owner has no address in.
	Pool   string         `json:"pool,omitempty"`
	Reason OmissionReason `json:"reason"`
}

// String says what was left out and why:
// "Machine/w-3: not rendered: no address in pool tenant; Host/h-3 is rendered without it".
func (o Omission) String() string {
	switch o.Reason {
	case OmittedNoAddress:
		if o.Host != "" {
			return fmt.Sprintf("%s: not rendered: no address in pool %s in the state; %s is rendered without it (no image, user-data or network-data)", o.Owner, o.Pool, o.Host)
		}
		return fmt.Sprintf("%s: not rendered: no address in pool %s in the state", o.Owner, o.Pool)
	case OmittedHostGone:
		return fmt.Sprintf("%s: not rendered: the state binds it to %s, which is not in the inventory", o.Owner, o.Host)
	}
	return fmt.Sprintf("%s: not rendered: the state binds it to no host", o.Owner)
}

// Render renders the inventory and state into a multi-document YAML stream.
// The same input gives the same bytes. Hosts and machines the state gives
// no address or host are left out (Report lists them); any other
// error returns no output, and the user-data and network-data that cannot
// be rendered come back as schemas.Problems, all of them, as Check finds
// them.
func Render(in Input, opts Options) ([]byte, error) {
	out, _, err := Report(in, opts)
	return out, err
}

// Report is Render that also returns the hosts and machines it left
// out, sorted by owner.
func Report(in Input, opts Options) ([]byte, []Omission, error) {
	if in.Inventory == nil {
		return nil, nil, errors.New("rendering: no inventory")
	}
	if in.Root == "" {
		in.Root = in.Inventory.Root
	}
	objs, omitted, err := generate(in, !opts.WithoutHelmReleases, opts.Cache)
	if err != nil {
		return nil, nil, err
	}
	overlay, err := outputKustomization(in.FS, in.Root, opts.OutputKustomization)
	if err != nil {
		return nil, nil, err
	}
	ctx := opts.Context
	if ctx == nil {
		ctx = context.Background()
	}
	out, err := build(ctx, objs, overlay, opts.Cache)
	if err != nil {
		return nil, nil, err
	}
	return out, omitted, nil
}

// outputKustomization returns the overlay to apply, path "" for none:
// explicit, a file of the operating system, or else the inventory's own
// below root (in fsys when it is set).
func outputKustomization(fsys fs.FS, root, explicit string) (overlaySource, error) {
	if explicit != "" {
		info, err := os.Stat(explicit)
		if err != nil {
			return overlaySource{}, fmt.Errorf("reading the output kustomization: %w", err)
		}
		if info.IsDir() {
			return overlaySource{}, fmt.Errorf("output kustomization %s is a directory; name the kustomization file", explicit)
		}
		return overlaySource{path: explicit}, nil
	}
	if root == "" {
		return overlaySource{}, nil
	}
	// The inventory's own output kustomization is read from the
	// repository, which pull requests write to: it must be a regular
	// file in a real directory below root, not reached through a link.
	dir, file := filepath.Split(filepath.FromSlash(DefaultOutputKustomization))
	join, lstat := filepath.Join, os.Lstat
	if fsys != nil {
		dir, file = path.Split(DefaultOutputKustomization)
		join = path.Join
		lstat = func(name string) (fs.FileInfo, error) { return fs.Lstat(fsys, name) }
	}
	file = join(root, dir, file)
	info, err := lstat(join(root, dir))
	if errors.Is(err, fs.ErrNotExist) {
		return overlaySource{}, nil
	}
	if err != nil {
		return overlaySource{}, fmt.Errorf("reading the output kustomization: %w", err)
	}
	if !info.IsDir() {
		return overlaySource{}, fmt.Errorf("reading the output kustomization: %s is not a directory (a symbolic link is not followed)", join(root, dir))
	}
	info, err = lstat(file)
	if errors.Is(err, fs.ErrNotExist) {
		return overlaySource{}, nil
	}
	if err != nil {
		return overlaySource{}, fmt.Errorf("reading the output kustomization: %w", err)
	}
	if !info.Mode().IsRegular() {
		return overlaySource{}, fmt.Errorf("reading the output kustomization: %s is not a regular file (a symbolic link is not followed)", file)
	}
	return overlaySource{fsys: fsys, path: file}, nil
}

// object is one generated manifest.
type object struct {
	kind, name string
	data       []byte // YAML
	// group keeps objects that refer to each other in one kustomize
	// build: a host's BareMetalHost and Secrets; "" for the Site's objects.
	group string
	// key is the content key of kind, name and data (objectKey), set
	// when keyed, so that a host's objects kept from one render to the
	// next are not hashed again.
	key   cacheKey
	keyed bool
}

// fileName is the object's file name in the generated kustomization and
// in a rendered directory: <kind>-<name>.yaml, lower case.
func fileName(kind, name string) string {
	return strings.ToLower(kind) + "-" + strings.ToLower(name) + ".yaml"
}

func sortObjects(objs []object) {
	slices.SortFunc(objs, func(a, b object) int {
		if c := strings.Compare(a.kind, b.kind); c != 0 {
			return c
		}
		return strings.Compare(a.name, b.name)
	})
}

// joinDocs joins YAML documents into one stream.
func joinDocs(docs [][]byte) []byte {
	size := 0
	for _, d := range docs {
		size += len(d) + len("---\n") + 1
	}
	buf := bytes.NewBuffer(make([]byte, 0, size))
	for i, d := range docs {
		if i > 0 {
			buf.WriteString("---\n")
		}
		buf.Write(d)
		if len(d) > 0 && d[len(d)-1] != '\n' {
			buf.WriteByte('\n')
		}
	}
	return buf.Bytes()
}
