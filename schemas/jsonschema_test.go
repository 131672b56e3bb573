package schemas_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"math/big"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
	yaml "go.yaml.in/yaml/v3"

	"github.com/metalgit/metalgit/schemas"
	"github.com/metalgit/metalgit/schemas/internal/jsonschemagen/gen"
)

// updateJSONSchemas rewrites schemas/jsonschema/*.json. Another test file
// of this test binary may define -update as well; then both share it.
var updateJSONSchemas = boolFlag("update", "rewrite golden files, here schemas/jsonschema/*.json")

func boolFlag(name, usage string) func() bool {
	if f := flag.Lookup(name); f != nil {
		return func() bool {
			g, ok := f.Value.(flag.Getter)
			if !ok {
				return false
			}
			b, _ := g.Get().(bool)
			return b
		}
	}
	p := flag.Bool(name, false, usage)
	return func() bool { return *p }
}

const schemaDir = "jsonschema"

func TestJSONSchemasUpToDate(t *testing.T) {
	want, err := gen.Files(os.DirFS("."))
	if err != nil {
		t.Fatalf("generating schemas: %v", err)
	}
	if updateJSONSchemas() {
		old, _ := filepath.Glob(filepath.Join(schemaDir, "*.json"))
		for _, path := range old {
			if _, ok := want[filepath.Base(path)]; !ok {
				if err := os.Remove(path); err != nil {
					t.Fatal(err)
				}
			}
		}
		for name, data := range want {
			if err := os.WriteFile(filepath.Join(schemaDir, name), data, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	have, err := fs.Glob(schemas.JSONSchemas, schemaDir+"/*.json")
	if err != nil {
		t.Fatal(err)
	}
	for _, path := range have {
		if _, ok := want[filepath.Base(path)]; !ok {
			t.Errorf("%s is no longer generated; delete it or run go generate ./schemas/", path)
		}
	}
	for _, name := range sortedKeys(want) {
		got, err := os.ReadFile(filepath.Join(schemaDir, name))
		if err != nil {
			t.Errorf("%s is missing; run go generate ./schemas/ (or go test ./schemas/ -run TestJSONSchemasUpToDate -update)", name)
			continue
		}
		if !bytes.Equal(got, want[name]) {
			t.Errorf("%s/%s is stale: it differs from what the Go types generate (first difference at line %d); run go generate ./schemas/",
				schemaDir, name, firstDiffLine(got, want[name]))
		}
	}
	// Deterministic: a second run gives the same bytes.
	again, err := gen.Files(os.DirFS("."))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(want, again) {
		t.Error("two runs of the generator gave different files")
	}
}

func firstDiffLine(a, b []byte) int {
	la, lb := strings.Split(string(a), "\n"), strings.Split(string(b), "\n")
	for i := range min(len(la), len(lb)) {
		if la[i] != lb[i] {
			return i + 1
		}
	}
	return min(len(la), len(lb)) + 1
}

// kindFiles maps each kind to its schema file; inventory.json takes any kind.
var kindFiles = func() map[string]string {
	m := map[string]string{}
	for _, k := range schemas.Kinds {
		m[k] = strings.ToLower(k) + ".json"
	}
	return m
}()

// compiledSchemas compiles every embedded schema file with a draft 2020-12
// validator, by file name.
func compiledSchemas(t *testing.T) map[string]*jsonschema.Schema {
	t.Helper()
	names, err := fs.Glob(schemas.JSONSchemas, schemaDir+"/*.json")
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]*jsonschema.Schema{}
	for _, path := range names {
		name := filepath.Base(path)
		data, err := fs.ReadFile(schemas.JSONSchemas, path)
		if err != nil {
			t.Fatal(err)
		}
		doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
		if err != nil {
			t.Fatalf("%s is not JSON: %v", name, err)
		}
		if d, _ := doc.(map[string]any)["$schema"].(string); d != gen.Draft {
			t.Errorf("%s: $schema is %q, want %q", name, d, gen.Draft)
		}
		c := jsonschema.NewCompiler()
		c.DefaultDraft(jsonschema.Draft2020)
		url := "https://metalgit.dev/schemas/" + name
		if err := c.AddResource(url, doc); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		s, err := c.Compile(url)
		if err != nil {
			t.Fatalf("%s does not compile: %v", name, err)
		}
		out[name] = s
	}
	return out
}

func TestJSONSchemasCompile(t *testing.T) {
	compiled := compiledSchemas(t)
	for _, k := range schemas.Kinds {
		if compiled[kindFiles[k]] == nil {
			t.Errorf("no schema file %s for kind %s", kindFiles[k], k)
		}
	}
	if compiled[gen.InventoryFile] == nil {
		t.Errorf("no %s", gen.InventoryFile)
	}
	// yaml-language-server validates with draft-07 semantics: keep to the
	// keywords that mean the same in draft-07 and 2020-12 ($defs is only
	// ever reached through a JSON pointer, which any draft resolves).
	for name := range compiled {
		checkKeywords(t, name, "", readSchemaJSON(t, name))
	}
}

// portableKeywords mean the same in draft-07 and draft 2020-12.
var portableKeywords = []string{
	"$schema", "$defs", "$ref", "title", "description", "type", "properties", "additionalProperties",
	"required", "enum", "const", "pattern", "minLength", "maxLength", "minimum", "maximum", "minItems",
	"items", "anyOf", "oneOf", "allOf", "not", "if", "then",
}

func checkKeywords(t *testing.T, file, at string, s map[string]any) {
	t.Helper()
	for _, k := range sortedKeys(s) {
		if !slices.Contains(portableKeywords, k) {
			t.Errorf("%s: %s/%s: keyword %q is not one yaml-language-server reads as draft 2020-12 does", file, at, k, k)
		}
		switch v := s[k].(type) {
		case map[string]any:
			if k == "properties" || k == "$defs" {
				for _, name := range sortedKeys(v) {
					sub, _ := v[name].(map[string]any)
					checkKeywords(t, file, at+"/"+k+"/"+name, sub)
				}
				continue
			}
			checkKeywords(t, file, at+"/"+k, v)
		case []any:
			for i, item := range v {
				if sub, ok := item.(map[string]any); ok {
					checkKeywords(t, file, fmt.Sprintf("%s/%s/%d", at, k, i), sub)
				}
			}
		}
	}
}

// TestJSONSchemaFieldNames walks the Go types by reflection, as the Go
// decoder sees them, and checks that each struct's json fields are exactly
// the properties of its object in the schema.
func TestJSONSchemaFieldNames(t *testing.T) {
	types := map[string]reflect.Type{
		schemas.KindSite: reflect.TypeFor[schemas.Site](), schemas.KindIPPool: reflect.TypeFor[schemas.IPPool](),
		schemas.KindNodeType: reflect.TypeFor[schemas.NodeType](), schemas.KindHost: reflect.TypeFor[schemas.Host](),
		schemas.KindMachineSet: reflect.TypeFor[schemas.MachineSet](), schemas.KindMachine: reflect.TypeFor[schemas.Machine](),
		schemas.KindOSImage: reflect.TypeFor[schemas.OSImage](), schemas.KindSSHKey: reflect.TypeFor[schemas.SSHKey](),
	}
	inventory := readSchemaJSON(t, gen.InventoryFile)
	for _, kind := range schemas.Kinds {
		typ := types[kind]
		if typ == nil {
			t.Errorf("kind %s: the test does not know its Go type; add it", kind)
			continue
		}
		compareFields(t, kind, typ, readSchemaJSON(t, kindFiles[kind]))
		compareFields(t, "inventory.json "+kind, typ, dig(inventory, "$defs", kind))
	}
	compareFields(t, "inventory.json Secret", reflect.TypeFor[schemas.Secret](), dig(inventory, "$defs", schemas.KindSecret))
}

func readSchemaJSON(t *testing.T, name string) map[string]any {
	t.Helper()
	data, err := fs.ReadFile(schemas.JSONSchemas, schemaDir+"/"+name)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return m
}

func dig(m map[string]any, keys ...string) map[string]any {
	for _, k := range keys {
		m, _ = m[k].(map[string]any)
	}
	return m
}

func compareFields(t *testing.T, path string, typ reflect.Type, s map[string]any) {
	t.Helper()
	for typ.Kind() == reflect.Pointer {
		typ = typ.Elem()
	}
	if s == nil {
		t.Errorf("%s: no schema for Go type %s", path, typ)
		return
	}
	switch typ.Kind() {
	case reflect.Slice:
		if typ == reflect.TypeFor[schemas.StringList]() {
			return
		}
		compareFields(t, path+"[]", typ.Elem(), dig(s, "items"))
		return
	case reflect.Map:
		if typ.Elem().Kind() != reflect.Interface {
			compareFields(t, path+"[*]", typ.Elem(), dig(s, "additionalProperties"))
		}
		return
	case reflect.Struct:
	default:
		return
	}
	props := dig(s, "properties")
	if ap, isBool := s["additionalProperties"].(bool); !isBool || ap {
		t.Errorf("%s (%s): additionalProperties is %v, want false: the Go decoder rejects unknown fields", path, typ.Name(), s["additionalProperties"])
	}
	var goNames []string
	for i := range typ.NumField() {
		f := typ.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "-" || !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		goNames = append(goNames, name)
		compareFields(t, path+"."+name, f.Type, dig(props, name))
	}
	slices.Sort(goNames)
	if schemaNames := sortedKeys(props); !slices.Equal(goNames, schemaNames) {
		t.Errorf("%s (%s): the Go decoder knows fields %v, the schema %v", path, typ.Name(), goNames, schemaNames)
	}
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// TestJSONSchemaAgreesWithGo validates documents with the JSON Schemas and
// with the Go loader and validation, and wants the same verdict from both:
// the schema rejects a document exactly when Go reports a problem whose
// rule is in schemas.SchemaRules. Documents are every YAML document under
// examples/ (valid inventories and examples/invalid/<case>/) and the table
// below.
func TestJSONSchemaAgreesWithGo(t *testing.T) {
	compiled := compiledSchemas(t)
	t.Run("examples", func(t *testing.T) {
		root := filepath.Join("..", "examples")
		files := exampleFiles(t, root)
		if len(files) == 0 {
			t.Fatal("no YAML files under examples/")
		}
		for _, file := range files {
			data, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			docs, syntaxErr := splitDocuments(data)
			rel, err := filepath.Rel(root, file)
			if err != nil {
				t.Fatal(err)
			}
			name := "examples/" + filepath.ToSlash(rel)
			for i, doc := range docs {
				t.Run(fmt.Sprintf("%s#%d", name, i+1), func(t *testing.T) {
					checkAgreement(t, compiled, name, doc, nil)
				})
			}
			if syntaxErr != nil {
				// Editors report the syntax error; Go must too.
				_, probs := schemas.LoadBytes(name, data)
				if !slices.ContainsFunc(probs, func(p schemas.Problem) bool { return p.Rule == schemas.RuleYAMLSyntax }) {
					t.Errorf("%s: YAML syntax error (%v), but Go reports no %s problem: %v", name, syntaxErr, schemas.RuleYAMLSyntax, probs)
				}
			}
		}
	})
	t.Run("table", func(t *testing.T) {
		for _, name := range sortedKeys(agreementCases) {
			tc := agreementCases[name]
			t.Run(name, func(t *testing.T) {
				doc := applyEdits(t, tc.doc, tc.edits)
				checkAgreement(t, compiled, name, doc, &tc.valid)
			})
		}
	})
}

// checkAgreement validates one document both ways. want, when not nil, is
// the verdict both must give.
func checkAgreement(t *testing.T, compiled map[string]*jsonschema.Schema, name string, doc []byte, want *bool) {
	t.Helper()
	var node yaml.Node
	if err := yaml.Unmarshal(doc, &node); err != nil {
		t.Fatalf("document does not parse: %v", err)
	}
	top := &node
	if top.Kind == yaml.DocumentNode && len(top.Content) == 1 {
		top = top.Content[0]
	}
	apiVersion, kind := scalar(top, "apiVersion"), scalar(top, "kind")
	if !isInventoryDocument(apiVersion, kind) {
		t.Skipf("%s %s is not an inventory document", apiVersion, kind)
	}

	// Go: loader and validation, schema rules only.
	inv, probs := schemas.LoadBytes(name, doc)
	probs = append(probs, inv.Validate()...)
	var goSchema, goOther schemas.Problems
	for _, p := range probs {
		if slices.Contains(schemas.SchemaRules, p.Rule) {
			goSchema = append(goSchema, p)
		} else {
			goOther = append(goOther, p)
		}
	}
	goValid := len(goSchema) == 0

	// JSON Schema: the kind's own file, and inventory.json for every document.
	files := []string{gen.InventoryFile}
	if f, ok := kindFiles[kind]; ok {
		files = append(files, f)
	}
	instance, convErr := yamlToJSON(top)
	if errors.Is(convErr, errNoJSON) {
		t.Skipf("no JSON form: %v", convErr)
	}
	for _, file := range files {
		var schemaErr error
		if convErr != nil {
			schemaErr = convErr // editors report what JSON cannot hold (duplicate keys) as errors too
		} else {
			schemaErr = compiled[file].Validate(instance)
		}
		schemaValid := schemaErr == nil
		if schemaValid != goValid {
			t.Errorf("%s and Go disagree on\n%s\nJSON Schema: %s\nGo (schema rules %v): %s\nGo (other rules): %s",
				file, indent(string(doc)), verdict(schemaErr), schemas.SchemaRules, problemsText(goSchema), problemsText(goOther))
			continue
		}
		if want != nil && schemaValid != *want {
			t.Errorf("both %s and Go give the wrong verdict on\n%s\nwant valid=%v\nJSON Schema: %s\nGo: %s",
				file, indent(string(doc)), *want, verdict(schemaErr), problemsText(goSchema))
		}
	}
}

func isInventoryDocument(apiVersion, kind string) bool {
	return apiVersion == "" || kind == "" ||
		strings.HasPrefix(apiVersion, "metalgit.dev/") ||
		slices.Contains(schemas.Kinds, kind) || kind == schemas.KindSecret
}

func verdict(err error) string {
	if err == nil {
		return "valid"
	}
	return "invalid:\n" + indent(err.Error())
}

func problemsText(ps schemas.Problems) string {
	if len(ps) == 0 {
		return "none"
	}
	return "\n" + indent(ps.Error())
}

func indent(s string) string {
	return "    " + strings.ReplaceAll(strings.TrimRight(s, "\n"), "\n", "\n    ")
}

func scalar(n *yaml.Node, key string) string {
	if n.Kind != yaml.MappingNode {
		return ""
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key && n.Content[i+1].Kind == yaml.ScalarNode {
			return n.Content[i+1].Value
		}
	}
	return ""
}

// exampleFiles lists the YAML files under root that hold inventory
// documents: hidden and state directories are left out, as the loader does,
// and so are kustomizations and the patches they name (partial documents).
func exampleFiles(t *testing.T, root string) []string {
	t.Helper()
	var files []string
	skip := map[string]bool{}
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if path != root && (strings.HasPrefix(d.Name(), ".") || d.Name() == schemas.DefaultStateDir) {
				return fs.SkipDir
			}
			return nil
		}
		switch d.Name() {
		case "kustomization.yaml", "kustomization.yml", "Kustomization":
			skip[path] = true
			for _, p := range kustomizePatches(t, path) {
				skip[filepath.Join(filepath.Dir(path), p)] = true
			}
			return nil
		}
		if ext := filepath.Ext(path); ext == ".yaml" || ext == ".yml" {
			files = append(files, path)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("walking %s: %v", root, err)
	}
	return slices.DeleteFunc(files, func(f string) bool { return skip[filepath.Clean(f)] })
}

// kustomizePatches returns the files a kustomization uses as patches.
func kustomizePatches(t *testing.T, path string) []string {
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var k struct {
		Patches []struct {
			Path string `yaml:"path"`
		} `yaml:"patches"`
		PatchesStrategicMerge []string `yaml:"patchesStrategicMerge"`
		PatchesJSON6902       []struct {
			Path string `yaml:"path"`
		} `yaml:"patchesJson6902"`
	}
	if err := yaml.Unmarshal(data, &k); err != nil {
		return nil // kustomize reports it; not a document of ours
	}
	var out []string
	for _, p := range k.Patches {
		out = append(out, p.Path)
	}
	for _, p := range k.PatchesJSON6902 {
		out = append(out, p.Path)
	}
	for _, p := range k.PatchesStrategicMerge {
		if !strings.Contains(p, "\n") { // inline patches are not files
			out = append(out, p)
		}
	}
	return out
}

// splitDocuments returns every non-empty document of a YAML stream as a
// stream of its own, and the syntax error that ended the stream, if any.
func splitDocuments(data []byte) ([][]byte, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var docs [][]byte
	for {
		var doc yaml.Node
		err := dec.Decode(&doc)
		if errors.Is(err, io.EOF) {
			return docs, nil
		}
		if err != nil {
			return docs, err
		}
		if len(doc.Content) == 0 || (doc.Content[0].Kind == yaml.ScalarNode && doc.Content[0].Tag == "!!null") {
			continue
		}
		out, err := yaml.Marshal(&doc)
		if err != nil {
			return docs, err
		}
		docs = append(docs, out)
	}
}

var errNoJSON = errors.New("value has no JSON form")

// yamlToJSON converts a YAML node to the JSON value an editor validates,
// reading scalars as the Go loader's YAML library resolves them.
func yamlToJSON(n *yaml.Node) (any, error) {
	switch n.Kind {
	case yaml.DocumentNode:
		if len(n.Content) == 0 {
			return nil, nil
		}
		return yamlToJSON(n.Content[0])
	case yaml.AliasNode:
		return yamlToJSON(n.Alias)
	case yaml.MappingNode:
		m := make(map[string]any, len(n.Content)/2)
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := n.Content[i]
			if k.Kind == yaml.AliasNode {
				k = k.Alias
			}
			if k.Kind != yaml.ScalarNode {
				return nil, fmt.Errorf("line %d: a mapping key that is not a scalar", k.Line)
			}
			if _, dup := m[k.Value]; dup {
				return nil, fmt.Errorf("line %d: duplicate key %q", k.Line, k.Value)
			}
			v, err := yamlToJSON(n.Content[i+1])
			if err != nil {
				return nil, err
			}
			m[k.Value] = v
		}
		return m, nil
	case yaml.SequenceNode:
		out := make([]any, len(n.Content))
		for i, item := range n.Content {
			v, err := yamlToJSON(item)
			if err != nil {
				return nil, err
			}
			out[i] = v
		}
		return out, nil
	case yaml.ScalarNode:
		switch n.ShortTag() {
		case "!!null":
			return nil, nil
		case "!!bool":
			return strings.EqualFold(n.Value, "true"), nil
		case "!!int":
			i, ok := new(big.Int).SetString(n.Value, 0)
			if !ok {
				return nil, fmt.Errorf("line %d: integer %q: %w", n.Line, n.Value, errNoJSON)
			}
			return json.Number(i.String()), nil
		case "!!float":
			f, err := strconv.ParseFloat(strings.ReplaceAll(n.Value, "_", ""), 64)
			if err != nil {
				return nil, fmt.Errorf("line %d: number %q: %w", n.Line, n.Value, errNoJSON)
			}
			return json.Number(strconv.FormatFloat(f, 'g', -1, 64)), nil
		default: // !!str, !!timestamp, !!binary: text
			return n.Value, nil
		}
	}
	return nil, fmt.Errorf("line %d: unsupported YAML node", n.Line)
}

// edit changes one field of a table document: set it to a YAML value, or
// delete it (value "").
type edit struct{ path, value string }

func set(path, value string) edit { return edit{path, value} }
func del(path string) edit        { return edit{path, ""} }

func applyEdits(t *testing.T, doc string, edits []edit) []byte {
	t.Helper()
	var root yaml.Node
	if err := yaml.Unmarshal([]byte(doc), &root); err != nil {
		t.Fatalf("table document does not parse: %v", err)
	}
	for _, e := range edits {
		var value *yaml.Node
		if e.value != "" {
			var v yaml.Node
			if err := yaml.Unmarshal([]byte(e.value), &v); err != nil {
				t.Fatalf("edit %s: %v", e.path, err)
			}
			value = v.Content[0]
		}
		if err := editNode(root.Content[0], splitPath(e.path), value); err != nil {
			t.Fatalf("edit %s: %v", e.path, err)
		}
	}
	out, err := yaml.Marshal(&root)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// splitPath splits spec.interfaces[0].mtu or spec.resources[nvidia.com/gpu].
func splitPath(path string) []string {
	var segs []string
	for path != "" {
		switch path[0] {
		case '.':
			path = path[1:]
		case '[':
			end := strings.IndexByte(path, ']')
			segs = append(segs, path[1:end])
			path = path[end+1:]
		default:
			end := strings.IndexAny(path, ".[")
			if end < 0 {
				end = len(path)
			}
			segs = append(segs, path[:end])
			path = path[end:]
		}
	}
	return segs
}

// editNode sets (value != nil) or deletes the node at segs below n,
// creating missing mappings on the way.
func editNode(n *yaml.Node, segs []string, value *yaml.Node) error {
	seg, last := segs[0], len(segs) == 1
	switch n.Kind {
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			if n.Content[i].Value != seg {
				continue
			}
			switch {
			case !last:
				return editNode(n.Content[i+1], segs[1:], value)
			case value == nil:
				n.Content = slices.Delete(n.Content, i, i+2)
			default:
				n.Content[i+1] = value
			}
			return nil
		}
		if value == nil {
			return fmt.Errorf("no field %q to delete", seg)
		}
		child := value
		if !last {
			child = &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
			if err := editNode(child, segs[1:], value); err != nil {
				return err
			}
		}
		n.Content = append(n.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: seg}, child)
		return nil
	case yaml.SequenceNode:
		i, err := strconv.Atoi(seg)
		if err != nil || i < 0 || i >= len(n.Content) {
			return fmt.Errorf("no list item %q", seg)
		}
		switch {
		case !last:
			return editNode(n.Content[i], segs[1:], value)
		case value == nil:
			n.Content = slices.Delete(n.Content, i, i+1)
		default:
			n.Content[i] = value
		}
		return nil
	}
	return fmt.Errorf("%q is below a scalar", seg)
}

// Table documents: minimal and maximal documents of every kind, and edits
// of them that break one rule each.
const (
	sha256Hex = "0c7e4b9e2f2a8e6e3d1b5a4c9f8e7d6c5b4a39281706f5e4d3c2b1a09f8e7d6c"
	md5Hex    = "9e107d9d372bb6826bd81d3542a419d6"
	sha512Hex = sha256Hex + sha256Hex
	sshKey    = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHvMjL5uzHd3OK9tT2uwXro1f5/4z9Jo16Bv8zUuWiYR ops@example"
)

var minimalDocs = map[string]string{
	schemas.KindSite: `apiVersion: metalgit.dev/v1alpha1
kind: Site
metadata: {name: dc1}
spec: {namespace: metal3-system, provisioningPool: provisioning}
`,
	schemas.KindIPPool: `apiVersion: metalgit.dev/v1alpha1
kind: IPPool
metadata: {name: provisioning}
spec: {cidr: 192.168.100.1/24}
`,
	schemas.KindNodeType: `apiVersion: metalgit.dev/v1alpha1
kind: NodeType
metadata: {name: small}
spec: {}
`,
	schemas.KindHost: `apiVersion: metalgit.dev/v1alpha1
kind: Host
metadata: {name: server-01}
spec:
  bmc: {address: "ipmi://10.20.0.11", credentialsName: server-01-bmc}
  bootMACAddress: "aa:bb:cc:dd:ee:01"
`,
	schemas.KindMachineSet: `apiVersion: metalgit.dev/v1alpha1
kind: MachineSet
metadata: {name: workers}
spec: {nodeType: small, quantity: 0}
`,
	schemas.KindMachine: `apiVersion: metalgit.dev/v1alpha1
kind: Machine
metadata: {name: db-0}
spec: {nodeType: small}
`,
	schemas.KindOSImage: `apiVersion: metalgit.dev/v1alpha1
kind: OSImage
metadata: {name: noble}
spec: {url: "https://images.example.com/noble.img", checksum: ` + sha256Hex + `}
`,
	schemas.KindSSHKey: `apiVersion: metalgit.dev/v1alpha1
kind: SSHKey
metadata: {name: ops}
spec: {publicKey: ` + sshKey + `}
`,
	schemas.KindSecret: `apiVersion: v1
kind: Secret
metadata: {name: user-data}
`,
}

var maximalDocs = map[string]string{
	schemas.KindSite: `apiVersion: metalgit.dev/v1alpha1
kind: Site
metadata:
  name: dc1.example.com
  namespace: metal3-system
  labels: {env: prod}
  annotations: {owner: "team infra"}
spec:
  namespace: metal3-system
  provisioningPool: provisioning
  bootProxy:
    vip: 192.168.100.2/24
    attachment: {type: macvlan, master: eth0, mode: private, bridge: br0}
    ironic: {apiURL: "http://ironic:6385", httpURL: "http://ironic:6180"}
    kernelParams: {inspector: ["console=ttyS0,115200n8"], installer: ["console=ttyS0,115200n8", "quiet"]}
    ports: {dhcp: 67, tftp: 69, http: 8080, callback: 65535}
  deploy:
    metal3: {enabled: true, helmValues: {ironic: {image: {tag: release-32.0}}, list: [1, two, null], flag: false}}
    bootProxy: {enabled: false}
    multus: {enabled: true, helmValues: {namespace: kube-system}}
  metallb:
    pools:
      - {name: services, addresses: ["192.168.100.240-192.168.100.250"], autoAssign: false}
      - {name: default, addresses: [10.10.0.0/28, "10.10.0.100-10.10.0.150"]}
  bootstrap: {runcmd: ["echo joined > /var/log/metalgit-bootstrap"]}
  properties: {region: us-east, nested: {a: [1, 2]}, count: 3, none: null}
  zones:
    bmc: {pool: bmc, vlan: 4094}
    provisioning: {pool: provisioning, vlan: 0}
    tenant: {pool: tenant}
`,
	schemas.KindIPPool: `apiVersion: metalgit.dev/v1alpha1
kind: IPPool
metadata: {name: tenant, labels: {zone: tenant}}
spec:
  ranges: ["10.0.0.20-10.0.0.30", "10.0.0.40-10.0.0.50"]
  prefix: 24
  gateway: 10.0.0.1
  dnsServers: [10.0.0.53, 10.0.0.54]
  ntpServers: [10.0.0.1]
  reserved: [10.0.0.25, 10.0.0.26-10.0.0.27]
`,
	schemas.KindNodeType: `apiVersion: metalgit.dev/v1alpha1
kind: NodeType
metadata: {name: gpu-server}
spec:
  displayName: GPU Server
  resources: {cpu: "64", memory: 256Gi, nvidia.com/gpu: 4, fraction: 0.5, milli: 500m, exp: 1e3}
  hostSelector:
    matchLabels: {role: gpu}
    matchExpressions:
      - {key: datacenter, operator: In, values: [us-east, us-west]}
      - {key: broken, operator: DoesNotExist}
  pool: tenant
  image: {url: "https://images.example.com/noble.img", checksum: ` + sha512Hex + `, checksumType: sha512, format: raw}
  sshKeys: [ops, admin]
  userData: "#cloud-config\n"
  userDataTemplate: "#cloud-config\nhostname: {{ .Machine.Name }}\n"
  userDataTemplateSecret: user-data
  networkData: "{}"
  networkDataTemplate: "{{ .AllocatedIP }}"
  networkDataTemplateSecret: network-data
  properties: {tier: gold, weights: [1, 2.5]}
`,
	schemas.KindHost: `apiVersion: metalgit.dev/v1alpha1
kind: Host
metadata:
  name: server-01
  namespace: metal3-system
  labels: {role: gpu, datacenter: us-east}
  annotations: {rack: "4"}
spec:
  bmc:
    address: redfish+https://10.20.0.11/redfish/v1/Systems/1
    credentialsName: server-01-bmc
    disableCertificateVerification: true
  bootMACAddress: "aa:bb:cc:dd:ee:01"
  bootMode: UEFISecureBoot
  online: false
  resources: {cpu: 96, memory: 512Gi, nvidia.com/gpu: "8", scratch: 1.5e3, half: .5}
  rootDeviceHints:
    deviceName: /dev/nvme0n1
    hctl: "0:0:0:0"
    model: PM1733
    vendor: Samsung
    serialNumber: S4YNNE0R
    minSizeGigabytes: 100
    wwn: "0x5002538e40000000"
    wwnWithExtension: "0x5002538e40000000"
    wwnVendorExtension: "0x1"
    rotational: false
  interfaces:
    - {name: eno1, macAddress: "aa:bb:cc:dd:ee:01", mtu: 9000}
    - {name: eno2, macAddress: "AA:BB:CC:DD:EE:02", mtu: 68}
    - {name: bond0, bond: {mode: 802.3ad, interfaces: [eno1, eno2]}, mtu: 65535}
    - name: bond0.100
      vlan: {id: 100, link: bond0}
      pool: tenant
      routes: [{network: 10.1.0.0/16, gateway: 10.0.0.1}]
  switchPort: {switchID: "00:11:22:33:44:55", portID: Ethernet1/1, switchInfo: leaf-1}
  ipAddress: 192.168.100.42
`,
	schemas.KindMachineSet: `apiVersion: metalgit.dev/v1alpha1
kind: MachineSet
metadata: {name: gpu-workers}
spec: {nodeType: gpu-server, quantity: 3, properties: {tier: gold}}
`,
	schemas.KindMachine: `apiVersion: metalgit.dev/v1alpha1
kind: Machine
metadata: {name: db-0, labels: {app: db}}
spec: {nodeType: gpu-server, serverName: server-02, properties: {disk: fast}}
`,
	schemas.KindOSImage: `apiVersion: metalgit.dev/v1alpha1
kind: OSImage
metadata: {name: noble}
spec: {url: "https://images.example.com/noble.img", checksum: ` + md5Hex + `, checksumType: md5, format: qcow2}
`,
	schemas.KindSSHKey: minimalDocsSSHKey,
	schemas.KindSecret: `apiVersion: v1
kind: Secret
metadata:
  name: user-data
  namespace: metal3-system
  labels: {metalgit.dev/user-data-template-type: cloud-config}
type: Opaque
data: {other: aGVsbG8=}
stringData: {template: "#cloud-config\n"}
immutable: true
`,
}

const minimalDocsSSHKey = `apiVersion: metalgit.dev/v1alpha1
kind: SSHKey
metadata: {name: ops, annotations: {owner: ops}}
spec: {publicKey: ` + sshKey + `}
`

type agreementCase struct {
	doc   string
	edits []edit
	valid bool // the verdict both sides must give
}

var agreementCases = func() map[string]agreementCase {
	cases := map[string]agreementCase{}
	add := func(name, doc string, valid bool, edits ...edit) {
		if _, dup := cases[name]; dup {
			panic("duplicate table case " + name)
		}
		cases[name] = agreementCase{doc: doc, edits: edits, valid: valid}
	}
	kinds := append(slices.Clone(schemas.Kinds), schemas.KindSecret)
	for _, k := range kinds {
		add(k+"/minimal", minimalDocs[k], true)
		add(k+"/maximal", maximalDocs[k], true)
		add(k+"/name missing", maximalDocs[k], false, del("metadata.name"))
		add(k+"/name empty", maximalDocs[k], false, set("metadata.name", `""`))
		add(k+"/metadata missing", minimalDocs[k], false, del("metadata"))
		add(k+"/metadata null", minimalDocs[k], false, set("metadata", "null"))
		add(k+"/apiVersion missing", minimalDocs[k], false, del("apiVersion"))
		add(k+"/apiVersion wrong", minimalDocs[k], false, set("apiVersion", "metalgit.dev/v1"))
		add(k+"/kind missing", minimalDocs[k], false, del("kind"))
		add(k+"/unknown top-level field", minimalDocs[k], false, set("status", "{ready: true}"))
		add(k+"/unknown metadata field", minimalDocs[k], false, set("metadata.uid", "abc"))
		add(k+"/name pattern", minimalDocs[k], false, set("metadata.name", "Server_01"))
		add(k+"/name too long", minimalDocs[k], false, set("metadata.name", strings.Repeat("a", schemas.NameMaxLength+1)))
		add(k+"/name longest", minimalDocs[k], true, set("metadata.name", strings.Repeat("a", 63)+"."+strings.Repeat("b", schemas.NameMaxLength-64)))
		add(k+"/name not a string", minimalDocs[k], false, set("metadata.name", "123"))
		add(k+"/labels not strings", minimalDocs[k], false, set("metadata.labels", "{a: 1}"))
		add(k+"/labels null", minimalDocs[k], true, set("metadata.labels", "null"))
		add(k+"/document not a mapping", "- "+k+"\n", false)
		if k != schemas.KindSecret {
			add(k+"/spec missing", minimalDocs[k], false, del("spec"))
			add(k+"/spec null", minimalDocs[k], false, set("spec", "null"))
			add(k+"/spec not a mapping", minimalDocs[k], false, set("spec", "[]"))
			add(k+"/unknown spec field", maximalDocs[k], false, set("spec.color", "blue"))
		}
	}

	// Required fields, missing and empty.
	required := []struct {
		kind, path, empty string
	}{
		{schemas.KindSite, "spec.namespace", `""`},
		{schemas.KindSite, "spec.provisioningPool", `""`},
		{schemas.KindSite, "spec.bootProxy.vip", `""`},
		{schemas.KindSite, "spec.bootProxy.attachment.type", `""`},
		{schemas.KindSite, "spec.bootProxy.ironic.apiURL", `""`},
		{schemas.KindSite, "spec.metallb.pools[0].name", `""`},
		{schemas.KindSite, "spec.metallb.pools[0].addresses", "[]"},
		{schemas.KindSite, "spec.zones.bmc.pool", `""`},
		{schemas.KindHost, "spec.bmc", "{}"},
		{schemas.KindHost, "spec.bmc.address", `""`},
		{schemas.KindHost, "spec.bmc.credentialsName", `""`},
		{schemas.KindHost, "spec.bootMACAddress", `""`},
		{schemas.KindHost, "spec.interfaces[0].name", `""`},
		{schemas.KindHost, "spec.interfaces[2].bond.mode", `""`},
		{schemas.KindHost, "spec.interfaces[2].bond.interfaces", "[]"},
		{schemas.KindHost, "spec.interfaces[3].vlan.id", "null"},
		{schemas.KindHost, "spec.interfaces[3].vlan.link", `""`},
		{schemas.KindHost, "spec.interfaces[3].routes[0].network", `""`},
		{schemas.KindHost, "spec.interfaces[3].routes[0].gateway", `""`},
		{schemas.KindNodeType, "spec.hostSelector.matchExpressions[0].key", `""`},
		{schemas.KindNodeType, "spec.hostSelector.matchExpressions[0].operator", `""`},
		{schemas.KindNodeType, "spec.image.url", `""`},
		{schemas.KindNodeType, "spec.image.checksum", `""`},
		{schemas.KindMachineSet, "spec.nodeType", `""`},
		{schemas.KindMachineSet, "spec.quantity", "null"},
		{schemas.KindMachine, "spec.nodeType", `""`},
		{schemas.KindOSImage, "spec.url", `""`},
		{schemas.KindOSImage, "spec.checksum", `""`},
		{schemas.KindSSHKey, "spec.publicKey", `""`},
	}
	for _, r := range required {
		add(r.kind+"/"+r.path+" missing", maximalDocs[r.kind], false, del(r.path))
		add(r.kind+"/"+r.path+" empty", maximalDocs[r.kind], false, set(r.path, r.empty))
	}
	host, site, nodeType, image := maximalDocs[schemas.KindHost], maximalDocs[schemas.KindSite], maximalDocs[schemas.KindNodeType], maximalDocs[schemas.KindOSImage]
	add("Site/metallb addresses null", site, false, set("spec.metallb.pools[0].addresses", "null"))
	add("Host/bond interfaces null", host, false, set("spec.interfaces[2].bond.interfaces", "null"))

	// Patterns.
	for name, value := range map[string]string{
		"five pairs": `"aa:bb:cc:dd:ee"`, "dashes": `"aa-bb-cc-dd-ee-ff"`, "not hex": `"gg:bb:cc:dd:ee:ff"`, "trailing colon": `"aa:bb:cc:dd:ee:ff:"`,
	} {
		add("Host/bootMACAddress "+name, host, false, set("spec.bootMACAddress", value))
		add("Host/interface macAddress "+name, host, false, set("spec.interfaces[1].macAddress", value))
	}
	add("Host/interface macAddress empty", host, true, set("spec.interfaces[1].macAddress", `""`))
	for name, value := range map[string]string{
		"no scheme": "10.20.0.11", "http": "http://10.20.0.11/redfish/v1", "unknown scheme": "amt://10.20.0.11",
		"no host": "redfish:///redfish/v1", "one slash": "ipmi:/10.20.0.11", "upper case": "Redfish://10.20.0.11",
	} {
		add("Host/bmc address "+name, host, false, set("spec.bmc.address", value))
	}
	for _, scheme := range schemas.BMCSchemes {
		add("Host/bmc address "+scheme, host, true, set("spec.bmc.address", scheme+"://10.20.0.11:623/x"))
	}

	// Checksums.
	for name, tc := range map[string]struct {
		checksum, checksumType string
		valid                  bool
	}{
		"md5":                   {md5Hex, "md5", true},
		"sha256":                {sha256Hex, "sha256", true},
		"sha512":                {sha512Hex, "sha512", true},
		"upper-case hex":        {strings.ToUpper(sha256Hex), "sha256", true},
		"detected md5":          {md5Hex, "", true},
		"detected sha256":       {sha256Hex, "", true},
		"detected sha512":       {sha512Hex, "", true},
		"empty type, md5":       {md5Hex, `""`, true},
		"md5 too long":          {sha256Hex, "md5", false},
		"sha256 too short":      {md5Hex, "sha256", false},
		"sha512 too short":      {sha256Hex, "sha512", false},
		"detected length 40":    {strings.Repeat("a", 40), "", false},
		"empty type, length 40": {strings.Repeat("a", 40), `""`, false},
		"not hex":               {strings.Repeat("z", 64), "sha256", false},
		"not hex, detected":     {strings.Repeat("z", 64), "", false},
		"unknown type":          {strings.Repeat("a", 40), "sha1", false},
		"checksum a number":     {"12345", "", false},
	} {
		edits := []edit{set("spec.checksum", tc.checksum), del("spec.checksumType")}
		if tc.checksumType != "" {
			edits[1] = set("spec.checksumType", tc.checksumType)
		}
		add("OSImage/checksum "+name, image, tc.valid, edits...)
		var imageEdits []edit
		for _, e := range edits {
			imageEdits = append(imageEdits, edit{strings.Replace(e.path, "spec.", "spec.image.", 1), e.value})
		}
		add("NodeType/image checksum "+name, nodeType, tc.valid, imageEdits...)
	}

	// Quantities.
	for value, valid := range map[string]bool{
		`"64"`: true, "64": true, "256Gi": true, "500m": true, "1.5": true, "0.5": true, ".5": true, `"1."`: true,
		"1e3": true, `"1E3"`: true, "1.5e3": true, "0": true, "1Ei": true,
		"-1": false, `"-1"`: false, "abc": false, `""`: false, "64GB": false, "1 Gi": false, "true": false,
		"null": false, "[1]": false, "{a: 1}": false, "-0.5": false,
	} {
		add("Host/resources quantity "+value, host, valid, set("spec.resources.cpu", value))
		add("NodeType/resources quantity "+value, nodeType, valid, set("spec.resources[nvidia.com/gpu]", value))
	}
	add("Host/resources null", host, true, set("spec.resources", "null"))
	add("Host/resources a list", host, false, set("spec.resources", "[cpu]"))
	pool := maximalDocs[schemas.KindIPPool]
	add("IPPool/allowNetworkAndBroadcast true", pool, true, set("spec.allowNetworkAndBroadcast", "true"))
	add("IPPool/allowNetworkAndBroadcast a string", pool, false, set("spec.allowNetworkAndBroadcast", `"true"`))

	// Enums: every allowed value, a wrong one, and "" where the field is optional.
	enums := []struct {
		kind, path string
		values     []string
		optional   bool
	}{
		{schemas.KindHost, "spec.bootMode", schemas.BootModes, true},
		{schemas.KindSite, "spec.bootProxy.attachment.type", schemas.AttachmentTypes, false},
		{schemas.KindSite, "spec.bootProxy.attachment.mode", schemas.MacvlanModes, true},
		{schemas.KindOSImage, "spec.checksumType", nil, true}, // values: see checksums above
		{schemas.KindOSImage, "spec.format", schemas.ImageFormats, true},
		{schemas.KindNodeType, "spec.image.format", schemas.ImageFormats, true},
		{schemas.KindHost, "spec.interfaces[2].bond.mode", schemas.BondModes, false},
		{schemas.KindNodeType, "spec.hostSelector.matchExpressions[1].operator", schemas.SelectorOperators, false},
	}
	for _, e := range enums {
		for _, v := range e.values {
			add(e.kind+"/"+e.path+" "+v, maximalDocs[e.kind], true, set(e.path, strconv.Quote(v)))
		}
		add(e.kind+"/"+e.path+" wrong", maximalDocs[e.kind], false, set(e.path, "wrong"))
		add(e.kind+"/"+e.path+" wrong case", maximalDocs[e.kind], false, set(e.path, "DEFAULT"))
		add(e.kind+"/"+e.path+" not a string", maximalDocs[e.kind], false, set(e.path, "1"))
		if e.optional { // required ones: see above
			add(e.kind+"/"+e.path+" empty, meaning unset", maximalDocs[e.kind], true, set(e.path, `""`))
		}
	}
	add("Host/bootMode uefi", host, false, set("spec.bootMode", "uefi"))

	// Numeric limits, just inside and just outside.
	limits := []struct {
		kind, path string
		ok, bad    []int
	}{
		{schemas.KindMachineSet, "spec.quantity", []int{0, 1, 1000, schemas.MaxMachineSetQuantity}, []int{-1, schemas.MaxMachineSetQuantity + 1}},
		{schemas.KindHost, "spec.interfaces[3].vlan.id", []int{schemas.MinVLANID, schemas.MaxVLANID}, []int{0, -1, schemas.MaxVLANID + 1}},
		{schemas.KindSite, "spec.zones.bmc.vlan", []int{0, schemas.MinVLANID, schemas.MaxVLANID}, []int{-1, schemas.MaxVLANID + 1}},
		{schemas.KindHost, "spec.interfaces[0].mtu", []int{0, schemas.MinMTU, schemas.MaxMTU}, []int{1, schemas.MinMTU - 1, schemas.MaxMTU + 1, -1}},
		{schemas.KindSite, "spec.bootProxy.ports.dhcp", []int{0, 1, schemas.MaxPort}, []int{-1, schemas.MaxPort + 1}},
		{schemas.KindSite, "spec.bootProxy.ports.tftp", []int{69}, []int{-1, schemas.MaxPort + 1}},
		{schemas.KindSite, "spec.bootProxy.ports.http", []int{8080}, []int{-1, schemas.MaxPort + 1}},
		{schemas.KindSite, "spec.bootProxy.ports.callback", []int{8081}, []int{-1, schemas.MaxPort + 1}},
		{schemas.KindIPPool, "spec.prefix", []int{1, 32}, []int{-1, schemas.MaxPrefix + 1}},
		{schemas.KindHost, "spec.rootDeviceHints.minSizeGigabytes", []int{0, 1}, []int{-1}},
	}
	for _, l := range limits {
		for _, v := range l.ok {
			add(fmt.Sprintf("%s/%s %d", l.kind, l.path, v), maximalDocs[l.kind], true, set(l.path, strconv.Itoa(v)))
		}
		for _, v := range l.bad {
			add(fmt.Sprintf("%s/%s %d", l.kind, l.path, v), maximalDocs[l.kind], false, set(l.path, strconv.Itoa(v)))
		}
		add(l.kind+"/"+l.path+" a string", maximalDocs[l.kind], false, set(l.path, `"10"`))
		add(l.kind+"/"+l.path+" a fraction", maximalDocs[l.kind], false, set(l.path, "10.5"))
	}
	add("Host/mtu in hex", host, true, set("spec.interfaces[0].mtu", "0x5dc"))

	// Unknown fields at every level.
	for path, doc := range map[string]string{
		"spec.bmc.port":                           host,
		"spec.bootMacAddress":                     host,
		"spec.interfaces[0].speed":                host,
		"spec.interfaces[2].bond.miimon":          host,
		"spec.interfaces[3].vlan.protocol":        host,
		"spec.interfaces[3].routes[0].metric":     host,
		"spec.rootDeviceHints.size":               host,
		"spec.switchPort.vlan":                    host,
		"spec.bootProxy.ports.ssh":                site,
		"spec.bootProxy.attachment.vlan":          site,
		"spec.bootProxy.ironic.inspectorURL":      site,
		"spec.bootProxy.kernelParams.deployer":    site,
		"spec.deploy.flux":                        site,
		"spec.deploy.metal3.version":              site,
		"spec.metallb.pools[0].avoidBuggyIPs":     site,
		"spec.metallb.l2":                         site,
		"spec.bootstrap.packages":                 site,
		"spec.zones.bmc.gateway":                  site,
		"spec.hostSelector.matchFields":           nodeType,
		"spec.hostSelector.matchExpressions[0].x": nodeType,
		"spec.image.size":                         nodeType,
	} {
		add(strings.SplitN(doc[strings.Index(doc, "kind: ")+6:], "\n", 2)[0]+"/unknown field "+path, doc, false, set(path, "1"))
	}
	add("Secret/unknown field spec", maximalDocs[schemas.KindSecret], false, set("spec", "{a: b}"))

	// Free-form fields take anything.
	add("Site/properties anything", site, true, set("spec.properties.deep", "{a: [1, {b: null}], c: true}"))
	add("Site/helmValues anything", site, true, set("spec.deploy.multus.helmValues.x", "[1, 2, {y: z}]"))
	add("NodeType/properties null", nodeType, true, set("spec.properties", "null"))
	add("Site/properties a list", site, false, set("spec.properties", "[a]"))
	add("Site/helmValues a string", site, false, set("spec.deploy.metal3.helmValues", "values.yaml"))

	// Wrong types and null.
	for path, tc := range map[string]struct {
		doc, value string
		valid      bool
	}{
		"spec.bmc a string":                                      {host, "redfish://x", false},
		"spec.bmc null":                                          {host, "null", false},
		"spec.bootMACAddress a number":                           {host, "123456", false},
		"spec.online a string":                                   {host, `"true"`, false},
		"spec.online yes":                                        {host, "yes", false},
		"spec.online null":                                       {host, "null", true},
		"spec.bmc.disableCertificateVerification null":           {host, "null", false},
		"spec.interfaces a mapping":                              {host, "{eno1: {}}", false},
		"spec.interfaces null":                                   {host, "null", true},
		"spec.interfaces[0] null":                                {host, "null", false},
		"spec.interfaces[0] a string":                            {host, "eno1", false},
		"spec.rootDeviceHints null":                              {host, "null", true},
		"spec.rootDeviceHints empty":                             {host, "{}", true},
		"spec.rootDeviceHints.rotational yes":                    {host, `"yes"`, false},
		"spec.interfaces[3].vlan null":                           {host, "null", true},
		"spec.interfaces[2].bond.interfaces a string":            {host, "eno1", false},
		"spec.interfaces[2].bond.interfaces[0] a number":         {host, "1", false},
		"spec.ipAddress a number":                                {host, "1", false},
		"spec.bootProxy null":                                    {site, "null", true},
		"spec.bootProxy a list":                                  {site, "[]", false},
		"spec.bootProxy.kernelParams.inspector a string":         {site, "console=ttyS0", false},
		"spec.deploy.metal3.enabled a string":                    {site, "on", false},
		"spec.deploy.metal3.enabled null":                        {site, "null", false},
		"spec.metallb.pools[0].autoAssign a string":              {site, `"false"`, false},
		"spec.zones a list":                                      {site, "[bmc]", false},
		"spec.zones.bmc null":                                    {site, "null", false},
		"spec.sshKeys a string":                                  {nodeType, "ops", false},
		"spec.sshKeys[0] null":                                   {nodeType, "null", false},
		"spec.hostSelector.matchLabels.role a number":            {nodeType, "1", false},
		"spec.hostSelector.matchExpressions[0].values[0] a bool": {nodeType, "true", false},
		"spec.userData a mapping":                                {nodeType, "{a: b}", false},
		"spec.displayName a number":                              {nodeType, "7", false},
		"spec.ranges one string":                                 {maximalDocs[schemas.KindIPPool], `"10.0.0.20-10.0.0.30,10.0.0.40-10.0.0.50"`, true},
		"spec.ranges a number":                                   {maximalDocs[schemas.KindIPPool], "5", false},
		"spec.ranges[0] a number":                                {maximalDocs[schemas.KindIPPool], "5", false},
		"spec.ranges null":                                       {maximalDocs[schemas.KindIPPool], "null", true},
		"spec.dnsServers a string":                               {maximalDocs[schemas.KindIPPool], "10.0.0.53", false},
		"spec.publicKey a list":                                  {maximalDocs[schemas.KindSSHKey], "[a]", false},
		"data a list":                                            {maximalDocs[schemas.KindSecret], "[a]", false},
		"immutable a string":                                     {maximalDocs[schemas.KindSecret], "yes", false},
	} {
		field := strings.Fields(path)[0]
		kind := strings.SplitN(tc.doc[strings.Index(tc.doc, "kind: ")+6:], "\n", 2)[0]
		add(kind+"/"+path, tc.doc, tc.valid, set(field, tc.value))
	}

	// Checks of one document that Go reports under rules outside
	// SchemaRules: the schemas leave them to metalgit validate.
	add("Site/namespace not a DNS label", site, true, set("spec.namespace", "Metal3_System"))
	add("Site/bridge attachment without bridge", site, true, set("spec.bootProxy.attachment", "{type: bridge}"))
	add("Site/macvlan attachment without master", site, true, set("spec.bootProxy.attachment", "{type: macvlan}"))
	add("NodeType/osImage and image", nodeType, true, set("spec.osImage", "noble"))
	add("SSHKey/not a key", minimalDocs[schemas.KindSSHKey], true, set("spec.publicKey", "not a key"))
	add("Site/ironic apiURL not a URL", site, true, set("spec.bootProxy.ironic.apiURL", "ironic"))
	add("Host/route network not a CIDR", host, true, set("spec.interfaces[3].routes[0].network", "10.1.0.0"))
	add("Host/bond of itself", host, true, set("spec.interfaces[2].bond.interfaces", "[bond0]"))
	add("NodeType/In without values", nodeType, true, set("spec.hostSelector.matchExpressions[0].values", "[]"))

	// Kinds and apiVersions that no schema takes.
	add("unknown kind", minimalDocs[schemas.KindHost], false, set("kind", "Hots"))
	add("unknown kind, other apiVersion", "apiVersion: metalgit.dev/v1beta1\nkind: Rack\nmetadata: {name: r1}\nspec: {}\n", false)
	add("kind not a string", minimalDocs[schemas.KindHost], false, set("kind", "[Host]"))
	add("Secret with our apiVersion", minimalDocs[schemas.KindSecret], false, set("apiVersion", schemas.APIVersion))
	add("Host with apiVersion v1", minimalDocs[schemas.KindHost], false, set("apiVersion", "v1"))

	// A mapping that names a key twice: Go reports it, editors too.
	cases["Host/duplicate key"] = agreementCase{doc: minimalDocs[schemas.KindHost] + "metadata: {name: server-02}\n"}

	// YAML spellings that JSON cannot tell apart: Go reads them as the schema does.
	add("NodeType/displayName a YAML timestamp", nodeType, true, set("spec.displayName", "2024-01-01"))
	add("MachineSet/quantity 1.0", maximalDocs[schemas.KindMachineSet], true, set("spec.quantity", "1.0"))
	add("MachineSet/quantity 1.5", maximalDocs[schemas.KindMachineSet], false, set("spec.quantity", "1.5"))
	add("Host/resources quantity in hex", host, true, set("spec.resources.cpu", "0x10"))
	add("Host/resources negative number", host, false, set("spec.resources.cpu", "-2"))
	return cases
}()
