package render

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/metalgit/metalgit/schemas"
)

// TestTemplateOutputLimit: a template's output may reach MaxDataSize and
// not pass it; the write that would pass it stops the template, however
// much more it would write.
func TestTemplateOutputLimit(t *testing.T) {
	data := map[string]any{"list": make([]any, 1000)}
	const tooLarge = "t: the template's output passed 48 KiB (49152 bytes), the limit per user-data and per network-data (Ironic takes both in one provisioning request); make it smaller, for example by moving files into the OS image"
	tests := map[string]struct {
		tmpl    string
		wantLen int
		wantErr string
	}{
		"exactly the limit":         {tmpl: strings.Repeat("x", MaxDataSize), wantLen: MaxDataSize},
		"one byte over, literally":  {tmpl: strings.Repeat("x", MaxDataSize+1), wantErr: tooLarge},
		"the limit, from a loop":    {tmpl: `{{ range 49152 }}x{{ end }}`, wantLen: MaxDataSize},
		"one byte over, in a loop":  {tmpl: `{{ range 49153 }}x{{ end }}`, wantErr: tooLarge},
		"a billion iterations":      {tmpl: `{{ range 1000000000 }}x{{ end }}`, wantErr: tooLarge},
		"nested ranges, 10^12 runs": {tmpl: `{{ range .list }}{{ range $.list }}{{ range $.list }}{{ range $.list }}xxxxxxxx{{ end }}{{ end }}{{ end }}{{ end }}`, wantErr: tooLarge},
		"one huge action":           {tmpl: `{{ printf "%1000000d" 1 }}`, wantErr: "t: template line 1: <printf \"%1000000d\" 1>: error calling printf: printf would return 1000000 bytes, more than a whole user-data or network-data may hold (48 KiB (49152 bytes))"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, err := executeTemplate("t", tc.tmpl, data)
			if tc.wantErr == "" {
				if err != nil || len(got) != tc.wantLen {
					t.Fatalf("got %d bytes, err %v; want %d bytes", len(got), err, tc.wantLen)
				}
				return
			}
			if err == nil {
				t.Fatalf("got %d bytes, want an error", len(got))
			}
			if diff := cmp.Diff(tc.wantErr, err.Error()); diff != "" {
				t.Errorf("error (-want +got):\n%s", diff)
			}
			var te *templateError
			if want := schemas.RuleDataSize; strings.Contains(tc.wantErr, "passed") && (!errors.As(err, &te) || te.rule != want) {
				t.Errorf("rule of %v is not %s", err, want)
			}
		})
	}
}

// TestTemplateFuncLimits: no function builds a string larger than a whole
// user-data may be, even when nothing is written: the functions whose
// result outgrows their arguments check before they build it.
func TestTemplateFuncLimits(t *testing.T) {
	words := make([]string, 64)
	for i := range words {
		words[i] = "w"
	}
	data := map[string]any{"list": make([]any, 64), "words": words, "big": strings.Repeat("y", 40000)}
	tests := map[string]struct{ tmpl, want string }{
		"indent by a billion": {`{{ $x := indent 1000000000 "a" }}`,
			`<indent 1000000000 "a">: error calling indent: indent would return 49154 bytes, more than a whole user-data or network-data may hold (48 KiB (49152 bytes))`},
		"nindent of many lines": {`{{ $x := nindent 30000 "a\nb" }}`,
			`<nindent 30000 "a\nb">: error calling nindent: nindent would return 60003 bytes, more than a whole user-data or network-data may hold (48 KiB (49152 bytes))`},
		"print doubling in a loop": {`{{ $s := "ab" }}{{ range .list }}{{ $s = print $s $s }}{{ end }}`,
			`<print $s $s>: error calling print: print would return 65536 bytes, more than a whole user-data or network-data may hold (48 KiB (49152 bytes))`},
		"printf doubling in a loop": {`{{ $s := "ab" }}{{ range .list }}{{ $s = printf "%s%s" $s $s }}{{ end }}`,
			`<printf "%s%s" $s $s>: error calling printf: printf would return 65536 bytes, more than a whole user-data or network-data may hold (48 KiB (49152 bytes))`},
		"printf with a width from an argument": {`{{ $x := printf "%*d" 900000 1 }}`,
			`<printf "%*d" 900000 1>: error calling printf: printf would return 900000 bytes, more than a whole user-data or network-data may hold (48 KiB (49152 bytes))`},
		"printf with many widths": {`{{ $x := printf "%30000d%30000.30000f" 1 2.0 }}`,
			`<printf "%30000d%30000.30000f" 1 2.0>: error calling printf: printf would return 90000 bytes, more than a whole user-data or network-data may hold (48 KiB (49152 bytes))`},
		"replace between every rune": {`{{ $x := replace "" .big "abc" }}`,
			`<replace "" .big "abc">: error calling replace: replace would return 160003 bytes, more than a whole user-data or network-data may hold (48 KiB (49152 bytes))`},
		"replace with a longer text": {`{{ $x := replace "y" "zz" .big }}`,
			`<replace "y" "zz" .big>: error calling replace: replace would return 80000 bytes, more than a whole user-data or network-data may hold (48 KiB (49152 bytes))`},
		"join with a large separator": {`{{ $x := join .big .words }}`,
			`<join .big .words>: error calling join: join would return 80003 bytes, more than a whole user-data or network-data may hold (48 KiB (49152 bytes))`},
		"html of a large string": {`{{ $x := html .big .big }}`,
			`<html .big .big>: error calling html: html would return 80000 bytes, more than a whole user-data or network-data may hold (48 KiB (49152 bytes))`},
		"upper of doubled text": {`{{ $x := upper (print .big .big) }}`,
			`<print .big .big>: error calling print: print would return 80000 bytes, more than a whole user-data or network-data may hold (48 KiB (49152 bytes))`},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := executeTemplate("t", tc.tmpl, data)
			if err == nil {
				t.Fatal("no error")
			}
			if diff := cmp.Diff("t: template line 1: "+tc.want, err.Error()); diff != "" {
				t.Errorf("error (-want +got):\n%s", diff)
			}
		})
	}
}
