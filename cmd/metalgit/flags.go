package main

import (
	"fmt"
	"time"
)

// positiveDuration refuses a duration flag at or below zero, where the
// library it configures would silently take its default or stop at once.
func positiveDuration(flag string, d time.Duration) error {
	if d <= 0 {
		return fmt.Errorf("--%s must be > 0, got %s", flag, d)
	}
	return nil
}
