package schemas

import (
	"strconv"
	"strings"
)

// MachineName is the name of machine i (from 0) of the MachineSet named
// set: "<set>-<i>". Binding, validation and render all name a set's
// machines with it.
func MachineName(set string, i int) string { return set + "-" + strconv.Itoa(i) }

// SplitMachineName is MachineName's inverse: the set and index of a name
// of the form "<set>-<i>" (i in decimal without leading zeros), and ok
// false for any other name. Whether the set exists and holds machine i
// is the caller's to check.
func SplitMachineName(name string) (set string, i int, ok bool) {
	cut := strings.LastIndexByte(name, '-')
	if cut < 0 {
		return "", 0, false
	}
	set, index := name[:cut], name[cut+1:]
	n, err := strconv.Atoi(index)
	if err != nil || n < 0 || strconv.Itoa(n) != index {
		return "", 0, false
	}
	return set, n, true
}
