package boot

import (
	"errors"
	"strings"

	"github.com/metalgit/metalgit/internal/kernelparam"
)

// Limits of extra kernel parameters (internal/kernelparam, the rule the
// inventory's checks apply too).
const (
	// MaxKernelParamLength bounds one parameter, in bytes.
	MaxKernelParamLength = kernelparam.MaxLength
	// MaxKernelParams bounds one list of parameters (the Site's, a
	// host's, the flags').
	MaxKernelParams = kernelparam.MaxParams
)

// ErrBadKernelParam is wrapped by every error of CheckKernelParam and
// CheckKernelParams.
var ErrBadKernelParam = kernelparam.ErrBad

// kernelParamFix ends every error of CheckKernelParam.
const kernelParamFix = kernelparam.Fix

// CheckKernelParam returns nil when s can be written into an iPXE
// script's kernel line as one kernel parameter: key or key=value, at most
// MaxKernelParamLength bytes of ASCII letters, digits and
// - _ . , : / = + @ % ~ [ ], not starting with '-' or '=' and not a key
// the boot proxy sets itself (BOOTIF, initrd, ipa-api-url,
// ipa-inspection-callback-url). Spaces, control characters, quotes,
// '\', '$', '{', '}', '|', '&', ';', '#' and the rest are refused:
// iPXE expands ${…}, reads quotes and || and &&, and a newline would
// start a command; the kernel splits on spaces and honours quotes and
// "--". See internal/kernelparam for the reasoning.
func CheckKernelParam(s string) error { return kernelparam.Check(s) }

// CheckKernelParams checks each parameter of a list and its length
// (MaxKernelParams). The error lists every problem, a bad parameter with
// its index.
func CheckKernelParams(params []string) error { return kernelparam.CheckList(params) }

// Check checks both lists (CheckKernelParams); the error names the list
// and the index of each bad parameter (kernelParams.inspector[1]: …) and
// wraps ErrBadKernelParam.
func (k KernelParams) Check() error {
	var bad []string
	for _, l := range []struct {
		name   string
		params []string
	}{{"inspector", k.Inspector}, {"installer", k.Installer}} {
		var e *kernelparam.ListError
		if errors.As(CheckKernelParams(l.params), &e) {
			for _, p := range e.Problems {
				if !strings.HasPrefix(p, "[") {
					p = ": " + p
				}
				bad = append(bad, "kernelParams."+l.name+p)
			}
		}
	}
	if len(bad) == 0 {
		return nil
	}
	return &kernelparam.ListError{Problems: bad}
}
