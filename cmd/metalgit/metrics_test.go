package main

import (
	"context"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"maps"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/metalgit/metalgit/apply"
	"github.com/metalgit/metalgit/boot"
	"github.com/metalgit/metalgit/boot/bmh"
	"github.com/metalgit/metalgit/boot/callback"
	"github.com/metalgit/metalgit/boot/dhcp"
	"github.com/metalgit/metalgit/boot/httpboot"
	"github.com/metalgit/metalgit/boot/ra"
	"github.com/metalgit/metalgit/boot/tftp"
	"github.com/metalgit/metalgit/boot/trace"
	"github.com/metalgit/metalgit/internal/metricstest"
	"github.com/metalgit/metalgit/reconciler"
)

// TestMetricNames lints every metric metalgit serves (servedMetrics),
// with promlint's rules and metalgit's (internal/metricstest): one
// registry, so that two packages cannot define one name. Then every
// metric defined anywhere in the module's source must be among those
// gathered, so a new package's metrics cannot escape the lint.
func TestMetricNames(t *testing.T) {
	reg := servedMetrics(t)
	gathered, problems, err := metricstest.Lint(reg)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Error(p)
	}
	chdirRepoRoot(t)
	defined := definedMetrics(t)
	if len(defined) == 0 {
		t.Fatal("no metric definitions found in the source")
	}
	for _, name := range slices.Sorted(maps.Keys(defined)) {
		if !slices.Contains(gathered, name) {
			t.Errorf("%s (%s) is not linted: register its package's metrics in TestMetricNames, with their label values at zero",
				name, defined[name])
		}
	}
}

// servedMetrics returns every metric metalgit serves in one registry:
// the registry serve builds, the reconciler's after a real pass (so the
// per-pool gauges hold samples), with every boot proxy package's metrics
// registered on it as serve --boot and boot do, their label values at
// zero.
func servedMetrics(t *testing.T) *prometheus.Registry {
	t.Helper()
	metrics := reconciler.NewMetrics()
	reg := metrics.Registry
	onePass(t, metrics)
	store := &boot.Store{}
	for name, register := range map[string]func() error{
		"boot/dhcp":         func() error { return dhcp.RegisterMetrics(reg, store) },
		"boot/ra":           func() error { return ra.RegisterMetrics(reg) },
		"boot/tftp":         func() error { return tftp.RegisterMetrics(reg) },
		"boot/httpboot":     func() error { return httpboot.RegisterMetrics(reg) },
		"boot/callback":     func() error { return callback.RegisterMetrics(reg) },
		"boot/bmh":          func() error { return bmh.RegisterMetrics(reg) },
		"boot (hosts file)": func() error { return boot.RegisterMetrics(reg) },
		"boot/trace":        func() error { return trace.New(trace.Config{}).Register(reg) },
		"apply": func() error {
			_, err := apply.NewMetrics(reg)
			if err != nil {
				return err
			}
			return reg.Register(apply.NewHostsCollector(apply.NewCluster(nil, apply.Config{})))
		},
	} {
		if err := register(); err != nil {
			t.Errorf("registering the %s metrics next to the reconciler's: %v", name, err)
		}
	}
	return reg
}

// onePass runs one reconcile pass of examples/dc1 that records into
// metrics.
func onePass(t *testing.T, metrics *reconciler.Metrics) {
	t.Helper()
	r, err := reconciler.New(reconciler.Config{URL: "file://" + bareRemote(t), Output: filepath.Join(t.TempDir(), "out"), WorkDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = r.Close() }()
	ctl := reconciler.NewController(r, reconciler.ControllerConfig{Interval: time.Hour, Metrics: metrics})
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- ctl.Run(ctx) }()
	st, err := ctl.Wait(ctx, func(st reconciler.Status) bool { return st.Passes > 0 })
	cancel()
	if runErr := <-done; runErr != nil {
		t.Errorf("controller: %v", runErr)
	}
	if err != nil || !st.Ready {
		t.Fatalf("the pass did not succeed: %v %+v", err, st.LastError)
	}
}

// metricOpts are the option types of prometheus' collector constructors.
var metricOpts = []string{"CounterOpts", "GaugeOpts", "HistogramOpts", "SummaryOpts", "Opts"}

// definedMetrics reads the module's Go source (tests left out) and
// returns the full name of every metric defined with a prometheus.…Opts
// literal, with where it is defined. A name it cannot work out (not a
// string constant of the package) fails the test, and so does
// prometheus.NewDesc, which this reading does not follow.
func definedMetrics(t *testing.T) map[string]string {
	t.Helper()
	defined := map[string]string{}
	fset := token.NewFileSet()
	dirs := map[string][]*ast.File{}
	err := filepath.WalkDir(".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if p != "." && (strings.HasPrefix(d.Name(), ".") || d.Name() == "testdata") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(p, ".go") || strings.HasSuffix(p, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(fset, p, nil, 0)
		if err != nil {
			return err
		}
		dirs[filepath.Dir(p)] = append(dirs[filepath.Dir(p)], f)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, files := range dirs {
		consts := stringConsts(files)
		for _, f := range files {
			ast.Inspect(f, func(n ast.Node) bool {
				switch n := n.(type) {
				case *ast.CallExpr:
					if isSelector(n.Fun, "prometheus", "NewDesc") {
						t.Errorf("%s: prometheus.NewDesc: the metric lint does not read descriptors; define the metric with prometheus.…Opts",
							fset.Position(n.Pos()))
					}
				case *ast.CompositeLit:
					if !slices.ContainsFunc(metricOpts, func(o string) bool { return isSelector(n.Type, "prometheus", o) }) {
						return true
					}
					parts := map[string]string{}
					for _, e := range n.Elts {
						kv, ok := e.(*ast.KeyValueExpr)
						key, _ := kv.Key.(*ast.Ident)
						if !ok || key == nil || (key.Name != "Namespace" && key.Name != "Subsystem" && key.Name != "Name") {
							continue
						}
						v, ok := stringValue(kv.Value, consts)
						if !ok {
							t.Errorf("%s: the metric lint cannot work out %s; use a string constant of the package", fset.Position(kv.Value.Pos()), key.Name)
						}
						parts[key.Name] = v
					}
					name := prometheus.BuildFQName(parts["Namespace"], parts["Subsystem"], parts["Name"])
					defined[name] = fset.Position(n.Pos()).String()
				}
				return true
			})
		}
	}
	return defined
}

// stringConsts returns the package's string constants by name.
func stringConsts(files []*ast.File) map[string]string {
	consts := map[string]string{}
	for _, f := range files {
		for _, decl := range f.Decls {
			gd, ok := decl.(*ast.GenDecl)
			if !ok || gd.Tok != token.CONST {
				continue
			}
			for _, spec := range gd.Specs {
				vs, _ := spec.(*ast.ValueSpec)
				for i, name := range vs.Names {
					if i < len(vs.Values) {
						if v, ok := stringValue(vs.Values[i], nil); ok {
							consts[name.Name] = v
						}
					}
				}
			}
		}
	}
	return consts
}

// stringValue is the value of a string literal, or of a constant in
// consts named by e.
func stringValue(e ast.Expr, consts map[string]string) (string, bool) {
	switch e := e.(type) {
	case *ast.BasicLit:
		if e.Kind == token.STRING {
			v, err := strconv.Unquote(e.Value)
			return v, err == nil
		}
	case *ast.Ident:
		v, ok := consts[e.Name]
		return v, ok
	}
	return "", false
}

// isSelector reports whether e is pkg.name.
func isSelector(e ast.Expr, pkg, name string) bool {
	sel, ok := e.(*ast.SelectorExpr)
	if !ok {
		return false
	}
	x, ok := sel.X.(*ast.Ident)
	return ok && x.Name == pkg && sel.Sel.Name == name
}
