package render

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"reflect"
	"strconv"
	"strings"
	"text/template"
	"unicode/utf8"

	yaml "go.yaml.in/yaml/v3"
)

// templateFuncs returns the functions of user-data and network-data
// templates: helmFuncs and cappedBuiltins, with results capped at limit
// bytes.
func templateFuncs(limit int) template.FuncMap {
	l := funcLimit{max: limit}
	funcs := helmFuncs(l)
	maps.Copy(funcs, cappedBuiltins(l))
	return funcs
}

// helmFuncs implements, with Helm's semantics, the functions that
// schemas.TemplateFuncNames names: validation parses templates with
// those names, so this map has exactly them (TestTemplateFuncNames).
func helmFuncs(l funcLimit) template.FuncMap {
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
	}
}

// cappedBuiltins replaces Go's built-in functions that build strings
// (print, printf, println, html, js, urlquery) with the same functions
// under the size cap of funcLimit.
func cappedBuiltins(l funcLimit) template.FuncMap {
	return template.FuncMap{
		"print":    func(args ...any) (string, error) { return l.check("print", fmt.Sprint(args...), nil) },
		"println":  func(args ...any) (string, error) { return l.check("println", fmt.Sprintln(args...), nil) },
		"printf":   func(format string, args ...any) (string, error) { return l.printf("printf", format, args...) },
		"html":     func(args ...any) (string, error) { return l.check("html", template.HTMLEscaper(args...), nil) },
		"js":       func(args ...any) (string, error) { return l.check("js", template.JSEscaper(args...), nil) },
		"urlquery": func(args ...any) (string, error) { return l.check("urlquery", template.URLQueryEscaper(args...), nil) },
	}
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

// jsonPlain turns v into JSON-shaped values (maps, lists, json.Number, strings,
// bools) so that structs are spelt by their json tags and maps sort.
func jsonPlain(v any) (any, error) {
	raw, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var out any
	if err := dec.Decode(&out); err != nil {
		return nil, err
	}
	return jsonNumbers(out), nil
}

// jsonNumbers turns json.Numbers into int64 or float64, which YAML spells as
// numbers.
func jsonNumbers(v any) any {
	switch t := v.(type) {
	case map[string]any:
		for k, x := range t {
			t[k] = jsonNumbers(x)
		}
	case []any:
		for i, x := range t {
			t[i] = jsonNumbers(x)
		}
	case json.Number:
		if i, err := t.Int64(); err == nil {
			return i
		}
		if f, err := t.Float64(); err == nil {
			return f
		}
		return t.String()
	}
	return v
}

// tfToYAML renders v as block YAML with 2-space indentation and no trailing
// newline, like Helm's toYaml.
func tfToYAML(v any) (string, error) {
	p, err := jsonPlain(v)
	if err != nil {
		return "", err
	}
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(p); err != nil {
		return "", err
	}
	if err := enc.Close(); err != nil {
		return "", err
	}
	return strings.TrimSuffix(buf.String(), "\n"), nil
}

// tfToJSON renders v as compact JSON, like Helm's toJson.
func tfToJSON(v any) (string, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return "", err
	}
	return strings.TrimSuffix(buf.String(), "\n"), nil
}

func tfIndent(n int, s string) string {
	pad := strings.Repeat(" ", n)
	return pad + strings.ReplaceAll(s, "\n", "\n"+pad)
}

// tfStrval spells a value as Helm does.
func tfStrval(v any) string {
	switch t := v.(type) {
	case string:
		return t
	case []byte:
		return string(t)
	case error:
		return t.Error()
	case fmt.Stringer:
		return t.String()
	}
	return fmt.Sprintf("%v", v)
}

// tfQuote double-quotes each non-nil argument and joins them with spaces.
func tfQuote(args ...any) string {
	var out []string
	for _, a := range args {
		if a != nil {
			out = append(out, strconv.Quote(tfStrval(a)))
		}
	}
	return strings.Join(out, " ")
}

// tfDefault returns the given value unless it is missing or empty (nil, zero,
// "", an empty list or map, false), else d. Note that under missingkey=error
// {{ .Properties.x | default 1 }} still fails for a missing x; write
// {{ index .Properties "x" | default 1 }}.
func tfDefault(d any, given ...any) any {
	if len(given) == 0 || tfEmpty(given[0]) {
		return d
	}
	return given[0]
}

func tfEmpty(v any) bool {
	if v == nil {
		return true
	}
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.Array, reflect.Map, reflect.Slice, reflect.String:
		return rv.Len() == 0
	case reflect.Pointer, reflect.Interface:
		return rv.IsNil()
	case reflect.Struct:
		return false
	}
	return rv.IsZero()
}
