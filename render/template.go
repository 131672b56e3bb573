package render

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"text/template"
	"text/template/parse"

	"github.com/metalgit/metalgit/schemas"
)

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

// reshapeTemplateError reshapes an error of the template named after
// field (schemas.SplitTemplateError), with a hint for a missing key.
func reshapeTemplateError(field string, err error) *templateError {
	te := &templateError{field: field, rule: schemas.RuleTemplate, msg: err.Error(), err: err}
	if line, action, msg, ok := schemas.SplitTemplateError(field, err); ok {
		te.line, te.msg = line, msg
		if action != "" {
			te.msg = action + ": " + msg + missingKeyHint(action, msg)
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
