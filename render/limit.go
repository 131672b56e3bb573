package render

import (
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"text/template"
	"text/template/parse"
	"unicode/utf8"
)

// MaxDataSize bounds each user-data and each network-data render writes,
// in bytes: 48 KiB.
//
// Why: the Bare Metal Operator hands both to Ironic in one provisioning
// request (the config drive, with the meta-data), and Ironic's API, behind
// oslo.middleware's request size limit, refuses a body over 114688 bytes
// (112 KiB, max_request_body_size) by default. Two times 48 KiB leaves
// 16 KiB for the meta-data, JSON escaping and the rest of the request. A
// Kubernetes Secret (at most 1 MiB) holds 48 KiB with room to spare.
const MaxDataSize = 48 << 10

// errDataTooLarge is what a limitWriter returns once the limit is passed.
var errDataTooLarge = errors.New("output passed the size limit")

// limitWriter collects a template's output and fails the write that would
// take it past max bytes, which stops the template there.
type limitWriter struct {
	buf []byte
	max int
}

func (w *limitWriter) Write(p []byte) (int, error) {
	if len(w.buf)+len(p) > w.max {
		return 0, errDataTooLarge
	}
	w.buf = append(w.buf, p...)
	return len(p), nil
}

// sizeLimitText spells the limit for messages: "48 KiB (49152 bytes)".
func sizeLimitText(n int) string {
	if n%1024 == 0 {
		return fmt.Sprintf("%d KiB (%d bytes)", n/1024, n)
	}
	return fmt.Sprintf("%d bytes", n)
}

// sizeMessage is the message of a user-data or network-data over the limit.
func sizeMessage(what string, limit int) string {
	return fmt.Sprintf("the %s passed %s, the limit per user-data and per network-data (Ironic takes both in one provisioning request); make it smaller, for example by moving files into the OS image", what, sizeLimitText(limit))
}

// funcLimit caps what the template functions return, so that no call
// builds a string larger than a whole user-data may be: without it,
// {{ $s = print $s $s }} in a loop, or {{ indent 1000000000 "x" }},
// would take all memory before anything is written. Functions whose
// result can outgrow their arguments many times over check the size
// before they build it.
type funcLimit struct{ max int }

func (l funcLimit) check(name string, s string, err error) (string, error) {
	if err != nil {
		return "", err
	}
	if len(s) > l.max {
		return "", l.tooLarge(name, len(s))
	}
	return s, nil
}

func (l funcLimit) tooLarge(name string, n int) error {
	return fmt.Errorf("%s would return %d bytes, more than a whole user-data or network-data may hold (%s)", name, n, sizeLimitText(l.max))
}

// indent checks the size of indent's result before building it.
func (l funcLimit) indent(name string, n int, s string) (string, error) {
	if n < 0 {
		return "", fmt.Errorf("%s: width %d is negative", name, n)
	}
	lines := strings.Count(s, "\n") + 1
	if n > l.max || len(s)+n*lines > l.max {
		return "", l.tooLarge(name, len(s)+min(n, l.max+1)*lines)
	}
	return tfIndent(n, s), nil
}

// replace checks the size of replace's result before building it.
func (l funcLimit) replace(from, to, s string) (string, error) {
	if growth := len(to) - len(from); growth > 0 {
		count := strings.Count(s, from)
		if from == "" {
			count = utf8.RuneCountInString(s) + 1
		}
		if count > 0 && (growth > l.max || count > (l.max-len(s))/growth) {
			return "", l.tooLarge("replace", len(s)+min(count, l.max+1)*min(growth, l.max+1))
		}
	}
	return strings.ReplaceAll(s, from, to), nil
}

// join checks the size of join's result before building it.
func (l funcLimit) join(sep string, v any) (string, error) {
	parts, ok := joinParts(v)
	if !ok {
		return l.check("join", tfStrval(v), nil)
	}
	size := 0
	for i, p := range parts {
		if i > 0 {
			size += len(sep)
		}
		size += len(p)
		if size > l.max {
			return "", l.tooLarge("join", size)
		}
	}
	return strings.Join(parts, sep), nil
}

// printf checks the padding the format asks for before formatting: each
// width or precision may ask for up to a million bytes (fmt's own cap).
func (l funcLimit) printf(name, format string, args ...any) (string, error) {
	if pad := printfPadding(format, args); pad > l.max {
		return "", l.tooLarge(name, pad)
	}
	return l.check(name, fmt.Sprintf(format, args...), nil)
}

// printfPadding returns an upper bound of the widths and precisions the
// verbs of a printf format ask for. A width or precision given as * counts
// as the largest integer argument.
func printfPadding(format string, args []any) int {
	star := 0
	for _, a := range args {
		if n, ok := a.(int); ok {
			star = max(star, n)
		}
	}
	total := 0
	for i := 0; i < len(format); i++ {
		if format[i] != '%' {
			continue
		}
		for i++; i < len(format); i++ {
			c := format[i]
			if c == '*' {
				total += star
				continue
			}
			if c >= '0' && c <= '9' {
				j := i
				for j < len(format) && format[j] >= '0' && format[j] <= '9' {
					j++
				}
				n, err := strconv.Atoi(format[i:j])
				if err != nil {
					n = 1 << 30
				}
				total += n
				i = j - 1
				continue
			}
			if strings.IndexByte("+-# .[]", c) < 0 {
				break // the verb
			}
		}
		if total > 1<<30 {
			return total
		}
	}
	return total
}

// templateFuncs implements, with Helm's semantics, the functions that
// schemas.TemplateFuncs names, and replaces Go's built-in functions that
// build strings (print, printf, println, html, js, urlquery) with the
// same functions under the size cap of funcLimit.
func templateFuncs(limit int) template.FuncMap {
	l := funcLimit{max: limit}
	return template.FuncMap{
		"toYaml":  func(v any) (string, error) { s, err := tfToYAML(v); return l.check("toYaml", s, err) },
		"toJson":  func(v any) (string, error) { s, err := tfToJSON(v); return l.check("toJson", s, err) },
		"indent":  func(n int, s string) (string, error) { return l.indent("indent", n, s) },
		"nindent": func(n int, s string) (string, error) { s, err := l.indent("nindent", n, s); return "\n" + s, err },
		"quote":   func(args ...any) (string, error) { return l.check("quote", tfQuote(args...), nil) },
		"join":    l.join,
		"default": tfDefault,
		"upper":   func(s string) (string, error) { return l.check("upper", strings.ToUpper(s), nil) },
		"lower":   func(s string) (string, error) { return l.check("lower", strings.ToLower(s), nil) },
		"trim":    strings.TrimSpace,
		"replace": l.replace,

		"print":    func(args ...any) (string, error) { return l.check("print", fmt.Sprint(args...), nil) },
		"println":  func(args ...any) (string, error) { return l.check("println", fmt.Sprintln(args...), nil) },
		"printf":   func(format string, args ...any) (string, error) { return l.printf("printf", format, args...) },
		"html":     func(args ...any) (string, error) { return l.check("html", template.HTMLEscaper(args...), nil) },
		"js":       func(args ...any) (string, error) { return l.check("js", template.JSEscaper(args...), nil) },
		"urlquery": func(args ...any) (string, error) { return l.check("urlquery", template.URLQueryEscaper(args...), nil) },
	}
}

// joinParts spells the non-nil elements of a list; ok is false when v is
// not a list.
func joinParts(v any) ([]string, bool) {
	if v == nil {
		return nil, true
	}
	if t, ok := v.([]string); ok {
		return t, true
	}
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Slice && rv.Kind() != reflect.Array {
		return nil, false
	}
	var parts []string
	for i := range rv.Len() {
		if e := rv.Index(i).Interface(); e != nil {
			parts = append(parts, tfStrval(e))
		}
	}
	return parts, true
}

// templateCall finds a {{ template }} or {{ block }} action in a parsed
// template: a template that calls itself, twice per call, runs without
// end and writes nothing, so neither is allowed. It returns the action's
// line, 0 when there is none.
func templateCall(n parse.Node) int {
	switch n := n.(type) {
	case *parse.ListNode:
		if n == nil {
			return 0
		}
		for _, c := range n.Nodes {
			if line := templateCall(c); line > 0 {
				return line
			}
		}
	case *parse.IfNode:
		return max(templateCall(n.List), templateCall(n.ElseList))
	case *parse.RangeNode:
		return max(templateCall(n.List), templateCall(n.ElseList))
	case *parse.WithNode:
		return max(templateCall(n.List), templateCall(n.ElseList))
	case *parse.TemplateNode:
		return n.Line
	}
	return 0
}
