package schemas

import (
	"regexp"
	"strconv"
	"text/template"
)

// TemplateFuncNames names the functions, beyond Go's built-ins, that
// user-data and network-data templates may call: Helm's functions of the
// same names. Validation parses templates with them (TemplateFuncs);
// render implements each, and its tests hold the two lists together.
func TemplateFuncNames() []string {
	return []string{"toYaml", "toJson", "indent", "nindent", "quote", "join", "default", "upper", "lower", "trim", "replace"}
}

// TemplateFuncs maps every name of TemplateFuncNames to a stub: enough to
// parse a template, not to run it.
func TemplateFuncs() template.FuncMap {
	stub := func(...any) (string, error) { return "", nil }
	funcs := template.FuncMap{}
	for _, name := range TemplateFuncNames() {
		funcs[name] = stub
	}
	return funcs
}

// templateErrRE matches text/template's errors:
// "template: NAME:LINE: msg" (parse) and
// "template: NAME:LINE:COL: executing "NAME" at <.x>: msg" (execution).
var templateErrRE = regexp.MustCompile(`(?s)^template: ([^:]*):(\d+)(?::\d+)?: (?:executing "[^"]*" at (<[^>]*>): )?(.*)$`)

// SplitTemplateError takes apart an error text/template returned for the
// template named name: the template line it is on, the action that failed
// to run ("<.Properties.x>"; "" for a template that does not parse) and
// the message without text/template's prefix. ok is false for any other
// error, which callers show as it is.
func SplitTemplateError(name string, err error) (line int, action, msg string, ok bool) {
	m := templateErrRE.FindStringSubmatch(err.Error())
	if m == nil || m[1] != name {
		return 0, "", "", false
	}
	line, convErr := strconv.Atoi(m[2])
	if convErr != nil {
		return 0, "", "", false
	}
	return line, m[3], m[4], true
}
