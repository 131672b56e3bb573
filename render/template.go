package render

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"text/template"

	yaml "go.yaml.in/yaml/v3"

	"github.com/metalgit/metalgit/schemas"
)

// templateErrRE matches text/template's errors:
// "template: NAME:LINE: msg" (parse) and
// "template: NAME:LINE:COL: executing "NAME" at <.x>: msg" (execution).
var templateErrRE = regexp.MustCompile(`(?s)^template: ([^:]*):(\d+)(?::\d+)?: (?:executing "[^"]*" at (<[^>]*>): )?(.*)$`)

// templateError is a template that does not parse or fails to execute,
// reshaped as "FIELD: template line N: message".
type templateError struct {
	field string
	line  int // 0 when unknown
	rule  schemas.Rule
	msg   string
	err   error
}

func (e *templateError) Error() string {
	if e.line > 0 {
		return fmt.Sprintf("%s: template line %d: %s", e.field, e.line, e.msg)
	}
	return fmt.Sprintf("%s: %s", e.field, e.msg)
}

func (e *templateError) Unwrap() error { return e.err }

func reshapeTemplateError(field string, err error) *templateError {
	te := &templateError{field: field, rule: schemas.RuleTemplate, msg: err.Error(), err: err}
	if m := templateErrRE.FindStringSubmatch(err.Error()); m != nil && m[1] == field {
		te.line, _ = strconv.Atoi(m[2])
		te.msg = m[4]
		if expr := m[3]; expr != "" {
			te.msg = expr + ": " + m[4] + missingKeyHint(expr, m[4])
		}
	}
	return te
}

// missingKeyHint says how to fix a key or field a template asks for and
// its data does not have.
func missingKeyHint(expr, msg string) string {
	path := strings.TrimSuffix(strings.TrimPrefix(expr, "<"), ">")
	if strings.HasPrefix(msg, "can't evaluate field ") {
		switch {
		case strings.HasPrefix(path, ".Machine."):
			return "; .Machine has .Name, .NodeType and .Set"
		case strings.HasPrefix(path, ".Host."):
			return "; .Host has .Name, .Labels, .BootMACAddress and .Interfaces"
		}
		return ""
	}
	if !strings.HasPrefix(msg, "map has no entry for key ") {
		return ""
	}
	if strings.HasPrefix(path, ".") && !strings.ContainsAny(path[1:], ". ") {
		return "; templates see .Machine, .Host, .Properties, .SSHKeys, .AllocatedIP, .Gateway, .Prefix and .DNSServers"
	}
	if rest, ok := strings.CutPrefix(path, ".Properties."); ok && !strings.ContainsAny(rest, " ") {
		return fmt.Sprintf("; set properties.%s (on the Site, NodeType, MachineSet or Machine), or guard it: {{ with index .Properties %q }}...{{ end }}", rest, strings.Split(rest, ".")[0])
	}
	return ""
}

// templateCache holds parsed templates by field and text, so that one
// render parses each template once rather than once per machine. It is
// safe for concurrent use; nil parses every time.
type templateCache struct {
	mu     sync.Mutex
	parsed map[[2]string]parsedTemplate
}

type parsedTemplate struct {
	t   *template.Template
	err *templateError
}

// parse parses a user-data or network-data template named after its
// field, with missing keys an error and the functions of templateFuncs.
// A template that calls a template ({{ template }}, {{ block }}) is
// refused.
func (c *templateCache) parse(field, text string) (*template.Template, *templateError) {
	key := [2]string{field, text}
	if c != nil {
		c.mu.Lock()
		p, ok := c.parsed[key]
		c.mu.Unlock()
		if ok {
			return p.t, p.err
		}
	}
	var p parsedTemplate
	t, err := template.New(field).Option("missingkey=error").Funcs(templateFuncs(MaxDataSize)).Parse(text)
	switch {
	case err != nil:
		p.err = reshapeTemplateError(field, err)
	case templateCall(t.Root) > 0:
		p.err = &templateError{field: field, line: templateCall(t.Root), rule: schemas.RuleTemplate,
			msg: "{{ template }} and {{ block }} are not allowed in user-data and network-data templates (a template that calls itself runs without end); write the text where it is needed"}
	default:
		p.t = t
	}
	if c != nil {
		c.mu.Lock()
		if c.parsed == nil {
			c.parsed = map[[2]string]parsedTemplate{}
		}
		c.parsed[key] = p
		c.mu.Unlock()
	}
	return p.t, p.err
}

// execute runs a template with data. Its output is bounded by
// MaxDataSize: the write that would pass it stops the template.
func (c *templateCache) execute(field, text string, data any) (string, error) {
	t, perr := c.parse(field, text)
	if perr != nil {
		return "", perr
	}
	w := &limitWriter{max: MaxDataSize}
	if err := t.Execute(w, data); err != nil {
		if errors.Is(err, errDataTooLarge) {
			return "", &templateError{field: field, rule: schemas.RuleDataSize, msg: sizeMessage("template's output", MaxDataSize), err: err}
		}
		return "", reshapeTemplateError(field, err)
	}
	return string(w.buf), nil
}

// executeTemplate runs a template without a cache.
func executeTemplate(field, text string, data any) (string, error) {
	var c *templateCache
	return c.execute(field, text, data)
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
