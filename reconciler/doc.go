// Package reconciler will orchestrate one GitOps pass: fetch the branch,
// load and validate the inventory, plan (package alloc), commit the state
// back with conflict-safe pushes, render, and hand the result to its output
// and to the boot proxy's host table.
package reconciler
