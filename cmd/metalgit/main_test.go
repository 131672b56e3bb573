package main

import (
	"os"
	"testing"
)

// envRunMain makes the test binary run metalgit's main instead of the
// tests: the end-to-end tests start metalgit as a process of its own in
// a network namespace, where every socket it opens (pin/tftp's one per
// transfer, the proxies' upstream dials) must live.
const envRunMain = "METALGIT_TEST_RUN_MAIN"

func TestMain(m *testing.M) {
	if os.Getenv(envRunMain) == "1" {
		main()
	}
	os.Exit(m.Run())
}
