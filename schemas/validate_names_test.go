package schemas_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"

	yaml "go.yaml.in/yaml/v3"
	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/metalgit/metalgit/alloc"
	"github.com/metalgit/metalgit/render"
	"github.com/metalgit/metalgit/schemas"
)

// dnsName returns a DNS-1123 subdomain of n characters (n ≥ 1): labels of
// 50 letters joined by dots, the last of at most 63.
func dnsName(n int) string {
	var b strings.Builder
	for {
		if rem := n - b.Len(); rem <= 63 {
			b.WriteString(strings.Repeat("a", rem))
			return b.String()
		}
		b.WriteString(strings.Repeat("a", 50) + ".")
	}
}

func TestAPINames(t *testing.T) {
	const refusedLabel = "which the API server refuses: must be no more than 63 bytes"
	subdomainErr := validation.IsDNS1123Subdomain("Bad_Name")[0]
	labelErr := validation.IsDNS1123Label("Bad_Name")[0]
	host := func(name string) baseDocs {
		b := base()
		b.host = hostDoc("{name: "+name+"}", baseHostSpec)
		return b
	}
	credentials := func(name string) baseDocs {
		b := base()
		b.host = hostDoc("{name: server-01}", `{bmc: {address: "ipmi://10.20.0.11", credentialsName: "`+name+`"}, bootMACAddress: "aa:bb:cc:dd:ee:01"}`)
		return b
	}
	site := func(name, metadata, spec string) baseDocs {
		b := base()
		b.site = "apiVersion: metalgit.dev/v1alpha1\nkind: Site\nmetadata: {name: " + name + metadata + "}\nspec: " + spec + "\n"
		return b
	}
	metallb := func(pool string) baseDocs {
		return site("dc1", "", `{namespace: metal3-system, provisioningPool: provisioning, metallb: {pools: [{name: "`+pool+`", addresses: [10.10.0.100-10.10.0.150]}]}}`)
	}
	credProblem := func(value, why string) schemas.Problem {
		return problem("Host/server-01", "spec.bmc.credentialsName", schemas.RuleAPIName, value+" is not a valid Secret name: "+why+"; credentialsName names the Secret, in the Site's namespace, that holds the BMC username and password")
	}
	name64, name63 := dnsName(64), dnsName(63)
	runRuleTable(t, map[string]ruleCase{
		"host name of 64 characters": {docs: host(name64), want: []schemas.Problem{problem("Host/"+name64, "metadata.name", schemas.RuleAPIName,
			"the name (64 characters) becomes the value of label metalgit.dev/host on its BareMetalHost, "+refusedLabel+"; shorten it to at most 63 characters")}},
		"host name of 200 characters": {docs: host(dnsName(200)), want: []schemas.Problem{problem("Host/"+dnsName(200), "metadata.name", schemas.RuleAPIName,
			"the name (200 characters) becomes the value of label metalgit.dev/host on its BareMetalHost, "+refusedLabel+"; shorten it to at most 63 characters")}},
		"machine name of 64 characters": {docs: base().with(machineDoc(name64)), want: []schemas.Problem{problem("Machine/"+name64, "metadata.name", schemas.RuleAPIName,
			"the name (64 characters) becomes the value of label metalgit.dev/machine on its BareMetalHost, "+refusedLabel+"; shorten it to at most 63 characters")}},
		"machine set name of 62 characters": {docs: base().with(machineSetDoc(dnsName(62), 1)), want: []schemas.Problem{problem("MachineSet/"+dnsName(62), "metadata.name", schemas.RuleAPIName,
			"the set's last machine, "+dnsName(62)+"-0 (64 characters), becomes the value of label metalgit.dev/machine on its BareMetalHost, "+refusedLabel+"; shorten the MachineSet name to at most 61 characters")}},
		"machine set quantity 101": {docs: base().with(machineSetDoc(dnsName(60), 101)), want: []schemas.Problem{problem("MachineSet/"+dnsName(60), "metadata.name", schemas.RuleAPIName,
			"the set's last machine, "+dnsName(60)+"-100 (64 characters), becomes the value of label metalgit.dev/machine on its BareMetalHost, "+refusedLabel+"; shorten the MachineSet name to at most 59 characters")}},
		"site name of 241 characters": {docs: site(dnsName(241), "", baseSiteSpec), want: []schemas.Problem{problem("Site/"+dnsName(241), "metadata.name", schemas.RuleAPIName,
			"the name makes the NetworkAttachmentDefinition "+dnsName(241)+"-provisioning (254 characters), which the API server refuses: must be no more than 253 characters; shorten the Site name to at most 240 characters")}},
		"MetalLB pool with upper case": {docs: metallb("Services_PXE"), want: []schemas.Problem{problem("Site/dc1", "spec.metallb.pools[0].name", schemas.RuleAPIName,
			`"Services_PXE" names a MetalLB IPAddressPool and L2Advertisement, which the API server refuses: `+subdomainErr)}},
		"MetalLB pool with a slash": {docs: metallb("pxe/pool"), want: []schemas.Problem{problem("Site/dc1", "spec.metallb.pools[0].name", schemas.RuleAPIName,
			`"pxe/pool" names a MetalLB IPAddressPool and L2Advertisement, which the API server refuses: `+subdomainErr)}},
		"MetalLB namespace with upper case": {docs: site("dc1", ", annotations: {metalgit.dev/metallb-namespace: MetalLB}", baseSiteSpec), want: []schemas.Problem{problem("Site/dc1", "metadata.annotations[metalgit.dev/metallb-namespace]", schemas.RuleAPIName,
			`"MetalLB" is not a valid namespace for the MetalLB objects: `+labelErr)}},
		"MetalLB namespace with a dot": {docs: site("dc1", ", annotations: {metalgit.dev/metallb-namespace: metallb.system}", baseSiteSpec), want: []schemas.Problem{problem("Site/dc1", "metadata.annotations[metalgit.dev/metallb-namespace]", schemas.RuleAPIName,
			`"metallb.system" is not a valid namespace for the MetalLB objects: must not contain dots`)}},
		"credentialsName with upper case":   {docs: credentials("Server01_BMC"), want: []schemas.Problem{credProblem(`"Server01_BMC"`, subdomainErr)}},
		"credentialsName with a slash":      {docs: credentials("bmc/server-01"), want: []schemas.Problem{credProblem(`"bmc/server-01"`, subdomainErr)}},
		"credentialsName of 254 characters": {docs: credentials(dnsName(254)), want: []schemas.Problem{credProblem(`"`+dnsName(254)[:80]+`"… (254 bytes)`, "must be no more than 253 characters")}},

		"control: host name of 63 characters":        {docs: host(name63)},
		"control: machine name of 63 characters":     {docs: base().with(machineDoc(name63))},
		"control: machine set name of 61 characters": {docs: base().with(machineSetDoc(dnsName(61), 10))},
		"control: machine set quantity 100":          {docs: base().with(machineSetDoc(dnsName(60), 100))},
		"control: machine set quantity 0":            {docs: base().with(machineSetDoc(dnsName(253), 0))},
		"control: site name of 240 characters":       {docs: site(dnsName(240), "", baseSiteSpec)},
		"control: MetalLB pool with a dot":           {docs: metallb("services.pxe")},
		"control: credentialsName of 253 characters": {docs: credentials(dnsName(253))},
	})
}

func TestHostLabels(t *testing.T) {
	labels := func(l string) baseDocs {
		b := base()
		b.host = hostDoc("{name: server-01, labels: "+l+"}", baseHostSpec)
		return b
	}
	label := func(key, msg string) schemas.Problem {
		field := "metadata.labels." + key
		if strings.ContainsAny(key, ".[]") {
			field = "metadata.labels[" + key + "]"
		}
		return problem("Host/server-01", field, schemas.RuleLabel, msg)
	}
	keyErr := func(key string) string { return strings.Join(validation.IsQualifiedName(key), "; ") }
	valueErr := func(value string) string { return strings.Join(validation.IsValidLabelValue(value), "; ") }
	own := func(key string) schemas.Problem {
		return label(key, `label key "`+key+`" is metalgit's own: metalgit sets metalgit.dev/host and metalgit.dev/machine on every BareMetalHost; use another prefix`)
	}
	long := strings.Repeat("v", 64)
	runRuleTable(t, map[string]ruleCase{
		"key with a space":         {docs: labels(`{"rack 4": a}`), want: []schemas.Problem{label("rack 4", `label key "rack 4" is not valid: `+keyErr("rack 4"))}},
		"key with an empty name":   {docs: labels(`{"example.com/": a}`), want: []schemas.Problem{label("example.com/", `label key "example.com/" is not valid: `+keyErr("example.com/"))}},
		"key with an empty prefix": {docs: labels(`{"/role": a}`), want: []schemas.Problem{label("/role", `label key "/role" is not valid: `+keyErr("/role"))}},
		"key with two slashes":     {docs: labels(`{"a/b/c": a}`), want: []schemas.Problem{label("a/b/c", `label key "a/b/c" is not valid: `+keyErr("a/b/c"))}},
		"key name too long":        {docs: labels(`{` + strings.Repeat("k", 64) + `: a}`), want: []schemas.Problem{label(strings.Repeat("k", 64), `label key "`+strings.Repeat("k", 64)+`" is not valid: `+keyErr(strings.Repeat("k", 64)))}},
		"key prefix upper case":    {docs: labels(`{Example.com/role: a}`), want: []schemas.Problem{label("Example.com/role", `label key "Example.com/role" is not valid: `+keyErr("Example.com/role"))}},
		"metalgit.dev/host":        {docs: labels(`{metalgit.dev/host: server-02}`), want: []schemas.Problem{own("metalgit.dev/host")}},
		"metalgit.dev/machine":     {docs: labels(`{metalgit.dev/machine: db-0}`), want: []schemas.Problem{own("metalgit.dev/machine")}},
		"metalgit.dev/anything":    {docs: labels(`{metalgit.dev/rack: "4"}`), want: []schemas.Problem{own("metalgit.dev/rack")}},
		"value with a space":       {docs: labels(`{role: "gpu server"}`), want: []schemas.Problem{label("role", `label value "gpu server" is not valid: `+valueErr("gpu server"))}},
		"value too long":           {docs: labels(`{role: ` + long + `}`), want: []schemas.Problem{label("role", `label value "`+long+`" is not valid: `+valueErr(long))}},
		"value starting with -":    {docs: labels(`{role: -gpu}`), want: []schemas.Problem{label("role", `label value "-gpu" is not valid: `+valueErr("-gpu"))}},
		"value ending with .":      {docs: labels(`{role: gpu.}`), want: []schemas.Problem{label("role", `label value "gpu." is not valid: `+valueErr("gpu."))}},
		"value with a slash":       {docs: labels(`{role: a/b}`), want: []schemas.Problem{label("role", `label value "a/b" is not valid: `+valueErr("a/b"))}},

		"control: prefixed key":       {docs: labels(`{example.com/role: gpu}`)},
		"control: empty value":        {docs: labels(`{role: ""}`)},
		"control: mixed value":        {docs: labels(`{a.b_c-d: X.y_z-9}`)},
		"control: longest name/value": {docs: labels(`{` + dnsName(253) + "/" + strings.Repeat("k", 63) + `: ` + strings.Repeat("v", 63) + `}`)},
	})
}

// TestRenderedNamesMirrorRender: the names and labels the validation
// checks are the ones render makes.
func TestRenderedNamesMirrorRender(t *testing.T) {
	for _, c := range []struct{ schemas, render string }{
		{schemas.LabelHost, render.LabelHost},
		{schemas.LabelMachine, render.LabelMachine},
		{schemas.AnnotationMetalLBNamespace, render.AnnotationMetalLBNamespace},
		{"dc1" + schemas.SuffixProvisioningNetwork, render.NetworkAttachmentDefinitionName("dc1")},
	} {
		if c.schemas != c.render {
			t.Errorf("schemas says %q, render %q", c.schemas, c.render)
		}
	}
}

// TestLongestNamesRender renders an inventory whose every name is as long
// as the validation lets it be, and checks that every object name,
// namespace, label key and label value the render makes is one the API
// server takes; one character more in each name is a problem.
func TestLongestNamesRender(t *testing.T) {
	siteName := dnsName(240)
	hostName := dnsName(63)
	setName := dnsName(61) // machines <set>-0 … <set>-9: 63 characters
	machineName := dnsName(62) + "m"
	credName := dnsName(253)
	labelKey := dnsName(253) + "/" + strings.Repeat("k", 63)
	doc := func(site, host, set, machine string) []byte {
		return []byte(strings.Join([]string{
			"apiVersion: metalgit.dev/v1alpha1\nkind: Site\nmetadata: {name: " + site + ", annotations: {metalgit.dev/metallb-namespace: " + strings.Repeat("n", 63) + "}}\n" +
				"spec:\n  namespace: " + strings.Repeat("s", 63) + "\n  provisioningPool: provisioning\n" +
				"  bootProxy: {vip: 192.168.100.2/24, attachment: {type: bridge, bridge: br0}}\n" +
				"  metallb: {pools: [{name: " + dnsName(253) + ", addresses: [10.10.0.100-10.10.0.150]}]}\n",
			poolDoc("provisioning", "{cidr: 192.168.100.1/24, reserved: [192.168.100.2]}"),
			strings.Replace(nodeTypeDoc, "spec: {}", `spec: {userData: "#cloud-config\n"}`, 1), // so that machines get a user-data Secret
			machineSetDoc(set, 10),
			"apiVersion: metalgit.dev/v1alpha1\nkind: Machine\nmetadata: {name: " + machine + "}\nspec: {nodeType: small, serverName: " + host + "}\n",
			hostDoc("{name: "+host+", labels: {"+labelKey+": "+strings.Repeat("v", 63)+"}}",
				`{bmc: {address: "ipmi://10.20.0.11", credentialsName: `+credName+`}, bootMACAddress: "aa:bb:cc:dd:ee:01"}`),
		}, "---\n") + "---\n" + hostsDocs(10))
	}
	data := doc(siteName, hostName, setName, machineName)
	if p := problemsOf(t, data); len(p) > 0 {
		t.Fatalf("the inventory of longest names does not validate: %v", p)
	}
	inv, _ := schemas.LoadBytes(ruleFile, data)
	plan, err := alloc.Compute(inv, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(plan.Problems) > 0 || len(plan.Bindings) != 11 {
		t.Fatalf("plan: %d bindings, problems %v", len(plan.Bindings), plan.Problems)
	}
	out, err := render.Render(render.Input{Inventory: inv, State: plan.Next}, render.Options{})
	if err != nil {
		t.Fatal(err)
	}
	checked := checkRenderedNames(t, out)
	for _, want := range []string{"Secret " + machineName + "-user-data", "Secret " + setName + "-9-network-data", "NetworkAttachmentDefinition " + siteName + "-provisioning", "BareMetalHost " + hostName} {
		if !checked[want] {
			t.Errorf("the render has no %s", want)
		}
	}

	// One character more in any name is a problem.
	for name, data := range map[string][]byte{
		"site":        doc(siteName+"x", hostName, setName, machineName),
		"host":        doc(siteName, hostName+"x", setName, machineName),
		"machine set": doc(siteName, hostName, setName+"x", machineName),
		"machine":     doc(siteName, hostName, setName, machineName+"x"),
	} {
		p := problemsOf(t, data)
		if len(p) != 1 || p[0].Rule != schemas.RuleAPIName {
			t.Errorf("%s name one character longer: problems %v, want one %s problem", name, p, schemas.RuleAPIName)
		}
	}
}

// hostsDocs returns n spare hosts for the machine set.
func hostsDocs(n int) string {
	var docs []string
	for i := range n {
		docs = append(docs, hostDoc(fmt.Sprintf("{name: spare-%d}", i),
			fmt.Sprintf(`{bmc: {address: "ipmi://10.20.1.%d", credentialsName: bmc}, bootMACAddress: "aa:bb:cc:dd:ef:%02x"}`, i+1, i)))
	}
	return strings.Join(docs, "---\n")
}

// checkRenderedNames checks the names, namespaces and labels of every
// object of a rendered stream, and returns "Kind name" of each.
func checkRenderedNames(t *testing.T, stream []byte) map[string]bool {
	t.Helper()
	seen := map[string]bool{}
	dec := yaml.NewDecoder(bytes.NewReader(stream))
	for {
		var obj struct {
			Kind     string `yaml:"kind"`
			Metadata struct {
				Name      string            `yaml:"name"`
				Namespace string            `yaml:"namespace"`
				Labels    map[string]string `yaml:"labels"`
			} `yaml:"metadata"`
		}
		err := dec.Decode(&obj)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		m := obj.Metadata
		id := obj.Kind + " " + m.Name
		seen[id] = true
		if errs := validation.IsDNS1123Subdomain(m.Name); len(errs) > 0 {
			t.Errorf("%s: name: %v", id, errs)
		}
		if m.Namespace != "" {
			if errs := validation.IsDNS1123Label(m.Namespace); len(errs) > 0 {
				t.Errorf("%s: namespace %q: %v", id, m.Namespace, errs)
			}
		}
		for k, v := range m.Labels {
			if errs := append(validation.IsQualifiedName(k), validation.IsValidLabelValue(v)...); len(errs) > 0 {
				t.Errorf("%s: label %s=%s: %v", id, k, v, errs)
			}
		}
	}
	return seen
}
