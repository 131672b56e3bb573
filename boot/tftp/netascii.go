package tftp

import (
	"bufio"
	"io"
)

// netASCIIReader converts a file to netascii (RFC 764, as RFC 1350 asks
// for mode "netascii"): LF becomes CR LF, CR becomes CR NUL. PXE firmware
// asks for octet; tftp-hpa's client asks for netascii unless told
// "binary".
type netASCIIReader struct {
	r       *bufio.Reader
	pending byte
	has     bool
}

func newNetASCIIReader(r io.Reader) *netASCIIReader {
	return &netASCIIReader{r: bufio.NewReader(r)}
}

func (n *netASCIIReader) Read(p []byte) (int, error) {
	i := 0
	for i < len(p) {
		if n.has {
			p[i], n.has = n.pending, false
			i++
			continue
		}
		c, err := n.r.ReadByte()
		if err != nil {
			if i > 0 {
				return i, nil
			}
			return 0, err
		}
		p[i] = c
		i++
		switch c {
		case '\n':
			p[i-1], n.pending, n.has = '\r', '\n', true
		case '\r':
			n.pending, n.has = 0, true
		}
	}
	return i, nil
}
