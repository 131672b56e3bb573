// Package bench holds the end-to-end benchmarks of the GitOps reconciler
// on a generated 1,000-host repository: push-to-allocation latency with the
// webhook versus interval polling, and allocation throughput with 1 and 4
// racing writers. Run them with hack/bench/reconcile.sh (or make bench
// PKG=./hack/bench/ BENCH_FLAGS=-benchtime=5x).
package bench
