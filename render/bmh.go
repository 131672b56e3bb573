package render

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/netip"
	"strings"

	metal3v1alpha1 "github.com/metal3-io/baremetal-operator/apis/metal3.io/v1alpha1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/metalgit/metalgit/schemas"
)

// host renders one Host: its BareMetalHost, preprovisioning network data
// and, when m is bound to it, the machine's user-data and network-data. A
// host without a lease is left out, and a machine without its address
// too (its host is rendered as if unbound); both are recorded as
// omissions. A failure (recorded in g.failures) gives no objects; so does
// a check.
func (g *generator) host(h *schemas.Host, m *requested) ([]object, error) {
	name := h.Metadata.Name
	owner := schemas.ObjectRef(schemas.KindHost, name)
	hostLease, ok := g.hostLease(h)
	if !ok {
		if !g.check {
			g.omit(Omission{Owner: owner, Pool: g.provPool, Reason: OmittedNoAddress})
			return nil, nil
		}
		hostLease.addr = hostLease.net.First
	}
	info := HostInfo{Name: name, Labels: h.Metadata.Labels, BootMACAddress: h.Spec.BootMACAddress, Interfaces: h.Spec.Interfaces}
	failed := g.failures.len()

	preprov, err := preprovisioningNetworkData(info, hostLease.addr.String(), hostLease.prefix(), hostLease.gateway(), hostLease.net.DNSServers, g.check)
	if err != nil {
		g.failures.add(err, "preprovisioning network-data of "+owner, owner)
	}
	var data *machineData
	if m != nil {
		if mc, ok := g.machineContext(info, hostLease, *m); ok {
			data = g.machineData(mc, *m, schemas.ObjectRef(schemas.KindMachine, m.name)+" on "+owner)
		}
	}
	if g.check || g.failures.len() > failed {
		return nil, nil
	}

	labels := map[string]string{}
	for k, v := range h.Metadata.Labels {
		labels[k] = v
	}
	labels[LabelHost] = name
	annotations := map[string]string{
		AnnotationIPAddress: netip.PrefixFrom(hostLease.addr, hostLease.prefix()).String(),
	}
	if gw := hostLease.gateway(); gw != "" {
		annotations[AnnotationGateway] = gw
	}
	if dns := hostLease.net.DNSServers; len(dns) > 0 {
		annotations[AnnotationDNSServers] = strings.Join(dns, ",")
	}
	if ntp := hostLease.net.NTPServers; len(ntp) > 0 {
		annotations[AnnotationNTPServers] = strings.Join(ntp, ",")
	}
	if data != nil && data.ip != "" {
		annotations[AnnotationMachineIPAddress] = data.ip
	}
	if kp := h.Spec.KernelParams; kp != nil {
		if len(kp.Inspector) > 0 {
			annotations[AnnotationKernelParamsInspector] = strings.Join(kp.Inspector, " ")
		}
		if len(kp.Installer) > 0 {
			annotations[AnnotationKernelParamsInstaller] = strings.Join(kp.Installer, " ")
		}
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

	secretLabels := map[string]string{LabelHost: name}
	objs := []object{}
	sec, err := g.secret(preprovName, secretLabels, KeyNetworkData, preprov)
	if err != nil {
		return nil, err
	}
	objs = append(objs, sec)

	if data != nil {
		mObjs, err := g.bind(bmh, name, data)
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

// bind adds the bound machine to the BareMetalHost of host: image,
// user-data and network-data, and returns the machine's Secrets.
func (g *generator) bind(bmh *metal3v1alpha1.BareMetalHost, host string, d *machineData) ([]object, error) {
	m := d.m
	bmh.Labels[LabelMachine] = m.name
	bmh.Spec.Image = g.image(m.nodeType)
	labels := map[string]string{LabelHost: host, LabelMachine: m.name}
	var objs []object
	if d.userData != "" {
		name := m.name + "-user-data"
		bmh.Spec.UserData = &corev1.SecretReference{Name: name, Namespace: g.namespace}
		sec, err := g.secret(name, labels, KeyUserData, d.userData)
		if err != nil {
			return nil, err
		}
		objs = append(objs, sec)
	}
	name := m.name + "-network-data"
	bmh.Spec.NetworkData = &corev1.SecretReference{Name: name, Namespace: g.namespace}
	sec, err := g.secret(name, labels, KeyNetworkData, d.networkData)
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
