package schemas

import "github.com/metalgit/metalgit/internal/kernelparam"

// kernelParams checks the inspector and installer lists of a Site's
// spec.bootProxy.kernelParams or a Host's spec.kernelParams: each
// parameter must be one word the boot proxy can write into an iPXE
// script (internal/kernelparam), and a list at most kernelparam.MaxParams
// long.
func (v *validator) kernelParams(src Source, obj, field string, kp *KernelParams) {
	if kp == nil {
		return
	}
	for _, l := range []struct {
		name   string
		params []string
	}{{"inspector", kp.Inspector}, {"installer", kp.Installer}} {
		f := field + "." + l.name
		if len(l.params) > kernelparam.MaxParams {
			v.at(src, obj, f, RuleKernelParam, "%d kernel parameters, more than %d; keep the ones every host needs in the Site's spec.bootProxy.kernelParams",
				len(l.params), kernelparam.MaxParams)
			continue
		}
		for i, p := range l.params {
			if why := kernelparam.Problem(p); why != "" {
				v.at(src, obj, joinIndex(f, i), RuleKernelParam, "kernel parameter %s: %s; %s", quote(p), why, kernelparam.Fix)
			}
		}
	}
}
