package bmh

import (
	"errors"
	"net"
	"net/netip"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	metal3v1alpha1 "github.com/metal3-io/baremetal-operator/apis/metal3.io/v1alpha1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/metalgit/metalgit/boot"
)

// bmhObject is a BareMetalHost as the API server returns it, with the
// given metalgit annotations; edit changes it further.
func bmhObject(ns, name, mac string, ann map[string]string, edit func(map[string]any)) *unstructured.Unstructured {
	obj := map[string]any{
		"apiVersion": "metal3.io/v1alpha1",
		"kind":       "BareMetalHost",
		"metadata":   map[string]any{"namespace": ns, "name": name},
		"spec":       map[string]any{"bootMACAddress": mac, "online": true},
	}
	if edit != nil {
		edit(obj)
	}
	u := &unstructured.Unstructured{Object: obj}
	if ann != nil {
		u.SetAnnotations(ann)
	}
	return u
}

func withState(state string) func(map[string]any) {
	return func(o map[string]any) {
		o["status"] = map[string]any{"provisioning": map[string]any{"state": state}}
	}
}

func withField(value any, path ...string) func(map[string]any) {
	return func(o map[string]any) {
		if err := unstructured.SetNestedField(o, value, path...); err != nil {
			panic(err)
		}
	}
}

func withSpec(key string, value any) func(map[string]any) { return withField(value, "spec", key) }

func withLabels(labels map[string]any) func(map[string]any) {
	return withField(labels, "metadata", "labels")
}

func addr(s string) netip.Addr { return netip.MustParseAddr(s) }

func mustMAC(t *testing.T, s string) net.HardwareAddr {
	t.Helper()
	m, err := net.ParseMAC(s)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func fullAnnotations() map[string]string {
	return map[string]string{
		AnnotationIPAddress:             "192.168.100.10/24",
		AnnotationGateway:               "192.168.100.1",
		AnnotationDNSServers:            "192.168.100.2, 9.9.9.9",
		AnnotationNTPServers:            "192.168.100.3",
		AnnotationKernelParamsInspector: "ipa-debug=1 console=ttyS0,115200n8",
		AnnotationKernelParamsInstaller: "nomodeset",
	}
}

func hostCmp() cmp.Option {
	return cmp.Options{
		cmp.Comparer(func(a, b netip.Addr) bool { return a == b }),
		cmp.Comparer(func(a, b netip.Prefix) bool { return a == b }),
	}
}

func TestHostFromObject(t *testing.T) {
	const mac = "52:54:00:AA:BB:01"
	tests := []struct {
		name string
		obj  *unstructured.Unstructured
		want boot.Host
	}{{
		name: "everything",
		obj: bmhObject("fleet", "node-1", mac, fullAnnotations(), func(o map[string]any) {
			withSpec("bootMode", "legacy")(o)
			withLabels(map[string]any{LabelMachine: "worker-7", LabelHost: "node-1"})(o)
			withState("provisioning")(o)
		}),
		want: boot.Host{
			MAC: mustMAC(t, mac), Name: "fleet/node-1",
			Address: netip.MustParsePrefix("192.168.100.10/24"), Gateway: addr("192.168.100.1"),
			DNS: []netip.Addr{addr("192.168.100.2"), addr("9.9.9.9")}, NTP: []netip.Addr{addr("192.168.100.3")},
			Hostname: "worker-7", BootMode: boot.BootModeLegacy, Phase: boot.PhaseDeploy,
			KernelParams: boot.KernelParams{Inspector: []string{"ipa-debug=1", "console=ttyS0,115200n8"}, Installer: []string{"nomodeset"}},
		},
	}, {
		name: "address only, new host",
		obj:  bmhObject("fleet", "node-2", mac, map[string]string{AnnotationIPAddress: "10.0.0.5/16"}, nil),
		want: boot.Host{
			MAC: mustMAC(t, mac), Name: "fleet/node-2", Address: netip.MustParsePrefix("10.0.0.5/16"),
			Hostname: "node-2", Phase: boot.PhaseInspect,
		},
	}, {
		name: "UEFISecureBoot, provisioned, empty list items",
		obj: bmhObject("fleet", "node-3", mac, map[string]string{
			AnnotationIPAddress: "10.0.0.5/16", AnnotationDNSServers: " ,10.0.0.1,", AnnotationNTPServers: "",
		}, func(o map[string]any) {
			withSpec("bootMode", "UEFISecureBoot")(o)
			withState("provisioned")(o)
		}),
		want: boot.Host{
			MAC: mustMAC(t, mac), Name: "fleet/node-3", Address: netip.MustParsePrefix("10.0.0.5/16"),
			DNS: []netip.Addr{addr("10.0.0.1")}, Hostname: "node-3", BootMode: boot.BootModeUEFI, Phase: boot.PhaseNone,
		},
	}, {
		name: "UEFI, empty machine label",
		obj: bmhObject("fleet", "node-4", mac, map[string]string{AnnotationIPAddress: "10.0.0.5/16"}, func(o map[string]any) {
			withSpec("bootMode", "UEFI")(o)
			withLabels(map[string]any{LabelMachine: ""})(o)
		}),
		want: boot.Host{
			MAC: mustMAC(t, mac), Name: "fleet/node-4", Address: netip.MustParsePrefix("10.0.0.5/16"),
			Hostname: "node-4", BootMode: boot.BootModeUEFI, Phase: boot.PhaseInspect,
		},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := HostFromObject(tt.obj)
			if err != nil {
				t.Fatalf("HostFromObject: %v", err)
			}
			if diff := cmp.Diff(tt.want, got, hostCmp()); diff != "" {
				t.Errorf("HostFromObject (-want +got):\n%s", diff)
			}
			if _, err := boot.NewTable("test", []boot.Host{got}); err != nil {
				t.Errorf("boot.NewTable refuses the host: %v", err)
			}
		})
	}
}

func TestHostFromObjectErrors(t *testing.T) {
	const mac = "52:54:00:aa:bb:01"
	ann := func(kv ...string) map[string]string {
		m := map[string]string{AnnotationIPAddress: "192.168.100.10/24"}
		for i := 0; i+1 < len(kv); i += 2 {
			if kv[i+1] == "<delete>" {
				delete(m, kv[i])
				continue
			}
			m[kv[i]] = kv[i+1]
		}
		return m
	}
	tests := []struct {
		name      string
		obj       *unstructured.Unstructured
		wantField string
		wantErr   string
	}{
		{"no address", bmhObject("ns", "a", mac, ann(AnnotationIPAddress, "<delete>"), nil), AnnotationField(AnnotationIPAddress), "not set"},
		{"no annotations at all", bmhObject("ns", "a", mac, nil, nil), AnnotationField(AnnotationIPAddress), "not set"},
		{"address without prefix", bmhObject("ns", "a", mac, ann(AnnotationIPAddress, "192.168.100.10"), nil), AnnotationField(AnnotationIPAddress), "prefix length"},
		{"address garbage", bmhObject("ns", "a", mac, ann(AnnotationIPAddress, "banana"), nil), AnnotationField(AnnotationIPAddress), `"banana"`},
		{"IPv6 address", bmhObject("ns", "a", mac, ann(AnnotationIPAddress, "fd00::5/64"), nil), AnnotationField(AnnotationIPAddress), "IPv4"},
		{"prefix /32", bmhObject("ns", "a", mac, ann(AnnotationIPAddress, "10.0.0.1/32"), nil), AnnotationField(AnnotationIPAddress), "1 to 31"},
		{"prefix /0", bmhObject("ns", "a", mac, ann(AnnotationIPAddress, "10.0.0.1/0"), nil), AnnotationField(AnnotationIPAddress), "1 to 31"},
		{"gateway garbage", bmhObject("ns", "a", mac, ann(AnnotationGateway, "gw"), nil), AnnotationField(AnnotationGateway), "not an IPv4"},
		{"gateway outside", bmhObject("ns", "a", mac, ann(AnnotationGateway, "10.1.1.1"), nil), AnnotationField(AnnotationGateway), "outside"},
		{"DNS garbage", bmhObject("ns", "a", mac, ann(AnnotationDNSServers, "192.168.100.2;9.9.9.9"), nil), AnnotationField(AnnotationDNSServers), "not an IPv4"},
		{"NTP IPv6", bmhObject("ns", "a", mac, ann(AnnotationNTPServers, "192.168.100.3,fd00::1"), nil), AnnotationField(AnnotationNTPServers), `"fd00::1"`},
		{"kernel param shell", bmhObject("ns", "a", mac, ann(AnnotationKernelParamsInspector, "ipa-debug=1 x=$(reboot)"), nil),
			AnnotationField(AnnotationKernelParamsInspector), `[1]: kernel parameter "x=$(reboot)" is not a usable kernel parameter: '$' at byte 2 is not allowed`},
		{"kernel param newline", bmhObject("ns", "a", mac, ann(AnnotationKernelParamsInstaller, "quiet\nchain http://evil"), nil),
			AnnotationField(AnnotationKernelParamsInstaller), "must be separated by single spaces"},
		{"kernel param reserved", bmhObject("ns", "a", mac, ann(AnnotationKernelParamsInstaller, "initrd=x"), nil),
			AnnotationField(AnnotationKernelParamsInstaller), "initrd is set by the boot proxy itself"},
		{"no MAC", bmhObject("ns", "a", "", ann(), nil), FieldBootMAC, "not set"},
		{"bad MAC", bmhObject("ns", "a", "52:54:00", ann(), nil), FieldBootMAC, "not a MAC"},
		{"long MAC", bmhObject("ns", "a", "00:00:00:00:fe:80:00:00:00:00:00:00:02:00:5e:10:00:00:00:01", ann(), nil), FieldBootMAC, "6-byte"},
		{"MAC not a string", bmhObject("ns", "a", mac, ann(), withSpec("bootMACAddress", int64(5))), FieldBootMAC, "string"},
		{"broadcast MAC", bmhObject("ns", "a", "ff:ff:ff:ff:ff:ff", ann(), nil), FieldBootMAC,
			"BareMetalHost ns/a: spec.bootMACAddress: MAC ff:ff:ff:ff:ff:ff is the broadcast address; use the MAC address of the host's boot interface"},
		{"broadcast MAC, upper case", bmhObject("ns", "a", "FF:FF:FF:FF:FF:FF", ann(), nil), FieldBootMAC, "MAC ff:ff:ff:ff:ff:ff is the broadcast address"},
		{"IPv4 multicast MAC", bmhObject("ns", "a", "01:00:5e:7f:00:01", ann(), nil), FieldBootMAC,
			"BareMetalHost ns/a: spec.bootMACAddress: MAC 01:00:5e:7f:00:01 is a multicast address (the I/G bit, 0x01 of the first octet, is set); use the MAC address of the host's boot interface"},
		{"IPv6 multicast MAC", bmhObject("ns", "a", "33-33-00-00-00-01", ann(), nil), FieldBootMAC, "MAC 33:33:00:00:00:01 is a multicast address"},
		{"zero MAC", bmhObject("ns", "a", "00:00:00:00:00:00", ann(), nil), FieldBootMAC,
			"BareMetalHost ns/a: spec.bootMACAddress: MAC 00:00:00:00:00:00 is all zeros; use the MAC address of the host's boot interface"},
		{"machine label upper case", bmhObject("ns", "a", mac, ann(), withLabels(map[string]any{LabelMachine: "Worker_7"})), LabelField(LabelMachine),
			`BareMetalHost ns/a: metadata.labels[metalgit.dev/machine]: hostname "Worker_7" is not a DNS name: upper-case 'W' at byte 0 (write it in lower case); use lower-case letters`},
		{"machine label underscore", bmhObject("ns", "a", mac, ann(), withLabels(map[string]any{LabelMachine: "worker_7"})), LabelField(LabelMachine),
			`hostname "worker_7" is not a DNS name: '_' at byte 6 is not allowed`},
		{"machine label newline", bmhObject("ns", "a", mac, ann(), withLabels(map[string]any{LabelMachine: "w\nfilename evil"})), LabelField(LabelMachine),
			`hostname "w\nfilename evil" is not a DNS name: '\n' at byte 1 is not allowed`},
		{"machine label shell", bmhObject("ns", "a", mac, ann(), withLabels(map[string]any{LabelMachine: "w;reboot"})), LabelField(LabelMachine),
			`hostname "w;reboot" is not a DNS name: ';' at byte 1 is not allowed`},
		{"machine label dots", bmhObject("ns", "a", mac, ann(), withLabels(map[string]any{LabelMachine: "w..1"})), LabelField(LabelMachine),
			`hostname "w..1" is not a DNS name: label 2 is empty`},
		{"bad boot mode", bmhObject("ns", "a", mac, ann(), withSpec("bootMode", "BIOS")), FieldBootMode, `"BIOS"`},
		{"state not a string", bmhObject("ns", "a", mac, ann(), func(o map[string]any) {
			o["status"] = map[string]any{"provisioning": map[string]any{"state": int64(3)}}
		}), FieldState, "string"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := HostFromObject(tt.obj)
			var fe *FieldError
			if !errors.As(err, &fe) {
				t.Fatalf("HostFromObject: error %v, want a *FieldError", err)
			}
			if fe.Namespace != "ns" || fe.Name != "a" || fe.Field != tt.wantField {
				t.Errorf("FieldError = {%q %q %q}, want {ns a %q}", fe.Namespace, fe.Name, fe.Field, tt.wantField)
			}
			if !strings.Contains(err.Error(), tt.wantErr) || !strings.Contains(err.Error(), "BareMetalHost ns/a: "+tt.wantField+": ") {
				t.Errorf("error %q does not name ns/a and contain %q", err, tt.wantErr)
			}
		})
	}
}

// A BareMetalHost whose name is no DNS name (Kubernetes allows labels of
// more than 63 characters) and that has no machine label is left out too.
func TestHostFromObjectLongName(t *testing.T) {
	name := strings.Repeat("n", 64) + ".rack-1"
	_, err := HostFromObject(bmhObject("ns", name, "52:54:00:aa:bb:01", map[string]string{AnnotationIPAddress: "10.0.0.5/16"}, nil))
	want := "BareMetalHost ns/" + name + `: metadata.name: hostname "` + name[:64] + `"… (71 bytes) is not a DNS name: label 1 has 64 characters, more than 63; ` +
		"use lower-case letters, digits and '-' in dot-separated labels of at most 63 characters, at most 253 in all (server-01 or server-01.example.com)"
	if err == nil {
		t.Fatal("HostFromObject accepted the host")
	}
	if diff := cmp.Diff(want, err.Error()); diff != "" {
		t.Errorf("HostFromObject (-want +got):\n%s", diff)
	}
	// A good machine label stands in for the name.
	if _, err := HostFromObject(bmhObject("ns", name, "52:54:00:aa:bb:01", map[string]string{AnnotationIPAddress: "10.0.0.5/16"},
		withLabels(map[string]any{LabelMachine: "worker-1"}))); err != nil {
		t.Errorf("with a machine label: %v", err)
	}
}

func TestPhaseOf(t *testing.T) {
	tests := []struct {
		state metal3v1alpha1.ProvisioningState
		want  boot.Phase
	}{
		{metal3v1alpha1.StateNone, boot.PhaseInspect},
		{metal3v1alpha1.StateRegistering, boot.PhaseInspect},
		{metal3v1alpha1.StateInspecting, boot.PhaseInspect},
		{metal3v1alpha1.StateMatchProfile, boot.PhaseInspect},
		{metal3v1alpha1.StatePreparing, boot.PhaseInspect},
		{metal3v1alpha1.StateReady, boot.PhaseInspect},
		{metal3v1alpha1.StateAvailable, boot.PhaseInspect},
		{metal3v1alpha1.StateProvisioning, boot.PhaseDeploy},
		{metal3v1alpha1.StateDeprovisioning, boot.PhaseDeploy},
		{metal3v1alpha1.StateProvisioned, boot.PhaseNone},
		{metal3v1alpha1.StateExternallyProvisioned, boot.PhaseNone},
		{metal3v1alpha1.StateDeleting, boot.PhaseNone},
		{metal3v1alpha1.StatePoweringOffBeforeDelete, boot.PhaseNone},
		{metal3v1alpha1.StateUnmanaged, boot.PhaseNone},
		{"detached", boot.PhaseNone},
		{"something new", boot.PhaseNone},
	}
	for _, tt := range tests {
		if got := PhaseOf(tt.state); got != tt.want {
			t.Errorf("PhaseOf(%q) = %q, want %q", tt.state, got, tt.want)
		}
	}
	// The literal strings of the states, in case the Metal3 constants move.
	for state, want := range map[string]boot.Phase{
		"registering": boot.PhaseInspect, "match profile": boot.PhaseInspect, "provisioning": boot.PhaseDeploy,
		"externally provisioned": boot.PhaseNone, "powering off before delete": boot.PhaseNone,
	} {
		if got := PhaseOf(metal3v1alpha1.ProvisioningState(state)); got != want {
			t.Errorf("PhaseOf(%q) = %q, want %q", state, got, want)
		}
	}
}

func TestBuildTable(t *testing.T) {
	ip := func(a string) map[string]string { return map[string]string{AnnotationIPAddress: a} }
	objs := []*unstructured.Unstructured{
		bmhObject("b", "dup-mac", "52:54:00:00:00:01", ip("10.0.0.9/24"), nil),
		bmhObject("a", "one", "52:54:00:00:00:01", ip("10.0.0.1/24"), nil),
		bmhObject("a", "two", "52:54:00:00:00:02", ip("10.0.0.2/24"), nil),
		bmhObject("a", "bad", "52:54:00:00:00:03", ip("10.0.0.3"), nil),
		bmhObject("c", "dup-addr", "52:54:00:00:00:04", ip("10.0.0.2/24"), nil),
		bmhObject("a", "no-address", "52:54:00:00:00:05", nil, nil),
	}
	b, err := BuildTable("test", objs)
	if err != nil {
		t.Fatalf("BuildTable: %v", err)
	}
	var names []string
	for _, h := range b.Table.Hosts() {
		names = append(names, h.Name)
	}
	if diff := cmp.Diff([]string{"a/one", "a/two"}, names); diff != "" {
		t.Errorf("hosts (-want +got):\n%s", diff)
	}
	var skipped []string
	for _, fe := range b.Skipped {
		skipped = append(skipped, fe.ID()+" "+fe.Field)
	}
	want := []string{
		"a/bad " + AnnotationField(AnnotationIPAddress),
		"a/no-address " + AnnotationField(AnnotationIPAddress),
		"b/dup-mac " + FieldBootMAC,
		"c/dup-addr " + AnnotationField(AnnotationIPAddress),
	}
	if diff := cmp.Diff(want, skipped); diff != "" {
		t.Errorf("skipped (-want +got):\n%s", diff)
	}
	if b.Table.Source != "test" {
		t.Errorf("Source = %q, want test", b.Table.Source)
	}
}

func TestBuildTableEmpty(t *testing.T) {
	b, err := BuildTable("empty", nil)
	if err != nil || b.Table == nil || b.Table.Len() != 0 || len(b.Skipped) != 0 {
		t.Fatalf("BuildTable(nil) = %+v, %v; want an empty table", b, err)
	}
}

func TestSameHosts(t *testing.T) {
	h := func(edit func(*boot.Host)) []boot.Host {
		x := boot.Host{MAC: net.HardwareAddr{2, 0, 0, 0, 0, 1}, Name: "a/b", Address: netip.MustParsePrefix("10.0.0.1/24"),
			DNS: []netip.Addr{addr("10.0.0.2")}, Phase: boot.PhaseInspect}
		if edit != nil {
			edit(&x)
		}
		return []boot.Host{x}
	}
	if !sameHosts(h(nil), h(nil)) {
		t.Error("equal hosts differ")
	}
	for name, edit := range map[string]func(*boot.Host){
		"MAC":   func(x *boot.Host) { x.MAC = net.HardwareAddr{2, 0, 0, 0, 0, 2} },
		"DNS":   func(x *boot.Host) { x.DNS = nil },
		"NTP":   func(x *boot.Host) { x.NTP = []netip.Addr{addr("10.0.0.3")} },
		"phase": func(x *boot.Host) { x.Phase = boot.PhaseDeploy },
		"gw":    func(x *boot.Host) { x.Gateway = addr("10.0.0.254") },
	} {
		if sameHosts(h(nil), h(edit)) {
			t.Errorf("hosts differing in %s are the same", name)
		}
	}
	if sameHosts(h(nil), nil) {
		t.Error("one host and none are the same")
	}
}
