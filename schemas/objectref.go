package schemas

import "strings"

// ObjectRef names a document of the inventory as "Kind/name"
// ("Host/server-01", "Machine/db-0"). Problems name the document they are
// about with it (Problem.Object), the state names the owner of each
// address with it, and render names with it what it leaves out and what
// it cannot render. Every package spells a document's name through it.
func ObjectRef(kind, name string) string { return kind + "/" + name }

// SplitObjectRef is ObjectRef's inverse: the kind and name of
// "Kind/name", and ok false when there is no '/'. Whether the kind is one
// of Kinds is the caller's to check.
func SplitObjectRef(ref string) (kind, name string, ok bool) {
	return strings.Cut(ref, "/")
}
