package schemas_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/metalgit/metalgit/schemas"
)

// The rule tables of validate_*_test.go and pools_space_test.go build
// small inventories from these documents: a Site whose boot proxy VIP is
// reserved in its provisioning pool, that pool, a node type and a host,
// all valid. A case replaces one of them or adds documents.

// ruleFile is the file name the table inventories are loaded as.
const ruleFile = "inventory.yaml"

func siteDoc(spec string) string {
	return "apiVersion: metalgit.dev/v1alpha1\nkind: Site\nmetadata: {name: dc1}\nspec: " + spec + "\n"
}

func poolDoc(name, spec string) string {
	return "apiVersion: metalgit.dev/v1alpha1\nkind: IPPool\nmetadata: {name: " + name + "}\nspec: " + spec + "\n"
}

// hostDoc is a host document; metadata and spec are flow mappings.
func hostDoc(metadata, spec string) string {
	return "apiVersion: metalgit.dev/v1alpha1\nkind: Host\nmetadata: " + metadata + "\nspec: " + spec + "\n"
}

func machineSetDoc(name string, quantity int) string {
	return fmt.Sprintf("apiVersion: metalgit.dev/v1alpha1\nkind: MachineSet\nmetadata: {name: %s}\nspec: {nodeType: small, quantity: %d}\n", name, quantity)
}

func machineDoc(name string) string {
	return "apiVersion: metalgit.dev/v1alpha1\nkind: Machine\nmetadata: {name: " + name + "}\nspec: {nodeType: small}\n"
}

const (
	baseSiteSpec = "{namespace: metal3-system, provisioningPool: provisioning, bootProxy: {vip: 192.168.100.2/24}}"
	baseProvSpec = "{cidr: 192.168.100.1/24, reserved: [192.168.100.2]}"
	baseHostSpec = `{bmc: {address: "redfish://10.20.0.11/redfish/v1/Systems/1", credentialsName: server-01-bmc}, bootMACAddress: "aa:bb:cc:dd:ee:01"}`
	nodeTypeDoc  = "apiVersion: metalgit.dev/v1alpha1\nkind: NodeType\nmetadata: {name: small}\nspec: {}\n"
)

// baseDocs are the valid documents the tables start from, by role.
type baseDocs struct {
	site, provisioning, host string
	extra                    []string
}

func base() baseDocs {
	return baseDocs{
		site:         siteDoc(baseSiteSpec),
		provisioning: poolDoc("provisioning", baseProvSpec),
		host:         hostDoc("{name: server-01}", baseHostSpec),
	}
}

func (b baseDocs) with(extra ...string) baseDocs {
	b.extra = append(append([]string{}, b.extra...), extra...)
	return b
}

func (b baseDocs) yaml() []byte {
	docs := append([]string{b.site, b.provisioning, nodeTypeDoc, b.host}, b.extra...)
	return []byte(strings.Join(docs, "---\n"))
}

// problemsOf loads and validates the documents and returns every problem,
// sorted, without line numbers (the tables name file, object, field, rule
// and message; lines are the loader's tests' business).
func problemsOf(t *testing.T, data []byte) []schemas.Problem {
	t.Helper()
	inv, problems := schemas.LoadBytes(ruleFile, data)
	problems = append(problems, inv.Validate()...)
	problems.Sort()
	out := []schemas.Problem{}
	for _, p := range problems {
		p.Line = 0
		out = append(out, p)
	}
	return out
}

// problem is a Problem of the table inventory.
func problem(object, field string, rule schemas.Rule, message string) schemas.Problem {
	return schemas.Problem{File: ruleFile, Object: object, Field: field, Rule: rule, Message: message}
}

// ruleCase is one row of a rule table: documents and the problems they give.
type ruleCase struct {
	docs baseDocs
	want []schemas.Problem
}

// runRuleTable validates every case and compares the problems exactly.
func runRuleTable(t *testing.T, cases map[string]ruleCase) {
	t.Helper()
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			want := tc.want
			if want == nil {
				want = []schemas.Problem{}
			}
			got := problemsOf(t, tc.docs.yaml())
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("problems differ (-want +got):\n%s\ninventory:\n%s", diff, tc.docs.yaml())
			}
		})
	}
}

func TestRuleTableBaseIsValid(t *testing.T) {
	if got := problemsOf(t, base().yaml()); len(got) > 0 {
		t.Fatalf("the base inventory of the rule tables has problems: %v", got)
	}
}
