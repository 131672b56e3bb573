package tftp

import (
	"bufio"
	"context"
	"errors"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// readBuffer is the most a transfer reads from its file at once: one read
// for many blocks.
const readBuffer = 64 << 10

// refusal is why a request is refused; its text is the ERROR packet's
// message.
type refusal Reason

var refusalMessages = map[Reason]string{
	ReasonWrite:        "access violation: this server does not accept writes",
	ReasonAbsolutePath: "access violation: absolute path",
	ReasonOutsideRoot:  "access violation: outside the served directory",
	ReasonNotFound:     "file not found",
	ReasonNotAFile:     "access violation: not a regular file",
	ReasonPermission:   "access violation: permission denied",
	ReasonBusy:         "server busy: too many transfers, try again",
	ReasonClientBusy:   "server busy: too many transfers from this address, try again",
}

func (r refusal) Error() string { return refusalMessages[Reason(r)] }

// code is the ERROR packet's code (RFC 1350): 1 for a missing file, 0
// (not defined, see the message) for a busy server, 2 (access
// violation) for the rest.
func (r refusal) code() uint16 {
	switch Reason(r) {
	case ReasonNotFound:
		return codeNotFound
	case ReasonBusy, ReasonClientBusy:
		return codeNotDefined
	}
	return codeAccessViolation
}

// Errors that end a transfer from the server's side; their text is the
// ERROR packet's message.
var (
	errShutdown   = errors.New("server shutting down")
	errTooLong    = errors.New("transfer took too long")
	errServerSide = errors.New("server error")
)

// transfer is what the log line and the metrics of one request say.
type transfer struct {
	file   string
	client netip.AddrPort
	mac    net.HardwareAddr
	start  time.Time
}

func (sv *serving) begin(file string, client netip.AddrPort) *transfer {
	t := &transfer{file: file, start: time.Now()}
	t.client = netip.AddrPortFrom(client.Addr().Unmap(), client.Port())
	if sv.cfg.MACOf != nil {
		if mac, ok := sv.cfg.MACOf(t.client.Addr()); ok {
			t.mac = mac
		}
	}
	return t
}

// read serves a read request on its transfer's socket until it ends or
// stop does (the server's abort, the transfer's eviction); acked is
// called at the client's first acknowledgement.
func (sv *serving) read(stop context.Context, sock *transferSocket, t *transfer, req request, acked func()) {
	f, size, reason, err := sv.open(req.file)
	if reason != "" {
		sv.refuse(sock, t, reason)
		return
	}
	if err != nil {
		sv.finish(t, ResultFailed, nil, err)
		sv.sendError(sock, codeNotDefined, errServerSide.Error())
		return
	}
	defer func() { _ = f.Close() }()
	var r io.Reader = bufio.NewReaderSize(f, int(min(size+1, readBuffer)))
	if req.mode == "netascii" {
		r = newNetASCIIReader(r)
		// The size sent is not the file's: no tsize (as tftp-hpa).
		req.tsize = false
	}
	// An abort wakes the transfer from its wait for an acknowledgement.
	wake := context.AfterFunc(stop, sock.Shutdown)
	defer wake()
	s := &sender{sock: sock, req: req, size: size, timeout: sv.cfg.Timeout, retries: sv.cfg.Retries,
		deadline: t.start.Add(sv.cfg.MaxTransferTime), stop: stop, onAck: acked}
	err = s.run(r)
	var ce *clientError
	switch {
	case err == nil:
		sv.finish(t, ResultCompleted, s, nil)
	case errors.As(err, &ce) && req.tsize && !s.dataSent:
		sv.finish(t, ResultProbe, s, nil)
	case errors.As(err, &ce), errors.Is(err, errNoAck):
		// The client aborted or is gone: no ERROR to send.
		sv.finish(t, ResultFailed, s, err)
	default:
		if errors.Is(err, errEvicted) {
			sv.metrics.evicted.Inc()
		}
		sv.finish(t, ResultFailed, s, err)
		msg := errServerSide.Error()
		if errors.Is(err, errShutdown) || errors.Is(err, errTooLong) || errors.Is(err, errEvicted) {
			msg = err.Error()
		}
		sv.sendError(sock, codeNotDefined, msg)
	}
}

// sendError sends an ERROR packet; the transfer is over whether it
// leaves or not.
func (sv *serving) sendError(sock *transferSocket, code uint16, msg string) {
	_ = sock.Send(appendError(nil, code, msg))
}

// open opens a regular file under the root, or says why it will not.
func (sv *serving) open(name string) (f *os.File, size int64, _ Reason, _ error) {
	switch {
	case name == "":
		return nil, 0, ReasonNotFound, nil
	case strings.HasPrefix(name, "/"):
		return nil, 0, ReasonAbsolutePath, nil
	case !filepath.IsLocal(name):
		return nil, 0, ReasonOutsideRoot, nil
	}
	// O_NONBLOCK: opening a FIFO must not wait for a writer.
	f, err := sv.root.OpenFile(name, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		reason, err := openError(err)
		return nil, 0, reason, err
	}
	fi, err := f.Stat()
	if err != nil {
		_ = f.Close()
		return nil, 0, "", err
	}
	if !fi.Mode().IsRegular() {
		_ = f.Close()
		return nil, 0, ReasonNotAFile, nil
	}
	return f, fi.Size(), "", nil
}

// openError sorts an error of os.Root.OpenFile into a refusal, or returns
// it when it is the server's own trouble (no file descriptors left, I/O).
func openError(err error) (Reason, error) {
	var errno syscall.Errno
	switch {
	case errors.Is(err, fs.ErrNotExist), errors.Is(err, syscall.ENOTDIR), errors.Is(err, syscall.ELOOP):
		return ReasonNotFound, nil
	case errors.Is(err, fs.ErrPermission):
		return ReasonPermission, nil
	case !errors.As(err, &errno):
		// Not the system's error but os.Root's own: the name resolves,
		// through a symbolic link, to a place outside the root.
		return ReasonOutsideRoot, nil
	}
	return "", err
}

// refuse answers a refused request with an ERROR packet and accounts
// for it.
func (sv *serving) refuse(sock *transferSocket, t *transfer, reason Reason) {
	sv.log(t, slog.LevelWarn, ResultRefused, slog.String("reason", string(reason)))
	sv.record(t, ResultRefused, nil, refusal(reason))
	sv.metrics.byReason[reason].Inc()
	sv.metrics.byResult[ResultRefused].Inc()
	sv.sendError(sock, refusal(reason).code(), refusal(reason).Error())
}

// finish accounts for a transfer that started (r is nil when the file
// could not be opened). The log line is written before the counters move,
// so whoever sees a count sees its line.
func (sv *serving) finish(t *transfer, res Result, r *sender, err error) {
	d := time.Since(t.start)
	attrs := []slog.Attr{slog.Duration("duration", d)}
	if r != nil {
		attrs = append(attrs, slog.Int64("bytes", r.acked), slog.Int64("size", r.size), slog.Int("blksize", r.blksize),
			slog.Int("windowsize", r.window), slog.Bool("tsize", r.req.tsize))
	}
	level := slog.LevelInfo
	if err != nil {
		level = slog.LevelWarn
		if r == nil {
			level = slog.LevelError
		}
		attrs = append(attrs, slog.String("err", err.Error()))
	}
	sv.log(t, level, res, attrs...)
	sv.record(t, res, r, err)
	if r != nil {
		sv.metrics.sent.Add(float64(r.acked))
	}
	if res == ResultCompleted {
		sv.metrics.duration.Observe(d.Seconds())
	}
	sv.metrics.byResult[res].Inc()
}

// log writes the one line of a transfer.
func (sv *serving) log(t *transfer, level slog.Level, res Result, attrs ...slog.Attr) {
	base := []slog.Attr{slog.String("ip", t.client.Addr().String()), slog.Int("port", int(t.client.Port()))}
	if t.mac != nil {
		base = append(base, slog.String("mac", t.mac.String()))
	}
	base = append(base, slog.String("file", t.file), slog.String("result", string(res)))
	sv.cfg.Logger.LogAttrs(context.Background(), level, "tftp transfer", append(base, attrs...)...)
}
