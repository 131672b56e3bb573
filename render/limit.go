package render

import (
	"errors"
	"fmt"
)

// MaxDataSize bounds each user-data and each network-data render writes,
// in bytes: 48 KiB.
//
// Why: the Bare Metal Operator hands both to Ironic in one provisioning
// request (the config drive, with the meta-data), and Ironic's API, behind
// oslo.middleware's request size limit, refuses a body over 114688 bytes
// (112 KiB, max_request_body_size) by default. Two times 48 KiB leaves
// 16 KiB for the meta-data, JSON escaping and the rest of the request. A
// Kubernetes Secret (at most 1 MiB) holds 48 KiB with room to spare.
const MaxDataSize = 48 << 10

// errDataTooLarge is what a limitWriter returns once the limit is passed.
var errDataTooLarge = errors.New("output passed the size limit")

// limitWriter collects a template's output and fails the write that would
// take it past max bytes, which stops the template there.
type limitWriter struct {
	buf []byte
	max int
}

func (w *limitWriter) Write(p []byte) (int, error) {
	if len(w.buf)+len(p) > w.max {
		return 0, errDataTooLarge
	}
	w.buf = append(w.buf, p...)
	return len(p), nil
}

// sizeLimitText spells the limit for messages: "48 KiB (49152 bytes)".
func sizeLimitText(n int) string {
	if n%1024 == 0 {
		return fmt.Sprintf("%d KiB (%d bytes)", n/1024, n)
	}
	return fmt.Sprintf("%d bytes", n)
}

// sizeMessage is the message of a user-data or network-data over the limit.
func sizeMessage(what string, limit int) string {
	return fmt.Sprintf("the %s passed %s, the limit per user-data and per network-data (Ironic takes both in one provisioning request); make it smaller, for example by moving files into the OS image", what, sizeLimitText(limit))
}
