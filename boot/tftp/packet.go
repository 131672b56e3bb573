package tftp

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// TFTP opcodes (RFC 1350, RFC 2347).
const (
	opRRQ   uint16 = 1
	opWRQ   uint16 = 2
	opDATA  uint16 = 3
	opACK   uint16 = 4
	opERROR uint16 = 5
	opOACK  uint16 = 6
)

// TFTP error codes (RFC 1350, RFC 2347) the server sends.
const (
	codeNotDefined      uint16 = 0
	codeNotFound        uint16 = 1
	codeAccessViolation uint16 = 2
)

// maxRequest is the longest request read: RFC 1350 keeps requests within
// one 512-byte packet; options (RFC 2347) add tens of bytes. A longer one
// is malformed.
const maxRequest = 1024

// maxWindow bounds the windowsize (RFC 7440) granted: a window's blocks are
// held until acknowledged, at most maxWindow×blksize bytes per transfer.
const maxWindow = 16

// request is a parsed read or write request.
type request struct {
	op   uint16
	file string
	mode string
	// Options the server takes (RFC 2347; names lowercased). 0 when the
	// client did not ask or asked for a value out of bounds, which is
	// then left out of the OACK and falls back to its default.
	blksize    int
	windowsize int
	tsize      bool // the client asked for the size (tsize=0)
}

// errMalformed marks a packet that is not a request the server can parse.
var errMalformed = errors.New("malformed request")

// parseRequest parses an RRQ or WRQ: opcode, file name, mode and option
// pairs, each NUL-terminated.
func parseRequest(b []byte) (request, error) {
	if len(b) < 2 || len(b) > maxRequest {
		return request{}, fmt.Errorf("%w: %d bytes", errMalformed, len(b))
	}
	req := request{op: binary.BigEndian.Uint16(b)}
	if req.op != opRRQ && req.op != opWRQ {
		return request{}, fmt.Errorf("%w: opcode %d", errMalformed, req.op)
	}
	fields := bytes.Split(b[2:], []byte{0})
	// A well-formed request ends with NUL, so the last field is empty.
	if len(fields) < 3 || len(fields[len(fields)-1]) != 0 {
		return request{}, fmt.Errorf("%w: fields not NUL-terminated", errMalformed)
	}
	fields = fields[:len(fields)-1]
	if len(fields)%2 != 0 {
		return request{}, fmt.Errorf("%w: an option without a value", errMalformed)
	}
	req.file, req.mode = string(fields[0]), strings.ToLower(string(fields[1]))
	for i := 2; i < len(fields); i += 2 {
		value := string(fields[i+1])
		switch strings.ToLower(string(fields[i])) {
		case "blksize":
			if n, err := strconv.Atoi(value); err == nil && n >= MinBlockSize && n <= MaxBlockSize {
				req.blksize = n
			}
		case "windowsize":
			if n, err := strconv.Atoi(value); err == nil && n >= 1 && n <= 65535 {
				req.windowsize = min(n, maxWindow)
			}
		case "tsize":
			req.tsize = value == "0"
		}
	}
	return req, nil
}

// appendOACK appends an OACK with the options granted, in a fixed order.
func appendOACK(b []byte, req request, size int64) []byte {
	b = binary.BigEndian.AppendUint16(b, opOACK)
	opt := func(name, value string) {
		b = append(append(append(append(b, name...), 0), value...), 0)
	}
	if req.tsize {
		opt("tsize", strconv.FormatInt(size, 10))
	}
	if req.blksize != 0 {
		opt("blksize", strconv.Itoa(req.blksize))
	}
	if req.windowsize != 0 {
		opt("windowsize", strconv.Itoa(req.windowsize))
	}
	return b
}

// hasOptions reports whether req needs an OACK.
func (req request) hasOptions() bool { return req.tsize || req.blksize != 0 || req.windowsize != 0 }

// appendError appends an ERROR packet.
func appendError(b []byte, code uint16, msg string) []byte {
	b = binary.BigEndian.AppendUint16(b, opERROR)
	b = binary.BigEndian.AppendUint16(b, code)
	return append(append(b, msg...), 0)
}

// reply is an ACK or ERROR a client sends during a transfer.
type reply struct {
	op    uint16
	block uint16 // ACK
	code  uint16 // ERROR
	msg   string // ERROR
}

// parseReply parses an ACK or an ERROR; ok is false for anything else,
// which a transfer ignores.
func parseReply(b []byte) (reply, bool) {
	if len(b) < 4 {
		return reply{}, false
	}
	r := reply{op: binary.BigEndian.Uint16(b)}
	switch r.op {
	case opACK:
		r.block = binary.BigEndian.Uint16(b[2:])
	case opERROR:
		r.code = binary.BigEndian.Uint16(b[2:])
		msg, _, _ := bytes.Cut(b[4:], []byte{0})
		r.msg = strings.ToValidUTF8(string(msg[:min(len(msg), 128)]), "?")
	default:
		return reply{}, false
	}
	return r, true
}
