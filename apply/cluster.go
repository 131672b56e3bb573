package apply

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"

	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
)

// ClusterConfig says how to reach the cluster: a kubeconfig file, or the
// service account of the pod metalgit runs in.
type ClusterConfig struct {
	Kubeconfig string
	InCluster  bool
}

// Enabled reports whether a cluster is named at all.
func (c ClusterConfig) Enabled() bool { return c.Kubeconfig != "" || c.InCluster }

// RESTConfig loads the configuration c names.
func (c ClusterConfig) RESTConfig() (*rest.Config, error) {
	switch {
	case c.Kubeconfig != "" && c.InCluster:
		return nil, errors.New("--kubeconfig and --in-cluster name two clusters: give one")
	case c.InCluster:
		rc, err := rest.InClusterConfig()
		if err != nil {
			return nil, fmt.Errorf("--in-cluster: %w", err)
		}
		return rc, nil
	case c.Kubeconfig != "":
		if _, err := os.Stat(c.Kubeconfig); err != nil {
			return nil, fmt.Errorf("--kubeconfig: %w", err)
		}
		rc, err := clientcmd.BuildConfigFromFlags("", c.Kubeconfig)
		if err != nil {
			return nil, fmt.Errorf("--kubeconfig %s: %w", c.Kubeconfig, err)
		}
		return rc, nil
	}
	return nil, errors.New("no cluster: give --kubeconfig or --in-cluster")
}

// Cluster applies rendered manifests for any Site of an inventory: one
// Applier per Site, made on the Site's first pass.
type Cluster struct {
	rc  *rest.Config
	cfg Config

	mu       sync.Mutex
	appliers map[string]*Applier
}

// NewCluster returns a Cluster for rc; cfg is every Applier's, its Site
// set per Apply.
func NewCluster(rc *rest.Config, cfg Config) *Cluster {
	return &Cluster{rc: rc, cfg: cfg, appliers: map[string]*Applier{}}
}

// Apply parses the rendered manifests, labels them for site and applies
// them (Applier.Apply).
func (c *Cluster) Apply(ctx context.Context, site string, manifests []byte) (*Result, error) {
	a, objs, err := c.parse(site, manifests)
	if err != nil {
		return nil, err
	}
	return a.Apply(ctx, objs)
}

// parse returns site's Applier and the manifests as its objects.
func (c *Cluster) parse(site string, manifests []byte) (*Applier, []Object, error) {
	if site == "" {
		return nil, nil, errors.New("apply: the inventory has no Site: metalgit labels and prunes by Site")
	}
	objs, err := Parse(manifests, site)
	if err != nil {
		return nil, nil, fmt.Errorf("apply: %w", err)
	}
	a, err := c.applier(site)
	if err != nil {
		return nil, nil, err
	}
	return a, objs, nil
}

// Preview is Applier.Preview of the rendered manifests for site.
func (c *Cluster) Preview(ctx context.Context, site string, manifests []byte) (*Preview, error) {
	a, objs, err := c.parse(site, manifests)
	if err != nil {
		return nil, err
	}
	return a.Preview(ctx, objs)
}

// BareMetalHosts is Applier.BareMetalHosts of site's Applier.
func (c *Cluster) BareMetalHosts(ctx context.Context, site string) (map[string]HostState, error) {
	if site == "" {
		return nil, errors.New("apply: the inventory has no Site")
	}
	a, err := c.applier(site)
	if err != nil {
		return nil, err
	}
	return a.BareMetalHosts(ctx)
}

// applier returns site's Applier, made on first use.
func (c *Cluster) applier(site string) (*Applier, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if a, ok := c.appliers[site]; ok {
		return a, nil
	}
	cfg := c.cfg
	cfg.Site = site
	a, err := New(c.rc, cfg)
	if err != nil {
		return nil, err
	}
	c.appliers[site] = a
	return a, nil
}

// Close stops every Applier's watches.
func (c *Cluster) Close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, a := range c.appliers {
		a.Close()
	}
}
