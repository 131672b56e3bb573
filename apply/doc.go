// Package apply puts rendered objects into a cluster and keeps them there.
//
// It owns the cluster side of a pass (design §6):
//
//   - objects.go: the rendered stream parsed into objects, each labelled
//     as metalgit's (LabelManagedBy, LabelSite), hashed (AnnotationHash)
//     and put in its stage (namespaces and CRDs, then Secrets and
//     ConfigMaps, then the rest);
//   - applier.go: server-side apply as field manager "metalgit", forced, so
//     that a field another manager changed is taken back; an object that
//     exists without metalgit's labels is a Conflict, never overwritten
//     unless Config.Adopt;
//   - live.go: what the cluster holds, from a watch of metalgit's objects,
//     so that a pass with nothing to change reads and writes nothing;
//   - drift.go: which rendered fields another manager changed, and who;
//   - inventory.go: what was applied, in a ConfigMap in the cluster, so
//     that prune deletes only objects metalgit created and no longer
//     renders.
//
// Fields metalgit does not render (status, consumerRef, anything the Bare
// Metal Operator or another controller sets) are never sent, so never
// touched.
package apply
