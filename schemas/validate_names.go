package schemas

import (
	"strconv"
	"strings"
	"unicode/utf8"

	"k8s.io/apimachinery/pkg/util/validation"
)

// Names that render makes of inventory names, and the labels it sets: the
// API server must take every one of them. They mirror package render,
// whose tests hold the two together.
const (
	// LabelHost and LabelMachine label every BareMetalHost with the Host
	// it comes from and the Machine bound to it; their values are the
	// names, so these are at most 63 characters.
	LabelHost    = LabelPrefix + "host"
	LabelMachine = LabelPrefix + "machine"
	// AnnotationMetalLBNamespace on the Site names the namespace of the
	// MetalLB objects.
	AnnotationMetalLBNamespace = LabelPrefix + "metallb-namespace"
	// Suffixes of the Secrets and the NetworkAttachmentDefinition that
	// render names after a host, a machine and the Site.
	SuffixPreprovisioningNetworkData = "-preprov-network-data"
	SuffixUserData                   = "-user-data"
	SuffixNetworkData                = "-network-data"
	SuffixProvisioningNetwork        = "-provisioning"
)

// madeName is a name render makes of an inventory name, and how the API
// server checks it.
type madeName struct {
	name  string
	what  string // what it is: "the value of label metalgit.dev/host on its BareMetalHost"
	check func(string) []string
	max   int // the longest name the check takes
}

// labelValue is a made name that becomes the value of label key.
func labelValue(key, value string) madeName {
	return madeName{value, "the value of label " + key + " on its BareMetalHost", validation.IsValidLabelValue, validation.LabelValueMaxLength}
}

// objectName is a made name that becomes the name of an object of kind.
func objectName(kind, name string) madeName {
	return madeName{name, "the name of a " + kind, validation.IsDNS1123Subdomain, validation.DNS1123SubdomainMaxLength}
}

// firstRefused returns the first made name the API server refuses, and why.
func firstRefused(names ...madeName) (madeName, string) {
	for _, n := range names {
		if errs := n.check(n.name); len(errs) > 0 {
			return n, errs[0]
		}
	}
	return madeName{}, ""
}

// validName reports whether metadata.name passes its own check (names),
// so that a bad name gets one problem, not one per name made of it.
func (v *validator) validName(name string) bool {
	return name != "" && len(name) <= NameMaxLength && v.re.name.MatchString(name)
}

// apiNames checks the names and labels the API server gets from the
// inventory: the names render makes of inventory names (BareMetalHosts,
// their Secrets and labels, machines, the Site's
// NetworkAttachmentDefinition, MetalLB pools), the BMC credentials Secret
// names, and the labels of hosts.
func (v *validator) apiNames() {
	for _, s := range v.inv.Sites {
		obj, src := ObjectRef(KindSite, s.Metadata.Name), s.Source
		if v.validName(s.Metadata.Name) {
			nad := s.Metadata.Name + SuffixProvisioningNetwork
			if errs := validation.IsDNS1123Subdomain(nad); len(errs) > 0 {
				v.at(src, obj, "metadata.name", RuleAPIName, "the name makes the NetworkAttachmentDefinition %s (%d characters), which the API server refuses: %s; shorten the Site name to at most %d characters",
					nad, len(nad), errs[0], validation.DNS1123SubdomainMaxLength-len(SuffixProvisioningNetwork))
			}
		}
		if ns, ok := s.Metadata.Annotations[AnnotationMetalLBNamespace]; ok {
			if errs := validation.IsDNS1123Label(ns); len(errs) > 0 {
				v.at(src, obj, joinKey("metadata.annotations", AnnotationMetalLBNamespace), RuleAPIName, "%s is not a valid namespace for the MetalLB objects: %s", clip(ns), errs[0])
			}
		}
		if ml := s.Spec.MetalLB; ml != nil {
			for i, p := range ml.Pools {
				if p.Name == "" {
					continue // required: reported by sites
				}
				if errs := validation.IsDNS1123Subdomain(p.Name); len(errs) > 0 {
					v.at(src, obj, joinIndex("spec.metallb.pools", i)+".name", RuleAPIName, "%s names a MetalLB IPAddressPool and L2Advertisement, which the API server refuses: %s", clip(p.Name), errs[0])
				}
			}
		}
	}
	for _, h := range v.inv.Hosts {
		if v.isClean(h) {
			continue // checked before: these checks read the host alone
		}
		obj, src := ObjectRef(KindHost, h.Metadata.Name), h.Source
		if name := h.Metadata.Name; v.validName(name) {
			if n, why := firstRefused(
				labelValue(LabelHost, name),
				objectName("Secret", name+SuffixPreprovisioningNetworkData),
			); why != "" {
				v.at(src, obj, "metadata.name", RuleAPIName, "the name (%d characters) becomes %s, which the API server refuses: %s; shorten it to at most %d characters",
					len(name), n.what, why, n.max-(len(n.name)-len(name)))
			}
		}
		if c := h.Spec.BMC.CredentialsName; c != "" {
			if errs := validation.IsDNS1123Subdomain(c); len(errs) > 0 {
				v.at(src, obj, "spec.bmc.credentialsName", RuleAPIName, "%s is not a valid Secret name: %s; credentialsName names the Secret, in the Site's namespace, that holds the BMC username and password", clip(c), errs[0])
			}
		}
		v.hostLabels(src, obj, h.Metadata.Labels)
	}
	for _, ms := range v.inv.MachineSets {
		q := ms.Spec.Quantity
		if q <= 0 || q > MaxMachineSetQuantity || !v.validName(ms.Metadata.Name) {
			continue
		}
		last := MachineName(ms.Metadata.Name, q-1)
		if n, why := firstRefused(machineNames(last)...); why != "" {
			v.at(ms.Source, ObjectRef(KindMachineSet, ms.Metadata.Name), "metadata.name", RuleAPIName, "the set's last machine, %s (%d characters), becomes %s, which the API server refuses: %s; shorten the MachineSet name to at most %d characters",
				last, len(last), n.what, why, n.max-(len(n.name)-len(ms.Metadata.Name)))
		}
	}
	for _, m := range v.inv.Machines {
		name := m.Metadata.Name
		if !v.validName(name) {
			continue
		}
		if n, why := firstRefused(machineNames(name)...); why != "" {
			v.at(m.Source, ObjectRef(KindMachine, name), "metadata.name", RuleAPIName, "the name (%d characters) becomes %s, which the API server refuses: %s; shorten it to at most %d characters",
				len(name), n.what, why, n.max-(len(n.name)-len(name)))
		}
	}
}

// machineNames are the names render makes of a machine's name.
func machineNames(machine string) []madeName {
	return []madeName{
		labelValue(LabelMachine, machine),
		objectName("Secret", machine+SuffixUserData),
		objectName("Secret", machine+SuffixNetworkData),
	}
}

// hostLabels checks a host's labels, which its BareMetalHost carries.
func (v *validator) hostLabels(src Source, obj string, labels map[string]string) {
	for _, key := range sortedKeys(labels) {
		field := joinKey("metadata.labels", key)
		if errs := validation.IsQualifiedName(key); len(errs) > 0 {
			v.at(src, obj, field, RuleLabel, "label key %s is not valid: %s", clip(key), strings.Join(errs, "; "))
			continue
		}
		if strings.HasPrefix(key, LabelPrefix) {
			v.at(src, obj, field, RuleLabel, "label key %s is metalgit's own: metalgit sets %s and %s on every BareMetalHost; use another prefix", clip(key), LabelHost, LabelMachine)
			continue
		}
		if errs := validation.IsValidLabelValue(labels[key]); len(errs) > 0 {
			v.at(src, obj, field, RuleLabel, "label value %s is not valid: %s", clip(labels[key]), strings.Join(errs, "; "))
		}
	}
}

// maxQuoted is the most characters of a value a message quotes.
const maxQuoted = 80

// clip quotes s for a message, cut to maxQuoted characters: a hostile
// value may be long.
func clip(s string) string {
	if len(s) <= maxQuoted {
		return strconv.Quote(s)
	}
	cut := maxQuoted
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return strconv.Quote(s[:cut]) + "… (" + strconv.Itoa(len(s)) + " bytes)"
}

// doc is what every document has in common, for the checks that span kinds.
type doc struct {
	kind  string
	meta  *ObjectMeta
	src   Source
	clean bool // a host found clean before (validator.clean)
}

func (d doc) object() string { return ObjectRef(d.kind, d.meta.Name) }

func (v *validator) docs() []doc {
	inv := v.inv
	var out []doc
	for _, o := range inv.Sites {
		out = append(out, doc{kind: KindSite, meta: &o.Metadata, src: o.Source})
	}
	for _, o := range inv.IPPools {
		out = append(out, doc{kind: KindIPPool, meta: &o.Metadata, src: o.Source})
	}
	for _, o := range inv.NodeTypes {
		out = append(out, doc{kind: KindNodeType, meta: &o.Metadata, src: o.Source})
	}
	for _, o := range inv.Hosts {
		out = append(out, doc{kind: KindHost, meta: &o.Metadata, src: o.Source, clean: v.isClean(o)})
	}
	for _, o := range inv.MachineSets {
		out = append(out, doc{kind: KindMachineSet, meta: &o.Metadata, src: o.Source})
	}
	for _, o := range inv.Machines {
		out = append(out, doc{kind: KindMachine, meta: &o.Metadata, src: o.Source})
	}
	for _, o := range inv.OSImages {
		out = append(out, doc{kind: KindOSImage, meta: &o.Metadata, src: o.Source})
	}
	for _, o := range inv.SSHKeys {
		out = append(out, doc{kind: KindSSHKey, meta: &o.Metadata, src: o.Source})
	}
	for _, o := range inv.Secrets {
		out = append(out, doc{kind: KindSecret, meta: &o.Metadata, src: o.Source})
	}
	return out
}

// names checks metadata.name, the presence of spec, and duplicate names per kind.
func (v *validator) names() {
	first := map[string]Source{}
	for _, d := range v.docs() {
		name := d.meta.Name
		switch {
		case d.clean:
			// Checked before: only the check across documents below.
		case name == "":
			v.at(d.src, d.kind, "metadata.name", RuleRequired, "metadata.name is missing; give the %s a name", d.kind)
		case len(name) > NameMaxLength || !v.re.name.MatchString(name):
			v.at(d.src, d.object(), "metadata.name", RuleName, "%q is not a valid name: use lower-case letters, digits, '-' and '.', starting and ending with a letter or digit, at most %d characters", name, NameMaxLength)
		}
		if !d.clean && d.kind != KindSecret && d.src.lines != nil && !d.src.has("spec") {
			v.at(d.src, d.object(), "spec", RuleRequired, "spec is missing; every %s needs a spec", d.kind)
		}
		if name == "" {
			continue
		}
		key := ObjectRef(d.kind, name)
		if prev, dup := first[key]; dup {
			v.at(d.src, d.object(), "metadata.name", RuleDuplicateName, "%s is defined twice; the first is at %s:%d; rename or remove one", key, prev.File, prev.LineOf("metadata.name"))
			continue
		}
		first[key] = d.src
	}
}
