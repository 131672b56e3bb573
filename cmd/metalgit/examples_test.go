package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/metalgit/metalgit/alloc"
	"github.com/metalgit/metalgit/alloc/state"
	"github.com/metalgit/metalgit/boot"
	"github.com/metalgit/metalgit/schemas"
)

var update = flag.Bool("update", false, "rewrite examples/invalid/*/expected.txt from what the CLI prints")

// examplesDir and invalidDir are relative to the repository root, which is
// the working directory of these tests, so that problems name files as a
// user running metalgit from the root sees them.
const (
	examplesDir = "examples"
	invalidDir  = "examples/invalid"
)

// invalidCase is one folder under examples/invalid: a small inventory with
// exactly one kind of defect, and expected.txt with the problem lines the
// command prints for it. An optional case.txt says which command to run
// ("command: plan" on its first line); the default is validate.
type invalidCase struct {
	name    string // folder name: the rule the case shows
	dir     string // examples/invalid/<name>
	command string // validate or plan
}

// caseRule says what every problem of a case must be: its rule, and a
// phrase every message carries (to tell apart cases that share a rule,
// such as pool-overlap and reserved-overlap).
type caseRule struct {
	rule    schemas.Rule
	mention string
}

// invalidCaseRules lists the defect of every case. A new folder under
// examples/invalid must be added here.
var invalidCaseRules = map[string]caseRule{
	"yaml-syntax":                  {schemas.RuleYAMLSyntax, "fix the YAML syntax"},
	"unknown-kind":                 {schemas.RuleKind, "unknown kind"},
	"unknown-apiversion":           {schemas.RuleKind, "unknown apiVersion"},
	"unknown-field":                {schemas.RuleUnknownField, "unknown field"},
	"wrong-type":                   {schemas.RuleType, "must be"},
	"duplicate-name":               {schemas.RuleDuplicateName, "is defined twice"},
	"duplicate-boot-mac":           {schemas.RuleDuplicateMAC, "is already used by Host/"},
	"malformed-mac":                {schemas.RuleMAC, "is not a MAC address"},
	"bmc-scheme":                   {schemas.RuleBMCAddress, "has no known scheme"},
	"cidr-gateway-network":         {schemas.RuleCIDRGateway, "is the network address"},
	"cidr-gateway-broadcast":       {schemas.RuleCIDRGateway, "is the broadcast address"},
	"range-gateway-outside":        {schemas.RuleRangeGateway, "gateway"},
	"range-without-prefix-gateway": {schemas.RuleRangeGateway, "needs prefix and gateway"},
	"malformed-range":              {schemas.RuleRange, "is not a range"},
	"reversed-range":               {schemas.RuleRange, "is reversed"},
	"pool-both-cidr-and-ranges":    {schemas.RulePoolForm, "both cidr and ranges"},
	"pool-overlap":                 {schemas.RulePoolOverlap, "overlap IPPool/"},
	"reserved-overlap":             {schemas.RulePoolOverlap, "reserves"},
	"vip-in-pool":                  {schemas.RuleVIP, "is allocatable in IPPool/"},
	"pinned-ip-in-pool":            {schemas.RulePinnedIP, "is allocatable in IPPool/"},
	"missing-pool-reference":       {schemas.RuleReference, `IPPool "`},
	"missing-nodetype-reference":   {schemas.RuleReference, `NodeType "`},
	"missing-image-reference":      {schemas.RuleReference, `OSImage "`},
	"missing-sshkey-reference":     {schemas.RuleReference, `SSHKey "`},
	"missing-host-reference":       {schemas.RuleReference, `Host "`},
	"checksum-length":              {schemas.RuleChecksum, "hex digits"},
	"invalid-ssh-key":              {schemas.RuleSSHKey, "key"},
	"bad-quantity":                 {schemas.RuleQuantity, "is not a Kubernetes quantity"},
	"bond-missing-interface":       {schemas.RuleInterface, "bond"},
	"vlan-missing-interface":       {schemas.RuleInterface, "VLAN"},
	"no-site":                      {schemas.RuleSite, "no Site"},
	"two-sites":                    {schemas.RuleSite, "exactly one Site"},
	"machine-name-clash":           {schemas.RuleMachineName, "is also made by MachineSet/"},
	"template-syntax":              {schemas.RuleTemplate, "template does not parse"},
	"template-secret":              {schemas.RuleSecret, "label " + schemas.LabelUserDataTemplateType},
	"missing-required":             {schemas.RuleRequired, "is required"},
	"metallb-overlap":              {schemas.RuleMetalLBOverlap, "MetalLB addresses"},
	"state-duplicate-address":      {schemas.RuleState, "is listed twice"},
	"state-outside-pool":           {schemas.RuleState, "is not an allocatable address"},
	"state-host-bound-twice":       {schemas.RuleState, "is bound to both"},
	"pool-too-wide":                {schemas.RuleAddressSpace, "is shorter than"},
	"pool-special-space":           {schemas.RuleAddressSpace, "block"},
	"range-network-broadcast":      {schemas.RuleNetworkBcast, "allowNetworkAndBroadcast"},
	"cidr-slash-31":                {schemas.RuleCIDRGateway, "point-to-point"},
	"vip-is-gateway":               {schemas.RuleVIP, "is the gateway of IPPool/"},
	"pinned-ip-broadcast":          {schemas.RulePinnedIP, "broadcast address"},
	"provisioning-pool-ipv6":       {schemas.RuleProvisioning, "IPv4 only"},
	"host-name-too-long":           {schemas.RuleAPIName, "label " + schemas.LabelHost},
	"machineset-name-too-long":     {schemas.RuleAPIName, "label " + schemas.LabelMachine},
	"credentials-name-invalid":     {schemas.RuleAPIName, "not a valid Secret name"},
	"host-label-invalid":           {schemas.RuleLabel, "label"},
	"bmc-credentials-in-url":       {schemas.RuleBMCURL, "credentials go in the Secret named by credentialsName"},
	"bmc-port-out-of-range":        {schemas.RuleBMCURL, "out of range"},
	"bmc-ipv6-unbracketed":         {schemas.RuleBMCURL, "brackets"},
	"mac-not-unicast":              {schemas.RuleMACUnicast, "no NIC has"},
	"machineset-quantity-limit":    {schemas.RuleOutOfRange, "the most machines one MachineSet"},
	"machine-limit":                {schemas.RuleMachineLimit, "over the limit of"},
}

// chdirRepoRoot makes the repository root the working directory of the test.
func chdirRepoRoot(t *testing.T) {
	t.Helper()
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		t.Fatalf("repository root not found at %s: %v", root, err)
	}
	t.Chdir(root)
}

// invalidCases lists the folders under examples/invalid, sorted.
func invalidCases(t *testing.T) []invalidCase {
	t.Helper()
	entries, err := os.ReadDir(invalidDir)
	if err != nil {
		t.Fatal(err)
	}
	var cases []invalidCase
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		dir := path.Join(invalidDir, e.Name())
		command, err := caseCommand(dir)
		if err != nil {
			t.Fatal(err)
		}
		cases = append(cases, invalidCase{name: e.Name(), dir: dir, command: command})
	}
	if len(cases) == 0 {
		t.Fatalf("no cases under %s", invalidDir)
	}
	return cases
}

// caseCommand reads the command of a case from its case.txt: validate when
// the file is absent.
func caseCommand(dir string) (string, error) {
	data, err := os.ReadFile(filepath.Join(dir, "case.txt"))
	if errors.Is(err, os.ErrNotExist) {
		return "validate", nil
	}
	if err != nil {
		return "", err
	}
	first, _, _ := strings.Cut(string(data), "\n")
	key, value, ok := strings.Cut(first, ":")
	command := strings.TrimSpace(value)
	if !ok || strings.TrimSpace(key) != "command" || (command != "validate" && command != "plan") {
		return "", fmt.Errorf("%s/case.txt: the first line must be \"command: validate\" or \"command: plan\", not %q", dir, first)
	}
	return command, nil
}

// summaryRE matches the line that ends the output of a failed command.
var summaryRE = regexp.MustCompile(`^Error: (\d+) problems?$`)

// runExample runs metalgit in-process and returns its exit code, stdout and stderr.
func runExample(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := run(t.Context(), args, &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

// problemLines splits the stderr of a failed command into its problem
// lines, checking the closing "Error: N ... problems" line against them.
func problemLines(t *testing.T, stderr string) []string {
	t.Helper()
	lines := outputLines(stderr)
	if len(lines) == 0 {
		t.Fatal("the command printed nothing on stderr")
	}
	last := lines[len(lines)-1]
	m := summaryRE.FindStringSubmatch(last)
	if m == nil {
		t.Fatalf("the last line of stderr is %q, want \"Error: N problems\"; stderr:\n%s", last, stderr)
	}
	got := lines[:len(lines)-1]
	if n, _ := strconv.Atoi(m[1]); n != len(got) {
		t.Errorf("the summary says %d problems, the command printed %d lines:\n%s", n, len(got), stderr)
	}
	return got
}

func outputLines(s string) []string {
	var lines []string
	sc := bufio.NewScanner(strings.NewReader(s))
	for sc.Scan() {
		lines = append(lines, sc.Text())
	}
	return lines
}

func readExpected(t *testing.T, c invalidCase) []string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(c.dir, "expected.txt"))
	if errors.Is(err, os.ErrNotExist) {
		t.Fatalf("%s/expected.txt is missing; run go test ./cmd/metalgit -run TestInvalidExamples -update and read what it writes", c.dir)
	}
	if err != nil {
		t.Fatal(err)
	}
	return outputLines(string(data))
}

// TestInvalidExamples runs the CLI on every case under examples/invalid and
// compares the problems it prints with the case's expected.txt. With
// -update it rewrites expected.txt instead.
func TestInvalidExamples(t *testing.T) {
	chdirRepoRoot(t)
	for _, c := range invalidCases(t) {
		t.Run(c.name, func(t *testing.T) {
			code, stdout, stderr := runExample(t, c.command, c.dir)
			if code != exitFailed {
				t.Fatalf("metalgit %s %s exited %d, want %d; stdout:\n%s\nstderr:\n%s", c.command, c.dir, code, exitFailed, stdout, stderr)
			}
			if stdout != "" {
				t.Errorf("metalgit %s %s printed on stdout:\n%s", c.command, c.dir, stdout)
			}
			got := problemLines(t, stderr)
			if *update {
				out := strings.Join(got, "\n") + "\n"
				if err := os.WriteFile(filepath.Join(c.dir, "expected.txt"), []byte(out), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want := readExpected(t, c)
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("metalgit %s %s: problems differ from expected.txt (-want +got):\n%s", c.command, c.dir, diff)
			}
		})
	}
}

// directProblems finds a case's problems the way the CLI command does, but
// through the packages, so that each comes with its rule.
func directProblems(t *testing.T, c invalidCase) schemas.Problems {
	t.Helper()
	inv, problems, err := schemas.Load(c.dir, schemas.LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	problems = append(problems, inv.Validate()...)
	if len(problems) > 0 {
		return problems
	}
	st, problems, err := state.Read(filepath.Join(c.dir, schemas.DefaultStateDir))
	if err != nil {
		t.Fatal(err)
	}
	if len(problems) > 0 || c.command != "plan" {
		return problems
	}
	_, err = alloc.Compute(inv, st)
	if errors.As(err, &problems) {
		return problems
	}
	if err != nil {
		t.Fatal(err)
	}
	return nil
}

// TestInvalidExampleRules checks that every case shows exactly the defect
// its folder is named after: each expected problem carries the case's rule
// and phrase.
func TestInvalidExampleRules(t *testing.T) {
	chdirRepoRoot(t)
	cases := invalidCases(t)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			want, ok := invalidCaseRules[c.name]
			if !ok {
				t.Fatalf("case %s is not in invalidCaseRules; add the rule it shows", c.name)
			}
			problems := directProblems(t, c)
			problems.Sort()
			lines := make([]string, len(problems))
			for i, p := range problems {
				lines[i] = p.String()
				if p.Rule != want.rule {
					t.Errorf("problem has rule %q, want %q: %s", p.Rule, want.rule, p)
				}
				if !strings.Contains(p.Message, want.mention) {
					t.Errorf("message does not mention %q: %s", want.mention, p)
				}
			}
			if diff := cmp.Diff(readExpected(t, c), lines); diff != "" {
				t.Errorf("expected.txt differs from the problems the packages report (-want +got):\n%s", diff)
			}
		})
	}
	for name := range invalidCaseRules {
		if !slices.ContainsFunc(cases, func(c invalidCase) bool { return c.name == name }) {
			t.Errorf("invalidCaseRules lists %s, which has no folder under %s", name, invalidDir)
		}
	}
}

// TestInvalidExampleComments checks that each case explains itself: some
// YAML file of the case starts with a one-line comment.
func TestInvalidExampleComments(t *testing.T) {
	chdirRepoRoot(t)
	for _, c := range invalidCases(t) {
		var found bool
		err := filepath.WalkDir(c.dir, func(p string, d os.DirEntry, err error) error {
			if err != nil || d.IsDir() || (filepath.Ext(p) != ".yaml" && filepath.Ext(p) != ".yml") {
				return err
			}
			data, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			if strings.HasPrefix(string(data), "# ") {
				found = true
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if !found {
			t.Errorf("%s: no YAML file starts with a # comment saying what the case shows", c.dir)
		}
	}
}

// bootExamplesDir holds hosts files for 'metalgit boot', not inventories
// (TestBootExamples checks them).
const bootExamplesDir = "examples/boot"

// TestValidExamples checks that every example inventory other than
// examples/invalid and examples/boot validates and plans without problems.
func TestValidExamples(t *testing.T) {
	chdirRepoRoot(t)
	entries, err := os.ReadDir(examplesDir)
	if err != nil {
		t.Fatal(err)
	}
	var n int
	for _, e := range entries {
		if d := path.Join(examplesDir, e.Name()); !e.IsDir() || d == invalidDir || d == bootExamplesDir {
			continue
		}
		n++
		dir := path.Join(examplesDir, e.Name())
		t.Run(e.Name(), func(t *testing.T) {
			code, stdout, stderr := runExample(t, "validate", dir)
			if code != exitOK || stderr != "" {
				t.Fatalf("metalgit validate %s exited %d; stdout:\n%s\nstderr:\n%s", dir, code, stdout, stderr)
			}
			if !strings.HasPrefix(stdout, dir+": valid (") {
				t.Errorf("metalgit validate %s printed %q, want %q", dir, stdout, dir+": valid (...)")
			}
			code, stdout, stderr = runExample(t, "plan", "-o", "json", "--fail-on-problems", dir)
			if code != exitOK || stderr != "" {
				t.Fatalf("metalgit plan %s exited %d; stdout:\n%s\nstderr:\n%s", dir, code, stdout, stderr)
			}
			var plan struct {
				Problems    []json.RawMessage `json:"problems"`
				Releases    []json.RawMessage `json:"releases"`
				Bindings    []struct{ Status string }
				Allocations []struct{ Status string }
			}
			if err := json.Unmarshal([]byte(stdout), &plan); err != nil {
				t.Fatalf("metalgit plan -o json %s: %v; stdout:\n%s", dir, err, stdout)
			}
			if plan.Problems == nil || len(plan.Problems) > 0 {
				t.Errorf("metalgit plan %s: problems = %s, want []", dir, plan.Problems)
			}
			// An example that carries its state must carry it up to date,
			// as a repository does after the controller's commit.
			if _, err := os.Stat(path.Join(dir, "state")); err == nil {
				changed := len(plan.Releases) > 0
				for _, b := range plan.Bindings {
					changed = changed || b.Status != "kept"
				}
				for _, a := range plan.Allocations {
					changed = changed || a.Status != "kept"
				}
				if changed {
					t.Errorf("%s/state is out of date with the inventory: run metalgit allocate %s and commit the result", dir, dir)
				}
				// With its state, the example renders as it stands.
				code, stdout, stderr = runExample(t, "render", dir)
				if code != exitOK || strings.Count(stdout, "\nkind: BareMetalHost\n") == 0 {
					t.Errorf("metalgit render %s exited %d; stderr:\n%s", dir, code, stderr)
				}
			}
		})
	}
	if n == 0 {
		t.Fatalf("no example inventories under %s", examplesDir)
	}
}

// TestBootExamples: the example hosts file loads; the invalid one is the
// README's example of every problem at once.
func TestBootExamples(t *testing.T) {
	chdirRepoRoot(t)
	tab, err := boot.LoadHostsFile(path.Join(bootExamplesDir, "hosts.yaml"))
	if err != nil || tab.Len() != 3 {
		t.Fatalf("%s/hosts.yaml: %v", bootExamplesDir, err)
	}
	if _, err := boot.LoadHostsFile(path.Join(bootExamplesDir, "invalid-hosts.yaml")); err == nil {
		t.Fatalf("%s/invalid-hosts.yaml loads", bootExamplesDir)
	}
}
