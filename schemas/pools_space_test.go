package schemas_test

import (
	"fmt"
	"net/netip"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/metalgit/metalgit/alloc"
	"github.com/metalgit/metalgit/schemas"
)

const tenant = "IPPool/tenant"

// tenantCase is a rule case with one more pool, tenant, of the given spec.
func tenantCase(spec string, want ...schemas.Problem) ruleCase {
	return ruleCase{docs: base().with(poolDoc("tenant", spec)), want: want}
}

func TestPoolAddressSpace(t *testing.T) {
	tooShort := func(field, bits, least, family, span, hint string) schemas.Problem {
		return problem(tenant, field, schemas.RuleAddressSpace, fmt.Sprintf(
			"prefix /%s is shorter than /%s, the widest IPv%s pool (IPv4: /8, IPv6: /48): the pool would span %s; give the prefix of the subnet the hosts are on%s",
			bits, least, family, span, hint))
	}
	special := func(field, network, block, name string) schemas.Problem {
		return problem(tenant, field, schemas.RuleAddressSpace, fmt.Sprintf(
			"network %s overlaps %s, the %s block, whose addresses no host on a network segment can use; use the subnet the hosts are on", network, block, name))
	}
	runRuleTable(t, map[string]ruleCase{
		"cidr /4":        tenantCase("{cidr: 10.0.0.1/4}", tooShort("spec.cidr", "4", "8", "4", "0.0.0.0/4", ", such as 10.0.0.1/24")),
		"cidr /0":        tenantCase("{cidr: 10.0.0.1/0}", tooShort("spec.cidr", "0", "8", "4", "0.0.0.0/0", ", such as 10.0.0.1/24")),
		"cidr /7":        tenantCase("{cidr: 10.1.2.3/7}", tooShort("spec.cidr", "7", "8", "4", "10.0.0.0/7", ", such as 10.1.2.3/24")),
		"cidr IPv6 /32":  tenantCase(`{cidr: "2001:db8::1/32"}`, tooShort("spec.cidr", "32", "48", "6", "2001:db8::/32", ", such as 2001:db8::1/64")),
		"range prefix 4": tenantCase("{ranges: [10.0.0.10-10.0.0.20], prefix: 4, gateway: 10.0.0.1}", tooShort("spec.prefix", "4", "8", "4", "0.0.0.0/4", ", such as prefix: 24")),
		"range IPv6 prefix 47": tenantCase(`{ranges: ["2001:db8::10-2001:db8::20"], prefix: 47, gateway: "2001:db8::1"}`,
			tooShort("spec.prefix", "47", "48", "6", "2001:db8::/47", ", such as prefix: 64")),
		"multicast":          tenantCase("{cidr: 224.0.0.1/24}", special("spec.cidr", "224.0.0.0/24", "224.0.0.0/4", "multicast")),
		"multicast high":     tenantCase("{cidr: 239.255.255.1/24}", special("spec.cidr", "239.255.255.0/24", "224.0.0.0/4", "multicast")),
		"loopback":           tenantCase("{cidr: 127.0.0.1/24}", special("spec.cidr", "127.0.0.0/24", "127.0.0.0/8", "loopback")),
		"link-local":         tenantCase("{cidr: 169.254.0.1/16}", special("spec.cidr", "169.254.0.0/16", "169.254.0.0/16", "link-local")),
		"this network":       tenantCase("{cidr: 0.0.0.1/24}", special("spec.cidr", "0.0.0.0/24", "0.0.0.0/8", `"this network" (unspecified)`)),
		"reserved class E":   tenantCase("{cidr: 255.255.255.1/24}", special("spec.cidr", "255.255.255.0/24", "240.0.0.0/4", "reserved (with the limited broadcast address)")),
		"range in loopback":  tenantCase("{ranges: [127.0.0.10-127.0.0.20], prefix: 24, gateway: 127.0.0.1}", special("spec.gateway", "127.0.0.0/24", "127.0.0.0/8", "loopback")),
		"IPv6 link-local":    tenantCase(`{cidr: "fe80::1/64"}`, special("spec.cidr", "fe80::/64", "fe80::/10", "link-local")),
		"IPv6 multicast":     tenantCase(`{cidr: "ff02::1/64"}`, special("spec.cidr", "ff02::/64", "ff00::/8", "multicast")),
		"IPv6 with loopback": tenantCase(`{cidr: "::1/120"}`, special("spec.cidr", "::/120", "::/128", "unspecified")),
		"IPv6 loopback alone": tenantCase(`{ranges: ["::1-::1"], prefix: 128, gateway: "::1"}`,
			problem(tenant, "spec.gateway", schemas.RuleRangeGateway, "gateway ::1 lies inside the ranges and would be handed out; move it out of the ranges or add it to reserved"),
			special("spec.gateway", "::1/128", "::1/128", "loopback")),
		"IPv4-mapped": tenantCase(`{cidr: "::ffff:10.0.0.1/120"}`, problem(tenant, "spec.cidr", schemas.RuleAddressSpace,
			"network ::ffff:10.0.0.0/120 overlaps ::ffff:0.0.0.0/96, the IPv4-mapped block, whose addresses no host on a network segment can use; write an IPv4 pool with plain IPv4 addresses (10.0.0.1/24, not ::ffff:10.0.0.1/120)")),
		"gateway with a zone": tenantCase(`{ranges: ["2001:db8::10-2001:db8::20"], prefix: 64, gateway: "2001:db8::1%eth0"}`,
			problem(tenant, "spec.gateway", schemas.RuleAddress, `"2001:db8::1%eth0" is not an IP address; remove the zone "%eth0": an inventory address names no interface`)),
		"reserved with a zone": tenantCase(`{cidr: "2001:db8::1/64", reserved: ["2001:db8::5%1"]}`,
			problem(tenant, "spec.reserved[0]", schemas.RuleAddress, `"2001:db8::5%1" is not an IP address or <start>-<end> range; remove the zone "%1": an inventory address names no interface`)),
		"range with a zone": tenantCase(`{ranges: ["2001:db8::10%eth0-2001:db8::20"], prefix: 64, gateway: "2001:db8::1"}`,
			problem(tenant, "spec.ranges[0]", schemas.RuleRange, `"2001:db8::10%eth0-2001:db8::20" is not a range of two IP addresses; write <start>-<end>, such as 10.0.0.20-10.0.0.30`)),

		"control /8":              tenantCase("{cidr: 10.0.0.1/8}"),
		"control /24":             tenantCase("{cidr: 10.0.0.1/24}"),
		"control IPv6 /48":        tenantCase(`{cidr: "2001:db8::1/48"}`),
		"control range prefix 8":  tenantCase("{ranges: [10.0.0.10-10.0.0.20], prefix: 8, gateway: 10.0.0.1}"),
		"control next to special": tenantCase("{cidr: 223.255.255.1/24}"),
		"control 169.255":         tenantCase("{cidr: 169.255.0.1/16}"),
	})
}

// hintRE finds the example a message offers: a cidr after "such as", or
// range-form fields after "instead of cidr:".
var hintRE = regexp.MustCompile(`(?:such as (\S+/\d+)$)|(?:instead of cidr: (.*)$)`)

// TestCIDRHintsValidate: the cidr problems whose message offers an example
// (a gateway that is the network or broadcast address, a prefix too short,
// /31 and /32, /127 and /128) offer one that validates when applied.
func TestCIDRHintsValidate(t *testing.T) {
	for name, tc := range map[string]struct {
		cidr    string
		message string
	}{
		"/31, gateway low": {"10.0.0.0/31",
			`a /31 leaves no address to allocate in the cidr form, which skips the network, gateway and broadcast addresses; for a point-to-point link write the range form instead of cidr: ranges: ["10.0.0.1-10.0.0.1"], prefix: 31, gateway: 10.0.0.0`},
		"/31, gateway high": {"10.0.0.1/31",
			`a /31 leaves no address to allocate in the cidr form, which skips the network, gateway and broadcast addresses; for a point-to-point link write the range form instead of cidr: ranges: ["10.0.0.0-10.0.0.0"], prefix: 31, gateway: 10.0.0.1`},
		"/32": {"10.0.0.5/32",
			"a /32 holds the gateway alone and leaves no address to allocate; write the gateway with the prefix of its subnet, such as 10.0.0.5/24"},
		"/32 on a /24 network address": {"10.0.0.0/32",
			"a /32 holds the gateway alone and leaves no address to allocate; write the gateway with the prefix of its subnet, such as 10.0.0.1/24"},
		"/32 on a /24 broadcast address": {"10.0.0.255/32",
			"a /32 holds the gateway alone and leaves no address to allocate; write the gateway with the prefix of its subnet, such as 10.0.0.1/24"},
		"IPv6 /127": {"2001:db8::1/127",
			`a /127 leaves no address to allocate in the cidr form, which skips the network, gateway and broadcast addresses; for a point-to-point link write the range form instead of cidr: ranges: ["2001:db8::-2001:db8::"], prefix: 127, gateway: "2001:db8::1"`},
		"IPv6 /128": {"2001:db8::7/128",
			"a /128 holds the gateway alone and leaves no address to allocate; write the gateway with the prefix of its subnet, such as 2001:db8::7/64"},
		"gateway is the network address": {"10.0.0.0/24",
			"gateway 10.0.0.0 is the network address of 10.0.0.0/24; write the gateway's own address, such as 10.0.0.1/24"},
		"gateway is the broadcast address of a /30": {"10.0.0.3/30",
			"gateway 10.0.0.3 is the broadcast address of 10.0.0.0/30; write the gateway's own address, such as 10.0.0.1/30"},
		"IPv6 gateway is the network address": {"2001:db8::/64",
			"gateway 2001:db8:: is the network address of 2001:db8::/64; write the gateway's own address, such as 2001:db8::1/64"},
		"prefix too short": {"172.16.5.9/6",
			"prefix /6 is shorter than /8, the widest IPv4 pool (IPv4: /8, IPv6: /48): the pool would span 172.0.0.0/6; give the prefix of the subnet the hosts are on, such as 172.16.5.9/24"},
	} {
		t.Run(name, func(t *testing.T) {
			got := problemsOf(t, base().with(poolDoc("tenant", fmt.Sprintf("{cidr: %q}", tc.cidr))).yaml())
			rule := schemas.RuleCIDRGateway
			if strings.HasPrefix(tc.message, "prefix") {
				rule = schemas.RuleAddressSpace
			}
			want := []schemas.Problem{problem(tenant, "spec.cidr", rule, tc.message)}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Fatalf("problems differ (-want +got):\n%s", diff)
			}
			m := hintRE.FindStringSubmatch(got[0].Message)
			if m == nil {
				t.Fatalf("the message offers no example: %s", got[0].Message)
			}
			// Apply the example as the message writes it.
			fixed := fmt.Sprintf("{cidr: %q}", m[1])
			if m[2] != "" {
				fixed = "{" + m[2] + "}"
			}
			if p := problemsOf(t, base().with(poolDoc("tenant", fixed)).yaml()); len(p) > 0 {
				t.Fatalf("the example %s does not validate: %v", fixed, p)
			}
		})
	}
}

func TestRangeNetworkAndBroadcast(t *testing.T) {
	const fix = ", or set allowNetworkAndBroadcast: true if this network routes it to a host"
	nb := func(field, msg string) schemas.Problem {
		return problem(tenant, field, schemas.RuleNetworkBcast, msg+fix)
	}
	runRuleTable(t, map[string]ruleCase{
		"starts at the network address": tenantCase("{ranges: [10.0.0.0-10.0.0.50], prefix: 24, gateway: 10.0.0.254}",
			nb("spec.ranges[0]", "range 10.0.0.0-10.0.0.50 holds 10.0.0.0, the network address of 10.0.0.0/24, which no host can use; start the range at 10.0.0.1, reserve 10.0.0.0")),
		"ends at the broadcast address": tenantCase("{ranges: [10.0.0.2-10.0.0.9, 10.0.0.200-10.0.0.255], prefix: 24, gateway: 10.0.0.1}",
			nb("spec.ranges[1]", "range 10.0.0.200-10.0.0.255 holds 10.0.0.255, the broadcast address of 10.0.0.0/24, which no host can use; end the range at 10.0.0.254, reserve 10.0.0.255")),
		"the broadcast address alone": tenantCase("{ranges: [10.0.0.255-10.0.0.255], prefix: 24, gateway: 10.0.0.1}",
			nb("spec.ranges[0]", "range 10.0.0.255-10.0.0.255 holds 10.0.0.255, the broadcast address of 10.0.0.0/24, which no host can use; reserve 10.0.0.255")),
		"the whole subnet": tenantCase("{ranges: [10.0.0.0-10.0.0.255], prefix: 24, gateway: 10.0.0.1, reserved: [10.0.0.1]}",
			nb("spec.ranges[0]", "range 10.0.0.0-10.0.0.255 holds 10.0.0.0, the network address of 10.0.0.0/24, which no host can use; start the range at 10.0.0.1, reserve 10.0.0.0"),
			nb("spec.ranges[0]", "range 10.0.0.0-10.0.0.255 holds 10.0.0.255, the broadcast address of 10.0.0.0/24, which no host can use; end the range at 10.0.0.254, reserve 10.0.0.255")),
		"comma-separated string": tenantCase(`{ranges: "10.1.0.0-10.1.0.9,10.1.0.20-10.1.0.30", prefix: 16, gateway: 10.1.255.254}`,
			nb("spec.ranges[0]", "range 10.1.0.0-10.1.0.9 holds 10.1.0.0, the network address of 10.1.0.0/16, which no host can use; start the range at 10.1.0.1, reserve 10.1.0.0")),
		"/30": tenantCase("{ranges: [10.0.0.2-10.0.0.3], prefix: 30, gateway: 10.0.0.1}",
			nb("spec.ranges[0]", "range 10.0.0.2-10.0.0.3 holds 10.0.0.3, the broadcast address of 10.0.0.0/30, which no host can use; end the range at 10.0.0.2, reserve 10.0.0.3")),
		"IPv6 Subnet-Router anycast": tenantCase(`{ranges: ["2001:db8::-2001:db8::ff"], prefix: 64, gateway: "2001:db8::1:1"}`,
			nb("spec.ranges[0]", "range 2001:db8::-2001:db8::ff holds 2001:db8::, the Subnet-Router anycast address (RFC 4291) of 2001:db8::/64, which no host can use; start the range at 2001:db8::1, reserve 2001:db8::")),
		"flag in the cidr form": tenantCase("{cidr: 10.0.0.1/24, allowNetworkAndBroadcast: true}",
			problem(tenant, "spec.allowNetworkAndBroadcast", schemas.RulePoolForm, "belongs to the range form; the cidr form never hands out its network, gateway and broadcast addresses: remove it, or write the pool as ranges with prefix and gateway")),

		"control: allowed":              tenantCase("{ranges: [10.0.0.0-10.0.0.255], prefix: 24, gateway: 10.0.0.1, reserved: [10.0.0.1], allowNetworkAndBroadcast: true}"),
		"control: reserved":             tenantCase("{ranges: [10.0.0.0-10.0.0.255], prefix: 24, gateway: 10.0.0.1, reserved: [10.0.0.0-10.0.0.1, 10.0.0.255]}"),
		"control: inside":               tenantCase("{ranges: [10.0.0.1-10.0.0.254], prefix: 24, gateway: 10.0.0.1, reserved: [10.0.0.1]}"),
		"control: /31 point-to-point":   tenantCase("{ranges: [10.0.0.0-10.0.0.0], prefix: 31, gateway: 10.0.0.1}"),
		"control: IPv6 /127":            tenantCase(`{ranges: ["2001:db8::-2001:db8::"], prefix: 127, gateway: "2001:db8::1"}`),
		"control: false is the default": tenantCase("{ranges: [10.0.0.10-10.0.0.20], prefix: 24, gateway: 10.0.0.1, allowNetworkAndBroadcast: false}"),
	})
}

// TestIPAMAllocatesWhatValidationAllows plans leases for more hosts than a
// valid range pool holds: IPAM hands out exactly the addresses validation
// lets the pool have, lowest first: the network and broadcast addresses
// only with allowNetworkAndBroadcast, reserved ones never.
func TestIPAMAllocatesWhatValidationAllows(t *testing.T) {
	for name, tc := range map[string]struct {
		spec string
		want []string
	}{
		"allowed":  {"{ranges: [10.0.0.0-10.0.0.3, 10.0.0.252-10.0.0.255], prefix: 24, gateway: 10.0.0.254, reserved: [10.0.0.254], allowNetworkAndBroadcast: true}", []string{"10.0.0.0", "10.0.0.1", "10.0.0.2", "10.0.0.3", "10.0.0.252", "10.0.0.253", "10.0.0.255"}},
		"reserved": {"{ranges: [10.0.0.0-10.0.0.3, 10.0.0.252-10.0.0.255], prefix: 24, gateway: 10.0.0.254, reserved: [10.0.0.0, 10.0.0.254-10.0.0.255]}", []string{"10.0.0.1", "10.0.0.2", "10.0.0.3", "10.0.0.252", "10.0.0.253"}},
		"cidr /29": {"{cidr: 10.0.0.1/29}", []string{"10.0.0.2", "10.0.0.3", "10.0.0.4", "10.0.0.5", "10.0.0.6"}},
		"/31":      {"{ranges: [10.0.0.0-10.0.0.0], prefix: 31, gateway: 10.0.0.1}", []string{"10.0.0.0"}},
	} {
		t.Run(name, func(t *testing.T) {
			docs := []string{
				siteDoc("{namespace: metal3-system, provisioningPool: tenant}"),
				poolDoc("tenant", tc.spec),
			}
			for i := range len(tc.want) + 1 {
				docs = append(docs, hostDoc(fmt.Sprintf("{name: h%02d}", i),
					fmt.Sprintf(`{bmc: {address: "ipmi://10.20.0.%d", credentialsName: bmc}, bootMACAddress: "aa:bb:cc:dd:ee:%02x"}`, i+1, i)))
			}
			data := []byte(strings.Join(docs, "---\n"))
			if p := problemsOf(t, data); len(p) > 0 {
				t.Fatalf("the inventory does not validate: %v", p)
			}
			inv, _ := schemas.LoadBytes(ruleFile, data)
			plan, err := alloc.Compute(inv, nil)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, a := range plan.Allocations {
				got = append(got, a.Address.String())
			}
			slices.SortFunc(got, func(a, b string) int { return netip.MustParseAddr(a).Compare(netip.MustParseAddr(b)) })
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("allocated addresses differ (-want +got):\n%s", diff)
			}
			if len(plan.Problems) != 1 {
				t.Errorf("plan problems = %v, want one host left without an address", plan.Problems)
			}
		})
	}
}
