package schemas

import (
	"encoding/base64"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"text/template"

	yaml "go.yaml.in/yaml/v3"
	"golang.org/x/crypto/ssh"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Index gives the inventory's objects by name. With duplicate names, the
// first document wins (Validate reports the others).
type Index struct {
	Site        *Site
	IPPools     map[string]*IPPool
	NodeTypes   map[string]*NodeType
	Hosts       map[string]*Host
	MachineSets map[string]*MachineSet
	Machines    map[string]*Machine
	OSImages    map[string]*OSImage
	SSHKeys     map[string]*SSHKey
	Secrets     map[string]*Secret
}

// Index builds the name index of the inventory.
func (inv *Inventory) Index() *Index {
	ix := &Index{
		IPPools:     byName(inv.IPPools, func(o *IPPool) string { return o.Metadata.Name }),
		NodeTypes:   byName(inv.NodeTypes, func(o *NodeType) string { return o.Metadata.Name }),
		Hosts:       byName(inv.Hosts, func(o *Host) string { return o.Metadata.Name }),
		MachineSets: byName(inv.MachineSets, func(o *MachineSet) string { return o.Metadata.Name }),
		Machines:    byName(inv.Machines, func(o *Machine) string { return o.Metadata.Name }),
		OSImages:    byName(inv.OSImages, func(o *OSImage) string { return o.Metadata.Name }),
		SSHKeys:     byName(inv.SSHKeys, func(o *SSHKey) string { return o.Metadata.Name }),
		Secrets:     byName(inv.Secrets, func(o *Secret) string { return o.Metadata.Name }),
	}
	if len(inv.Sites) > 0 {
		ix.Site = inv.Sites[0]
	}
	return ix
}

func byName[T any](objs []*T, name func(*T) string) map[string]*T {
	m := make(map[string]*T, len(objs))
	for _, o := range objs {
		if _, dup := m[name(o)]; !dup {
			m[name(o)] = o
		}
	}
	return m
}

// Pool returns the IPPool that machines of this node type draw from: its
// own pool, or the Site's provisioning pool when it names none.
func (ix *Index) Pool(nt *NodeType) string {
	if nt.Spec.Pool != "" || ix.Site == nil {
		return nt.Spec.Pool
	}
	return ix.Site.Spec.ProvisioningPool
}

// Validate checks every rule of the inventory and reports all problems,
// sorted by file and line. It complements the problems Load reports.
func (inv *Inventory) Validate() Problems {
	return inv.ValidateWith(nil)
}

// ValidateWith is Validate with a cache of the hosts an earlier
// validation found clean (see ValidateCache); nil is no cache. It reports
// the same problems as Validate.
func (inv *Inventory) ValidateWith(cache *ValidateCache) Problems {
	v := &validator{inv: inv, ix: inv.Index(), re: compilePatterns(), pools: map[string]PoolAddresses{}}
	world, keyed := inv.WorldDigest()
	if cache != nil && keyed {
		v.clean = cache.cleanHosts(world)
	}
	v.names()
	v.apiNames()
	v.sites()
	v.ipPools()
	v.nodeTypes()
	v.hosts()
	v.machines()
	v.images()
	v.sshKeys()
	v.secrets()
	v.addressOverlaps()
	v.addressUses()
	v.problems.Sort()
	if cache != nil {
		clean := make(map[Digest]bool, len(inv.Hosts))
		for _, h := range inv.Hosts {
			if d := h.Source.digest; keyed && d != (Digest{}) && v.perDoc[h.Source.File+"\x00"+KindHost+"/"+h.Metadata.Name] == 0 {
				clean[d] = true
			}
		}
		cache.keep(world, clean, v.checked)
	}
	return v.problems
}

type validator struct {
	inv      *Inventory
	ix       *Index
	re       patterns
	pools    map[string]PoolAddresses // valid pools only
	problems Problems
	// secretRefs maps a template Secret to the first field that references it.
	secretRefs map[string]string
	// perDoc counts the problems reported per document.
	perDoc map[string]int
	// clean are the hosts an earlier validation of the same world found
	// without problems (ValidateCache): their own checks are skipped.
	clean map[Digest]bool
	// checked counts the hosts whose own checks ran.
	checked int
}

// MaxProblemsPerDocument bounds the problems reported for one document;
// past it, one line says that there are more.
const MaxProblemsPerDocument = 100

// at records a problem at a field of a document.
func (v *validator) at(src Source, object, field string, rule Rule, format string, args ...any) {
	if src.failed(field) {
		return // the loader already reported that this value did not decode
	}
	if v.perDoc == nil {
		v.perDoc = map[string]int{}
	}
	key := src.File + "\x00" + object
	v.perDoc[key]++
	switch n := v.perDoc[key]; {
	case n == MaxProblemsPerDocument+1:
		v.problems = append(v.problems, Problem{File: src.File, Line: src.Line, Object: object, Rule: rule,
			Message: fmt.Sprintf("more than %d problems in this document; fix the ones above and validate again", MaxProblemsPerDocument)})
		return
	case n > MaxProblemsPerDocument:
		return
	}
	v.problems = append(v.problems, Problem{
		File: src.File, Line: src.LineOf(field), Object: object, Field: field, Rule: rule,
		Message: fmt.Sprintf(format, args...),
	})
}

func where(src Source) string {
	if src.File == "" {
		return ""
	}
	if src.Line > 0 {
		return fmt.Sprintf(" (%s:%d)", src.File, src.Line)
	}
	return " (" + src.File + ")"
}

func whereField(src Source, field string) string {
	if line := src.LineOf(field); line > 0 && src.File != "" {
		return fmt.Sprintf(" (%s:%d)", src.File, line)
	}
	return where(src)
}

// doc is what every document has in common, for the checks that span kinds.
type doc struct {
	kind  string
	meta  *ObjectMeta
	src   Source
	clean bool // a host found clean before (validator.clean)
}

func (d doc) object() string { return d.kind + "/" + d.meta.Name }

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
		key := d.kind + "/" + name
		if prev, dup := first[key]; dup {
			v.at(d.src, d.object(), "metadata.name", RuleDuplicateName, "%s is defined twice; the first is at %s:%d; rename or remove one", key, prev.File, prev.LineOf("metadata.name"))
			continue
		}
		first[key] = d.src
	}
}

// has reports whether the document has the field at path.
func (s Source) has(path string) bool {
	if s.lines == nil {
		return true
	}
	n := resolveAlias(s.lines)
	for _, seg := range splitPath(path) {
		switch {
		case n == nil:
			return false
		case seg.index >= 0:
			if n.Kind != yaml.SequenceNode || seg.index >= len(n.Content) {
				return false
			}
			n = resolveAlias(n.Content[seg.index])
		case n.Kind == yaml.MappingNode:
			var next *yaml.Node
			for i := 0; i+1 < len(n.Content); i += 2 {
				if n.Content[i].Value == seg.key {
					next = resolveAlias(n.Content[i+1])
					break
				}
			}
			if next == nil {
				return false
			}
			n = next
		default:
			return false
		}
	}
	return true
}

func (v *validator) required(src Source, object, field, value, hint string) bool {
	if value == "" {
		v.at(src, object, field, RuleRequired, "is required; %s", hint)
		return false
	}
	return true
}

func (v *validator) enum(src Source, object, field, value string, allowed []string) {
	if value != "" && !slices.Contains(allowed, value) {
		v.at(src, object, field, RuleEnum, "%q is not allowed; use one of: %s", value, strings.Join(allowed, ", "))
	}
}

func (v *validator) ref(src Source, object, field, kind, name string, exists bool) {
	if name == "" || exists {
		return
	}
	if best := closest(name, v.namesOf(kind)); best != "" {
		v.at(src, object, field, RuleReference, "%s %q does not exist; did you mean %q?", kind, name, best)
		return
	}
	v.at(src, object, field, RuleReference, "%s %q does not exist; add it or fix the name", kind, name)
}

// namesOf lists the names of one kind's documents.
func (v *validator) namesOf(kind string) []string {
	switch kind {
	case KindIPPool:
		return sortedKeys(v.ix.IPPools)
	case KindNodeType:
		return sortedKeys(v.ix.NodeTypes)
	case KindHost:
		return sortedKeys(v.ix.Hosts)
	case KindOSImage:
		return sortedKeys(v.ix.OSImages)
	case KindSSHKey:
		return sortedKeys(v.ix.SSHKeys)
	}
	return nil
}

// closest returns the candidate within two edits of name, if exactly one is.
func closest(name string, candidates []string) string {
	best, n := "", 0
	for _, c := range candidates {
		if editDistance(name, c) <= 2 {
			best, n = c, n+1
		}
	}
	if n == 1 {
		return best
	}
	return ""
}

func (v *validator) url(src Source, object, field, value string) {
	if value == "" {
		return
	}
	u, err := url.Parse(value)
	if err != nil || u.Scheme == "" || u.Host == "" {
		v.at(src, object, field, RuleURL, "%q is not an absolute URL such as http://host:port/path", value)
	}
}

func (v *validator) port(src Source, object, field string, p int) {
	if p < 0 || p > MaxPort {
		v.at(src, object, field, RuleOutOfRange, "port %d is out of range; use 1-%d", p, MaxPort)
	}
}

func (v *validator) ipPools() {
	for _, p := range v.inv.IPPools {
		obj := "IPPool/" + p.Metadata.Name
		if p.Spec.Prefix < 0 || p.Spec.Prefix > MaxPrefix {
			v.at(p.Source, obj, "spec.prefix", RuleOutOfRange, "prefix %d is out of range; use %d-32 for IPv4, %d-128 for IPv6", p.Spec.Prefix, MinPrefixIPv4, MinPrefixIPv6)
			continue
		}
		addrs, errs := p.Spec.Addresses()
		for _, e := range errs {
			v.at(p.Source, obj, e.Field, e.Rule, "%s", e.Message)
		}
		if len(errs) == 0 && v.ix.IPPools[p.Metadata.Name] == p {
			v.pools[p.Metadata.Name] = addrs
		}
	}
}

func (v *validator) quantities(src Source, object, field string, res map[string]Quantity) {
	for _, name := range sortedKeys(res) {
		q := string(res[name])
		if !v.re.quantity.MatchString(q) {
			v.at(src, object, joinKey(field, name), RuleQuantity, "%q is not a Kubernetes quantity; write a number with an optional suffix, such as 64, 500m or 256Gi", q)
			continue
		}
		if _, err := resource.ParseQuantity(q); err != nil {
			v.at(src, object, joinKey(field, name), RuleQuantity, "%q is not a Kubernetes quantity: %v", q, err)
		}
	}
}

func (v *validator) nodeTypes() {
	for _, nt := range v.inv.NodeTypes {
		obj, src, spec := "NodeType/"+nt.Metadata.Name, nt.Source, &nt.Spec
		v.quantities(src, obj, "spec.resources", spec.Resources)
		v.ref(src, obj, "spec.pool", KindIPPool, spec.Pool, v.ix.IPPools[spec.Pool] != nil)
		v.ref(src, obj, "spec.osImage", KindOSImage, spec.OSImage, v.ix.OSImages[spec.OSImage] != nil)
		if spec.OSImage != "" && spec.Image != nil {
			v.at(src, obj, "spec.image", RuleValue, "set either osImage (a reference) or image (url and checksum), not both")
		}
		if spec.Image != nil {
			v.imageSpec(src, obj, "spec.image", spec.Image)
		}
		for i, k := range spec.SSHKeys {
			v.ref(src, obj, joinIndex("spec.sshKeys", i), KindSSHKey, k, v.ix.SSHKeys[k] != nil)
		}
		v.template(src, obj, "spec.userDataTemplate", spec.UserDataTemplate)
		v.template(src, obj, "spec.networkDataTemplate", spec.NetworkDataTemplate)
		v.templateSecret(src, obj, "spec.userDataTemplateSecret", spec.UserDataTemplateSecret)
		v.templateSecret(src, obj, "spec.networkDataTemplateSecret", spec.NetworkDataTemplateSecret)
		if sel := spec.HostSelector; sel != nil {
			v.selector(src, obj, sel)
		}
	}
}

func (v *validator) selector(src Source, obj string, sel *LabelSelector) {
	ok := true
	for i, e := range sel.MatchExpressions {
		field := joinIndex("spec.hostSelector.matchExpressions", i)
		if !v.required(src, obj, field+".key", e.Key, "name the label key") {
			ok = false
		}
		if !v.required(src, obj, field+".operator", e.Operator, "use In, NotIn, Exists or DoesNotExist") {
			ok = false
			continue
		}
		if !slices.Contains(SelectorOperators, e.Operator) {
			v.enum(src, obj, field+".operator", e.Operator, SelectorOperators)
			ok = false
			continue
		}
		switch e.Operator {
		case "In", "NotIn":
			if len(e.Values) == 0 {
				v.at(src, obj, field+".values", RuleSelector, "operator %s needs at least one value", e.Operator)
				ok = false
			}
		default:
			if len(e.Values) > 0 {
				v.at(src, obj, field+".values", RuleSelector, "operator %s takes no values; remove them", e.Operator)
				ok = false
			}
		}
	}
	if !ok {
		return
	}
	if _, err := metav1.LabelSelectorAsSelector(sel.AsMeta()); err != nil {
		v.at(src, obj, "spec.hostSelector", RuleSelector, "invalid label selector: %v", err)
	}
}

// AsMeta converts the selector to Kubernetes' type.
func (s *LabelSelector) AsMeta() *metav1.LabelSelector {
	if s == nil {
		return nil
	}
	out := &metav1.LabelSelector{MatchLabels: s.MatchLabels}
	for _, e := range s.MatchExpressions {
		out.MatchExpressions = append(out.MatchExpressions, metav1.LabelSelectorRequirement{
			Key: e.Key, Operator: metav1.LabelSelectorOperator(e.Operator), Values: e.Values,
		})
	}
	return out
}

// template checks that a Go template parses. A parse error names the
// template's line and, when the template is a block scalar (| or >), the
// file line it is on; otherwise the field's line.
func (v *validator) template(src Source, obj, field, text string) {
	if text == "" {
		return
	}
	_, err := template.New(field).Option("missingkey=error").Funcs(TemplateFuncs()).Parse(text)
	if err == nil {
		return
	}
	msg := err.Error()
	line := src.LineOf(field)
	// text/template: "template: NAME:LINE: message"
	if rest, ok := strings.CutPrefix(msg, "template: "+field+":"); ok {
		if n, after, ok := strings.Cut(rest, ":"); ok {
			if tl, err := strconv.Atoi(n); err == nil {
				msg = fmt.Sprintf("template line %d:%s", tl, after)
				if node := src.nodeAt(field); node != nil && node.Style&(yaml.LiteralStyle|yaml.FoldedStyle) != 0 {
					last := strings.Count(strings.TrimRight(text, "\n"), "\n") + 1
					line = node.Line + min(tl, last)
				}
			}
		}
	}
	v.problems = append(v.problems, Problem{File: src.File, Line: line, Object: obj, Field: field, Rule: RuleTemplate,
		Message: "template does not parse: " + msg})
}

// TemplateFuncs names the functions that user-data and network-data
// templates may call, beyond Go's built-ins; rendering supplies the real
// implementations under the same names.
func TemplateFuncs() template.FuncMap {
	stub := func(...any) (string, error) { return "", nil }
	return template.FuncMap{
		"toYaml": stub, "toJson": stub, "indent": stub, "nindent": stub, "quote": stub,
		"join": stub, "default": stub, "upper": stub, "lower": stub, "trim": stub, "replace": stub,
	}
}

func (v *validator) templateSecret(src Source, obj, field, name string) {
	if name == "" {
		return
	}
	s := v.ix.Secrets[name]
	if s == nil {
		v.at(src, obj, field, RuleReference, "Secret %q does not exist in the inventory; add a v1 Secret with label %s and key template", name, LabelUserDataTemplateType)
		return
	}
	if v.secretRefs == nil {
		v.secretRefs = map[string]string{}
	}
	if _, seen := v.secretRefs[name]; !seen {
		v.secretRefs[name] = obj + " " + field
	}
	sobj := "Secret/" + name
	if text, ok := s.StringData["template"]; ok {
		v.template(s.Source, sobj, "stringData.template", text)
		return
	}
	enc, ok := s.Data["template"]
	if !ok {
		v.at(s.Source, sobj, "data", RuleSecret, "a template Secret needs the key template (in data or stringData); it is referenced by %s", v.secretRefs[name])
		return
	}
	raw, err := base64.StdEncoding.DecodeString(enc)
	if err != nil {
		v.at(s.Source, sobj, "data.template", RuleSecret, "data.template is not base64: %v; use stringData for plain text", err)
		return
	}
	v.template(s.Source, sobj, "data.template", string(raw))
}

func (v *validator) imageSpec(src Source, obj, field string, img *ImageSpec) {
	if v.required(src, obj, field+".url", img.URL, "give the image URL") {
		v.url(src, obj, field+".url", img.URL)
	}
	v.enum(src, obj, field+".checksumType", img.ChecksumType, ChecksumTypes)
	v.enum(src, obj, field+".format", img.Format, ImageFormats)
	if !v.required(src, obj, field+".checksum", img.Checksum, "give the image's checksum (hex digest)") {
		return
	}
	if !v.re.hex.MatchString(img.Checksum) {
		v.at(src, obj, field+".checksum", RuleChecksum, "checksum is not a hex digest; give the md5, sha256 or sha512 of the image in hex")
		return
	}
	n := len(img.Checksum)
	if want, ok := ChecksumLengths[img.ChecksumType]; ok && n != want {
		v.at(src, obj, field+".checksum", RuleChecksum, "a %s checksum has %d hex digits, this one has %d; fix the checksum or checksumType", img.ChecksumType, want, n)
		return
	}
	if img.ChecksumType == "" && n != 32 && n != 64 && n != 128 {
		v.at(src, obj, field+".checksum", RuleChecksum, "checksum has %d hex digits, which fits none of md5 (32), sha256 (64), sha512 (128); give the image's md5, sha256 or sha512 digest", n)
	}
}

func (v *validator) images() {
	for _, img := range v.inv.OSImages {
		v.imageSpec(img.Source, "OSImage/"+img.Metadata.Name, "spec", &img.Spec)
	}
}

func (v *validator) sshKeys() {
	for _, k := range v.inv.SSHKeys {
		obj := "SSHKey/" + k.Metadata.Name
		if !v.required(k.Source, obj, "spec.publicKey", k.Spec.PublicKey, "paste one authorized_keys line, such as ssh-ed25519 AAAA... user@host") {
			continue
		}
		key := strings.TrimSpace(k.Spec.PublicKey)
		_, _, _, rest, err := ssh.ParseAuthorizedKey([]byte(key))
		switch {
		case strings.Contains(key, "PRIVATE KEY"):
			v.at(k.Source, obj, "spec.publicKey", RuleSSHKey, "this is a private key: remove it from Git at once, rotate it, and paste the public key (the .pub file) instead")
		case strings.HasPrefix(key, "---- BEGIN SSH2 PUBLIC KEY"):
			v.at(k.Source, obj, "spec.publicKey", RuleSSHKey, "an RFC 4716 (SSH2/PuTTY) key; convert it to one OpenSSH line with ssh-keygen -i -f KEYFILE")
		case err != nil:
			v.at(k.Source, obj, "spec.publicKey", RuleSSHKey, "not an SSH public key: want one OpenSSH line, TYPE BASE64 [COMMENT] (such as ssh-ed25519 AAAA... user@host), and the key data must be complete base64 (truncated when pasted?)")
		case len(strings.TrimSpace(string(rest))) > 0:
			v.at(k.Source, obj, "spec.publicKey", RuleSSHKey, "holds more than one key; use one SSHKey per key")
		}
	}
}

func (v *validator) secrets() {
	for _, s := range v.inv.Secrets {
		if _, ok := s.Metadata.Labels[LabelUserDataTemplateType]; ok {
			continue
		}
		ref := ""
		if by, ok := v.secretRefs[s.Metadata.Name]; ok {
			ref = " (it is referenced by " + by + ")"
		}
		v.at(s.Source, "Secret/"+s.Metadata.Name, "metadata.labels", RuleSecret,
			"an inventory Secret is for templates only and must carry the label %s%s; BMC credentials never belong in Git", LabelUserDataTemplateType, ref)
	}
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// isClean reports whether an earlier validation of the same world found
// host h, by its digest, without problems.
func (v *validator) isClean(h *Host) bool {
	d := h.Source.digest
	return d != (Digest{}) && v.clean[d]
}
