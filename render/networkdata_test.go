package render

import (
	"encoding/json"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/metalgit/metalgit/schemas"
)

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
