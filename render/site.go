package render

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"slices"

	"k8s.io/apimachinery/pkg/util/validation"
	"sigs.k8s.io/yaml"

	"github.com/metalgit/metalgit/schemas"
)

// The per-Site objects (NetworkAttachmentDefinition, MetalLB IPAddressPool
// and L2Advertisement, Flux HelmRelease) are plain structs of our own with
// json tags rather than the upstream Go types: the Multus, MetalLB and Flux
// modules pull in heavy dependency trees (controller-runtime, their own
// client sets) for a handful of fields. They are serialized with
// sigs.k8s.io/yaml through toObject, like the BareMetalHosts.

// Per-Site names and defaults.
const (
	// MetalLBNamespace is where MetalLB objects go unless the Site's
	// AnnotationMetalLBNamespace says otherwise.
	MetalLBNamespace = "metallb-system"
	// AnnotationMetalLBNamespace on the Site overrides MetalLBNamespace.
	AnnotationMetalLBNamespace = "metalgit.dev/metallb-namespace"
	// FluxNamespace is the namespace of the HelmRepositories the
	// HelmReleases use as their source.
	FluxNamespace = "flux-system"
	// HelmReleaseInterval is every HelmRelease's reconciliation interval.
	HelmReleaseInterval = "10m"
	// DefaultMacvlanMode is the macvlan mode when the attachment sets none.
	DefaultMacvlanMode = "bridge"
	// CNIVersion is the cniVersion of the generated network configuration.
	CNIVersion = "0.3.1"
)

// Components, by their HelmRelease, HelmRepository and chart name.
const (
	ComponentMetal3    = "metal3"
	ComponentBootProxy = "metalgit-boot-proxy"
	ComponentMultus    = "multus"
)

// Default boot proxy ports (design §7, as the vCluster DHCP chart has them).
const (
	DefaultDHCPPort     = 67
	DefaultTFTPPort     = 69
	DefaultHTTPPort     = 8080
	DefaultCallbackPort = 8081
)

// NetworkAttachmentDefinitionName returns the name of a Site's provisioning
// NetworkAttachmentDefinition: <site>-provisioning.
func NetworkAttachmentDefinitionName(site string) string { return site + "-provisioning" }

type typeMeta struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
}

type objectMeta struct {
	Name      string `json:"name"`
	Namespace string `json:"namespace,omitempty"`
}

// networkAttachmentDefinition is k8s.cni.cncf.io/v1 NetworkAttachmentDefinition.
type networkAttachmentDefinition struct {
	typeMeta
	Metadata objectMeta `json:"metadata"`
	Spec     struct {
		Config string `json:"config"`
	} `json:"spec"`
}

// cniConfig is the NetworkAttachmentDefinition's spec.config; the field
// order is the JSON key order.
type cniConfig struct {
	CNIVersion string  `json:"cniVersion"`
	Name       string  `json:"name"`
	Type       string  `json:"type"`
	Bridge     string  `json:"bridge,omitempty"`
	Master     string  `json:"master,omitempty"`
	Mode       string  `json:"mode,omitempty"`
	IPAM       cniIPAM `json:"ipam"`
}

type cniIPAM struct {
	Type      string           `json:"type"`
	Addresses []cniIPAMAddress `json:"addresses"`
}

type cniIPAMAddress struct {
	Address string `json:"address"`
	Gateway string `json:"gateway,omitempty"`
}

// ipAddressPool is metallb.io/v1beta1 IPAddressPool.
type ipAddressPool struct {
	typeMeta
	Metadata objectMeta `json:"metadata"`
	Spec     struct {
		Addresses  []string `json:"addresses"`
		AutoAssign *bool    `json:"autoAssign,omitempty"`
	} `json:"spec"`
}

// l2Advertisement is metallb.io/v1beta1 L2Advertisement.
type l2Advertisement struct {
	typeMeta
	Metadata objectMeta `json:"metadata"`
	Spec     struct {
		IPAddressPools []string `json:"ipAddressPools"`
	} `json:"spec"`
}

// helmRelease is helm.toolkit.fluxcd.io/v2 HelmRelease.
type helmRelease struct {
	typeMeta
	Metadata objectMeta      `json:"metadata"`
	Spec     helmReleaseSpec `json:"spec"`
}

type helmReleaseSpec struct {
	Interval string `json:"interval"`
	Chart    struct {
		Spec struct {
			Chart     string `json:"chart"`
			SourceRef struct {
				Kind      string `json:"kind"`
				Name      string `json:"name"`
				Namespace string `json:"namespace"`
			} `json:"sourceRef"`
		} `json:"spec"`
	} `json:"chart"`
	Values map[string]any `json:"values,omitempty"`
}

// ComponentValues are the Helm values of one enabled deploy component:
// metalgit's generated defaults with the Site's helmValues merged over them.
type ComponentValues struct {
	// Name is the component's HelmRelease, HelmRepository and chart name
	// (ComponentMetal3, ComponentBootProxy, ComponentMultus).
	Name   string
	Values map[string]any
}

// HelmValues returns the Helm values of the inventory Site's enabled
// deploy components, in the order metal3, boot proxy, multus; the same
// values the HelmReleases of Render carry (before any output
// kustomization).
func HelmValues(inv *schemas.Inventory) ([]ComponentValues, error) {
	if inv == nil {
		return nil, errors.New("rendering: no inventory")
	}
	ix := inv.Index()
	if ix.Site == nil {
		return nil, errors.New("rendering: the inventory has no Site")
	}
	return newSiteGen(ix).components()
}

// siteGen renders the per-Site objects.
type siteGen struct {
	site    *schemas.Site
	gateway string // the provisioning pool's gateway, "" when none
}

func newSiteGen(ix *schemas.Index) *siteGen {
	s := &siteGen{site: ix.Site}
	if p := ix.IPPools[ix.Site.Spec.ProvisioningPool]; p != nil {
		if n, errs := p.Spec.Network(); len(errs) == 0 && n.Gateway.IsValid() {
			s.gateway = n.Gateway.String()
		}
	}
	return s
}

// siteObjects returns the Site's NetworkAttachmentDefinition, MetalLB
// objects and (with helmReleases) HelmReleases, unsorted.
func siteObjects(ix *schemas.Index, helmReleases bool) ([]object, error) {
	s := newSiteGen(ix)
	var objs []object
	nad, err := s.networkAttachmentDefinition()
	if err != nil {
		return nil, err
	}
	if nad != nil {
		o, err := toObject(nad.Kind, nad.Metadata.Name, nad)
		if err != nil {
			return nil, err
		}
		objs = append(objs, o)
	}
	lb, err := s.metalLB()
	if err != nil {
		return nil, err
	}
	objs = append(objs, lb...)
	if !helmReleases {
		return objs, nil
	}
	comps, err := s.components()
	if err != nil {
		return nil, err
	}
	for _, c := range comps {
		hr := &helmRelease{
			typeMeta: typeMeta{APIVersion: "helm.toolkit.fluxcd.io/v2", Kind: "HelmRelease"},
			Metadata: objectMeta{Name: c.Name, Namespace: s.site.Spec.Namespace},
		}
		hr.Spec.Interval = HelmReleaseInterval
		hr.Spec.Chart.Spec.Chart = c.Name
		hr.Spec.Chart.Spec.SourceRef.Kind = "HelmRepository"
		hr.Spec.Chart.Spec.SourceRef.Name = c.Name
		hr.Spec.Chart.Spec.SourceRef.Namespace = FluxNamespace
		hr.Spec.Values = c.Values
		o, err := toObject(hr.Kind, c.Name, hr)
		if err != nil {
			return nil, err
		}
		objs = append(objs, o)
	}
	return objs, nil
}

// vip returns the boot proxy's VIP; ok is false when the Site has none.
func (s *siteGen) vip() (netip.Prefix, bool, error) {
	bp := s.site.Spec.BootProxy
	if bp == nil || bp.VIP == "" {
		return netip.Prefix{}, false, nil
	}
	p, err := netip.ParsePrefix(bp.VIP)
	if err != nil {
		return netip.Prefix{}, false, fmt.Errorf("rendering Site/%s: spec.bootProxy.vip %q is not in CIDR form: %w", s.site.Metadata.Name, bp.VIP, err)
	}
	return p, true, nil
}

// attachment returns the boot proxy's attachment, nil when none is set.
func (s *siteGen) attachment() *schemas.AttachmentSpec {
	if bp := s.site.Spec.BootProxy; bp != nil {
		return bp.Attachment
	}
	return nil
}

// networkAttachmentDefinition returns the boot proxy's provisioning
// network for Multus, nil for no boot proxy, no attachment or hostNetwork.
func (s *siteGen) networkAttachmentDefinition() (*networkAttachmentDefinition, error) {
	vip, ok, err := s.vip()
	if err != nil || !ok {
		return nil, err
	}
	a := s.attachment()
	if a == nil {
		return nil, nil
	}
	name := NetworkAttachmentDefinitionName(s.site.Metadata.Name)
	cfg := cniConfig{CNIVersion: CNIVersion, Name: name, Type: a.Type}
	switch a.Type {
	case schemas.AttachmentBridge:
		cfg.Bridge = a.Bridge
	case schemas.AttachmentMacvlan:
		cfg.Master = a.Master
		cfg.Mode = cmp.Or(a.Mode, DefaultMacvlanMode)
	default: // hostNetwork: the pod uses the node's interfaces
		return nil, nil
	}
	addr := cniIPAMAddress{Address: vip.String()}
	// The provisioning pool's gateway, when it is on the VIP's network.
	if gw, err := netip.ParseAddr(s.gateway); err == nil && vip.Masked().Contains(gw) && gw != vip.Addr() {
		addr.Gateway = s.gateway
	}
	cfg.IPAM = cniIPAM{Type: "static", Addresses: []cniIPAMAddress{addr}}
	config, err := json.Marshal(cfg)
	if err != nil {
		return nil, fmt.Errorf("rendering NetworkAttachmentDefinition/%s: %w", name, err)
	}
	nad := &networkAttachmentDefinition{
		typeMeta: typeMeta{APIVersion: "k8s.cni.cncf.io/v1", Kind: "NetworkAttachmentDefinition"},
		Metadata: objectMeta{Name: name, Namespace: s.site.Spec.Namespace},
	}
	nad.Spec.Config = string(config)
	return nad, nil
}

// metalLB returns an IPAddressPool and an L2Advertisement per MetalLB pool.
func (s *siteGen) metalLB() ([]object, error) {
	ml := s.site.Spec.MetalLB
	if ml == nil || len(ml.Pools) == 0 {
		return nil, nil
	}
	ns := MetalLBNamespace
	if v, ok := s.site.Metadata.Annotations[AnnotationMetalLBNamespace]; ok {
		if errs := validation.IsDNS1123Label(v); len(errs) > 0 {
			return nil, fmt.Errorf("rendering Site/%s: annotation %s: %q is not a valid namespace: %s", s.site.Metadata.Name, AnnotationMetalLBNamespace, v, errs[0])
		}
		ns = v
	}
	var objs []object
	for _, p := range ml.Pools {
		pool := &ipAddressPool{
			typeMeta: typeMeta{APIVersion: "metallb.io/v1beta1", Kind: "IPAddressPool"},
			Metadata: objectMeta{Name: p.Name, Namespace: ns},
		}
		pool.Spec.Addresses = slices.Clone(p.Addresses)
		if p.AutoAssign != nil && !*p.AutoAssign {
			f := false
			pool.Spec.AutoAssign = &f
		}
		l2 := &l2Advertisement{
			typeMeta: typeMeta{APIVersion: "metallb.io/v1beta1", Kind: "L2Advertisement"},
			Metadata: objectMeta{Name: p.Name, Namespace: ns},
		}
		l2.Spec.IPAddressPools = []string{p.Name}
		po, err := toObject(pool.Kind, p.Name, pool)
		if err != nil {
			return nil, err
		}
		lo, err := toObject(l2.Kind, p.Name, l2)
		if err != nil {
			return nil, err
		}
		objs = append(objs, po, lo)
	}
	return objs, nil
}

// components returns the values of the enabled deploy components.
func (s *siteGen) components() ([]ComponentValues, error) {
	d := s.site.Spec.Deploy
	if d == nil {
		return nil, nil
	}
	var out []ComponentValues
	add := func(name string, c *schemas.Component, defaults func() (map[string]any, error)) error {
		if c == nil || !c.Enabled {
			return nil
		}
		def, err := defaults()
		if err != nil {
			return err
		}
		// The user's helmValues win; a null in them removes a default.
		out = append(out, ComponentValues{Name: name, Values: MergeProperties(def, c.HelmValues)})
		return nil
	}
	if err := add(ComponentMetal3, d.Metal3, s.metal3Values); err != nil {
		return nil, err
	}
	if err := add(ComponentBootProxy, d.BootProxy, s.bootProxyValues); err != nil {
		return nil, err
	}
	if err := add(ComponentMultus, d.Multus, func() (map[string]any, error) { return nil, nil }); err != nil {
		return nil, err
	}
	return out, nil
}

// ironicValues returns {apiURL, httpURL} of the Site's Ironic, nil when unset.
func (s *siteGen) ironicValues() map[string]any {
	bp := s.site.Spec.BootProxy
	if bp == nil || bp.Ironic == nil {
		return nil
	}
	m := map[string]any{"apiURL": bp.Ironic.APIURL}
	if bp.Ironic.HTTPURL != "" {
		m["httpURL"] = bp.Ironic.HTTPURL
	}
	return m
}

// metal3Values: ironic {apiURL, httpURL}, provisioning {vip, ip, interface}.
func (s *siteGen) metal3Values() (map[string]any, error) {
	v := map[string]any{}
	if ir := s.ironicValues(); ir != nil {
		v["ironic"] = ir
	}
	vip, ok, err := s.vip()
	if err != nil {
		return nil, err
	}
	prov := map[string]any{}
	if ok {
		prov["vip"] = vip.String()
		prov["ip"] = vip.Addr().String()
	}
	if a := s.attachment(); a != nil {
		switch a.Type {
		case schemas.AttachmentBridge:
			prov["interface"] = a.Bridge
		case schemas.AttachmentMacvlan:
			prov["interface"] = a.Master
		}
	}
	if len(prov) > 0 {
		v["provisioning"] = prov
	}
	return v, nil
}

// bootProxyValues: vip, attachment, ports, ironic, kernelParams, hostNetwork.
func (s *siteGen) bootProxyValues() (map[string]any, error) {
	ports := map[string]any{"dhcp": DefaultDHCPPort, "tftp": DefaultTFTPPort, "http": DefaultHTTPPort, "callback": DefaultCallbackPort}
	v := map[string]any{"ports": ports}
	bp := s.site.Spec.BootProxy
	if bp == nil {
		return v, nil
	}
	if p := bp.Ports; p != nil {
		for key, port := range map[string]int{"dhcp": p.DHCP, "tftp": p.TFTP, "http": p.HTTP, "callback": p.Callback} {
			if port != 0 {
				ports[key] = port
			}
		}
	}
	vip, ok, err := s.vip()
	if err != nil {
		return nil, err
	}
	if ok {
		v["vip"] = vip.String()
	}
	if a := bp.Attachment; a != nil {
		att := map[string]any{"type": a.Type}
		switch a.Type {
		case schemas.AttachmentBridge:
			att["bridge"] = a.Bridge
		case schemas.AttachmentMacvlan:
			att["master"] = a.Master
			att["mode"] = cmp.Or(a.Mode, DefaultMacvlanMode)
		case schemas.AttachmentHostNetwork:
			v["hostNetwork"] = true
		}
		nad, err := s.networkAttachmentDefinition()
		if err != nil {
			return nil, err
		}
		if nad != nil {
			att["networkAttachmentDefinition"] = nad.Metadata.Namespace + "/" + nad.Metadata.Name
		}
		v["attachment"] = att
	}
	if ir := s.ironicValues(); ir != nil {
		v["ironic"] = ir
	}
	if kp := bp.KernelParams; kp != nil {
		k := map[string]any{}
		if len(kp.Inspector) > 0 {
			k["inspector"] = toAnyList(kp.Inspector)
		}
		if len(kp.Installer) > 0 {
			k["installer"] = toAnyList(kp.Installer)
		}
		if len(k) > 0 {
			v["kernelParams"] = k
		}
	}
	return v, nil
}

func toAnyList(s []string) []any {
	out := make([]any, len(s))
	for i, x := range s {
		out[i] = x
	}
	return out
}

// ValuesFileName returns the file name of a component's values:
// <component>-values.yaml.
func ValuesFileName(component string) string { return component + valuesSuffix }

// valuesSuffix ends the name of every values file WriteValuesDir writes.
const valuesSuffix = "-values.yaml"

// WriteValuesDir writes each component's values to dir as
// <component>-values.yaml, for Argo CD or plain Helm. Like WriteDir it
// replaces dir as a whole and atomically, and refuses an existing dir that
// holds anything but *.yaml files. It returns the files written.
func WriteValuesDir(dir string, values []ComponentValues) ([]string, error) {
	files := map[string][]byte{}
	names := make([]string, 0, len(values))
	for _, c := range values {
		f := ValuesFileName(c.Name)
		if _, dup := files[f]; dup {
			return nil, fmt.Errorf("writing %s: two components would be written to %s", dir, f)
		}
		vals := c.Values
		if vals == nil {
			vals = map[string]any{}
		}
		data, err := yaml.Marshal(vals)
		if err != nil {
			return nil, fmt.Errorf("writing %s: %s: %w", dir, f, err)
		}
		files[f] = data
		names = append(names, f)
	}
	slices.Sort(names)
	return replaceWithFiles(dir, files, names, CheckValuesReplaceable)
}
