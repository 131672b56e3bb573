package render

import (
	"errors"
	"fmt"
	"strings"

	"github.com/metalgit/metalgit/schemas"
)

// dataError is a user-data or network-data that cannot be rendered,
// placed in the document and field it comes from.
type dataError struct {
	object string // NodeType/x, Secret/s, Host/h, IPPool/p
	field  string // spec.userDataTemplate, stringData.template, spec.interfaces[1].bond
	// via names what refers to a template Secret:
	// "NodeType/x spec.userDataTemplateSecret".
	via  string
	line int // template line, 0 for none
	rule schemas.Rule
	msg  string
	err  error
}

// Error spells the failure as
// "[VIA: ]OBJECT FIELD: [template line N: ]message".
func (e *dataError) Error() string {
	var b strings.Builder
	if e.via != "" {
		b.WriteString(e.via + ": ")
	}
	b.WriteString(e.object)
	if e.field != "" {
		b.WriteString(" " + e.field)
	}
	b.WriteString(": ")
	if e.line > 0 {
		fmt.Fprintf(&b, "template line %d: ", e.line)
	}
	b.WriteString(e.msg)
	return b.String()
}

func (e *dataError) Unwrap() error { return e.err }

// hostError is a dataError about a field of Host/host.
func hostError(host, field, format string, args ...any) *dataError {
	return &dataError{object: schemas.ObjectRef(schemas.KindHost, host), field: field, rule: schemas.RuleNetworkData, msg: fmt.Sprintf(format, args...)}
}

// failures collects the data that cannot be rendered as problems: one per
// document, field, template line and message, naming the first machine
// or host it failed for and counting the others. At most
// schemas.MaxProblemsPerDocument are kept per document.
type failures struct {
	ix     *schemas.Index
	byKey  map[failureKey]*failure
	perDoc map[string]int
	total  int // failures added, counted or not
}

type failureKey struct {
	object, field, via, msg string
	line                    int
	rule                    schemas.Rule
}

type failure struct {
	context string // "user-data of Machine/x on Host/y"
	more    int    // further machines or hosts it failed for
}

// add records err, which happened while rendering what context names.
// Errors that are not dataErrors are put on fallback (Kind/name).
func (f *failures) add(err error, context, fallback string) {
	var de *dataError
	if !errors.As(err, &de) {
		de = &dataError{object: fallback, rule: schemas.RuleValue, msg: err.Error()}
	}
	f.total++
	k := failureKey{object: de.object, field: de.field, via: de.via, msg: de.msg, line: de.line, rule: de.rule}
	if f.byKey == nil {
		f.byKey, f.perDoc = map[failureKey]*failure{}, map[string]int{}
	}
	if e, ok := f.byKey[k]; ok {
		e.more++
		e.context = min(e.context, context) // the same whatever the order
		return
	}
	f.perDoc[de.object]++
	if f.perDoc[de.object] > schemas.MaxProblemsPerDocument {
		return
	}
	f.byKey[k] = &failure{context: context}
}

// len is the number of failures added, each counted.
func (f *failures) len() int { return f.total }

// problems returns the failures as problems, sorted, each located at the
// file and line of its field (for a template written as a block scalar,
// at the template's line).
func (f *failures) problems() schemas.Problems {
	if len(f.byKey) == 0 {
		return nil
	}
	out := make(schemas.Problems, 0, len(f.byKey))
	for k, e := range f.byKey {
		msg := k.msg
		if k.line > 0 {
			msg = fmt.Sprintf("template line %d: %s", k.line, msg)
		}
		where := e.context
		if e.more == 1 {
			where += ", and 1 more"
		} else if e.more > 1 {
			where += fmt.Sprintf(", and %d more", e.more)
		}
		if k.via != "" {
			where += ", through " + k.via
		}
		p := schemas.Problem{Object: k.object, Field: k.field, Rule: k.rule, Message: msg + " (" + where + ")"}
		if src, ok := f.source(k.object); ok {
			p.File = src.File
			p.Line = src.LineOf(k.field)
			if k.line > 0 {
				p.Line = src.TemplateLine(k.field, k.line)
			}
		}
		out = append(out, p)
	}
	for object, n := range f.perDoc {
		if n > schemas.MaxProblemsPerDocument {
			p := schemas.Problem{Object: object, Rule: schemas.RuleValue,
				Message: fmt.Sprintf("more than %d problems in this document; fix the ones above and validate again", schemas.MaxProblemsPerDocument)}
			if src, ok := f.source(object); ok {
				p.File, p.Line = src.File, src.Line
			}
			out = append(out, p)
		}
	}
	out.Sort()
	return out
}

// source returns the Source of the document Kind/name.
func (f *failures) source(object string) (schemas.Source, bool) {
	kind, name, _ := schemas.SplitObjectRef(object)
	switch kind {
	case schemas.KindNodeType:
		if o := f.ix.NodeTypes[name]; o != nil {
			return o.Source, true
		}
	case schemas.KindHost:
		if o := f.ix.Hosts[name]; o != nil {
			return o.Source, true
		}
	case schemas.KindIPPool:
		if o := f.ix.IPPools[name]; o != nil {
			return o.Source, true
		}
	case schemas.KindSecret:
		if o := f.ix.Secrets[name]; o != nil {
			return o.Source, true
		}
	case schemas.KindMachineSet:
		if o := f.ix.MachineSets[name]; o != nil {
			return o.Source, true
		}
	case schemas.KindMachine:
		if o := f.ix.Machines[name]; o != nil {
			return o.Source, true
		}
	case schemas.KindSite:
		if s := f.ix.Site; s != nil && s.Metadata.Name == name {
			return s.Source, true
		}
	}
	return schemas.Source{}, false
}
