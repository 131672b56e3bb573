package schemas_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/metalgit/metalgit/schemas"
)

func TestMachineLimits(t *testing.T) {
	tooMany := func(q int) schemas.Problem {
		return problem(fmt.Sprintf("MachineSet/set-%d", q), "spec.quantity", schemas.RuleOutOfRange, fmt.Sprintf(
			"quantity %d is over 10000, the most machines one MachineSet may ask for; lower it, and split a larger fleet into several inventories (one per Site): an inventory holds at most 10000 machines", q))
	}
	total := func(object, field string, n int, kind string, from, to int) schemas.Problem {
		return problem(object, field, schemas.RuleMachineLimit, fmt.Sprintf(
			"the inventory asks for %d machines (MachineSets and Machines together), over the limit of 10000; this %s takes the count from %d to %d: lower quantities, or split the fleet into several inventories (one per Site)",
			n, kind, from, to))
	}
	set := func(q int) string { return machineSetDoc(fmt.Sprintf("set-%d", q), q) }
	machines := func(names ...string) []string {
		var docs []string
		for _, n := range names {
			docs = append(docs, machineDoc(n))
		}
		return docs
	}
	runRuleTable(t, map[string]ruleCase{
		"one set over the limit":                       {docs: base().with(set(10001)), want: []schemas.Problem{tooMany(10001)}},
		"one set far over":                             {docs: base().with(set(1000000000)), want: []schemas.Problem{tooMany(1000000000)}},
		"one set at the largest quantity that decodes": {docs: base().with(set(1 << 53)), want: []schemas.Problem{tooMany(1 << 53)}},
		"two sets over in all": {docs: base().with(set(6000), set(5000)),
			want: []schemas.Problem{total("MachineSet/set-5000", "spec.quantity", 11000, "MachineSet", 6000, 11000)}},
		"three sets over in all": {docs: base().with(set(4000), set(4001), set(4002)),
			want: []schemas.Problem{total("MachineSet/set-4002", "spec.quantity", 12003, "MachineSet", 8001, 12003)}},
		"a full set and a Machine": {docs: base().with(append([]string{set(10000)}, machines("db-0", "db-1")...)...),
			want: []schemas.Problem{total("Machine/db-0", "", 10002, "Machine", 10000, 10001)}},
		"a set over the limit and Machines": {docs: base().with(append([]string{set(20000)}, machines("db-0")...)...),
			want: []schemas.Problem{tooMany(20000), total("Machine/db-0", "", 10001, "Machine", 10000, 10001)}},

		"control: a set at the limit":           {docs: base().with(set(10000))},
		"control: sets at the limit in all":     {docs: base().with(set(4000), set(5999), machineDoc("db-0"))},
		"control: a Machine named like a set's": {docs: base().with(set(10), machineDoc("set-10-05"), machineDoc("set-10-10"), machineDoc("set-10-x"))},
		"a Machine made by a set too": {docs: base().with(set(10), machineDoc("set-10-9")),
			want: []schemas.Problem{problem("Machine/set-10-9", "metadata.name", schemas.RuleMachineName, "machine set-10-9 is also made by MachineSet/set-10; rename the Machine or the MachineSet")}},
	})
}

// TestHugeQuantityIsCheap: validation never expands a MachineSet into its
// machines, so a hostile quantity costs nothing.
func TestHugeQuantityIsCheap(t *testing.T) {
	docs := base()
	for i := range 100 {
		docs = docs.with(machineSetDoc(fmt.Sprintf("huge-%d", i), 1<<53))
	}
	start := time.Now()
	got := problemsOf(t, docs.yaml())
	if len(got) != 101 { // each set over its limit, and the count
		t.Errorf("got %d problems, want 101: %v", len(got), got[:min(3, len(got))])
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("validating 100 MachineSets of 2^53 machines took %s", d)
	}
}
