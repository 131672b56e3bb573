package boot

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"k8s.io/utils/clock"
)

// DefaultHostsFileInterval is how often WatchHostsFile looks at the file
// when HostsFileConfig.Interval is zero.
const DefaultHostsFileInterval = 2 * time.Second

// MetricHostsFileReloads counts the reloads of a watched hosts file, by
// result (ResultReloaded, ResultRefused).
const MetricHostsFileReloads = "metalgit_hosts_file_reloads_total"

// Results of a hosts file reload, the "result" label of
// MetricHostsFileReloads.
const (
	ResultReloaded = "reloaded" // the new table is in service
	ResultRefused  = "refused"  // the file did not load; the table in service stays
)

// HostsFileConfig is what WatchHostsFile needs.
type HostsFileConfig struct {
	// Path is the hosts file (required).
	Path string
	// Store receives each table loaded from the file (required). It
	// should already hold the file's table (LoadHostsFile): the watch
	// reloads on changes only.
	Store *Store
	// Interval is how often the file's size and modification time are
	// looked at; zero means DefaultHostsFileInterval.
	Interval time.Duration
	// Logger defaults to slog.Default().
	Logger *slog.Logger
	// Registerer receives MetricHostsFileReloads; none when nil.
	Registerer prometheus.Registerer

	// clock drives Interval; nil means the real clock (tests set a fake
	// one from export_test.go).
	clock clock.WithTicker
	// looked, when set, is called after each look at the file, with
	// whether it had changed (tests wait on it).
	looked func(changed bool)
}

// WatchHostsFile keeps cfg.Store's table in step with the hosts file until
// ctx ends, then returns nil: every Interval it looks at the file's size
// and modification time, and when they changed and then stayed the same
// for one Interval it loads the file and swaps the new table in. A file that fails to load (a broken edit, a
// file removed) is logged with every problem, counted as refused, and
// the table in service stays until an edit loads. It returns an error at
// once when the configuration is incomplete.
func WatchHostsFile(ctx context.Context, cfg HostsFileConfig) error {
	if cfg.Path == "" || cfg.Store == nil {
		return errors.New("boot: watching a hosts file needs HostsFileConfig.Path and Store")
	}
	if cfg.Interval <= 0 {
		cfg.Interval = DefaultHostsFileInterval
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.clock == nil {
		cfg.clock = clock.RealClock{}
	}
	reloads, err := newHostsFileMetrics(cfg.Registerer)
	if err != nil {
		return err
	}
	last := fileStamp(cfg.Path)
	pending := last
	tick := cfg.clock.NewTicker(cfg.Interval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C():
		}
		// A change is loaded once the file has kept it for one interval:
		// a file being written (truncated, then filled) is never read
		// half-way, and its empty state never replaces the table.
		now := fileStamp(cfg.Path)
		changed := now != last && now == pending
		if changed {
			last = now
			reload(cfg, reloads)
		}
		pending = now
		if cfg.looked != nil {
			cfg.looked(changed)
		}
	}
}

// reload loads the file and swaps its table in, or keeps the one in
// service.
func reload(cfg HostsFileConfig, reloads *prometheus.CounterVec) {
	t, err := LoadHostsFile(cfg.Path)
	if err != nil {
		reloads.WithLabelValues(ResultRefused).Inc()
		cfg.Logger.Error("hosts file not reloaded; still serving the previous table", "file", cfg.Path, "err", err)
		return
	}
	cfg.Store.Swap(t)
	reloads.WithLabelValues(ResultReloaded).Inc()
	cfg.Logger.Info("hosts reloaded", "file", cfg.Path, "hosts", t.Len())
}

// fileStamp names a version of the file by its size and modification
// time; "missing" when it cannot be looked at.
func fileStamp(path string) string {
	fi, err := os.Stat(path)
	if err != nil {
		return "missing"
	}
	return fmt.Sprintf("%d/%d", fi.Size(), fi.ModTime().UnixNano())
}

// newHostsFileMetrics creates MetricHostsFileReloads with both results at
// zero and registers it with reg, if set; one already registered there
// (by an earlier watch) is reused.
func newHostsFileMetrics(reg prometheus.Registerer) (*prometheus.CounterVec, error) {
	c := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: MetricHostsFileReloads,
		Help: "Reloads of the hosts file after it changed, by result (reloaded; refused: the file did not load and the previous table stays).",
	}, []string{"result"})
	for _, r := range []string{ResultReloaded, ResultRefused} {
		c.WithLabelValues(r)
	}
	if reg == nil {
		return c, nil
	}
	if err := reg.Register(c); err != nil {
		var are prometheus.AlreadyRegisteredError
		if errors.As(err, &are) {
			if existing, ok := are.ExistingCollector.(*prometheus.CounterVec); ok {
				return existing, nil
			}
		}
		return nil, fmt.Errorf("boot: register metrics: %w", err)
	}
	return c, nil
}

// RegisterMetrics registers the metrics of a hosts file watch on reg,
// with their label values at zero, as WatchHostsFile does. metalgit's
// metric lint gathers every package's metrics this way.
func RegisterMetrics(reg prometheus.Registerer) error {
	_, err := newHostsFileMetrics(reg)
	return err
}
