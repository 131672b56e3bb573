// Package schemas is metalgit's inventory model: the Go types of every
// kind (Site, IPPool, NodeType, Host, MachineSet, Machine, OSImage,
// SSHKey), the loader that reads an inventory directory or kustomization
// while keeping every document's file and line, the validation of every
// rule, and the JSON Schemas editors use. It imports nothing of metalgit's.
//
// Validation starts in validate.go (Validate and the problem bookkeeping);
// each validate_<subject>.go holds the checks of one subject: names,
// fields, site, pools, overlaps, addresses, nodetypes, templates, hosts,
// bmc, machines, images, sshkeys. The names every package spells alike
// are made here too: ObjectRef ("Kind/name") and MachineName.
package schemas
