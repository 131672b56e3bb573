// Package render will turn a validated inventory and its state into the
// manifests a cluster needs — Metal3 BareMetalHosts, user-data and
// network-data Secrets, the Multus NetworkAttachmentDefinition, MetalLB
// pools and Helm values — through kustomize. It imports the model
// (schemas) and the state (alloc/state), never reconciler or boot.
package render
