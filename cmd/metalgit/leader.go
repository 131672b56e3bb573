package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/spf13/pflag"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/leaderelection"
	"k8s.io/client-go/tools/leaderelection/resourcelock"

	"github.com/metalgit/metalgit/apply"
	"github.com/metalgit/metalgit/reconciler"
)

// leaderFlags configure serve's leader election (on whenever serve applies
// to a cluster, unless --leader-elect=false).
type leaderFlags struct {
	enabled       bool
	namespace     string
	name          string
	leaseDuration time.Duration
	renewDeadline time.Duration
	retryPeriod   time.Duration
}

func addLeaderFlags(f *pflag.FlagSet, o *leaderFlags) {
	f.BoolVar(&o.enabled, "leader-elect", true, "with --kubeconfig or --in-cluster, run passes only while holding a Lease, so that one of several replicas writes to Git and applies")
	f.StringVar(&o.namespace, "leader-election-namespace", apply.DefaultInventoryNamespace, "namespace of the leader election Lease (created when missing)")
	f.StringVar(&o.name, "leader-election-id", "metalgit", "name of the leader election Lease")
	f.DurationVar(&o.leaseDuration, "leader-election-lease-duration", 15*time.Second, "how long a leader that stopped renewing (killed, partitioned) holds the Lease before another replica takes it")
	f.DurationVar(&o.renewDeadline, "leader-election-renew-deadline", 10*time.Second, "how long the leader tries to renew before it steps down")
	f.DurationVar(&o.retryPeriod, "leader-election-retry-period", 2*time.Second, "how often replicas try to take or renew the Lease")
}

func (o *leaderFlags) check() error {
	if !o.enabled {
		return nil
	}
	var errs []error
	for _, d := range []struct {
		flag string
		v    time.Duration
	}{{"leader-election-lease-duration", o.leaseDuration}, {"leader-election-renew-deadline", o.renewDeadline},
		{"leader-election-retry-period", o.retryPeriod}} {
		if d.v <= 0 {
			errs = append(errs, fmt.Errorf("--%s must be > 0, got %s", d.flag, d.v))
		}
	}
	if len(errs) == 0 && (o.renewDeadline <= o.retryPeriod || o.leaseDuration <= o.renewDeadline) {
		errs = append(errs, fmt.Errorf("want --leader-election-retry-period (%s) < --leader-election-renew-deadline (%s) < --leader-election-lease-duration (%s)",
			o.retryPeriod, o.renewDeadline, o.leaseDuration))
	}
	if o.name == "" || o.namespace == "" {
		errs = append(errs, errors.New("--leader-election-id and --leader-election-namespace must not be empty"))
	}
	return errors.Join(errs...)
}

// lead runs ctl's passes only while this replica holds the Lease, until
// ctx is done. A replica that loses the Lease stops after the pass in
// flight and stands by (ready, /status standby) to lead again; the pass a
// new leader starts fetches the branch first, and state commits are
// compare-and-swap pushes, so a handover commits nothing twice.
func (o *leaderFlags) lead(ctx context.Context, rc *rest.Config, ctl *reconciler.Controller, log *slog.Logger) error {
	kube, err := kubernetes.NewForConfig(rc)
	if err != nil {
		return fmt.Errorf("leader election: %w", err)
	}
	if err := ensureNamespace(ctx, kube, o.namespace); err != nil {
		return err
	}
	id, err := identity()
	if err != nil {
		return err
	}
	ctl.SetStandby(true)
	// running is held while ctl runs passes: a replica that lost the
	// Lease waits for the pass in flight before it competes again.
	var running sync.Mutex
	for ctx.Err() == nil {
		le, err := leaderelection.NewLeaderElector(leaderelection.LeaderElectionConfig{
			Lock: &resourcelock.LeaseLock{
				LeaseMeta:  metav1.ObjectMeta{Name: o.name, Namespace: o.namespace},
				Client:     kube.CoordinationV1(),
				LockConfig: resourcelock.ResourceLockConfig{Identity: id},
			},
			LeaseDuration:   o.leaseDuration,
			RenewDeadline:   o.renewDeadline,
			RetryPeriod:     o.retryPeriod,
			ReleaseOnCancel: true,
			Name:            o.name,
			Callbacks: leaderelection.LeaderCallbacks{
				OnStartedLeading: func(lctx context.Context) {
					running.Lock()
					defer running.Unlock()
					if lctx.Err() != nil {
						return
					}
					log.Info("leading: running passes", "lease", o.namespace+"/"+o.name, "identity", id)
					ctl.SetStandby(false)
					_ = ctl.Run(lctx)
				},
				OnStoppedLeading: func() {
					ctl.SetStandby(true)
					log.Info("not leading: standing by", "lease", o.namespace+"/"+o.name, "identity", id)
				},
				OnNewLeader: func(leader string) {
					if leader != id {
						log.Info("another replica leads", "leader", leader)
					}
				},
			},
		})
		if err != nil {
			return fmt.Errorf("leader election: %w", err)
		}
		le.Run(ctx)
		running.Lock()
		running.Unlock() //nolint:staticcheck // waits for the pass in flight
	}
	return nil
}

// identity names this replica in the Lease: the host name and a random
// suffix, so that two processes on one host differ.
func identity() (string, error) {
	host, err := os.Hostname()
	if err != nil {
		return "", fmt.Errorf("leader election identity: %w", err)
	}
	b := make([]byte, 4)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("leader election identity: %w", err)
	}
	return host + "_" + hex.EncodeToString(b), nil
}

func ensureNamespace(ctx context.Context, kube kubernetes.Interface, name string) error {
	if _, err := kube.CoreV1().Namespaces().Get(ctx, name, metav1.GetOptions{}); err == nil {
		return nil
	} else if !apierrors.IsNotFound(err) {
		return fmt.Errorf("leader election namespace %s: %w", name, err)
	}
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{apply.LabelManagedBy: apply.ManagedByValue}}}
	if _, err := kube.CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("creating the leader election namespace %s: %w", name, err)
	}
	return nil
}
