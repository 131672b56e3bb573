package schemas_test

import (
	"testing"

	"github.com/metalgit/metalgit/schemas"
)

func TestVIPAndPinnedIPAreHostAddresses(t *testing.T) {
	const (
		site   = "Site/dc1"
		vipFix = ", which the boot proxy cannot take; use a free host address of the provisioning network and reserve it in its pool"
		pinFix = ", which a host cannot take; pin a free host address of the provisioning network and reserve it in its pool"
	)
	vipCase := func(vip string, want ...schemas.Problem) ruleCase {
		b := base()
		b.site = siteDoc("{namespace: metal3-system, provisioningPool: provisioning, bootProxy: {vip: " + vip + "}}")
		return ruleCase{docs: b, want: want}
	}
	pinCase := func(ip string, want ...schemas.Problem) ruleCase {
		b := base()
		b.host = hostDoc("{name: server-01}", `{bmc: {address: "ipmi://10.20.0.11", credentialsName: server-01-bmc}, bootMACAddress: "aa:bb:cc:dd:ee:01", ipAddress: "`+ip+`"}`)
		return ruleCase{docs: b, want: want}
	}
	vip := func(msg string) schemas.Problem {
		return problem(site, "spec.bootProxy.vip", schemas.RuleVIP, msg+vipFix)
	}
	pin := func(msg string) schemas.Problem {
		return problem("Host/server-01", "spec.ipAddress", schemas.RulePinnedIP, msg+pinFix)
	}
	rangeProv := func(spec string) baseDocs {
		b := base()
		b.provisioning = poolDoc("provisioning", spec)
		return b
	}
	runRuleTable(t, map[string]ruleCase{
		"VIP is the gateway":           vipCase("192.168.100.1/24", vip("VIP 192.168.100.1 is the gateway of IPPool/provisioning")),
		"VIP is the network address":   vipCase("192.168.100.0/24", vip("VIP 192.168.100.0 is the network address of IPPool/provisioning (192.168.100.0/24)")),
		"VIP is the broadcast address": vipCase("192.168.100.255/24", vip("VIP 192.168.100.255 is the broadcast address of IPPool/provisioning (192.168.100.0/24)")),
		"VIP is the broadcast address of the pool and of its own /25": vipCase("192.168.100.255/25",
			vip("VIP 192.168.100.255 is the broadcast address of IPPool/provisioning (192.168.100.0/24)"),
			vip("VIP 192.168.100.255 is the broadcast address of its own prefix, 192.168.100.128/25")),
		"VIP is the broadcast address of its own /25 alone": {
			docs: func() baseDocs {
				b := vipCase("192.168.100.127/25").docs
				b.provisioning = poolDoc("provisioning", "{cidr: 192.168.100.1/24, reserved: [192.168.100.127]}")
				return b
			}(),
			want: []schemas.Problem{vip("VIP 192.168.100.127 is the broadcast address of its own prefix, 192.168.100.0/25")},
		},
		"VIP is the gateway of a range pool": {
			docs: func() baseDocs {
				b := vipCase("192.168.100.1/24").docs
				b.provisioning = poolDoc("provisioning", "{ranges: [192.168.100.10-192.168.100.20], prefix: 24, gateway: 192.168.100.1}")
				return b
			}(),
			want: []schemas.Problem{vip("VIP 192.168.100.1 is the gateway of IPPool/provisioning")},
		},
		"pinned IP is the gateway":           pinCase("192.168.100.1", pin("pinned IP 192.168.100.1 is the gateway of IPPool/provisioning")),
		"pinned IP is the network address":   pinCase("192.168.100.0", pin("pinned IP 192.168.100.0 is the network address of IPPool/provisioning (192.168.100.0/24)")),
		"pinned IP is the broadcast address": pinCase("192.168.100.255", pin("pinned IP 192.168.100.255 is the broadcast address of IPPool/provisioning (192.168.100.0/24)")),
		"pinned IP is a range pool's network address": {
			docs: func() baseDocs {
				b := pinCase("192.168.100.0").docs
				b.provisioning = poolDoc("provisioning", "{ranges: [192.168.100.10-192.168.100.20], prefix: 24, gateway: 192.168.100.1}")
				return b
			}(),
			want: []schemas.Problem{pin("pinned IP 192.168.100.0 is the network address of IPPool/provisioning (192.168.100.0/24)")},
		},
		"pinned IP is another pool's gateway": {
			docs: pinCase("10.0.0.1").docs.with(poolDoc("tenant", "{cidr: 10.0.0.1/24}")),
			want: []schemas.Problem{
				pin("pinned IP 10.0.0.1 is the gateway of IPPool/tenant"),
				problem("Host/server-01", "spec.ipAddress", schemas.RulePinnedIP, "pinned IP 10.0.0.1 lies outside the provisioning network 192.168.100.0/24"),
			},
		},

		"pinned IP with a zone": pinCase("fe80::5%eth0", problem("Host/server-01", "spec.ipAddress", schemas.RulePinnedIP, `"fe80::5%eth0" is not an IP address; remove the zone "%eth0": an inventory address names no interface`)),

		"control: VIP reserved": vipCase("192.168.100.2/24"),
		"control: pinned IP reserved": {
			docs: func() baseDocs {
				b := pinCase("192.168.100.3").docs
				b.provisioning = poolDoc("provisioning", "{cidr: 192.168.100.1/24, reserved: [192.168.100.2-192.168.100.3]}")
				return b
			}(),
		},
		"control: network address of a pool that allows it": {
			docs: func() baseDocs {
				b := rangeProv("{ranges: [192.168.100.10-192.168.100.20], prefix: 24, gateway: 192.168.100.1, allowNetworkAndBroadcast: true}")
				b.host = pinCase("192.168.100.0").docs.host
				return b
			}(),
		},
	})
}

func TestProvisioningPoolServable(t *testing.T) {
	const site = "Site/dc1"
	prov := func(spec string, want ...schemas.Problem) ruleCase {
		b := base()
		b.site = siteDoc("{namespace: metal3-system, provisioningPool: provisioning}")
		b.provisioning = poolDoc("provisioning", spec)
		return ruleCase{docs: b, want: want}
	}
	v6 := func(network string) schemas.Problem {
		return problem(site, "spec.provisioningPool", schemas.RuleProvisioning, "IPPool/provisioning is an IPv6 pool ("+network+"), and the boot proxy's DHCP serves IPv4 only, so no host could PXE boot from it; name an IPv4 pool here (machines may still take IPv6 addresses from their node type's pool)")
	}
	server := func(field, what, addr string) schemas.Problem {
		return problem("IPPool/provisioning", field, schemas.RuleProvisioning, what+" "+addr+" is IPv6, and this is the provisioning pool of Site/dc1, whose boot proxy hands out IPv4 servers only over DHCP; list IPv4 servers here")
	}
	withVIP := prov(`{cidr: "2001:db8::1/64"}`, v6("2001:db8::/64"))
	withVIP.docs.site = siteDoc(`{namespace: metal3-system, provisioningPool: provisioning, bootProxy: {vip: "2001:db8::2/64"}}`)
	withVIP.docs.provisioning = poolDoc("provisioning", `{cidr: "2001:db8::1/64", reserved: ["2001:db8::2"]}`)
	runRuleTable(t, map[string]ruleCase{
		"IPv6 cidr":            prov(`{cidr: "2001:db8::1/64"}`, v6("2001:db8::/64")),
		"IPv6 ranges":          prov(`{ranges: ["fd00::10-fd00::ff"], prefix: 64, gateway: "fd00::1"}`, v6("fd00::/64")),
		"IPv6 with a VIP":      withVIP,
		"IPv6 DNS server":      prov(`{cidr: 192.168.100.1/24, dnsServers: ["2001:db8::53"]}`, server("spec.dnsServers[0]", "DNS server", "2001:db8::53")),
		"IPv6 NTP server":      prov(`{cidr: 192.168.100.1/24, ntpServers: [192.168.100.1, "fd00::123"]}`, server("spec.ntpServers[1]", "NTP server", "fd00::123")),
		"IPv4-mapped DNS":      prov(`{cidr: 192.168.100.1/24, dnsServers: ["::ffff:8.8.8.8"]}`, server("spec.dnsServers[0]", "DNS server", "::ffff:8.8.8.8")),
		"control: IPv4":        prov(`{cidr: 192.168.100.1/24, dnsServers: [8.8.8.8], ntpServers: [192.168.100.1]}`),
		"control: IPv6 tenant": {docs: base().with(poolDoc("tenant", `{cidr: "2001:db8::1/64", dnsServers: ["2001:db8::53"]}`))},
	})
}
