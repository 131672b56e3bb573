// Package httpboot is the boot proxy's HTTP server: the iPXE scripts of
// the hosts in the table, the boot binaries for UEFI HTTP boot, and a
// streaming proxy to Ironic's image server for the agent's kernel and
// initramfs.
//
// What it serves (GET and HEAD only; anything else gets 405):
//
//   - /boot/<mac>.ipxe — the host's iPXE script, the MAC in dash form
//     (boot.MACPath, iPXE's ${mac:hexhyp}) or colon form, either case.
//     Phase inspect gets the inspector script, phase deploy the
//     installer script: kernel, initrd and boot of
//     HTTPURL/images/ironic-python-agent.{kernel,initramfs}, tried again
//     Config.ScriptRetries times 1, 2, 4, … s apart, then a message and
//     exit 1. The kernel line holds BOOTIF=${mac}, ipa-api-url (and for
//     inspection the callback URL and collectors), then the Site's, the
//     host's and the flags' parameters, then initrd=. A MAC outside the
//     table and a host of phase none get a script that says so and
//     exits. Everything written into a script is checked first
//     (boot.CheckKernelParam): iPXE expands ${…} and a newline would
//     start a command.
//   - /images/<path> — proxied to Config.IronicHTTPURL's /images/<path>
//     as it streams (never held in memory; over plain TCP with a known
//     length spliced from socket to socket by the kernel), Range and
//     conditional requests passed through; only PassedHeaders go upstream; paths with
//     ".", "..", empty segments or encoded dots and slashes are refused;
//     bounded dial, response-header and stall times; 502/504 when the
//     upstream fails.
//   - /<file> — a regular file under Config.Root, through os.Root (no
//     escape by "..", an absolute path or a symbolic link), with Range.
//
// Bounds: Config.MaxConns connections, Config.MaxRequests requests and
// Config.MaxImageStreams image downloads at once (beyond: 503 at once,
// Retry-After: 1), headers of Config.MaxHeaderBytes read within
// Config.ReadHeaderTimeout, idle connections closed after
// Config.IdleTimeout, a client or upstream silent for Config.StallTimeout
// cut off, Config.ShutdownGrace for the requests running at shutdown.
//
// Each request ends with one log line, its metrics (metalgit_http_…) and
// a boot trace event: scripts under the MAC of their path, binaries and
// images under the MAC whose lease is the client's address.
package httpboot
