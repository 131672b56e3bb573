package tftp

import (
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/metalgit/metalgit/boot/trace"
)

// record adds the end of a transfer to the boot trace when the client's
// MAC is known. r is nil when no file was opened; err is why the
// transfer failed or was refused.
func (sv *serving) record(t *transfer, res Result, r *sender, err error) {
	if sv.cfg.Trace == nil || t.mac == nil {
		return
	}
	attrs := map[string]string{trace.AttrFile: t.file, trace.AttrResult: string(res)}
	detail := fmt.Sprintf("%s %s", t.file, res)
	if r != nil {
		attrs[trace.AttrBytes] = strconv.FormatInt(r.acked, 10)
		attrs[trace.AttrBlksize] = strconv.Itoa(r.blksize)
		attrs[trace.AttrWindowsize] = strconv.Itoa(r.window)
		detail += fmt.Sprintf(": %d of %d bytes, blksize %d, windowsize %d, in %s", r.acked, r.size, r.blksize,
			r.window, time.Since(t.start).Round(time.Millisecond))
	}
	var ref refusal
	switch {
	case errors.As(err, &ref):
		attrs[trace.AttrReason] = string(ref)
		detail += ": " + ref.Error()
	case errors.Is(err, errEvicted):
		attrs[trace.AttrReason] = "evicted"
		detail += ": " + err.Error()
	case err != nil:
		attrs[trace.AttrReason] = err.Error()
		detail += ": " + err.Error()
	}
	if res == ResultProbe {
		detail += " (a size probe, as EDK2 sends before the transfer)"
	}
	sv.cfg.Trace.Record(t.mac, trace.Event{Server: trace.ServerTFTP, Kind: trace.KindTFTP, Detail: detail,
		Failed: res == ResultFailed || res == ResultRefused, Attrs: attrs})
}
