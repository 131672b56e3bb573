// Package boot will run the PXE boot proxy — DHCP, TFTP, HTTP iPXE and the
// Ironic callback proxy — from a host table of its own (MAC → lease and
// boot facts) that whoever runs it fills. It never imports reconciler or
// render.
package boot
