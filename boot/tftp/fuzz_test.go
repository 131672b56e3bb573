package tftp

import (
	"bytes"
	"testing"
)

// FuzzParseRequest: any packet on the server's port either parses into a
// request whose options are within their bounds, or is refused as
// malformed; it never panics.
func FuzzParseRequest(f *testing.F) {
	for _, s := range []string{
		"\x00\x01undionly.kpxe\x00octet\x00",
		"\x00\x01snponly.efi\x00octet\x00tsize\x000\x00blksize\x001468\x00windowsize\x004\x00",
		"\x00\x02upload\x00netascii\x00",
		"\x00\x01\x00\x00",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		req, err := parseRequest(b)
		if err != nil {
			return
		}
		if req.op != opRRQ && req.op != opWRQ {
			t.Fatalf("opcode %d parsed", req.op)
		}
		if req.blksize != 0 && (req.blksize < MinBlockSize || req.blksize > MaxBlockSize) {
			t.Fatalf("blksize %d out of bounds", req.blksize)
		}
		if req.windowsize < 0 || req.windowsize > maxWindow {
			t.Fatalf("windowsize %d out of bounds", req.windowsize)
		}
		if oack := appendOACK(nil, req, 1); req.hasOptions() != (len(oack) > 2) || bytes.Count(oack[2:], []byte{0})%2 != 0 {
			t.Fatalf("OACK % x for %+v", oack, req)
		}
		_, _ = parseReply(b)
	})
}
