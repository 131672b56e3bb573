package render

import (
	"testing"

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
	// Every function schemas validates against exists here.
	for name := range schemas.TemplateFuncs() {
		if _, ok := templateFuncs(MaxDataSize)[name]; !ok {
			t.Errorf("template function %s is not implemented", name)
		}
	}
}
