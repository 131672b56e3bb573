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

	"github.com/pin/tftp/v3"
)

// readBuffer is the most a transfer reads from its file at once: one read
// for many blocks.
const readBuffer = 64 << 10

// refusal is the error a handler gives pin/tftp to refuse a request; its
// text is the ERROR packet's message.
type refusal Reason

var refusalMessages = map[Reason]string{
	ReasonWrite:        "access violation: this server does not accept writes",
	ReasonAbsolutePath: "access violation: absolute path",
	ReasonOutsideRoot:  "access violation: outside the served directory",
	ReasonNotFound:     "file not found",
	ReasonNotAFile:     "access violation: not a regular file",
	ReasonPermission:   "access violation: permission denied",
	ReasonBusy:         "server busy: too many transfers, try again",
}

func (r refusal) Error() string { return refusalMessages[Reason(r)] }

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

func (sv *serving) begin(file string, client net.UDPAddr) *transfer {
	t := &transfer{file: file, start: time.Now()}
	t.client = client.AddrPort()
	t.client = netip.AddrPortFrom(t.client.Addr().Unmap(), t.client.Port())
	if sv.cfg.MACOf != nil {
		if mac, ok := sv.cfg.MACOf(t.client.Addr()); ok {
			t.mac = mac
		}
	}
	return t
}

// read is pin/tftp's read handler: it runs on the transfer's goroutine.
func (sv *serving) read(file string, rf io.ReaderFrom) error {
	var client net.UDPAddr
	if ot, ok := rf.(tftp.OutgoingTransfer); ok {
		client = ot.RemoteAddr()
	}
	t := sv.begin(file, client)
	select {
	case sv.slots <- struct{}{}:
	default:
		return sv.refuse(t, ReasonBusy)
	}
	sv.metrics.inFlight.Inc()
	defer func() {
		sv.metrics.inFlight.Dec()
		<-sv.slots
	}()
	f, size, reason, err := sv.open(file)
	if reason != "" {
		return sv.refuse(t, reason)
	}
	if err != nil {
		sv.finish(t, ResultFailed, nil, err)
		return errServerSide
	}
	defer func() { _ = f.Close() }()
	r := &fileReader{buf: bufio.NewReaderSize(f, int(min(size+1, readBuffer))), size: size,
		deadline: t.start.Add(sv.cfg.MaxTransferTime), abort: sv.abort}
	n, err := rf.ReadFrom(r)
	r.sent = n
	switch {
	case err == nil:
		sv.finish(t, ResultCompleted, r, nil)
	case r.probe(err):
		sv.finish(t, ResultProbe, r, nil)
	default:
		sv.finish(t, ResultFailed, r, err)
	}
	// pin/tftp has sent its ERROR packet and closed the transfer's socket:
	// returning err makes it do nothing more.
	return err
}

// write is pin/tftp's write handler: every write request is refused.
func (sv *serving) write(file string, wt io.WriterTo) error {
	var client net.UDPAddr
	if it, ok := wt.(tftp.IncomingTransfer); ok {
		client = it.RemoteAddr()
	}
	return sv.refuse(sv.begin(file, client), ReasonWrite)
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

// refuse accounts for a refused request and returns the error that makes
// pin/tftp send the ERROR packet.
func (sv *serving) refuse(t *transfer, reason Reason) error {
	sv.log(t, slog.LevelWarn, ResultRefused, slog.String("reason", string(reason)))
	sv.record(t, ResultRefused, nil, refusal(reason))
	sv.metrics.byReason[reason].Inc()
	sv.metrics.byResult[ResultRefused].Inc()
	return refusal(reason)
}

// finish accounts for a transfer that started (r is nil when the file
// could not be opened). The log line is written before the counters move,
// so whoever sees a count sees its line.
func (sv *serving) finish(t *transfer, res Result, r *fileReader, err error) {
	d := time.Since(t.start)
	attrs := []slog.Attr{slog.Duration("duration", d)}
	if r != nil {
		attrs = append(attrs, slog.Int64("bytes", r.sent), slog.Int64("size", r.size), slog.Int("blksize", r.blockSize()),
			slog.Bool("tsize", r.tsize))
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
		sv.metrics.sent.Add(float64(r.sent))
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

// fileReader is what pin/tftp reads a transfer's blocks from: the file
// through a buffer, until the transfer's deadline or the server's abort.
// It records what the transfer negotiated.
type fileReader struct {
	buf      *bufio.Reader
	size     int64
	deadline time.Time
	abort    <-chan struct{}
	// first is the length of the first read: pin/tftp reads a block at
	// a time, so it is the block size.
	first int
	reads int
	// tsize: the client asked for the size (pin/tftp then seeks to the
	// end to learn it).
	tsize bool
	sent  int64
}

func (r *fileReader) Read(p []byte) (int, error) {
	if r.reads == 0 {
		r.first = len(p)
	}
	r.reads++
	select {
	case <-r.abort:
		return 0, errShutdown
	default:
	}
	if time.Now().After(r.deadline) {
		return 0, errTooLong
	}
	return r.buf.Read(p)
}

// Seek answers the three seeks pin/tftp makes before the first block when
// the client asks for tsize: where it is, the end, and back to the start.
func (r *fileReader) Seek(offset int64, whence int) (int64, error) {
	if r.reads > 0 || offset != 0 {
		return 0, errors.New("seek: only the size is known before the first block")
	}
	if whence == io.SeekEnd {
		r.tsize = true
		return r.size, nil
	}
	return 0, nil
}

// blockSize is the negotiated block size, 0 when no block was read.
func (r *fileReader) blockSize() int { return r.first }

// probe reports whether the transfer that ended with err was a size
// probe: the client asked for tsize and answered the OACK with an ERROR
// packet (no block was read, and the error is the client's, not a
// timeout or a socket error).
func (r *fileReader) probe(err error) bool {
	var ne net.Error
	return r.tsize && r.reads == 0 && !errors.As(err, &ne)
}
