package schemas

import (
	"slices"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// nodeTypes checks every NodeType: resources, the pool, image and SSH keys
// it names, its templates and its host selector.
func (v *validator) nodeTypes() {
	for _, nt := range v.inv.NodeTypes {
		obj, src, spec := ObjectRef(KindNodeType, nt.Metadata.Name), nt.Source, &nt.Spec
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

// selector checks a node type's host selector: each expression's key,
// operator and values, then the whole as Kubernetes parses it.
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
