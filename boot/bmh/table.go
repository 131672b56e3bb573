package bmh

import (
	"errors"
	"fmt"
	"net/netip"
	"sort"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/metalgit/metalgit/boot"
)

// Build is the outcome of one table build.
type Build struct {
	// Table holds the usable hosts.
	Table *boot.Table
	// Skipped are the BareMetalHosts left out of Table, sorted by
	// namespace/name.
	Skipped []*FieldError
}

// BuildTable maps objs (BareMetalHosts) to hosts and builds a table named
// source from the usable ones. A BareMetalHost that HostFromObject rejects,
// or whose MAC or address a host earlier in namespace/name order already
// has, is left out and reported in Build.Skipped. The error is only for a
// table that boot.NewTable refuses despite those checks.
func BuildTable(source string, objs []*unstructured.Unstructured) (Build, error) {
	sorted := append([]*unstructured.Unstructured(nil), objs...)
	sort.Slice(sorted, func(i, j int) bool { return ObjectName(sorted[i]) < ObjectName(sorted[j]) })

	var b Build
	hosts := make([]boot.Host, 0, len(sorted))
	byMAC := map[string]string{}
	byAddr := map[netip.Addr]string{}
	for _, obj := range sorted {
		h, err := HostFromObject(obj)
		if err == nil {
			err = claim(obj, h, byMAC, byAddr)
		}
		if err != nil {
			b.Skipped = append(b.Skipped, fieldError(err))
			continue
		}
		hosts = append(hosts, h)
	}
	t, err := boot.NewTable(source, hosts)
	if err != nil {
		return Build{}, fmt.Errorf("build the host table: %w", err)
	}
	b.Table = t
	return b, nil
}

// claim records h's MAC and address, or returns a *FieldError when another
// host already has one of them.
func claim(obj *unstructured.Unstructured, h boot.Host, byMAC map[string]string, byAddr map[netip.Addr]string) error {
	k := boot.Key(h.MAC)
	if other, dup := byMAC[k]; dup {
		return newFieldError(obj, FieldBootMAC, fmt.Errorf("MAC %s is also BareMetalHost %s's", k, other))
	}
	if other, dup := byAddr[h.Address.Addr()]; dup {
		return newFieldError(obj, AnnotationField(AnnotationIPAddress),
			fmt.Errorf("address %s is also BareMetalHost %s's", h.Address.Addr(), other))
	}
	byMAC[k] = h.Name
	byAddr[h.Address.Addr()] = h.Name
	return nil
}

// fieldError returns err as a *FieldError (HostFromObject's and claim's
// errors all are).
func fieldError(err error) *FieldError {
	var fe *FieldError
	if errors.As(err, &fe) {
		return fe
	}
	return &FieldError{Field: "?", Err: err}
}
