package testlog

import (
	"strings"
	"sync"
	"testing"
)

// Writers on many goroutines lose nothing; Take returns what came since
// the last Take.
func TestBuffer(t *testing.T) {
	var b Buffer
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 100 {
				_, _ = b.Write([]byte("x\n"))
			}
		})
	}
	wg.Wait()
	if n := strings.Count(b.String(), "x\n"); n != 800 {
		t.Fatalf("%d lines, want 800", n)
	}
	if n := strings.Count(b.Take(), "x\n"); n != 800 {
		t.Fatalf("Take returned %d lines, want 800", n)
	}
	_, _ = b.Write([]byte("after\n"))
	if got := b.Take(); got != "after\n" {
		t.Fatalf("Take after Take = %q", got)
	}
}
