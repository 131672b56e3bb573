package render

import (
	"maps"
	"slices"
	"testing"
	"text/template"

	"github.com/google/go-cmp/cmp"

	"github.com/metalgit/metalgit/schemas"
)

func TestTemplateFuncs(t *testing.T) {
	data := map[string]any{
		"list":  []any{"a", nil, 2},
		"strs":  []string{"x", "y"},
		"props": map[string]any{"b": map[string]any{"c": []any{1, 2.5}}, "a": "yes"},
		"empty": "",
		"zero":  0,
	}
	tests := map[string]struct{ tmpl, want string }{
		"toYaml":           {`{{ toYaml .props }}`, "a: \"yes\"\nb:\n  c:\n    - 1\n    - 2.5"},
		"toJson":           {`{{ toJson .props }}`, `{"a":"yes","b":{"c":[1,2.5]}}`},
		"indent":           {`{{ indent 2 "a\nb" }}`, "  a\n  b"},
		"nindent":          {`{{ nindent 2 "a\nb" }}`, "\n  a\n  b"},
		"quote":            {`{{ quote "a\"b" 1 }}`, `"a\"b" "1"`},
		"join any":         {`{{ join "," .list }}`, "a,2"},
		"join strings":     {`{{ join "-" .strs }}`, "x-y"},
		"default empty":    {`{{ .empty | default "d" }}`, "d"},
		"default zero":     {`{{ .zero | default 7 }}`, "7"},
		"default set":      {`{{ "v" | default "d" }}`, "v"},
		"default missing":  {`{{ index .props "nope" | default "d" }}`, "d"},
		"upper lower trim": {`{{ upper "a" }}{{ lower "B" }}{{ trim "  c " }}`, "Abc"},
		"replace":          {`{{ "a.b.c" | replace "." "-" }}`, "a-b-c"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, err := executeTemplate("t", tc.tmpl, data)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

// TestTemplateFuncNames holds render's functions and the names validation
// parses templates with together: render implements exactly the functions
// schemas.TemplateFuncNames names, and replaces only Go's built-ins.
func TestTemplateFuncNames(t *testing.T) {
	l := funcLimit{max: MaxDataSize}
	want := slices.Sorted(slices.Values(schemas.TemplateFuncNames()))
	if diff := cmp.Diff(want, slices.Sorted(maps.Keys(helmFuncs(l)))); diff != "" {
		t.Errorf("render's functions differ from schemas.TemplateFuncNames (-schemas +render):\n%s", diff)
	}
	for name := range schemas.TemplateFuncs() {
		if _, ok := templateFuncs(MaxDataSize)[name]; !ok {
			t.Errorf("template function %s is not implemented", name)
		}
	}
	for name := range cappedBuiltins(l) {
		// A built-in parses without any function map.
		if _, err := template.New("t").Parse("{{ " + name + " }}"); err != nil {
			t.Errorf("%s is not one of Go's built-in template functions: %v", name, err)
		}
		if slices.Contains(want, name) {
			t.Errorf("%s is both a Helm function and a capped built-in", name)
		}
	}
}
