package schemas_test

import (
	"net/netip"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/metalgit/metalgit/schemas"
)

func TestPoolNetwork(t *testing.T) {
	addr := netip.MustParseAddr
	tests := map[string]struct {
		spec schemas.IPPoolSpec
		want schemas.PoolNetwork
	}{
		"cidr": {
			spec: schemas.IPPoolSpec{CIDR: "10.0.0.1/24", DNSServers: []string{"10.0.0.53", "2001:DB8::53"}, NTPServers: []string{"10.0.0.123"}},
			want: schemas.PoolNetwork{Network: netip.MustParsePrefix("10.0.0.0/24"), Gateway: addr("10.0.0.1"),
				DNSServers: []string{"10.0.0.53", "2001:DB8::53"}, NTPServers: []string{"10.0.0.123"},
				DNS: []netip.Addr{addr("10.0.0.53"), addr("2001:db8::53")}, NTP: []netip.Addr{addr("10.0.0.123")},
				First: addr("10.0.0.2")},
		},
		"ranges with reserved": {
			spec: schemas.IPPoolSpec{Ranges: schemas.StringList{"192.168.0.10-192.168.0.20"}, Prefix: 24, Gateway: "192.168.0.1", Reserved: []string{"192.168.0.10"}},
			want: schemas.PoolNetwork{Network: netip.MustParsePrefix("192.168.0.0/24"), Gateway: addr("192.168.0.1"), First: addr("192.168.0.11")},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, errs := tc.spec.Network()
			if len(errs) > 0 {
				t.Fatalf("Network() problems: %v", errs)
			}
			if diff := cmp.Diff(tc.want, got, cmpopts.EquateComparable(netip.Addr{}, netip.Prefix{})); diff != "" {
				t.Errorf("Network() mismatch (-want +got):\n%s", diff)
			}
		})
	}
	if _, errs := (&schemas.IPPoolSpec{}).Network(); len(errs) == 0 {
		t.Error("Network() of a pool with neither cidr nor ranges reports no problem")
	}
}
