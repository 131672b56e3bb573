package bmh

import "k8s.io/utils/clock"

// WithClock returns cfg with its debounce driven by clk.
func WithClock(cfg Config, clk clock.Clock) Config {
	cfg.clock = clk
	return cfg
}
