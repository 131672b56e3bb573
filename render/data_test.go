package render

import (
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/metalgit/metalgit/schemas"
)

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

func TestUserData(t *testing.T) {
	tests := map[string]struct {
		mc   MachineContext
		want string
	}{
		"literal wins over template and Secret": {
			mc: machine(schemas.NodeTypeSpec{
				UserData:               "#cloud-config\nhostname: literal\n",
				UserDataTemplate:       sectionTenTemplate,
				UserDataTemplateSecret: "ud-string",
			}),
			want: "#cloud-config\nhostname: literal\nssh_authorized_keys:\n  - " + opsKey + "\nruncmd:\n  - " + bootstrapCmd + "\n",
		},
		"literal is not a template": {
			mc:   withKeys(machine(schemas.NodeTypeSpec{UserData: "#cloud-config\nbootcmd: ['echo {{ .Machine.Name }}']\n"}), nil, nil),
			want: "#cloud-config\nbootcmd: ['echo {{ .Machine.Name }}']\n",
		},
		"template of section 10 wins over Secret": {
			mc: machine(schemas.NodeTypeSpec{UserDataTemplate: sectionTenTemplate, UserDataTemplateSecret: "ud-string"}),
			want: `#cloud-config
hostname: gpu-workers-0
runcmd:
  - echo "Provisioning gpu-workers-0 at 10.0.0.20"
  - echo joined > /var/log/metalgit-bootstrap
ssh_authorized_keys:
  - ` + opsKey + "\n",
		},
		"template Secret via stringData": {
			mc:   machine(schemas.NodeTypeSpec{UserDataTemplateSecret: "ud-string"}),
			want: "#cloud-config\nhostname: gpu-workers-0-from-stringdata\nssh_authorized_keys:\n  - " + opsKey + "\nruncmd:\n  - " + bootstrapCmd + "\n",
		},
		"template Secret via base64 data": {
			mc:   machine(schemas.NodeTypeSpec{UserDataTemplateSecret: "ud-data"}),
			want: "#cloud-config\nhostname: gpu-workers-0-from-data\nssh_authorized_keys:\n  - " + opsKey + "\nruncmd:\n  - " + bootstrapCmd + "\n",
		},
		"none set but keys and bootstrap": {
			mc:   machine(schemas.NodeTypeSpec{}),
			want: "#cloud-config\nssh_authorized_keys:\n  - " + opsKey + "\nruncmd:\n  - " + bootstrapCmd + "\n",
		},
		"none set but keys": {
			mc:   withKeys(machine(schemas.NodeTypeSpec{}), []string{opsKey}, nil),
			want: "#cloud-config\nssh_authorized_keys:\n  - " + opsKey + "\n",
		},
		"none set and nothing to add": {
			mc:   withKeys(machine(schemas.NodeTypeSpec{}), nil, nil),
			want: "",
		},
		"no NodeType": {
			mc:   MachineContext{Machine: MachineInfo{Name: "m"}},
			want: "",
		},
		"keys appended after the user's, deduplicated": {
			mc: withKeys(machine(schemas.NodeTypeSpec{UserData: "#cloud-config\nssh_authorized_keys:\n  - " +
				strings.TrimSuffix(opsKey, "ops@example") + "other-comment\n  - ssh-ed25519 AAAAuser user@laptop\n"}),
				[]string{opsKey, adminKey, adminKey, " " + adminKey + " "}, nil),
			want: "#cloud-config\nssh_authorized_keys:\n  - " + strings.TrimSuffix(opsKey, "ops@example") + "other-comment\n" +
				"  - ssh-ed25519 AAAAuser user@laptop\n  - " + adminKey + "\n",
		},
		"bootstrap after the user's runcmd, key order and comments kept": {
			mc: withKeys(machine(schemas.NodeTypeSpec{UserData: `#cloud-config
# the user's comment
runcmd:
  - [sh, -c, "echo first"]
  - echo second
hostname: h
packages: [curl]
write_files:
  - path: /etc/x
    content: |
      line 1
      line 2
`}), nil, []string{bootstrapCmd, "yes"}),
			want: `#cloud-config
# the user's comment
runcmd:
  - [sh, -c, "echo first"]
  - echo second
  - echo joined > /var/log/metalgit-bootstrap
  - "yes"
hostname: h
packages: [curl]
write_files:
  - path: /etc/x
    content: |
      line 1
      line 2
`,
		},
		"bootstrap when the user has no runcmd": {
			mc:   withKeys(machine(schemas.NodeTypeSpec{UserData: "#cloud-config\nhostname: h\n"}), nil, []string{bootstrapCmd}),
			want: "#cloud-config\nhostname: h\nruncmd:\n  - " + bootstrapCmd + "\n",
		},
		"bootstrap when the user's runcmd is null or flow": {
			mc:   withKeys(machine(schemas.NodeTypeSpec{UserData: "#cloud-config\nruncmd:\nbootcmd: [a]\nssh_authorized_keys: []\n"}), []string{opsKey}, []string{bootstrapCmd}),
			want: "#cloud-config\nruncmd:\n  - " + bootstrapCmd + "\nbootcmd: [a]\nssh_authorized_keys:\n  - " + opsKey + "\n",
		},
		"header only": {
			mc:   withKeys(machine(schemas.NodeTypeSpec{UserData: "#cloud-config\n"}), nil, nil),
			want: "#cloud-config\n",
		},
		"template functions and data keys": {
			mc: withKeys(machine(schemas.NodeTypeSpec{UserDataTemplate: `#cloud-config
hostname: {{ .Machine.Name | upper }}
fqdn: {{ printf "%s.%s" .Machine.Name (index .Properties "domain" | default "example.com") }}
write_files:
  - path: /etc/metalgit.json
    content: {{ toJson .Properties | quote }}
  - path: /etc/metalgit.yaml
    content: |{{ toYaml .Properties | nindent 6 }}
bootcmd:
  - echo {{ join "," .DNSServers }} {{ .Gateway }}/{{ .Prefix }} {{ .Host.BootMACAddress | replace ":" "-" }} {{ .Machine.Set }} {{ .Machine.NodeType }} {{ index .Host.Labels "role" }} {{ len .SSHKeys }} {{ (index .Host.Interfaces 3).Name | lower | trim }}
`}), nil, nil),
			want: `#cloud-config
hostname: GPU-WORKERS-0
fqdn: gpu-workers-0.example.com
write_files:
  - path: /etc/metalgit.json
    content: "{\"region\":\"us-east\",\"tier\":\"gold\"}"
  - path: /etc/metalgit.yaml
    content: |
      region: us-east
      tier: gold
bootcmd:
  - echo 10.0.0.53 10.0.0.1/24 aa-bb-cc-dd-ee-01 gpu-workers gpu-server gpu 0 bond0.100
`,
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, err := UserData(tc.mc)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("UserData() mismatch (-want +got):\n%s", diff)
			}
			again, _ := UserData(tc.mc)
			if again != got {
				t.Errorf("UserData() is not deterministic")
			}
		})
	}
}

func withKeys(mc MachineContext, keys, bootstrap []string) MachineContext {
	mc.SSHKeys, mc.Bootstrap = keys, bootstrap
	return mc
}

func TestUserDataErrors(t *testing.T) {
	const prefix = "rendering user-data for Machine/gpu-workers-0: "
	tests := map[string]struct {
		spec schemas.NodeTypeSpec
		want string
	}{
		"missing key": {
			spec: schemas.NodeTypeSpec{UserDataTemplate: "#cloud-config\nhostname: x\nfoo: {{ .Properties.foo }}\n"},
			want: `NodeType/gpu-server spec.userDataTemplate: template line 3: <.Properties.foo>: map has no entry for key "foo"; set properties.foo (on the Site, NodeType, MachineSet or Machine), or guard it: {{ with index .Properties "foo" }}...{{ end }}`,
		},
		"missing key in a Secret template": {
			spec: schemas.NodeTypeSpec{UserDataTemplateSecret: "s"},
			want: `NodeType/gpu-server spec.userDataTemplateSecret: Secret/s stringData.template: template line 2: <.Properties.nope>: map has no entry for key "nope"; set properties.nope (on the Site, NodeType, MachineSet or Machine), or guard it: {{ with index .Properties "nope" }}...{{ end }}`,
		},
		"parse error": {
			spec: schemas.NodeTypeSpec{UserDataTemplate: "#cloud-config\n{{ nosuchfunc }}\n"},
			want: `NodeType/gpu-server spec.userDataTemplate: template line 2: function "nosuchfunc" not defined`,
		},
		"invalid YAML result": {
			spec: schemas.NodeTypeSpec{UserDataTemplate: "#cloud-config\nhostname: {{ .Machine.Name }}\n  bad: [\n"},
			want: `NodeType/gpu-server spec.userDataTemplate: result is not valid YAML: yaml: line 3: mapping values are not allowed in this context`,
		},
		"not a mapping": {
			spec: schemas.NodeTypeSpec{UserData: "#cloud-config\n- a\n- b\n"},
			want: `NodeType/gpu-server spec.userData: result is not a YAML mapping (line 2); cloud-config is a mapping such as hostname: x`,
		},
		"duplicate key": {
			spec: schemas.NodeTypeSpec{UserData: "#cloud-config\na: 1\na: 2\n"},
			want: `NodeType/gpu-server spec.userData: result is not valid YAML: yaml: unmarshal errors:` + "\n" + `  line 3: mapping key "a" already defined at line 2`,
		},
		"no header": {
			spec: schemas.NodeTypeSpec{UserData: "hostname: x\n"},
			want: `NodeType/gpu-server spec.userData: user-data must start with the line #cloud-config, not "hostname: x"`,
		},
		"runcmd not a list": {
			spec: schemas.NodeTypeSpec{UserData: "#cloud-config\nruncmd: echo\n"},
			want: `NodeType/gpu-server spec.userData: runcmd (line 2) must be a list`,
		},
		"missing Secret": {
			spec: schemas.NodeTypeSpec{UserDataTemplateSecret: "absent"},
			want: `NodeType/gpu-server spec.userDataTemplateSecret: Secret "absent" does not exist in the inventory`,
		},
		"Secret without template": {
			spec: schemas.NodeTypeSpec{UserDataTemplateSecret: "no-key"},
			want: `NodeType/gpu-server spec.userDataTemplateSecret: Secret/no-key: no key template in data or stringData`,
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			mc := machine(tc.spec)
			mc.Secrets["s"] = &schemas.Secret{StringData: map[string]string{"template": "#cloud-config\nx: {{ .Properties.nope }}\n"}}
			got, err := UserData(mc)
			if err == nil {
				t.Fatalf("UserData() = %q, want an error", got)
			}
			if diff := cmp.Diff(prefix+tc.want, err.Error()); diff != "" {
				t.Errorf("error mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

// server01NetworkData is the generated network_data.json of gpu-workers-0
// on server-01 (design section 10).
const server01NetworkData = `{
  "links": [
    {
      "id": "eno1",
      "type": "phy",
      "ethernet_mac_address": "aa:bb:cc:dd:ee:01"
    },
    {
      "id": "eno2",
      "type": "phy",
      "ethernet_mac_address": "aa:bb:cc:dd:ee:02"
    },
    {
      "id": "bond0",
      "type": "bond",
      "ethernet_mac_address": "aa:bb:cc:dd:ee:01",
      "bond_mode": "802.3ad",
      "bond_links": [
        "eno1",
        "eno2"
      ]
    },
    {
      "id": "bond0.100",
      "type": "vlan",
      "vlan_link": "bond0",
      "vlan_id": 100,
      "vlan_mac_address": "aa:bb:cc:dd:ee:01"
    }
  ],
  "networks": [
    {
      "id": "network0",
      "type": "ipv4",
      "link": "bond0.100",
      "ip_address": "10.0.0.20",
      "netmask": "255.255.255.0",
      "routes": [
        {
          "network": "0.0.0.0",
          "netmask": "0.0.0.0",
          "gateway": "10.0.0.1"
        }
      ],
      "services": [
        {
          "type": "dns",
          "address": "10.0.0.53"
        }
      ]
    }
  ],
  "services": [
    {
      "type": "dns",
      "address": "10.0.0.53"
    }
  ]
}
`

func TestNetworkData(t *testing.T) {
	const literal = `{"links": [], "networks": [], "services": []}`
	tests := map[string]struct {
		spec schemas.NodeTypeSpec
		want string
	}{
		"literal wins": {
			spec: schemas.NodeTypeSpec{NetworkData: literal, NetworkDataTemplate: "x: 1", NetworkDataTemplateSecret: "nd"},
			want: literal,
		},
		"template wins over Secret": {
			spec: schemas.NodeTypeSpec{NetworkDataTemplate: `{"ip": {{ .AllocatedIP | quote }}, "dns": {{ toJson .DNSServers }}}`, NetworkDataTemplateSecret: "nd"},
			want: `{"ip": "10.0.0.20", "dns": ["10.0.0.53"]}`,
		},
		"template Secret": {
			spec: schemas.NodeTypeSpec{NetworkDataTemplateSecret: "nd"},
			want: "version: 2\nethernets:\n  eno1:\n    addresses: [10.0.0.20/24]\n",
		},
		"generated for server-01": {
			want: server01NetworkData,
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, err := NetworkData(machine(tc.spec))
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("NetworkData() mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestNetworkDataErrors(t *testing.T) {
	const prefix = "rendering network-data for Machine/gpu-workers-0: "
	tests := map[string]struct {
		spec schemas.NodeTypeSpec
		host *HostInfo
		want string
	}{
		"invalid result": {
			spec: schemas.NodeTypeSpec{NetworkDataTemplate: "{\"links\": [{{ .Prefix }}\n"},
			want: "NodeType/gpu-server spec.networkDataTemplate: result is not valid JSON or YAML: yaml: line 1: did not find expected ',' or ']'",
		},
		"not a mapping": {
			spec: schemas.NodeTypeSpec{NetworkData: "[1, 2]"},
			want: `NodeType/gpu-server spec.networkData: result is not a JSON object or YAML mapping; network data is one, such as {"links": [...], "networks": [...]}`,
		},
		"missing key": {
			spec: schemas.NodeTypeSpec{NetworkDataTemplate: "a: 1\nb: {{ .Host.Labels.nope }}\n"},
			want: `NodeType/gpu-server spec.networkDataTemplate: template line 2: <.Host.Labels.nope>: map has no entry for key "nope"`,
		},
		"no carrier": {
			host: &HostInfo{Name: "h", BootMACAddress: "aa:bb:cc:dd:ee:09", Interfaces: []schemas.Interface{{Name: "eno1", MACAddress: "aa:bb:cc:dd:ee:01"}}},
			want: "Host/h spec.interfaces: no interface has a pool and none has the boot MAC address aa:bb:cc:dd:ee:09; set pool on the interface that carries the address",
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			mc := machine(tc.spec)
			if tc.host != nil {
				mc.Host = *tc.host
			}
			got, err := NetworkData(mc)
			if err == nil {
				t.Fatalf("NetworkData() = %q, want an error", got)
			}
			if diff := cmp.Diff(prefix+tc.want, err.Error()); diff != "" {
				t.Errorf("error mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestGeneratedNetworkData(t *testing.T) {
	dns := []ndService{{Type: "dns", Address: "10.0.0.53"}}
	route := []ndRoute{{Network: "0.0.0.0", Netmask: "0.0.0.0", Gateway: "10.0.0.1"}}
	tests := map[string]struct {
		host     HostInfo
		ip, gw   string
		prefix   int
		dns      []string
		want     ndDocument
		wantJSON string
	}{
		"no interfaces": {
			host: HostInfo{Name: "server-02", BootMACAddress: "AA:BB:CC:DD:EE:11"},
			ip:   "10.0.0.21", gw: "10.0.0.1", prefix: 24, dns: []string{"10.0.0.53"},
			want: ndDocument{
				Links:    []ndLink{{ID: "eth0", Type: "phy", EthernetMACAddress: "aa:bb:cc:dd:ee:11"}},
				Networks: []ndNetwork{{ID: "network0", Type: "ipv4", Link: "eth0", IPAddress: "10.0.0.21", Netmask: "255.255.255.0", Routes: route, Services: dns}},
				Services: dns,
			},
			wantJSON: `{
  "links": [
    {
      "id": "eth0",
      "type": "phy",
      "ethernet_mac_address": "aa:bb:cc:dd:ee:11"
    }
  ],
  "networks": [
    {
      "id": "network0",
      "type": "ipv4",
      "link": "eth0",
      "ip_address": "10.0.0.21",
      "netmask": "255.255.255.0",
      "routes": [
        {
          "network": "0.0.0.0",
          "netmask": "0.0.0.0",
          "gateway": "10.0.0.1"
        }
      ],
      "services": [
        {
          "type": "dns",
          "address": "10.0.0.53"
        }
      ]
    }
  ],
  "services": [
    {
      "type": "dns",
      "address": "10.0.0.53"
    }
  ]
}
`,
		},
		"plain NIC with the boot MAC": {
			host: HostInfo{Name: "h", BootMACAddress: "aa:bb:cc:dd:ee:01", Interfaces: []schemas.Interface{
				{Name: "eno1", MACAddress: "aa:bb:cc:dd:ee:01", MTU: 9000},
				{Name: "eno2"}, // no MAC: not a link
			}},
			ip: "192.168.1.10", gw: "192.168.1.1", prefix: 20,
			want: ndDocument{
				Links: []ndLink{{ID: "eno1", Type: "phy", EthernetMACAddress: "aa:bb:cc:dd:ee:01", MTU: 9000}},
				Networks: []ndNetwork{{ID: "network0", Type: "ipv4", Link: "eno1", IPAddress: "192.168.1.10", Netmask: "255.255.240.0",
					Routes: []ndRoute{{Network: "0.0.0.0", Netmask: "0.0.0.0", Gateway: "192.168.1.1"}}}},
				Services: []ndService{},
			},
		},
		"bond of two NICs carries the address (pool set)": {
			host: HostInfo{Name: "h", BootMACAddress: "aa:bb:cc:dd:ee:01", Interfaces: []schemas.Interface{
				{Name: "eno1", MACAddress: "aa:bb:cc:dd:ee:01"},
				{Name: "eno2", MACAddress: "aa:bb:cc:dd:ee:02"},
				{Name: "bond0", Bond: &schemas.BondSpec{Mode: "active-backup", Interfaces: []string{"eno2", "eno1"}}, MTU: 1500, Pool: "tenant",
					Routes: []schemas.RouteRef{{Network: "10.1.0.0/16", Gateway: "10.0.0.254"}}},
			}},
			ip: "10.0.0.20", gw: "10.0.0.1", prefix: 24, dns: []string{"10.0.0.53"},
			want: ndDocument{
				Links: []ndLink{
					{ID: "eno1", Type: "phy", EthernetMACAddress: "aa:bb:cc:dd:ee:01"},
					{ID: "eno2", Type: "phy", EthernetMACAddress: "aa:bb:cc:dd:ee:02"},
					{ID: "bond0", Type: "bond", EthernetMACAddress: "aa:bb:cc:dd:ee:02", MTU: 1500, BondMode: "active-backup", BondLinks: []string{"eno2", "eno1"}},
				},
				Networks: []ndNetwork{{ID: "network0", Type: "ipv4", Link: "bond0", IPAddress: "10.0.0.20", Netmask: "255.255.255.0",
					Routes: []ndRoute{route[0], {Network: "10.1.0.0", Netmask: "255.255.0.0", Gateway: "10.0.0.254"}}, Services: dns}},
				Services: dns,
			},
		},
		"boot NIC in a bond, no pool: the bond carries the address": {
			host: HostInfo{Name: "h", BootMACAddress: "aa:bb:cc:dd:ee:01", Interfaces: []schemas.Interface{
				{Name: "eno1", MACAddress: "aa:bb:cc:dd:ee:01"},
				{Name: "eno2", MACAddress: "aa:bb:cc:dd:ee:02"},
				{Name: "bond0", Bond: &schemas.BondSpec{Mode: "802.3ad", Interfaces: []string{"eno1", "eno2"}}},
			}},
			ip: "10.0.0.20", prefix: 24,
			want: ndDocument{
				Links: []ndLink{
					{ID: "eno1", Type: "phy", EthernetMACAddress: "aa:bb:cc:dd:ee:01"},
					{ID: "eno2", Type: "phy", EthernetMACAddress: "aa:bb:cc:dd:ee:02"},
					{ID: "bond0", Type: "bond", EthernetMACAddress: "aa:bb:cc:dd:ee:01", BondMode: "802.3ad", BondLinks: []string{"eno1", "eno2"}},
				},
				Networks: []ndNetwork{{ID: "network0", Type: "ipv4", Link: "bond0", IPAddress: "10.0.0.20", Netmask: "255.255.255.0"}},
				Services: []ndService{},
			},
		},
		"VLAN on a bond (server-01)": {
			host: server01(), ip: "10.0.0.20", gw: "10.0.0.1", prefix: 24, dns: []string{"10.0.0.53"},
			wantJSON: server01NetworkData,
		},
		"IPv6": {
			host: HostInfo{Name: "h", BootMACAddress: "aa:bb:cc:dd:ee:01"},
			ip:   "2001:db8::20", gw: "2001:db8::1", prefix: 64, dns: []string{"2001:db8::53"},
			want: ndDocument{
				Links: []ndLink{{ID: "eth0", Type: "phy", EthernetMACAddress: "aa:bb:cc:dd:ee:01"}},
				Networks: []ndNetwork{{ID: "network0", Type: "ipv6", Link: "eth0", IPAddress: "2001:db8::20", Netmask: "ffff:ffff:ffff:ffff::",
					Routes:   []ndRoute{{Network: "::", Netmask: "::", Gateway: "2001:db8::1"}},
					Services: []ndService{{Type: "dns", Address: "2001:db8::53"}}}},
				Services: []ndService{{Type: "dns", Address: "2001:db8::53"}},
			},
		},
		"no address: DHCP": {
			host: HostInfo{Name: "h", BootMACAddress: "aa:bb:cc:dd:ee:01"},
			want: ndDocument{
				Links:    []ndLink{{ID: "eth0", Type: "phy", EthernetMACAddress: "aa:bb:cc:dd:ee:01"}},
				Networks: []ndNetwork{{ID: "network0", Type: "ipv4_dhcp", Link: "eth0"}},
				Services: []ndService{},
			},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			mc := MachineContext{Machine: MachineInfo{Name: "m"}, Host: tc.host, AllocatedIP: tc.ip, Gateway: tc.gw, Prefix: tc.prefix, DNSServers: tc.dns}
			got, err := NetworkData(mc)
			if err != nil {
				t.Fatal(err)
			}
			if tc.wantJSON != "" {
				if diff := cmp.Diff(tc.wantJSON, got); diff != "" {
					t.Errorf("NetworkData() mismatch (-want +got):\n%s", diff)
				}
				return
			}
			var doc ndDocument
			if err := json.Unmarshal([]byte(got), &doc); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, doc); diff != "" {
				t.Errorf("NetworkData() mismatch (-want +got):\n%s", diff)
			}
			// A check skips writing what cannot pass the limit: the bound
			// must hold.
			if bound := ndSizeBound(doc); len(got) > bound {
				t.Errorf("ndSizeBound = %d, less than the %d bytes written", bound, len(got))
			}
		})
	}
}

func TestPreprovisioningNetworkData(t *testing.T) {
	// The provisioning lease goes on the boot NIC's bond, not on the
	// tenant VLAN.
	got, err := PreprovisioningNetworkData(server01(), "192.168.100.3", 24, "192.168.100.1", []string{"8.8.8.8", "8.8.4.4"})
	if err != nil {
		t.Fatal(err)
	}
	var doc ndDocument
	if err := json.Unmarshal([]byte(got), &doc); err != nil {
		t.Fatal(err)
	}
	dns := []ndService{{Type: "dns", Address: "8.8.8.8"}, {Type: "dns", Address: "8.8.4.4"}}
	want := []ndNetwork{{ID: "network0", Type: "ipv4", Link: "bond0", IPAddress: "192.168.100.3", Netmask: "255.255.255.0",
		Routes: []ndRoute{{Network: "0.0.0.0", Netmask: "0.0.0.0", Gateway: "192.168.100.1"}}, Services: dns}}
	if diff := cmp.Diff(want, doc.Networks); diff != "" {
		t.Errorf("networks mismatch (-want +got):\n%s", diff)
	}
	if len(doc.Links) != 4 {
		t.Errorf("links = %d, want 4", len(doc.Links))
	}

	_, err = PreprovisioningNetworkData(HostInfo{Name: "server-02", BootMACAddress: "aa:bb:cc:dd:ee:11"}, "192.168.100.4", 33, "", nil)
	if want := "rendering preprovisioning network-data for Host/server-02: prefix /33 is out of range for 192.168.100.4"; err == nil || err.Error() != want {
		t.Errorf("error = %v, want %s", err, want)
	}
}

func TestMergeProperties(t *testing.T) {
	site := map[string]any{"region": "us-east", "ntp": map[string]any{"servers": []any{"a"}, "enabled": true}, "drop": "me"}
	nt := map[string]any{"tier": "gold", "ntp": map[string]any{"servers": []any{"b", "c"}}, "labels": map[string]any{"x": "1"}}
	set := map[string]any{"tier": "silver", "drop": nil}
	m := map[string]any{"ntp": map[string]any{"extra": map[string]any{"k": "v"}}, "labels": "flat"}
	got := MergeProperties(site, nt, set, nil, m)
	want := map[string]any{
		"region": "us-east",
		"tier":   "silver",
		"ntp":    map[string]any{"servers": []any{"b", "c"}, "enabled": true, "extra": map[string]any{"k": "v"}},
		"labels": "flat",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("MergeProperties() mismatch (-want +got):\n%s", diff)
	}
	// The layers are not modified, and the result shares nothing with them.
	servers := func(m map[string]any) []any {
		t.Helper()
		ntp, ok := m["ntp"].(map[string]any)
		if !ok {
			t.Fatalf("ntp is %T", m["ntp"])
		}
		list, ok := ntp["servers"].([]any)
		if !ok {
			t.Fatalf("ntp.servers is %T", ntp["servers"])
		}
		return list
	}
	servers(got)[0] = "changed"
	if diff := cmp.Diff(map[string]any{"servers": []any{"a"}, "enabled": true}, site["ntp"]); diff != "" {
		t.Errorf("site layer changed (-want +got):\n%s", diff)
	}
	if servers(nt)[0] != "b" {
		t.Errorf("NodeType layer shares a list with the result")
	}
	if got := MergeProperties(); got == nil || len(got) != 0 {
		t.Errorf("MergeProperties() = %v, want an empty map", got)
	}
}

func TestTemplateFuncs(t *testing.T) {
	data := map[string]any{
		"list":  []any{"a", nil, 2},
		"strs":  []string{"x", "y"},
		"props": map[string]any{"b": map[string]any{"c": []any{1, 2.5}}, "a": "yes"},
		"empty": "",
		"zero":  0,
	}
	tests := map[string]struct{ tmpl, want string }{
		"toYaml":           {`{{ toYaml .props }}`, "a: \"yes\"\nb:\n  c:\n    - 1\n    - 2.5"},
		"toJson":           {`{{ toJson .props }}`, `{"a":"yes","b":{"c":[1,2.5]}}`},
		"indent":           {`{{ indent 2 "a\nb" }}`, "  a\n  b"},
		"nindent":          {`{{ nindent 2 "a\nb" }}`, "\n  a\n  b"},
		"quote":            {`{{ quote "a\"b" 1 }}`, `"a\"b" "1"`},
		"join any":         {`{{ join "," .list }}`, "a,2"},
		"join strings":     {`{{ join "-" .strs }}`, "x-y"},
		"default empty":    {`{{ .empty | default "d" }}`, "d"},
		"default zero":     {`{{ .zero | default 7 }}`, "7"},
		"default set":      {`{{ "v" | default "d" }}`, "v"},
		"default missing":  {`{{ index .props "nope" | default "d" }}`, "d"},
		"upper lower trim": {`{{ upper "a" }}{{ lower "B" }}{{ trim "  c " }}`, "Abc"},
		"replace":          {`{{ "a.b.c" | replace "." "-" }}`, "a-b-c"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, err := executeTemplate("t", tc.tmpl, data)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("mismatch (-want +got):\n%s", diff)
			}
		})
	}
	// Every function schemas validates against exists here.
	for name := range schemas.TemplateFuncs() {
		if _, ok := templateFuncs(MaxDataSize)[name]; !ok {
			t.Errorf("template function %s is not implemented", name)
		}
	}
}
