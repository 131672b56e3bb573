package apply

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
)

// Labels and annotations metalgit puts on every object it applies.
const (
	// LabelManagedBy marks an object metalgit applies.
	LabelManagedBy = "app.kubernetes.io/managed-by"
	// ManagedByValue is LabelManagedBy's value.
	ManagedByValue = "metalgit"
	// LabelSite names the Site (Config.Site) whose pass applies it.
	LabelSite = "metalgit.dev/site"
	// AnnotationHash is the digest of what metalgit last applied: an
	// object whose live copy carries the digest of the object rendered
	// now, and whose rendered fields are unchanged, is not sent again.
	AnnotationHash = "metalgit.dev/applied-hash"
)

// Key names an object in the cluster.
type Key struct {
	Group     string `json:"group,omitempty"`
	Version   string `json:"version"`
	Kind      string `json:"kind"`
	Namespace string `json:"namespace,omitempty"`
	Name      string `json:"name"`
}

func (k Key) String() string {
	gk := k.Kind
	if k.Group != "" {
		gk += "." + k.Group
	}
	if k.Namespace == "" {
		return gk + "/" + k.Name
	}
	return gk + "/" + k.Namespace + "/" + k.Name
}

// GVK is the key's group, version and kind.
func (k Key) GVK() schema.GroupVersionKind {
	return schema.GroupVersionKind{Group: k.Group, Version: k.Version, Kind: k.Kind}
}

// KeyOf is the key of u.
func KeyOf(u *unstructured.Unstructured) Key {
	gvk := u.GroupVersionKind()
	return Key{Group: gvk.Group, Version: gvk.Version, Kind: gvk.Kind, Namespace: u.GetNamespace(), Name: u.GetName()}
}

// Object is one object to apply.
type Object struct {
	Key Key
	// Obj is what is sent: the rendered object with metalgit's labels and
	// AnnotationHash.
	Obj *unstructured.Unstructured
	// Hash is AnnotationHash's value.
	Hash string
}

// Stages of an apply, in order: objects others live in (namespaces, CRDs),
// then the data others refer to (Secrets, ConfigMaps: a BareMetalHost's
// BMC credentials and network data; an operator that sees a host before
// them reports an error and backs off), then everything else.
const (
	stageContainers = iota
	stageData
	stageRest
	stages
)

// stage is the object's stage of the apply.
func (o Object) stage() int {
	switch {
	case o.Key.Group == "" && o.Key.Kind == "Namespace",
		o.Key.Group == "apiextensions.k8s.io" && o.Key.Kind == "CustomResourceDefinition":
		return stageContainers
	case o.Key.Group == "" && (o.Key.Kind == "Secret" || o.Key.Kind == "ConfigMap"):
		return stageData
	default:
		return stageRest
	}
}

// ParseError is a rendered stream that is not a list of objects.
type ParseError struct {
	// Doc is the document's index in the stream, from 0.
	Doc int
	Err error
}

func (e *ParseError) Error() string {
	return fmt.Sprintf("rendered document %d: %v", e.Doc, e.Err)
}

func (e *ParseError) Unwrap() error { return e.Err }

// Parse reads a YAML stream of objects and prepares each for site:
// metalgit's labels, a Secret's stringData folded into data (the API server
// keeps only data, so comparing needs it there), and AnnotationHash. Two
// documents naming the same object are an error.
func Parse(stream []byte, site string) ([]Object, error) {
	dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(stream), 4096)
	var objs []Object
	seen := map[Key]int{}
	for i := 0; ; i++ {
		var m map[string]any
		err := dec.Decode(&m)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, &ParseError{Doc: i, Err: err}
		}
		if len(m) == 0 {
			continue
		}
		u := &unstructured.Unstructured{Object: m}
		if u.GetAPIVersion() == "" || u.GetKind() == "" || u.GetName() == "" {
			return nil, &ParseError{Doc: i, Err: errors.New("an object needs apiVersion, kind and metadata.name")}
		}
		o, err := prepare(u, site)
		if err != nil {
			return nil, &ParseError{Doc: i, Err: err}
		}
		if j, dup := seen[o.Key]; dup {
			return nil, &ParseError{Doc: i, Err: fmt.Errorf("%s is also document %d", o.Key, j)}
		}
		seen[o.Key] = i
		objs = append(objs, o)
	}
	sort.SliceStable(objs, func(a, b int) bool { return objs[a].stage() < objs[b].stage() })
	return objs, nil
}

func prepare(u *unstructured.Unstructured, site string) (Object, error) {
	u = u.DeepCopy()
	labels := u.GetLabels()
	if labels == nil {
		labels = map[string]string{}
	}
	labels[LabelManagedBy], labels[LabelSite] = ManagedByValue, site
	u.SetLabels(labels)
	if err := foldStringData(u); err != nil {
		return Object{}, err
	}
	ann := u.GetAnnotations()
	delete(ann, AnnotationHash)
	if len(ann) == 0 {
		ann = nil
	}
	u.SetAnnotations(ann)
	b, err := json.Marshal(u.Object)
	if err != nil {
		return Object{}, fmt.Errorf("encoding %s: %w", KeyOf(u), err)
	}
	sum := sha256.Sum256(b)
	hash := hex.EncodeToString(sum[:16])
	if ann == nil {
		ann = map[string]string{}
	}
	ann[AnnotationHash] = hash
	u.SetAnnotations(ann)
	return Object{Key: KeyOf(u), Obj: u, Hash: hash}, nil
}

// foldStringData moves a Secret's stringData into data, as the API server
// does.
func foldStringData(u *unstructured.Unstructured) error {
	if u.GetAPIVersion() != "v1" || u.GetKind() != "Secret" {
		return nil
	}
	sd, ok := u.Object["stringData"].(map[string]any)
	if !ok {
		return nil
	}
	data, _ := u.Object["data"].(map[string]any)
	if data == nil {
		data = map[string]any{}
	}
	for k, v := range sd {
		s, ok := v.(string)
		if !ok {
			return fmt.Errorf("%s: stringData.%s is not a string", KeyOf(u), k)
		}
		data[k] = base64.StdEncoding.EncodeToString([]byte(s))
	}
	u.Object["data"] = data
	delete(u.Object, "stringData")
	return nil
}
