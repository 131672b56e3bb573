// Package boot owns the boot proxy's host table: what the proxy knows
// about each machine it may boot (MAC → address, gateway, DNS, NTP,
// hostname, boot mode and phase), the hosts file format that fills it
// for labs and tests, and the atomic holder that lets a source (the
// reconciler after each good pass, a BareMetalHost watch, a file) swap
// the whole table while the servers read it.
//
// The servers live in subpackages (boot/dhcp, boot/ra; TFTP, HTTP and the
// Ironic callback proxy later). Package boot never imports reconciler or
// render: whoever runs the proxy converts its own data into a Table.
package boot
