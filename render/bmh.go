package render

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	metal3v1alpha1 "github.com/metal3-io/baremetal-operator/apis/metal3.io/v1alpha1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/metalgit/metalgit/alloc/state"
	"github.com/metalgit/metalgit/schemas"
)

// lease is an address with its pool's network facts.
type lease struct {
	addr    netip.Addr
	prefix  int
	gateway string
	dns     []string
	ntp     []string
}

// requested is one requested machine, expanded from a MachineSet or a Machine.
type requested struct {
	name     string
	set      string // "" for a standalone Machine
	nodeType *schemas.NodeType
	props    []map[string]any // MachineSet, then Machine properties
}

// generator holds what generate needs while it walks the hosts.
type generator struct {
	ix        *schemas.Index
	provPool  string
	namespace string
	allocs    map[[2]string]netip.Addr // (pool, owner) → address
	pools     map[string]lease         // pool → network facts (addr unset)
	machines  map[string]requested
	missing   []string
}

// generate builds every object, unsorted. With a cache, a host whose
// inputs are those of the last render takes the objects built then.
func generate(in Input, helmReleases bool, cache *Cache) ([]object, error) {
	ix := in.Inventory.Index()
	if ix.Site == nil {
		return nil, fmt.Errorf("rendering: the inventory has no Site")
	}
	st := in.State
	if st == nil {
		st = &state.State{}
	}
	g := &generator{
		ix:        ix,
		provPool:  ix.Site.Spec.ProvisioningPool,
		namespace: ix.Site.Spec.Namespace,
		allocs:    map[[2]string]netip.Addr{},
		pools:     map[string]lease{},
		machines:  map[string]requested{},
	}
	for _, a := range st.Allocations {
		g.allocs[[2]string{a.Pool, a.Owner}] = a.Address
	}
	for name, p := range ix.IPPools {
		addrs, errs := p.Spec.Addresses()
		if len(errs) > 0 {
			return nil, fmt.Errorf("rendering: IPPool/%s is invalid: %s", name, errs[0].Message)
		}
		l := lease{prefix: addrs.Network.Bits(), dns: p.Spec.DNSServers, ntp: p.Spec.NTPServers}
		if addrs.Gateway.IsValid() {
			l.gateway = addrs.Gateway.String()
		}
		g.pools[name] = l
	}
	for _, s := range in.Inventory.MachineSets {
		nt := ix.NodeTypes[s.Spec.NodeType]
		for i := range s.Spec.Quantity {
			name := s.Metadata.Name + "-" + strconv.Itoa(i)
			g.machines[name] = requested{name: name, set: s.Metadata.Name, nodeType: nt, props: []map[string]any{s.Spec.Properties}}
		}
	}
	for _, m := range in.Inventory.Machines {
		g.machines[m.Metadata.Name] = requested{name: m.Metadata.Name, nodeType: ix.NodeTypes[m.Spec.NodeType],
			props: []map[string]any{nil, m.Spec.Properties}}
	}
	// host → machine, for bindings whose machine and host are both still
	// in the inventory (the others are released by the next allocate).
	boundTo := map[string]requested{}
	for _, b := range st.Bindings {
		m, ok := g.machines[b.Machine]
		if ok && m.nodeType != nil && ix.Hosts[b.Host] != nil {
			boundTo[b.Host] = m
		}
	}

	memo, next := cache.hostObjects(in.Inventory)
	reused := 0
	var objs []object
	for _, h := range in.Inventory.Hosts {
		name := h.Metadata.Name
		if ix.Hosts[name] != h {
			continue // a duplicate; validation reports it
		}
		var m *requested
		if bm, ok := boundTo[name]; ok {
			m = &bm
		}
		key := g.hostKey(h, m)
		if e, ok := memo.lookup(name, key); ok {
			next.hosts[name] = e
			objs = append(objs, e.objs...)
			reused++
			continue
		}
		missing := len(g.missing)
		hostObjs, err := g.host(h, m)
		if err != nil {
			return nil, err
		}
		for i := range hostObjs {
			hostObjs[i].group = name
		}
		if next != nil && len(g.missing) == missing {
			next.hosts[name] = hostMemo{key: key, objs: hostObjs}
		}
		objs = append(objs, hostObjs...)
	}
	if len(g.missing) > 0 {
		slices.Sort(g.missing)
		return nil, &MissingAddressError{Owners: g.missing}
	}
	siteObjs, err := siteObjects(ix, helmReleases)
	if err != nil {
		return nil, err
	}
	cache.keepHostObjects(next, reused)
	return append(objs, siteObjs...), nil
}

// hostKey returns what, besides the inventory's objects other than the
// hosts, the objects of host h bound to m are built from.
func (g *generator) hostKey(h *schemas.Host, m *requested) hostKey {
	k := hostKey{host: h}
	if l, ok := g.hostLease(h); ok {
		k.hostAddr = l.addr
	}
	if m != nil {
		k.machine = m.name
		if pool := g.ix.Pool(m.nodeType); pool != "" && pool != g.provPool {
			k.machineAddr = g.allocs[[2]string{pool, schemas.KindMachine + "/" + m.name}]
		}
	}
	return k
}

// sourceOf returns "FILE:LINE: " of the data field that is in use — the
// literal, else the template, else the template Secret reference — or "".
func sourceOf(nt *schemas.NodeType, literal, tmpl, literalField, tmplField, secretField string) string {
	field := secretField
	switch {
	case literal != "":
		field = literalField
	case tmpl != "":
		field = tmplField
	}
	if nt.Source.File == "" {
		return ""
	}
	if line := nt.Source.LineOf(field); line > 0 {
		return fmt.Sprintf("%s:%d: ", nt.Source.File, line)
	}
	return nt.Source.File + ": "
}

// hostLease returns the host's provisioning lease: its pinned address or
// its allocation in the provisioning pool.
func (g *generator) hostLease(h *schemas.Host) (lease, bool) {
	l := g.pools[g.provPool]
	if h.Spec.IPAddress != "" {
		a, err := netip.ParseAddr(h.Spec.IPAddress)
		if err != nil {
			return l, false
		}
		l.addr = a
		return l, true
	}
	a, ok := g.allocs[[2]string{g.provPool, schemas.KindHost + "/" + h.Metadata.Name}]
	l.addr = a
	return l, ok
}

// host renders one Host: its BareMetalHost, preprovisioning network data
// and, when m is bound to it, the machine's user-data and network-data.
func (g *generator) host(h *schemas.Host, m *requested) ([]object, error) {
	name := h.Metadata.Name
	hostLease, ok := g.hostLease(h)
	if !ok {
		g.missing = append(g.missing, schemas.KindHost+"/"+name)
		return nil, nil
	}
	info := HostInfo{Name: name, Labels: h.Metadata.Labels, BootMACAddress: h.Spec.BootMACAddress, Interfaces: h.Spec.Interfaces}

	labels := map[string]string{}
	for k, v := range h.Metadata.Labels {
		labels[k] = v
	}
	labels[LabelHost] = name
	annotations := map[string]string{
		AnnotationIPAddress: netip.PrefixFrom(hostLease.addr, hostLease.prefix).String(),
	}
	if hostLease.gateway != "" {
		annotations[AnnotationGateway] = hostLease.gateway
	}
	if len(hostLease.dns) > 0 {
		annotations[AnnotationDNSServers] = strings.Join(hostLease.dns, ",")
	}
	if len(hostLease.ntp) > 0 {
		annotations[AnnotationNTPServers] = strings.Join(hostLease.ntp, ",")
	}

	bootMode := metal3v1alpha1.DefaultBootMode
	if h.Spec.BootMode != "" {
		bootMode = metal3v1alpha1.BootMode(h.Spec.BootMode)
	}
	online := true
	if h.Spec.Online != nil {
		online = *h.Spec.Online
	}
	preprovName := name + "-preprov-network-data"
	bmh := &metal3v1alpha1.BareMetalHost{
		TypeMeta:   metav1.TypeMeta{APIVersion: metal3v1alpha1.GroupVersion.String(), Kind: "BareMetalHost"},
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: g.namespace, Labels: labels, Annotations: annotations},
		Spec: metal3v1alpha1.BareMetalHostSpec{
			BMC: metal3v1alpha1.BMCDetails{
				Address:                        h.Spec.BMC.Address,
				CredentialsName:                h.Spec.BMC.CredentialsName,
				DisableCertificateVerification: h.Spec.BMC.DisableCertificateVerification,
			},
			BootMACAddress:                 h.Spec.BootMACAddress,
			BootMode:                       bootMode,
			Online:                         online,
			RootDeviceHints:                rootDeviceHints(h.Spec.RootDeviceHints),
			PreprovisioningNetworkDataName: preprovName,
		},
	}

	// PreprovisioningNetworkData names the host in its errors.
	preprov, err := PreprovisioningNetworkData(info, hostLease.addr.String(), hostLease.prefix, hostLease.gateway, hostLease.dns)
	if err != nil {
		return nil, err
	}
	secretLabels := map[string]string{LabelHost: name}
	objs := []object{}
	sec, err := g.secret(preprovName, secretLabels, KeyNetworkData, preprov)
	if err != nil {
		return nil, err
	}
	objs = append(objs, sec)

	if m != nil {
		mObjs, err := g.bind(bmh, info, hostLease, *m)
		if err != nil {
			return nil, err
		}
		objs = append(objs, mObjs...)
	}
	o, err := toObject(bmh.Kind, name, bmh)
	if err != nil {
		return nil, err
	}
	return append(objs, o), nil
}

// bind adds machine m to the BareMetalHost: image, user-data and
// network-data, and returns the machine's Secrets.
func (g *generator) bind(bmh *metal3v1alpha1.BareMetalHost, info HostInfo, hostLease lease, m requested) ([]object, error) {
	nt := m.nodeType
	owner := schemas.KindMachine + "/" + m.name
	addr := hostLease
	if pool := g.ix.Pool(nt); pool != "" && pool != g.provPool {
		a, ok := g.allocs[[2]string{pool, owner}]
		if !ok {
			g.missing = append(g.missing, owner)
			return nil, nil
		}
		addr = g.pools[pool]
		addr.addr = a
	}
	bmh.Labels[LabelMachine] = m.name
	bmh.Spec.Image = g.image(nt)

	var siteProps map[string]any
	if g.ix.Site != nil {
		siteProps = g.ix.Site.Spec.Properties
	}
	layers := []map[string]any{siteProps, nt.Spec.Properties}
	layers = append(layers, m.props...)
	mc := MachineContext{
		Machine:     MachineInfo{Name: m.name, NodeType: nt.Metadata.Name, Set: m.set},
		Host:        info,
		Properties:  MergeProperties(layers...),
		SSHKeys:     g.sshKeys(nt),
		AllocatedIP: addr.addr.String(),
		Gateway:     addr.gateway,
		Prefix:      addr.prefix,
		DNSServers:  addr.dns,
		NodeType:    nt,
		Secrets:     g.ix.Secrets,
	}
	if b := g.ix.Site.Spec.Bootstrap; b != nil {
		mc.Bootstrap = b.Runcmd
	}
	// UserData and NetworkData name the machine, node type, field and
	// template line in their errors; the file and line of the field in use
	// go in front.
	userData, err := UserData(mc)
	if err != nil {
		return nil, fmt.Errorf("%s%w", sourceOf(nt, nt.Spec.UserData, nt.Spec.UserDataTemplate, "spec.userData", "spec.userDataTemplate", "spec.userDataTemplateSecret"), err)
	}
	networkData, err := NetworkData(mc)
	if err != nil {
		return nil, fmt.Errorf("%s%w", sourceOf(nt, nt.Spec.NetworkData, nt.Spec.NetworkDataTemplate, "spec.networkData", "spec.networkDataTemplate", "spec.networkDataTemplateSecret"), err)
	}
	labels := map[string]string{LabelHost: info.Name, LabelMachine: m.name}
	var objs []object
	if userData != "" {
		name := m.name + "-user-data"
		bmh.Spec.UserData = &corev1.SecretReference{Name: name, Namespace: g.namespace}
		sec, err := g.secret(name, labels, KeyUserData, userData)
		if err != nil {
			return nil, err
		}
		objs = append(objs, sec)
	}
	name := m.name + "-network-data"
	bmh.Spec.NetworkData = &corev1.SecretReference{Name: name, Namespace: g.namespace}
	sec, err := g.secret(name, labels, KeyNetworkData, networkData)
	if err != nil {
		return nil, err
	}
	return append(objs, sec), nil
}

// sshKeys returns the node type's public keys, in its order.
func (g *generator) sshKeys(nt *schemas.NodeType) []string {
	var keys []string
	for _, name := range nt.Spec.SSHKeys {
		if k := g.ix.SSHKeys[name]; k != nil {
			keys = append(keys, strings.TrimSpace(k.Spec.PublicKey))
		}
	}
	return keys
}

// image returns the node type's OS image, nil when it names none.
func (g *generator) image(nt *schemas.NodeType) *metal3v1alpha1.Image {
	spec := nt.Spec.Image
	if nt.Spec.OSImage != "" {
		if img := g.ix.OSImages[nt.Spec.OSImage]; img != nil {
			spec = &img.Spec
		}
	}
	if spec == nil {
		return nil
	}
	img := &metal3v1alpha1.Image{URL: spec.URL, Checksum: spec.Checksum, ChecksumType: ChecksumType(spec.ChecksumType, spec.Checksum)}
	if spec.Format != "" {
		f := spec.Format
		img.DiskFormat = &f
	}
	return img
}

// ChecksumType returns the declared checksum type, or the one the
// checksum's length implies when none is declared: 32 hex digits md5, 64
// sha256, 128 sha512; "" (Metal3's default) for any other length.
func ChecksumType(declared, checksum string) metal3v1alpha1.ChecksumType {
	if declared != "" {
		return metal3v1alpha1.ChecksumType(declared)
	}
	switch len(strings.TrimSpace(checksum)) {
	case 32:
		return metal3v1alpha1.MD5
	case 64:
		return metal3v1alpha1.SHA256
	case 128:
		return metal3v1alpha1.SHA512
	}
	return ""
}

func rootDeviceHints(h *schemas.RootDeviceHints) *metal3v1alpha1.RootDeviceHints {
	if h == nil {
		return nil
	}
	return &metal3v1alpha1.RootDeviceHints{
		DeviceName:         h.DeviceName,
		HCTL:               h.HCTL,
		Model:              h.Model,
		Vendor:             h.Vendor,
		SerialNumber:       h.SerialNumber,
		MinSizeGigabytes:   h.MinSizeGigabytes,
		WWN:                h.WWN,
		WWNWithExtension:   h.WWNWithExtension,
		WWNVendorExtension: h.WWNVendorExtension,
		Rotational:         h.Rotational,
	}
}

// secret returns an Opaque Secret with one key. Data is base64 (the
// canonical form), never stringData.
func (g *generator) secret(name string, labels map[string]string, key, value string) (object, error) {
	s := &corev1.Secret{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Secret"},
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: g.namespace, Labels: labels},
		Type:       corev1.SecretTypeOpaque,
		Data:       map[string][]byte{key: []byte(value)},
	}
	return toObject(s.Kind, name, s)
}

// toObject serializes a typed object as JSON without its status and
// without metadata.creationTimestamp. The members are dropped from the
// compact JSON encoding/json writes, without decoding it; the order of the
// keys does not matter, as the output is written with every key sorted
// (jsonToYAML).
func toObject(kind, name string, v any) (object, error) {
	data, err := json.Marshal(v)
	if err != nil {
		return object{}, fmt.Errorf("rendering %s/%s: %w", kind, name, err)
	}
	out, ok := dropMembers(data, func(key, value []byte) ([]byte, bool) {
		switch string(key) {
		case "status":
			return nil, false
		case "metadata":
			if meta, ok := dropMembers(value, func(key, value []byte) ([]byte, bool) {
				return value, string(key) != "creationTimestamp"
			}); ok {
				return meta, true
			}
		}
		return value, true
	})
	if !ok {
		return object{}, fmt.Errorf("rendering %s/%s: unexpected JSON %.40q", kind, name, data)
	}
	// JSON is YAML: kustomize reads it as it is, and writes the output.
	return object{kind: kind, name: name, data: out}, nil
}

// dropMembers rewrites a compact JSON object (as json.Marshal writes it):
// keep is called with each member's key (as written, without the quotes)
// and value and returns the value to write, or false to drop the member.
// It reports false when obj is not a compact JSON object.
func dropMembers(obj []byte, keep func(key, value []byte) ([]byte, bool)) ([]byte, bool) {
	if len(obj) < 2 || obj[0] != '{' || obj[len(obj)-1] != '}' {
		return nil, false
	}
	out := make([]byte, 0, len(obj))
	out = append(out, '{')
	for i := 1; i < len(obj)-1; {
		if obj[i] != '"' {
			return nil, false
		}
		keyEnd, ok := skipJSON(obj, i)
		if !ok || keyEnd >= len(obj) || obj[keyEnd] != ':' {
			return nil, false
		}
		valEnd, ok := skipJSON(obj, keyEnd+1)
		if !ok || valEnd > len(obj)-1 {
			return nil, false
		}
		if value, ok := keep(obj[i+1:keyEnd-1], obj[keyEnd+1:valEnd]); ok {
			if len(out) > 1 {
				out = append(out, ',')
			}
			out = append(out, obj[i:keyEnd+1]...)
			out = append(out, value...)
		}
		i = valEnd
		if obj[i] == ',' {
			i++
		} else if i != len(obj)-1 {
			return nil, false
		}
	}
	return append(out, '}'), true
}

// skipJSON returns the end of the compact JSON value starting at b[i].
func skipJSON(b []byte, i int) (int, bool) {
	if i >= len(b) {
		return 0, false
	}
	switch b[i] {
	case '"':
		for j := i + 1; ; {
			k := bytes.IndexAny(b[j:], "\"\\")
			if k < 0 {
				return 0, false
			}
			if b[j+k] == '\\' {
				j += k + 2
				continue
			}
			return j + k + 1, true
		}
	case '{', '[':
		depth := 0
		for j := i; j < len(b); j++ {
			switch b[j] {
			case '"':
				end, ok := skipJSON(b, j)
				if !ok {
					return 0, false
				}
				j = end - 1
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return j + 1, true
				}
			}
		}
		return 0, false
	default:
		j := i
		for j < len(b) && b[j] != ',' && b[j] != '}' && b[j] != ']' {
			j++
		}
		return j, j > i
	}
}
