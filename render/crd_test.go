package render_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"go.yaml.in/yaml/v3"
	apivalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1validation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/metalgit/metalgit/render"
)

// crdDirEnv names the directories (a filepath.SplitList list) holding the
// CRD YAML files the rendered objects are validated against. `make test`
// sets it after `make crds` (hack/crds.sh) has filled them.
const crdDirEnv = "METALGIT_CRD_DIR"

// crdGroups are the API groups whose objects render emits and whose CRDs
// hack/crds.sh provides: an object of these groups without a matching CRD
// version is an error, not a skip.
var crdGroups = []string{"metal3.io", "k8s.cni.cncf.io", "helm.toolkit.fluxcd.io", "metallb.io"}

// renderedKinds are the kinds of those groups that render emits, each
// checked against the served version of its CRD.
var renderedKinds = []string{
	"metal3.io/v1alpha1 BareMetalHost",
	"k8s.cni.cncf.io/v1 NetworkAttachmentDefinition",
	"helm.toolkit.fluxcd.io/v2 HelmRelease",
	"metallb.io/v1beta1 IPAddressPool",
	"metallb.io/v1beta1 L2Advertisement",
}

// crdSchema validates the objects of one served version of a CRD.
type crdSchema struct {
	file string
	// lenient follows structural-schema pruning: unknown fields pass.
	// strict also rejects them (additionalProperties: false wherever the
	// schema lists properties and does not preserve unknown fields), as
	// kubectl's default Strict field validation does; an unknown field
	// rendered by us would otherwise be pruned silently by the API server.
	lenient, strict *jsonschema.Schema
}

// crdKey is "<apiVersion> <kind>", e.g. "metal3.io/v1alpha1 BareMetalHost".
func crdKey(apiVersion, kind string) string { return apiVersion + " " + kind }

// loadCRDs reads the CRDs of $METALGIT_CRD_DIR. Without it the test is
// skipped locally, but fails in CI (CI set): CI must never skip it.
func loadCRDs(t *testing.T) map[string]*crdSchema {
	t.Helper()
	env := os.Getenv(crdDirEnv)
	if env == "" {
		msg := crdDirEnv + " is not set; run `make test` (or `make crds` and set it as the Makefile does)"
		if os.Getenv("CI") != "" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	crds := map[string]*crdSchema{}
	for _, dir := range filepath.SplitList(env) {
		files, err := filepath.Glob(filepath.Join(dir, "*.yaml"))
		if err != nil {
			t.Fatal(err)
		}
		if len(files) == 0 {
			t.Fatalf("%s=%s: no CRD YAML in %s; run `make crds`", crdDirEnv, env, dir)
		}
		for _, f := range files {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			docs, err := yamlDocs(data)
			if err != nil {
				t.Fatalf("%s: %v", f, err)
			}
			for _, d := range docs {
				if err := addCRD(crds, f, d); err != nil {
					t.Fatalf("%s: %v", f, err)
				}
			}
		}
	}
	return crds
}

// addCRD compiles both schemas of every served version of a CRD document.
func addCRD(crds map[string]*crdSchema, file string, doc map[string]any) error {
	if doc["kind"] != "CustomResourceDefinition" {
		return nil
	}
	group, _ := path(doc, "spec", "group").(string)
	kind, _ := path(doc, "spec", "names", "kind").(string)
	versions, _ := path(doc, "spec", "versions").([]any)
	if group == "" || kind == "" || len(versions) == 0 {
		return errors.New("CRD without spec.group, spec.names.kind or spec.versions")
	}
	for _, v := range versions {
		name, _ := path(v, "name").(string)
		if served, _ := path(v, "served").(bool); !served {
			continue
		}
		schema := path(v, "schema", "openAPIV3Schema")
		if schema == nil {
			return fmt.Errorf("%s %s: no schema.openAPIV3Schema", kind, name)
		}
		cs := &crdSchema{file: file}
		var err error
		if cs.lenient, err = compileCRDSchema(schema, false); err != nil {
			return fmt.Errorf("%s %s: %w", kind, name, err)
		}
		if cs.strict, err = compileCRDSchema(schema, true); err != nil {
			return fmt.Errorf("%s %s: %w", kind, name, err)
		}
		crds[crdKey(group+"/"+name, kind)] = cs
	}
	return nil
}

func compileCRDSchema(openAPI any, strict bool) (*jsonschema.Schema, error) {
	root, ok := toJSONSchema(openAPI, strict).(map[string]any)
	if !ok {
		return nil, fmt.Errorf("openAPIV3Schema is a %T, not a mapping", openAPI)
	}
	// The API server adds apiVersion, kind and metadata to every CRD's
	// schema (metadata is validated as ObjectMeta: see validateMeta).
	props, _ := root["properties"].(map[string]any)
	props = maps.Clone(props)
	if props == nil {
		props = map[string]any{}
	}
	for name, typ := range map[string]string{"apiVersion": "string", "kind": "string", "metadata": "object"} {
		if _, ok := props[name]; !ok {
			props[name] = map[string]any{"type": typ}
		}
	}
	root["properties"] = props
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	const url = "mem:///crd.json"
	if err := c.AddResource(url, root); err != nil {
		return nil, err
	}
	return c.Compile(url)
}

// toJSONSchema turns a CRD's structural OpenAPI v3 schema into a JSON
// Schema (draft 2020-12): x-kubernetes-* extensions are dropped but for
// their meaning in validation (int-or-string accepts both; a preserved
// object accepts unknown fields), nullable adds "null" to the type, a
// boolean exclusiveMinimum/Maximum (OpenAPI 3.0) becomes the numeric form.
// CEL rules (x-kubernetes-validations) are not checked.
func toJSONSchema(s any, strict bool) any {
	m, ok := s.(map[string]any)
	if !ok {
		return s
	}
	out := make(map[string]any, len(m))
	for k, v := range m {
		switch {
		case strings.HasPrefix(k, "x-kubernetes-"), k == "nullable", k == "example", k == "externalDocs":
		case k == "properties" || k == "patternProperties" || k == "definitions" || k == "dependencies":
			props, _ := v.(map[string]any)
			conv := make(map[string]any, len(props))
			for name, p := range props {
				conv[name] = toJSONSchema(p, strict)
			}
			out[k] = conv
		case k == "items" || k == "additionalProperties" || k == "not":
			if list, ok := v.([]any); ok && k == "items" { // tuple form
				out["prefixItems"] = convList(list, strict)
				continue
			}
			out[k] = toJSONSchema(v, strict)
		case k == "allOf" || k == "anyOf" || k == "oneOf":
			list, _ := v.([]any)
			out[k] = convList(list, strict)
		default:
			out[k] = v
		}
	}
	for _, bound := range []string{"Minimum", "Maximum"} {
		ex, plain := "exclusive"+bound, strings.ToLower(bound)
		if b, ok := out[ex].(bool); ok {
			delete(out, ex)
			if b && out[plain] != nil {
				out[ex] = out[plain]
				delete(out, plain)
			}
		}
	}
	if isTrue(m["x-kubernetes-int-or-string"]) {
		delete(out, "type")
		if _, ok := out["anyOf"]; !ok {
			out["anyOf"] = []any{map[string]any{"type": "integer"}, map[string]any{"type": "string"}}
		}
	}
	if isTrue(m["nullable"]) {
		if t, ok := out["type"].(string); ok {
			out["type"] = []any{t, "null"}
		}
		if enum, ok := out["enum"].([]any); ok && !slices.Contains(enum, nil) {
			out["enum"] = append(slices.Clip(enum), nil)
		}
		if anyOf, ok := out["anyOf"].([]any); ok { // int-or-string
			out["anyOf"] = append(slices.Clip(anyOf), map[string]any{"type": "null"})
		}
	}
	_, hasProps := out["properties"]
	_, hasAdditional := out["additionalProperties"]
	if strict && hasProps && !hasAdditional && !isTrue(m["x-kubernetes-preserve-unknown-fields"]) {
		out["additionalProperties"] = false
	}
	return out
}

func isTrue(v any) bool {
	b, _ := v.(bool)
	return b
}

func convList(list []any, strict bool) []any {
	out := make([]any, len(list))
	for i, s := range list {
		out[i] = toJSONSchema(s, strict)
	}
	return out
}

// path returns the value at keys in nested maps, nil when absent.
func path(v any, keys ...string) any {
	for _, k := range keys {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[k]
	}
	return v
}

// yamlDocs decodes a YAML stream into JSON-compatible documents (what the
// API server would receive), skipping empty ones.
func yamlDocs(data []byte) ([]map[string]any, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var docs []map[string]any
	for {
		var v any
		if err := dec.Decode(&v); errors.Is(err, io.EOF) {
			return docs, nil
		} else if err != nil {
			return nil, err
		}
		if v == nil {
			continue
		}
		raw, err := json.Marshal(v)
		if err != nil {
			return nil, err
		}
		doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
		if err != nil {
			return nil, err
		}
		m, ok := doc.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("document is a %T, not a mapping", doc)
		}
		docs = append(docs, m)
	}
}

// validateObject checks one object against its CRD (strict: unknown
// fields fail too) and its metadata the way the API server does for a
// custom resource. found is false when no CRD covers the object.
func validateObject(crds map[string]*crdSchema, obj map[string]any, strict bool) (found bool, err error) {
	apiVersion, _ := obj["apiVersion"].(string)
	kind, _ := obj["kind"].(string)
	cs := crds[crdKey(apiVersion, kind)]
	if cs == nil {
		return false, nil
	}
	sch := cs.lenient
	if strict {
		sch = cs.strict
	}
	var errs []error
	if err := sch.Validate(obj); err != nil {
		errs = append(errs, fmt.Errorf("against %s: %w", cs.file, err))
	}
	if fe := validateMeta(obj); len(fe) > 0 {
		errs = append(errs, fe.ToAggregate())
	}
	return true, errors.Join(errs...)
}

// validateMeta checks the name, namespace, labels and annotations.
func validateMeta(obj map[string]any) field.ErrorList {
	var errs field.ErrorList
	meta := field.NewPath("metadata")
	name, _ := path(obj, "metadata", "name").(string)
	for _, msg := range apivalidation.NameIsDNSSubdomain(name, false) {
		errs = append(errs, field.Invalid(meta.Child("name"), name, msg))
	}
	if ns, _ := path(obj, "metadata", "namespace").(string); ns != "" {
		for _, msg := range apivalidation.ValidateNamespaceName(ns, false) {
			errs = append(errs, field.Invalid(meta.Child("namespace"), ns, msg))
		}
	}
	errs = append(errs, metav1validation.ValidateLabels(stringMap(path(obj, "metadata", "labels")), meta.Child("labels"))...)
	errs = append(errs, apivalidation.ValidateAnnotations(stringMap(path(obj, "metadata", "annotations")), meta.Child("annotations"))...)
	return errs
}

func stringMap(v any) map[string]string {
	m, _ := v.(map[string]any)
	out := make(map[string]string, len(m))
	for k, s := range m {
		out[k] = fmt.Sprint(s)
	}
	return out
}

// TestRenderedObjectsMatchCRDs renders every golden case and validates
// each object that has a CRD (renderedKinds) against the CRD's schema, strictly: a field the CRD does not know would
// be pruned by the API server or refused by kubectl.
func TestRenderedObjectsMatchCRDs(t *testing.T) {
	crds := loadCRDs(t)
	for _, want := range renderedKinds {
		if crds[want] == nil {
			t.Fatalf("no CRD for %s in %s=%s; run `make crds`", want, crdDirEnv, os.Getenv(crdDirEnv))
		}
	}
	validated := map[string]int{}
	for _, name := range goldenCases {
		t.Run(name, func(t *testing.T) {
			out, err := render.Render(load(t, name), render.Options{})
			if err != nil {
				t.Fatal(err)
			}
			docs, err := yamlDocs(out)
			if err != nil {
				t.Fatal(err)
			}
			for _, obj := range docs {
				apiVersion, _ := obj["apiVersion"].(string)
				kind, _ := obj["kind"].(string)
				objName, _ := path(obj, "metadata", "name").(string)
				found, err := validateObject(crds, obj, true)
				if err != nil {
					t.Errorf("%s %s/%s does not match its CRD: %v", apiVersion, kind, objName, err)
				}
				if found {
					validated[kind]++
					continue
				}
				group, _, _ := strings.Cut(apiVersion, "/")
				if slices.Contains(crdGroups, group) {
					t.Errorf("%s %s/%s: no CRD serves this version in %s", apiVersion, kind, objName, os.Getenv(crdDirEnv))
				}
			}
		})
	}
	t.Logf("validated against CRDs: %v", validated)
	for _, key := range renderedKinds {
		_, kind, _ := strings.Cut(key, " ")
		if validated[kind] == 0 {
			t.Errorf("no %s was validated: no golden case renders one", kind)
		}
	}
}

// TestCRDValidatorRejects proves the validator is not vacuous: a valid
// rendered BareMetalHost (NetworkAttachmentDefinition, HelmRelease,
// IPAddressPool, L2Advertisement) passes, broken copies fail with the
// field named.
func TestCRDValidatorRejects(t *testing.T) {
	crds := loadCRDs(t)
	out, err := render.Render(load(t, "section10"), render.Options{})
	if err != nil {
		t.Fatal(err)
	}
	docs, err := yamlDocs(out)
	if err != nil {
		t.Fatal(err)
	}
	i := slices.IndexFunc(docs, func(d map[string]any) bool { return d["kind"] == "BareMetalHost" })
	if i < 0 {
		t.Fatal("section10 renders no BareMetalHost")
	}
	good := docs[i]
	if _, err := validateObject(crds, good, true); err != nil {
		t.Fatalf("the unmodified BareMetalHost fails: %v", err)
	}

	tests := map[string]struct {
		edit   func(spec map[string]any)
		meta   func(meta map[string]any)
		strict bool   // rejected only with unknown fields refused
		want   string // in the error
	}{
		"bootMode not in enum": {edit: func(s map[string]any) { s["bootMode"] = "BIOS" }, want: "bootMode"},
		"online is a string":   {edit: func(s map[string]any) { s["online"] = "yes" }, want: "online"},
		"bmc without address": {edit: func(s map[string]any) {
			bmc, _ := s["bmc"].(map[string]any)
			delete(bmc, "address")
		}, want: "address"},
		"image format not in enum": {edit: func(s map[string]any) {
			s["image"] = map[string]any{"url": "http://x/img", "format": "iso"}
		}, want: "format"},
		"unknown field under spec": {edit: func(s map[string]any) { s["bootMode2"] = "UEFI" }, strict: true, want: "bootMode2"},
		"name not a DNS subdomain": {meta: func(m map[string]any) { m["name"] = "Server_01" }, want: "metadata.name"},
		"label value too long": {meta: func(m map[string]any) {
			m["labels"] = map[string]any{"role": strings.Repeat("x", 64)}
		}, want: "metadata.labels"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			bad := deepCopy(t, good)
			spec, _ := bad["spec"].(map[string]any)
			meta, _ := bad["metadata"].(map[string]any)
			if spec == nil || meta == nil {
				t.Fatal("BareMetalHost without spec or metadata")
			}
			if tc.edit != nil {
				tc.edit(spec)
			}
			if tc.meta != nil {
				tc.meta(meta)
			}
			_, err := validateObject(crds, bad, true)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want a rejection naming %q", err, tc.want)
			}
			if _, lenientErr := validateObject(crds, bad, false); tc.strict && lenientErr != nil {
				t.Errorf("structural pruning semantics: an unknown field must pass the lenient schema, got %v", lenientErr)
			} else if !tc.strict && lenientErr == nil {
				t.Error("the lenient schema accepts it too; only unknown fields may differ")
			}
		})
	}

	nad := map[string]any{"apiVersion": "k8s.cni.cncf.io/v1", "kind": "NetworkAttachmentDefinition",
		"metadata": map[string]any{"name": "storage"}, "spec": map[string]any{"config": `{"cniVersion":"0.3.1"}`}}
	if _, err := validateObject(crds, nad, true); err != nil {
		t.Errorf("a valid NetworkAttachmentDefinition fails: %v", err)
	}
	nad["spec"] = map[string]any{"config": 42.0}
	if _, err := validateObject(crds, nad, true); err == nil || !strings.Contains(err.Error(), "config") {
		t.Errorf("NetworkAttachmentDefinition with a numeric spec.config: err = %v, want a rejection", err)
	}

	// The Site's Flux and MetalLB objects: the rendered one passes, a copy
	// with one spec field of the wrong form fails naming it.
	for kind, field := range map[string]string{"HelmRelease": "interval", "IPAddressPool": "addresses", "L2Advertisement": "ipAddressPools"} {
		i := slices.IndexFunc(docs, func(d map[string]any) bool { return d["kind"] == kind })
		if i < 0 {
			t.Errorf("section10 renders no %s", kind)
			continue
		}
		if _, err := validateObject(crds, docs[i], true); err != nil {
			t.Errorf("the unmodified %s fails: %v", kind, err)
		}
		bad := deepCopy(t, docs[i])
		spec, _ := bad["spec"].(map[string]any)
		if spec == nil {
			t.Fatalf("%s without spec", kind)
		}
		spec[field] = map[string]any{"not": "this"}
		if _, err := validateObject(crds, bad, true); err == nil || !strings.Contains(err.Error(), field) {
			t.Errorf("%s with an object as spec.%s: err = %v, want a rejection naming it", kind, field, err)
		}
	}
}

func deepCopy(t *testing.T, v map[string]any) map[string]any {
	t.Helper()
	raw, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	out, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	m, ok := out.(map[string]any)
	if !ok {
		t.Fatalf("%T is not a mapping", out)
	}
	return m
}

// TestToJSONSchema covers the OpenAPI v3 → JSON Schema conversion on a
// synthetic schema, so that it runs without the generated CRDs too.
func TestToJSONSchema(t *testing.T) {
	openAPI := map[string]any{
		"type": "object",
		"properties": map[string]any{
			"port":   map[string]any{"x-kubernetes-int-or-string": true},
			"maybe":  map[string]any{"type": "string", "nullable": true, "enum": []any{"a", "b"}},
			"ratio":  map[string]any{"type": "number", "minimum": 0.0, "exclusiveMinimum": true},
			"labels": map[string]any{"type": "object", "additionalProperties": map[string]any{"type": "string"}},
			"free": map[string]any{"type": "object", "x-kubernetes-preserve-unknown-fields": true,
				"properties": map[string]any{"known": map[string]any{"type": "string"}}},
			"list":       map[string]any{"type": "array", "x-kubernetes-list-type": "set", "items": map[string]any{"type": "integer", "format": "int32"}},
			"properties": map[string]any{"type": "string"}, // a field named like a keyword
		},
		"x-kubernetes-validations": []any{map[string]any{"rule": "self.port != 0"}},
	}
	lenient, err := compileCRDSchema(openAPI, false)
	if err != nil {
		t.Fatal(err)
	}
	strict, err := compileCRDSchema(openAPI, true)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		doc             string
		lenient, strict bool // valid?
	}{
		{`{"port": 8080}`, true, true},
		{`{"port": "http"}`, true, true},
		{`{"port": 1.5}`, false, false},
		{`{"port": true}`, false, false},
		{`{"maybe": null}`, true, true},
		{`{"maybe": "c"}`, false, false},
		{`{"ratio": 0}`, false, false},
		{`{"ratio": 0.5}`, true, true},
		{`{"labels": {"a": "b"}}`, true, true},
		{`{"labels": {"a": 1}}`, false, false},
		{`{"free": {"known": "x", "other": 1}}`, true, true},
		{`{"free": {"known": 1}}`, false, false},
		{`{"list": [1, 2]}`, true, true},
		{`{"list": ["1"]}`, false, false},
		{`{"properties": "x"}`, true, true},
		{`{"unknown": 1}`, true, false},
	}
	for _, tc := range tests {
		doc, err := jsonschema.UnmarshalJSON(strings.NewReader(tc.doc))
		if err != nil {
			t.Fatal(err)
		}
		if got := lenient.Validate(doc) == nil; got != tc.lenient {
			t.Errorf("lenient %s: valid = %v, want %v", tc.doc, got, tc.lenient)
		}
		if got := strict.Validate(doc) == nil; got != tc.strict {
			t.Errorf("strict %s: valid = %v, want %v", tc.doc, got, tc.strict)
		}
	}
}
