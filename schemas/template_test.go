package schemas_test

import (
	"errors"
	"io"
	"testing"
	"text/template"

	"github.com/google/go-cmp/cmp"

	"github.com/metalgit/metalgit/schemas"
)

func TestSplitTemplateError(t *testing.T) {
	type split struct {
		Line        int
		Action, Msg string
		OK          bool
	}
	parse := func(text string) error {
		_, err := template.New("spec.userDataTemplate").Funcs(schemas.TemplateFuncs()).Parse(text)
		return err
	}
	execute := func(text string) error {
		tmpl := template.Must(template.New("spec.userDataTemplate").Option("missingkey=error").Parse(text))
		return tmpl.Execute(io.Discard, map[string]any{"Properties": map[string]any{}})
	}
	tests := map[string]struct {
		name string
		err  error
		want split
	}{
		"parse": {"spec.userDataTemplate", parse("a\n{{ .x "),
			split{Line: 2, Msg: "unclosed action", OK: true}},
		"unknown function": {"spec.userDataTemplate", parse("{{ nope }}"),
			split{Line: 1, Msg: `function "nope" not defined`, OK: true}},
		"execution": {"spec.userDataTemplate", execute("a\nb\n{{ .Properties.region }}"),
			split{Line: 3, Action: "<.Properties.region>", Msg: `map has no entry for key "region"`, OK: true}},
		"another template":     {"spec.networkDataTemplate", parse("{{ .x "), split{}},
		"not a template error": {"spec.userDataTemplate", errors.New("template: spec.userDataTemplate"), split{}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			var got split
			got.Line, got.Action, got.Msg, got.OK = schemas.SplitTemplateError(tc.name, tc.err)
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("SplitTemplateError(%q) mismatch (-want +got):\n%s", tc.err, diff)
			}
		})
	}
}
