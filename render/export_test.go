package render

// BuildWith exposes buildWith to the tests: the kustomize pass forced on or off.
var BuildWith = buildWith

// Objects returns the generated objects of an input, unbuilt.
func Objects(in Input) ([]object, error) { return generate(in) }
