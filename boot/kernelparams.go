package boot

import (
	"errors"
	"fmt"
	"strings"
)

// Limits of extra kernel parameters.
const (
	// MaxKernelParamLength bounds one parameter, in bytes.
	MaxKernelParamLength = 256
	// MaxKernelParams bounds one list of parameters (the Site's, a
	// host's, the flags'): the x86 kernel command line holds 2048 bytes
	// in all, and the boot proxy's own parameters need room too.
	MaxKernelParams = 32
)

// ErrBadKernelParam is wrapped by every error of CheckKernelParam and
// CheckKernelParams.
var ErrBadKernelParam = errors.New("not a usable kernel parameter")

// ReservedKernelParams are the parameter keys the boot proxy writes into
// every script itself: a host or Site setting them would break the boot
// (initrd= names the initramfs EFI iPXE hands the kernel) or send the
// agent elsewhere.
var ReservedKernelParams = []string{"BOOTIF", "initrd", "ipa-api-url", "ipa-inspection-callback-url"}

// kernelParamFix ends every error of CheckKernelParam.
const kernelParamFix = "write one word, key or key=value, of letters, digits and - _ . , : / = + @ % ~ [ ] (console=ttyS0,115200n8)"

// CheckKernelParam returns nil when s can be written into an iPXE
// script's kernel line as one kernel parameter: key or key=value, at most
// MaxKernelParamLength bytes of ASCII letters, digits and
// - _ . , : / = + @ % ~ [ ], not starting with '-' or '=' and not one of
// ReservedKernelParams.
//
// The set is an allow-list chosen against both readers of the line. iPXE
// splits its command lines on whitespace, expands ${…} settings, reads
// quotes and backslashes, and takes || and && as conditions; a newline
// would start a new command. The kernel splits on whitespace, honours
// double quotes and passes everything after "--" to init. So spaces,
// control characters, quotes, '\', '$', '{', '}', '|', '&', ';', '#',
// '<', '>', '`', '(', ')' and every non-ASCII byte are refused, which
// leaves all that kernel parameters, IPA's options and URLs without a
// query string use (console=ttyS0,115200n8, ipa-debug=1,
// ipa-ntp-server=[fd00::1], rd.net.timeout.carrier=30).
func CheckKernelParam(s string) error {
	why := kernelParamProblem(s)
	if why == "" {
		return nil
	}
	return fmt.Errorf("kernel parameter %s is %w: %s; %s", quoteShort(s), ErrBadKernelParam, why, kernelParamFix)
}

// CheckKernelParams checks each parameter of a list and its length. The
// error lists every bad parameter, with its index.
func CheckKernelParams(params []string) error {
	var bad []string
	if len(params) > MaxKernelParams {
		bad = append(bad, fmt.Sprintf("%d kernel parameters, more than %d; put the common ones in the Site", len(params), MaxKernelParams))
	}
	for i, p := range params {
		if i >= MaxKernelParams {
			break
		}
		if err := CheckKernelParam(p); err != nil {
			bad = append(bad, fmt.Sprintf("[%d]: %v", i, err))
		}
	}
	if len(bad) == 0 {
		return nil
	}
	return &kernelParamsError{bad}
}

// kernelParamsError lists the problems of one list; it wraps
// ErrBadKernelParam.
type kernelParamsError struct{ problems []string }

func (e *kernelParamsError) Error() string { return strings.Join(e.problems, "; ") }
func (e *kernelParamsError) Unwrap() error { return ErrBadKernelParam }

// Check checks both lists (CheckKernelParams); the error names the list
// and the index of each bad parameter (kernelParams.inspector[1]: …) and
// wraps ErrBadKernelParam.
func (k KernelParams) Check() error {
	var bad []string
	for _, l := range []struct {
		name   string
		params []string
	}{{"inspector", k.Inspector}, {"installer", k.Installer}} {
		var e *kernelParamsError
		if errors.As(CheckKernelParams(l.params), &e) {
			for _, p := range e.problems {
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
	return &kernelParamsError{bad}
}

// kernelParamProblem says what is wrong with s, or "" when nothing is.
func kernelParamProblem(s string) string {
	switch {
	case s == "":
		return "it is empty"
	case len(s) > MaxKernelParamLength:
		return fmt.Sprintf("it has %d bytes, more than %d", len(s), MaxKernelParamLength)
	case s[0] == '-':
		return "it starts with '-' (the kernel passes everything after \"--\" to init)"
	case s[0] == '=':
		return "it has no key before '='"
	}
	for i := 0; i < len(s); i++ {
		if !kernelParamByte(s[i]) {
			return fmt.Sprintf("%q at byte %d is not allowed", rune(s[i]), i)
		}
	}
	key, _, _ := strings.Cut(s, "=")
	for _, r := range ReservedKernelParams {
		if key == r {
			return fmt.Sprintf("%s is set by the boot proxy itself", r)
		}
	}
	return ""
}

// kernelParamByte reports whether b may appear in a kernel parameter.
func kernelParamByte(b byte) bool {
	switch {
	case b >= 'a' && b <= 'z', b >= 'A' && b <= 'Z', b >= '0' && b <= '9':
		return true
	}
	return strings.IndexByte("-_.,:/=+@%~[]", b) >= 0
}
