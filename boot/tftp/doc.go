// Package tftp is the boot proxy's TFTP server (RFC 1350): it serves the
// iPXE binaries PXE firmware chainloads (undionly.kpxe, snponly.efi, …)
// read-only from one directory.
//
// What it serves:
//
//   - Read requests for regular files under Config.Root, opened through
//     os.Root: an absolute path, a path that climbs out with "..", and a
//     symbolic link that leads out of the root are refused, as are
//     directories and other files that are not regular, missing files and
//     every write request. Each refusal is answered with a TFTP ERROR
//     packet and counted by reason.
//   - Modes octet and netascii (LF sent as CR LF, CR as CR NUL); PXE
//     firmware asks for octet.
//   - Options (RFC 2347): blksize (RFC 2348) as the client asks, from
//     MinBlockSize to MaxBlockSize, whatever the interface MTU; tsize
//     (RFC 2349) with the file's size; windowsize (RFC 7440, EDK2 asks
//     for 4) up to 16 blocks per acknowledgement. Other options (timeout)
//     are left out of the OACK: the server keeps its own timeout.
//   - EDK2 asks first with tsize and aborts after the OACK; that size
//     probe is counted as a probe, not as a failure.
//
// Bounds: at most Config.MaxTransfers transfers at once, and
// Config.MaxTransfersPerClient from one address. A request beyond either
// is not queued (a queued request would hold a socket): it takes the slot
// of the oldest transfer not acknowledged yet, so requests with forged
// source addresses cannot keep real clients out, and is refused with
// "server busy" when every transfer has been acknowledged (admission.go).
// Each block is sent up to 1+Config.Retries times,
// Config.Timeout apart; a whole transfer ends after
// Config.MaxTransferTime. On shutdown the listening socket closes at
// once, running transfers get Config.ShutdownGrace to finish and are then
// aborted with an ERROR packet.
//
// Each transfer ends with one log line (client address, its MAC when
// Config.MACOf knows it, file, result, bytes, block size, duration), its
// metrics (metalgit_tftp_…) and, when the MAC is known, one event in the
// boot trace (Config.Trace).
//
// A refusal is answered with error code 1 (file not found) for a missing
// file, 0 for a busy server and 2 (access violation) for the rest; the
// message says what happened ("access violation: outside the served
// directory", …).
//
// Each transfer runs on a socket of its own (its transfer ID), bound to
// the address the request came to (known from IP_PKTINFO), so replies
// leave from the address the client asked, and connected to the client,
// so the kernel drops what any other sends to it. That socket is blocking:
// a transfer is lock-step, and a thread woken by the kernel on each
// acknowledgement is what makes it as fast as tftpd-hpa (see socket.go).
//
// The protocol is implemented here rather than with github.com/pin/tftp/v3
// (the tests use its client): its transfers run on Go's network poller,
// which costs every acknowledgement a failed read and two epoll waits
// (about 0.75 of tftpd-hpa's throughput, measured), and it has no
// windowsize.
package tftp
