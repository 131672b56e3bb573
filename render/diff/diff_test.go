package diff_test

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/metalgit/metalgit/render/diff"
)

func TestStreams(t *testing.T) {
	tests := map[string]struct {
		base, head string
		want       []diff.Object
	}{
		"lists of named maps are compared by name": {
			base: "kind: X\nmetadata: {name: a}\nspec:\n  nics: [{name: eno1, mtu: 1500}, {name: eno2, mtu: 1500}]\n",
			head: "kind: X\nmetadata: {name: a}\nspec:\n  nics: [{name: eno0, mtu: 9000}, {name: eno1, mtu: 1500}, {name: eno2, mtu: 9000}]\n",
			want: []diff.Object{{Kind: "X", Name: "a", Change: diff.Changed, Fields: []diff.Field{
				{Path: "spec.nics[name=eno0].mtu", Change: diff.Added, New: "9000"},
				{Path: "spec.nics[name=eno0].name", Change: diff.Added, New: `"eno0"`},
				{Path: "spec.nics[name=eno2].mtu", Change: diff.Changed, Old: "1500", New: "9000"},
			}}},
		},
		"other lists by index; keys with dots quoted": {
			base: "kind: X\nmetadata: {name: a, namespace: n, annotations: {metalgit.dev/ip: 10.0.0.1/24}}\nspec: {addresses: [a, b]}\n",
			head: "kind: X\nmetadata: {name: a, namespace: n, annotations: {metalgit.dev/ip: 10.0.0.2/24}}\nspec: {addresses: [a]}\n",
			want: []diff.Object{{Kind: "X", Namespace: "n", Name: "a", Change: diff.Changed, Fields: []diff.Field{
				{Path: `metadata.annotations["metalgit.dev/ip"]`, Change: diff.Changed, Old: `"10.0.0.1/24"`, New: `"10.0.0.2/24"`},
				{Path: "spec.addresses[1]", Change: diff.Removed, Old: `"b"`},
			}}},
		},
		"a Secret's data and stringData are masked, key by key": {
			base: "kind: Secret\nmetadata: {name: s}\ndata: {a: YQ==, b: Yg==}\n",
			head: "kind: Secret\nmetadata: {name: s}\ndata: {a: YWE=}\nstringData: {c: hunter2}\ntype: Opaque\n",
			want: []diff.Object{{Kind: "Secret", Name: "s", Change: diff.Changed, Fields: []diff.Field{
				{Path: "data.a", Change: diff.Changed, Masked: true},
				{Path: "data.b", Change: diff.Removed, Masked: true},
				{Path: "stringData.c", Change: diff.Added, Masked: true},
				{Path: "type", Change: diff.Added, New: `"Opaque"`},
			}}},
		},
		"sorted by kind, namespace, name": {
			base: "kind: B\nmetadata: {name: x}\n---\nkind: A\nmetadata: {name: z, namespace: n}\n",
			head: "kind: A\nmetadata: {name: y, namespace: n}\n---\nkind: A\nmetadata: {name: z, namespace: m}\n---\nkind: B\nmetadata: {name: x}\n",
			want: []diff.Object{
				{Kind: "A", Namespace: "m", Name: "z", Change: diff.Added},
				{Kind: "A", Namespace: "n", Name: "y", Change: diff.Added},
				{Kind: "A", Namespace: "n", Name: "z", Change: diff.Removed},
			},
		},
		"the same objects in another order": {
			base: "kind: A\nmetadata: {name: a}\n---\nkind: B\nmetadata: {name: b}\n",
			head: "kind: B\nmetadata: {name: b}\n---\nkind: A\nmetadata: {name: a}\n",
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			r, err := diff.Streams([]byte(tc.base), []byte(tc.head))
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(tc.want, r.Objects); d != "" {
				t.Errorf("objects differ (-want +got):\n%s", d)
			}
		})
	}
}

func TestStreamsRefusesDuplicates(t *testing.T) {
	dup := []byte("kind: A\nmetadata: {name: a}\n---\nkind: A\nmetadata: {name: a}\n")
	if _, err := diff.Streams(nil, dup); err == nil || !strings.Contains(err.Error(), "appears twice") {
		t.Errorf("error %v, want one saying the object appears twice", err)
	}
}

// TestMarkdownHostileValues: values and names that hold Markdown or HTML
// stay inside their code block or code span, and an object with many
// changed fields is folded.
func TestMarkdownHostileValues(t *testing.T) {
	var base, head strings.Builder
	base.WriteString("kind: X\nmetadata: {name: a}\nspec:\n")
	head.WriteString("kind: X\nmetadata: {name: a}\nspec:\n")
	for i := range 12 {
		fmt.Fprintf(&base, "  f%d: old\n", i)
		fmt.Fprintf(&head, "  f%d: \"x\\n```\\n</details><img src=x>\"\n", i)
	}
	head.WriteString("---\nkind: X\nmetadata: {name: \"b|`c`\"}\n")
	r, err := diff.Streams([]byte(base.String()), []byte(head.String()))
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := diff.WriteMarkdown(&out, diff.Header{Path: ".", Base: "main", Head: "working tree"}, r); err != nil {
		t.Fatal(err)
	}
	s := out.String()
	for _, bad := range []string{"<img", "\n```\n</details>", "| b|"} {
		if strings.Contains(s, bad) {
			t.Errorf("the output holds %q:\n%s", bad, s)
		}
	}
	for _, want := range []string{"<details><summary>~ X a: 12 fields changed</summary>", "| added | `X` |  | `` b\\|`c` `` |"} {
		if !strings.Contains(s, want) {
			t.Errorf("the output lacks %q:\n%s", want, s)
		}
	}
}
