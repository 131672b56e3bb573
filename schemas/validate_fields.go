package schemas

import (
	"net/url"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/api/resource"
)

// This file holds the checks of single fields that every kind's checks
// share: required values, enums, references, URLs, ports and quantities.

// required reports a missing value with the hint that says what to set;
// it returns whether the value is set.
func (v *validator) required(src Source, object, field, value, hint string) bool {
	if value == "" {
		v.at(src, object, field, RuleRequired, "is required; %s", hint)
		return false
	}
	return true
}

// enum reports a value that is set but not one of allowed.
func (v *validator) enum(src Source, object, field, value string, allowed []string) {
	if value != "" && !slices.Contains(allowed, value) {
		v.at(src, object, field, RuleEnum, "%q is not allowed; use one of: %s", value, strings.Join(allowed, ", "))
	}
}

// ref reports a reference to a document of kind that does not exist,
// suggesting the closest name.
func (v *validator) ref(src Source, object, field, kind, name string, exists bool) {
	if name == "" || exists {
		return
	}
	if best := closest(name, v.namesOf(kind)); best != "" {
		v.at(src, object, field, RuleReference, "%s %q does not exist; did you mean %q?", kind, name, best)
		return
	}
	v.at(src, object, field, RuleReference, "%s %q does not exist; add it or fix the name", kind, name)
}

// namesOf lists the names of one kind's documents.
func (v *validator) namesOf(kind string) []string {
	switch kind {
	case KindIPPool:
		return sortedKeys(v.ix.IPPools)
	case KindNodeType:
		return sortedKeys(v.ix.NodeTypes)
	case KindHost:
		return sortedKeys(v.ix.Hosts)
	case KindOSImage:
		return sortedKeys(v.ix.OSImages)
	case KindSSHKey:
		return sortedKeys(v.ix.SSHKeys)
	}
	return nil
}

// closest returns the candidate within two edits of name, if exactly one is.
func closest(name string, candidates []string) string {
	best, n := "", 0
	for _, c := range candidates {
		if editDistance(name, c) <= 2 {
			best, n = c, n+1
		}
	}
	if n == 1 {
		return best
	}
	return ""
}

// url reports a value that is set but not an absolute URL.
func (v *validator) url(src Source, object, field, value string) {
	if value == "" {
		return
	}
	u, err := url.Parse(value)
	if err != nil || u.Scheme == "" || u.Host == "" {
		v.at(src, object, field, RuleURL, "%q is not an absolute URL such as http://host:port/path", value)
	}
}

// port reports a port number out of range; 0 is unset.
func (v *validator) port(src Source, object, field string, p int) {
	if p < 0 || p > MaxPort {
		v.at(src, object, field, RuleOutOfRange, "port %d is out of range; use 1-%d", p, MaxPort)
	}
}

// quantities checks that every value of a resource map is a Kubernetes
// quantity.
func (v *validator) quantities(src Source, object, field string, res map[string]Quantity) {
	for _, name := range sortedKeys(res) {
		q := string(res[name])
		if !v.re.quantity.MatchString(q) {
			v.at(src, object, joinKey(field, name), RuleQuantity, "%q is not a Kubernetes quantity; write a number with an optional suffix, such as 64, 500m or 256Gi", q)
			continue
		}
		if _, err := resource.ParseQuantity(q); err != nil {
			v.at(src, object, joinKey(field, name), RuleQuantity, "%q is not a Kubernetes quantity: %v", q, err)
		}
	}
}
