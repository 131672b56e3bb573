package boot_test

import (
	"net"
	"net/netip"
	"strings"
	"testing"

	"github.com/metalgit/metalgit/boot"
)

func TestWithSite(t *testing.T) {
	tab, err := boot.NewTable("test", []boot.Host{{MAC: net.HardwareAddr{2, 0, 0, 0, 0, 1}, Name: "a",
		Address: netip.MustParsePrefix("10.0.0.2/24"), Phase: boot.PhaseInspect}})
	if err != nil {
		t.Fatal(err)
	}
	site := boot.Site{KernelParams: boot.KernelParams{Inspector: []string{"console=ttyS0"}},
		IronicAPIURL: "http://ironic:6385", IronicHTTPURL: "https://ironic:6180/base"}
	got, err := tab.WithSite(site)
	if err != nil {
		t.Fatal(err)
	}
	if got.Site.IronicAPIURL != site.IronicAPIURL || got.Len() != 1 || tab.Site.IronicAPIURL != "" {
		t.Fatalf("WithSite: %+v (original %+v)", got.Site, tab.Site)
	}
	for _, tc := range []struct {
		site boot.Site
		says string
	}{
		{boot.Site{KernelParams: boot.KernelParams{Installer: []string{"a b"}}}, "kernelParams.installer"},
		{boot.Site{KernelParams: boot.KernelParams{Inspector: []string{"x=${y}"}}}, "kernelParams.inspector"},
		{boot.Site{IronicAPIURL: "ftp://ironic"}, "ironic.apiURL"},
		{boot.Site{IronicHTTPURL: "http://user:pw@ironic"}, "ironic.httpURL"},
	} {
		if _, err := tab.WithSite(tc.site); err == nil || !strings.Contains(err.Error(), tc.says) {
			t.Errorf("WithSite(%+v): %v, want an error naming %s", tc.site, err, tc.says)
		}
	}
}
