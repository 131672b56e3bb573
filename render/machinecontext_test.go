package render

import (
	"encoding/base64"

	"github.com/metalgit/metalgit/schemas"
)

// The machine, host and node type of design section 10 that the data
// tests render.

const (
	opsKey   = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHvMjL5uzHd3OK9tT2uwXro1f5/4z9Jo16Bv8zUuWiYR ops@example"
	adminKey = "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQC7 admin@example"
	// sectionTenTemplate is NodeType/gpu-server's userDataTemplate in design section 10.
	sectionTenTemplate = `#cloud-config
hostname: {{ .Machine.Name }}
runcmd:
  - echo "Provisioning {{ .Machine.Name }} at {{ .AllocatedIP }}"
`
	bootstrapCmd = "echo joined > /var/log/metalgit-bootstrap"
)

// server01 is Host/server-01 of design section 10.
func server01() HostInfo {
	return HostInfo{
		Name:           "server-01",
		Labels:         map[string]string{"role": "gpu", "datacenter": "us-east"},
		BootMACAddress: "aa:bb:cc:dd:ee:01",
		Interfaces: []schemas.Interface{
			{Name: "eno1", MACAddress: "aa:bb:cc:dd:ee:01"},
			{Name: "eno2", MACAddress: "aa:bb:cc:dd:ee:02"},
			{Name: "bond0", Bond: &schemas.BondSpec{Mode: "802.3ad", Interfaces: []string{"eno1", "eno2"}}},
			{Name: "bond0.100", VLAN: &schemas.VLANSpec{ID: 100, Link: "bond0"}, Pool: "tenant"},
		},
	}
}

func nodeType(spec schemas.NodeTypeSpec) *schemas.NodeType {
	return &schemas.NodeType{APIVersion: schemas.APIVersion, Kind: schemas.KindNodeType,
		Metadata: schemas.ObjectMeta{Name: "gpu-server"}, Spec: spec}
}

// machine is Machine gpu-workers-0 of section 10 on server-01.
func machine(spec schemas.NodeTypeSpec) MachineContext {
	return MachineContext{
		Machine:     MachineInfo{Name: "gpu-workers-0", NodeType: "gpu-server", Set: "gpu-workers"},
		Host:        server01(),
		Properties:  map[string]any{"region": "us-east", "tier": "gold"},
		SSHKeys:     []string{opsKey},
		AllocatedIP: "10.0.0.20",
		Gateway:     "10.0.0.1",
		Prefix:      24,
		DNSServers:  []string{"10.0.0.53"},
		NodeType:    nodeType(spec),
		Bootstrap:   []string{bootstrapCmd},
		Secrets: map[string]*schemas.Secret{
			"ud-string": {Metadata: schemas.ObjectMeta{Name: "ud-string"},
				StringData: map[string]string{"template": "#cloud-config\nhostname: {{ .Machine.Name }}-from-stringdata\n"}},
			"ud-data": {Metadata: schemas.ObjectMeta{Name: "ud-data"},
				Data: map[string]string{"template": base64.StdEncoding.EncodeToString([]byte("#cloud-config\nhostname: {{ .Machine.Name }}-from-data\n"))}},
			"nd": {Metadata: schemas.ObjectMeta{Name: "nd"},
				StringData: map[string]string{"template": "version: 2\nethernets:\n  eno1:\n    addresses: [{{ .AllocatedIP }}/{{ .Prefix }}]\n"}},
			"no-key": {Metadata: schemas.ObjectMeta{Name: "no-key"}, StringData: map[string]string{"other": "x"}},
		},
	}
}
