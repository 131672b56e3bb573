// Package netnstest is a test-only harness for tests that need Linux
// network namespaces: real DHCP, TFTP and router advertisement peers that
// must talk over a link without touching the host's own interfaces.
//
// It owns the lifecycle of what it creates and nothing else: a pair of
// uniquely named namespaces (server and client), the veth pair between
// them, their loopback and addresses, and the removal of all of it in
// t.Cleanup (also after a failure). It never looks at, changes or deletes
// a namespace or link it did not create, so tests using it may run in
// parallel with each other and on a developer's machine.
//
// It also provides the two ways a test runs something inside a namespace:
// NS.Do runs Go code on an OS thread that has entered the namespace (so
// sockets created there belong to it, which is how a test runs an
// in-process server), and NS.Command runs a real program through
// `ip netns exec`. Processes started that way are stopped by their PID
// (exec.Cmd with a context), never by name.
//
// Require skips a test when the machine cannot create namespaces (not
// root, no `ip`); when the CI environment variable is set it fails the
// test instead, so CI cannot silently skip the integration tests.
package netnstest
