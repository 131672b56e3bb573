package httpboot

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/metalgit/metalgit/boot"
)

// BenchmarkImageProxy downloads one 64 MiB file from the origin
// directly and through the proxy, in one run, so that the throughputs
// (b.SetBytes: MB/s) can be read side by side.
//
//	go test -run '^$' -bench ImageProxy -count 5 ./boot/httpboot/
func BenchmarkImageProxy(b *testing.B) {
	const size = 64 << 20
	// The origin serves a file from memory: its own cost is the same for
	// both sub-benchmarks, and as small as it gets.
	data := make([]byte, size)
	for i := range data {
		data[i] = genByte(int64(i))
	}
	origin := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.ServeContent(w, r, "big", time.Time{}, &readSeeker{data: data})
	}))
	defer origin.Close()
	s, err := New(Config{HTTPURL: "http://x:8080", CallbackURL: "http://x:8081", IronicHTTPURL: origin.URL, Root: b.TempDir(),
		Hosts: &boot.Store{}, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		b.Fatal(err)
	}
	proxy := httptest.NewServer(s.Handler())
	defer proxy.Close()
	client := &http.Client{Transport: &http.Transport{DisableCompression: true}}
	download := func(b *testing.B, url string) {
		b.SetBytes(size)
		for b.Loop() {
			resp, err := client.Get(url)
			if err != nil {
				b.Fatal(err)
			}
			n, err := io.Copy(io.Discard, resp.Body)
			_ = resp.Body.Close()
			if err != nil || n != size {
				b.Fatalf("read %d bytes: %v", n, err)
			}
		}
	}
	b.Run("direct", func(b *testing.B) { download(b, origin.URL+"/images/big") })
	b.Run("proxy", func(b *testing.B) { download(b, proxy.URL+"/images/big") })
}

// readSeeker is a bytes.Reader without WriterTo, so that the origin
// copies through a buffer as a file server would.
type readSeeker struct {
	data []byte
	off  int64
}

func (r *readSeeker) Read(p []byte) (int, error) {
	if r.off >= int64(len(r.data)) {
		return 0, io.EOF
	}
	n := copy(p, r.data[r.off:])
	r.off += int64(n)
	return n, nil
}

func (r *readSeeker) Seek(off int64, whence int) (int64, error) {
	switch whence {
	case io.SeekStart:
		r.off = off
	case io.SeekCurrent:
		r.off += off
	case io.SeekEnd:
		r.off = int64(len(r.data)) + off
	}
	return r.off, nil
}
