package boot

import "k8s.io/utils/clock"

// WithClock returns cfg with its interval driven by clk, and looked
// called after each look at the file.
func WithClock(cfg HostsFileConfig, clk clock.WithTicker, looked func(changed bool)) HostsFileConfig {
	cfg.clock, cfg.looked = clk, looked
	return cfg
}
