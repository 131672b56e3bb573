package ra

import "k8s.io/utils/clock"

// WithClock returns cfg with its interval and start timeout driven by clk.
func WithClock(cfg Config, clk clock.WithTicker) Config {
	cfg.clock = clk
	return cfg
}
