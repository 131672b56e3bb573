// Package fleetgen generates synthetic inventories of any size, for
// benchmarks and load tests: one Site, a provisioning pool, three tenant
// pools (CIDR and range forms), three node types with selectors and
// resources, hosts spread over them and MachineSets that ask for machines.
// Only tests and benchmarks import it.
package fleetgen

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Spec sizes a generated inventory.
type Spec struct {
	// Hosts is the number of hosts, at most 250,000.
	Hosts int
	// Machines is the number of machines requested, spread over three
	// MachineSets; each node type's hosts can hold a third of them.
	Machines int
}

// Documents returns the inventory as one multi-document YAML stream.
func Documents(s Spec) []byte {
	var b strings.Builder
	b.Grow(s.Hosts*420 + 4096)
	site(&b, s)
	for i := range s.Hosts {
		b.WriteString("---\n")
		host(&b, i)
	}
	return []byte(b.String())
}

// WriteDir writes the inventory as an operator would lay it out: site.yaml
// with everything but the hosts, and one file per host under hosts/.
func WriteDir(dir string, s Spec) error {
	if err := os.MkdirAll(filepath.Join(dir, "hosts"), 0o755); err != nil {
		return fmt.Errorf("writing inventory: %w", err)
	}
	var b strings.Builder
	site(&b, s)
	if err := os.WriteFile(filepath.Join(dir, "site.yaml"), []byte(b.String()), 0o644); err != nil {
		return fmt.Errorf("writing inventory: %w", err)
	}
	for i := range s.Hosts {
		b.Reset()
		host(&b, i)
		if err := os.WriteFile(filepath.Join(dir, "hosts", fmt.Sprintf("host-%06d.yaml", i)), []byte(b.String()), 0o644); err != nil {
			return fmt.Errorf("writing inventory: %w", err)
		}
	}
	return nil
}

// site writes every document but the hosts.
func site(b *strings.Builder, s Spec) {
	b.WriteString(`apiVersion: metalgit.dev/v1alpha1
kind: Site
metadata: {name: fleet}
spec:
  namespace: metal3-system
  provisioningPool: provisioning
  bootProxy: {vip: 10.128.0.2/14}
---
apiVersion: metalgit.dev/v1alpha1
kind: IPPool
metadata: {name: provisioning}
spec: {cidr: 10.128.0.1/14, reserved: [10.128.0.2], dnsServers: [10.128.0.1]}
---
apiVersion: metalgit.dev/v1alpha1
kind: IPPool
metadata: {name: tenant-0}
spec: {cidr: 10.0.0.1/16}
---
apiVersion: metalgit.dev/v1alpha1
kind: IPPool
metadata: {name: tenant-1}
spec: {cidr: 10.1.0.1/16}
---
apiVersion: metalgit.dev/v1alpha1
kind: IPPool
metadata: {name: tenant-2}
spec: {ranges: ["10.2.0.10-10.2.127.255", "10.2.128.0-10.2.255.254"], prefix: 16, gateway: 10.2.0.1}
`)
	for i := range 3 {
		fmt.Fprintf(b, `---
apiVersion: metalgit.dev/v1alpha1
kind: NodeType
metadata: {name: type-%d}
spec:
  resources: {cpu: "16", memory: 64Gi}
  hostSelector:
    matchLabels: {role: r%d}
    matchExpressions: [{key: maintenance, operator: DoesNotExist}]
  pool: tenant-%d
`, i, i, i)
	}
	for i := range 3 {
		q := s.Machines / 3
		if i < s.Machines%3 {
			q++
		}
		fmt.Fprintf(b, "---\napiVersion: metalgit.dev/v1alpha1\nkind: MachineSet\nmetadata: {name: set-%d}\nspec: {nodeType: type-%d, quantity: %d}\n", i, i, q)
	}
}

// host writes host i.
func host(b *strings.Builder, i int) {
	fmt.Fprintf(b, `apiVersion: metalgit.dev/v1alpha1
kind: Host
metadata: {name: host-%06d, labels: {role: r%d, rack: r%d}}
spec:
  bmc: {address: "redfish://10.200.%d.%d/redfish/v1/Systems/1", credentialsName: host-%06d-bmc}
  bootMACAddress: "02:00:00:%02x:%02x:%02x"
  resources: {cpu: "32", memory: 128Gi}
`, i, i%3, i/40, i/250, i%250, i, byte(i>>16), byte(i>>8), byte(i))
}
