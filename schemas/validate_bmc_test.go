package schemas_test

import (
	"strings"
	"testing"

	"github.com/metalgit/metalgit/schemas"
)

func TestBMCAddress(t *testing.T) {
	bmc := func(address string) baseDocs {
		b := base()
		b.host = hostDoc("{name: server-01}", `{bmc: {address: "`+address+`", credentialsName: server-01-bmc}, bootMACAddress: "aa:bb:cc:dd:ee:01"}`)
		return b
	}
	url := func(msg string) schemas.Problem {
		return problem("Host/server-01", "spec.bmc.address", schemas.RuleBMCURL, msg)
	}
	const (
		creds    = "the address carries credentials (user:password@ before the host); remove them: credentials go in the Secret named by credentialsName"
		noHost   = "the address has no host; write the BMC's IP address or name after ://, such as redfish://10.20.0.11/redfish/v1/Systems/1"
		brackets = "; write an IPv6 host in brackets, with any port after them, such as redfish://[2001:db8::1]:8443/redfish/v1/Systems/1"
	)
	port := func(p string) schemas.Problem {
		return url("port " + p + " is out of range; use 1-65535, or leave the port out for the driver's default")
	}
	cases := map[string]ruleCase{
		"user and password":          {docs: bmc("redfish://admin:s3cret@10.20.0.11/redfish/v1/Systems/1"), want: []schemas.Problem{url(creds)}},
		"user alone":                 {docs: bmc("ipmi://admin@10.20.0.11:623"), want: []schemas.Problem{url(creds)}},
		"password alone":             {docs: bmc("idrac-virtualmedia://:s3cret@10.20.0.12/redfish/v1/Systems/System.Embedded.1"), want: []schemas.Problem{url(creds)}},
		"credentials and bad port":   {docs: bmc("redfish+https://root:s3cret@10.20.0.11:70000/redfish/v1"), want: []schemas.Problem{port(`"70000"`), url(creds)}},
		"credentials, IPv6 host":     {docs: bmc("redfish://root:s3cret@[2001:db8::11]/redfish/v1"), want: []schemas.Problem{url(creds)}},
		"port 0":                     {docs: bmc("ipmi://10.20.0.11:0"), want: []schemas.Problem{port(`"0"`)}},
		"port 65536":                 {docs: bmc("redfish://10.20.0.11:65536/redfish/v1"), want: []schemas.Problem{port(`"65536"`)}},
		"port past int64":            {docs: bmc("redfish://10.20.0.11:99999999999999999999/redfish/v1"), want: []schemas.Problem{port(`"99999999999999999999"`)}},
		"port not a number":          {docs: bmc("ipmi://10.20.0.11:ipmi"), want: []schemas.Problem{port(`"ipmi"`)}},
		"port with a sign":           {docs: bmc("ipmi://10.20.0.11:+623"), want: []schemas.Problem{port(`"+623"`)}},
		"empty port":                 {docs: bmc("ipmi://10.20.0.11:/"), want: []schemas.Problem{url("the address has a ':' after the host but no port; remove the ':' or give the port (1-65535)")}},
		"no host":                    {docs: bmc("redfish://:623/redfish/v1"), want: []schemas.Problem{url(noHost)}},
		"no host before a query":     {docs: bmc("ipmi://?x=1"), want: []schemas.Problem{url(noHost)}},
		"IPv6 without brackets":      {docs: bmc("redfish://2001:db8::11/redfish/v1"), want: []schemas.Problem{url(`the host "2001:db8::11" is not in brackets` + brackets)}},
		"IPv6 and port, unbracketed": {docs: bmc("ipmi://fd00::11:623"), want: []schemas.Problem{url(`the host "fd00::11:623" is not in brackets` + brackets)}},
		"IPv4 in brackets":           {docs: bmc("redfish://[10.20.0.11]/redfish/v1"), want: []schemas.Problem{url(`the bracketed host "10.20.0.11" is not an IPv6 address; only an IPv6 host goes in brackets`)}},
		"name in brackets":           {docs: bmc("redfish://[bmc-01]/redfish/v1"), want: []schemas.Problem{url(`the bracketed host "bmc-01" is not an IPv6 address; only an IPv6 host goes in brackets`)}},
		"unclosed bracket":           {docs: bmc("redfish://[2001:db8::11/redfish/v1"), want: []schemas.Problem{url(`the host "[2001:db8::11" opens a bracket it does not close; write an IPv6 host as [2001:db8::1]`)}},
		"text after the bracket":     {docs: bmc("redfish://[2001:db8::11]623/redfish/v1"), want: []schemas.Problem{url(`"623" follows the IPv6 host; write [address]:port`)}},
		"bad escape":                 {docs: bmc("redfish://10.20.0.11/redfish/%zz"), want: []schemas.Problem{url(`"redfish://10.20.0.11/redfish/%zz" is not a valid URL: invalid URL escape "%zz"`)}},
		"unknown scheme with credentials": {docs: bmc("http://admin:s3cret@10.20.0.11/redfish/v1"), want: []schemas.Problem{problem("Host/server-01", "spec.bmc.address", schemas.RuleBMCAddress,
			`"http://10.20.0.11/redfish/v1" has no known scheme; start it with one of `+strings.Join(schemas.BMCSchemes, ", ")+" followed by ://")}},

		"control: redfish":              {docs: bmc("redfish://10.20.0.11/redfish/v1/Systems/1")},
		"control: port 1":               {docs: bmc("ipmi://10.20.0.11:1")},
		"control: port 65535":           {docs: bmc("redfish+https://bmc-01.example.com:65535/redfish/v1")},
		"control: IPv6 with port":       {docs: bmc("redfish://[2001:db8::11]:8443/redfish/v1/Systems/1")},
		"control: IPv6 link-local zone": {docs: bmc("idrac-virtualmedia://[fe80::1%25eth0]/redfish/v1/Systems/System.Embedded.1")},
		"control: libvirt":              {docs: bmc("libvirt://192.168.122.1/")},
		"control: at sign in the path":  {docs: bmc("redfish://10.20.0.11/redfish/v1/Systems/a@b")},
		"control: at sign in the query": {docs: bmc("redfish://10.20.0.11/redfish/v1?owner=a@b")},
	}
	runRuleTable(t, cases)
	// No message repeats the password.
	for name, tc := range cases {
		for _, p := range problemsOf(t, tc.docs.yaml()) {
			if strings.Contains(p.String(), "s3cret") {
				t.Errorf("%s: a problem repeats the password: %s", name, p)
			}
		}
	}
}

func TestMACsAreUnicast(t *testing.T) {
	boot := func(mac string) baseDocs {
		b := base()
		b.host = hostDoc("{name: server-01}", `{bmc: {address: "ipmi://10.20.0.11", credentialsName: server-01-bmc}, bootMACAddress: "`+mac+`"}`)
		return b
	}
	nic := func(mac string) baseDocs {
		b := base()
		b.host = hostDoc("{name: server-01}", `{bmc: {address: "ipmi://10.20.0.11", credentialsName: server-01-bmc}, bootMACAddress: "aa:bb:cc:dd:ee:01",
  interfaces: [{name: eno1, macAddress: "aa:bb:cc:dd:ee:01"}, {name: eno2, macAddress: "`+mac+`"}]}`)
		return b
	}
	const (
		broadcast = " is the broadcast address, which no NIC has as its own; give the MAC of the NIC"
		zeros     = " is all zeros, which no NIC has; give the MAC of the NIC"
	)
	multicast := func(mac, octet string) string {
		return mac + " is a multicast address (the lowest bit of its first octet, " + octet + ", is set), which no NIC has as its own; check the first octet for a typo"
	}
	bootP := func(msg string) []schemas.Problem {
		return []schemas.Problem{problem("Host/server-01", "spec.bootMACAddress", schemas.RuleMACUnicast, msg)}
	}
	nicP := func(msg string) []schemas.Problem {
		return []schemas.Problem{problem("Host/server-01", "spec.interfaces[1].macAddress", schemas.RuleMACUnicast, msg)}
	}
	runRuleTable(t, map[string]ruleCase{
		"boot broadcast":             {docs: boot("ff:ff:ff:ff:ff:ff"), want: bootP("ff:ff:ff:ff:ff:ff" + broadcast)},
		"boot broadcast, upper case": {docs: boot("FF:FF:FF:FF:FF:FF"), want: bootP("FF:FF:FF:FF:FF:FF" + broadcast)},
		"boot IPv4 multicast":        {docs: boot("01:00:5e:00:00:fb"), want: bootP(multicast("01:00:5e:00:00:fb", "01"))},
		"boot IPv6 multicast":        {docs: boot("33:33:00:00:00:01"), want: bootP(multicast("33:33:00:00:00:01", "33"))},
		"boot multicast typo":        {docs: boot("ab:bb:cc:dd:ee:01"), want: bootP(multicast("ab:bb:cc:dd:ee:01", "ab"))},
		"boot all zeros":             {docs: boot("00:00:00:00:00:00"), want: bootP("00:00:00:00:00:00" + zeros)},
		"interface broadcast":        {docs: nic("ff:ff:ff:ff:ff:ff"), want: nicP("ff:ff:ff:ff:ff:ff" + broadcast)},
		"interface multicast":        {docs: nic("03:00:00:00:00:01"), want: nicP(multicast("03:00:00:00:00:01", "03"))},
		"interface all zeros":        {docs: nic("00:00:00:00:00:00"), want: nicP("00:00:00:00:00:00" + zeros)},
		"boot multicast, listed as a NIC too": {
			docs: func() baseDocs {
				b := base()
				b.host = hostDoc("{name: server-01}", `{bmc: {address: "ipmi://10.20.0.11", credentialsName: server-01-bmc}, bootMACAddress: "01:bb:cc:dd:ee:01", interfaces: [{name: eno1, macAddress: "01:BB:CC:DD:EE:01"}]}`)
				return b
			}(),
			want: bootP(multicast("01:bb:cc:dd:ee:01", "01")),
		},
		"two hosts with the broadcast MAC": {
			docs: boot("ff:ff:ff:ff:ff:ff").with(hostDoc("{name: server-02}", `{bmc: {address: "ipmi://10.20.0.12", credentialsName: server-02-bmc}, bootMACAddress: "ff:ff:ff:ff:ff:ff"}`)),
			want: []schemas.Problem{
				problem("Host/server-01", "spec.bootMACAddress", schemas.RuleMACUnicast, "ff:ff:ff:ff:ff:ff"+broadcast),
				problem("Host/server-02", "spec.bootMACAddress", schemas.RuleMACUnicast, "ff:ff:ff:ff:ff:ff"+broadcast),
			},
		},

		"control: unicast":                      {docs: boot("aa:bb:cc:dd:ee:01")},
		"control: locally administered unicast": {docs: boot("02:00:00:00:00:01")},
		"control: almost zero":                  {docs: boot("00:00:00:00:00:01")},
		"control: almost broadcast":             {docs: boot("fe:ff:ff:ff:ff:ff")},
		"control: interface unicast":            {docs: nic("aa:bb:cc:dd:ee:02")},
	})
}
