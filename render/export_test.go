package render

import "context"

// BuildWith exposes buildWith to the tests: the kustomize pass forced on or
// off, without a cache.
func BuildWith(objs []object, overlay string, viaKustomize bool) ([]byte, error) {
	return buildWith(context.Background(), objs, overlaySource{path: overlay}, viaKustomize, nil)
}

// Objects returns the generated objects of an input, unbuilt.
func Objects(in Input) ([]object, error) {
	objs, _, err := generate(in, true, nil)
	return objs, err
}

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

// ToObjectData returns the JSON toObject makes of v.
func ToObjectData(v any) ([]byte, error) {
	o, err := toObject("Kind", "name", v)
	return o.data, err
}
