// Package kernelparam owns the rule for the extra kernel parameters
// metalgit writes into iPXE scripts: the inventory's checks (schemas) and
// the boot proxy's (boot) apply this one rule.
package kernelparam

import (
	"errors"
	"fmt"
	"strings"
)

// Limits of extra kernel parameters.
const (
	// MaxLength bounds one parameter, in bytes.
	MaxLength = 256
	// MaxParams bounds one list of parameters (the Site's, a host's, the
	// flags'): the x86 kernel command line holds 2048 bytes in all, and
	// the boot proxy's own parameters need room too.
	MaxParams = 32
)

// ErrBad is wrapped by every error of Check and CheckList.
var ErrBad = errors.New("not a usable kernel parameter")

// Reserved are the parameter keys the boot proxy writes into every script
// itself: a host or Site setting them would break the boot (initrd= names
// the initramfs EFI iPXE hands the kernel) or send the agent elsewhere.
var Reserved = []string{"BOOTIF", "initrd", "ipa-api-url", "ipa-inspection-callback-url"}

// Fix ends every error of Check.
const Fix = "write one word, key or key=value, of letters, digits and - _ . , : / = + @ % ~ [ ] (console=ttyS0,115200n8)"

// Check returns nil when s can be written into an iPXE script's kernel
// line as one kernel parameter: key or key=value, at most MaxLength bytes
// of ASCII letters, digits and - _ . , : / = + @ % ~ [ ], not starting
// with '-' or '=' and not one of Reserved.
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
func Check(s string) error {
	why := Problem(s)
	if why == "" {
		return nil
	}
	return fmt.Errorf("kernel parameter %s is %w: %s; %s", quoteShort(s), ErrBad, why, Fix)
}

// CheckList checks a list's length and each of its parameters. The error
// lists every problem, a bad parameter with its index ("[1]: kernel
// parameter …"); Problems returns them one by one.
func CheckList(params []string) error {
	var bad []string
	if len(params) > MaxParams {
		bad = append(bad, fmt.Sprintf("%d kernel parameters, more than %d; put the common ones in the Site", len(params), MaxParams))
	}
	for i, p := range params {
		if i >= MaxParams {
			break
		}
		if err := Check(p); err != nil {
			bad = append(bad, fmt.Sprintf("[%d]: %v", i, err))
		}
	}
	if len(bad) == 0 {
		return nil
	}
	return &ListError{Problems: bad}
}

// ListError lists the problems of one list; it wraps ErrBad.
type ListError struct{ Problems []string }

func (e *ListError) Error() string { return strings.Join(e.Problems, "; ") }

// Unwrap returns ErrBad.
func (e *ListError) Unwrap() error { return ErrBad }

// Problem says what is wrong with s, or "" when nothing is.
func Problem(s string) string {
	switch {
	case s == "":
		return "it is empty"
	case len(s) > MaxLength:
		return fmt.Sprintf("it has %d bytes, more than %d", len(s), MaxLength)
	case s[0] == '-':
		return "it starts with '-' (the kernel passes everything after \"--\" to init)"
	case s[0] == '=':
		return "it has no key before '='"
	}
	for i := 0; i < len(s); i++ {
		if !allowed(s[i]) {
			return fmt.Sprintf("%q at byte %d is not allowed", rune(s[i]), i)
		}
	}
	key, _, _ := strings.Cut(s, "=")
	for _, r := range Reserved {
		if key == r {
			return fmt.Sprintf("%s is set by the boot proxy itself", r)
		}
	}
	return ""
}

// allowed reports whether b may appear in a kernel parameter.
func allowed(b byte) bool {
	switch {
	case b >= 'a' && b <= 'z', b >= 'A' && b <= 'Z', b >= '0' && b <= '9':
		return true
	}
	return strings.IndexByte("-_.,:/=+@%~[]", b) >= 0
}

// quoteShort quotes s for a message, cut to its first 64 bytes.
func quoteShort(s string) string {
	const keep = 64
	if len(s) <= keep {
		return fmt.Sprintf("%q", s)
	}
	return fmt.Sprintf("%q… (%d bytes)", s[:keep], len(s))
}
