package render

// BuildWith exposes buildWith to the tests: the kustomize pass forced on or off.
var BuildWith = buildWith

// Objects returns the generated objects of an input, unbuilt.
func Objects(in Input) ([]object, error) { return generate(in, true) }

// JSONToYAML exposes jsonToYAML to the tests.
var JSONToYAML = jsonToYAML

// ObjectData returns the generated JSON of each object.
func ObjectData(objs []object) [][]byte {
	out := make([][]byte, len(objs))
	for i, o := range objs {
		out[i] = o.data
	}
	return out
}
