package boot

import (
	"errors"
	"net"
	"net/netip"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestCheckKernelParam(t *testing.T) {
	const fix = "; write one word, key or key=value, of letters, digits and - _ . , : / = + @ % ~ [ ] (console=ttyS0,115200n8)"
	good := []string{
		"console=ttyS0,115200n8", "ipa-debug=1", "quiet", "rd.net.timeout.carrier=30",
		"ipa-ntp-server=[fd00::1]", "ipa-inspection-collectors=default,extra-hardware,logs",
		"systemd.journald.forward_to_console=yes", "ipa-insecure=1", "nomodeset",
		"ipa-inspection-callback-url2=http://10.0.0.1:5050/v1/continue", "a=" + strings.Repeat("x", MaxKernelParamLength-2),
		"key=a=b", "x=%20", "ip=dhcp6", "user@host", "a+b~c",
	}
	for _, s := range good {
		if err := CheckKernelParam(s); err != nil {
			t.Errorf("CheckKernelParam(%q) = %v, want nil", s, err)
		}
	}
	bad := map[string]string{
		"":                            `kernel parameter "" is not a usable kernel parameter: it is empty`,
		"a b":                         `kernel parameter "a b" is not a usable kernel parameter: ' ' at byte 1 is not allowed`,
		"a\nshell":                    `kernel parameter "a\nshell" is not a usable kernel parameter: '\n' at byte 1 is not allowed`,
		"x=${net0/ip}":                `kernel parameter "x=${net0/ip}" is not a usable kernel parameter: '$' at byte 2 is not allowed`,
		`x="quoted"`:                  `kernel parameter "x=\"quoted\"" is not a usable kernel parameter: '"' at byte 2 is not allowed`,
		"x='q'":                       `kernel parameter "x='q'" is not a usable kernel parameter: '\'' at byte 2 is not allowed`,
		`x=a\b`:                       `kernel parameter "x=a\\b" is not a usable kernel parameter: '\\' at byte 3 is not allowed`,
		"x||reboot":                   `kernel parameter "x||reboot" is not a usable kernel parameter: '|' at byte 1 is not allowed`,
		"x&&y":                        `kernel parameter "x&&y" is not a usable kernel parameter: '&' at byte 1 is not allowed`,
		"x;y":                         `kernel parameter "x;y" is not a usable kernel parameter: ';' at byte 1 is not allowed`,
		"#x":                          `kernel parameter "#x" is not a usable kernel parameter: '#' at byte 0 is not allowed`,
		"x=\t":                        `kernel parameter "x=\t" is not a usable kernel parameter: '\t' at byte 2 is not allowed`,
		"x=é":                         `kernel parameter "x=é" is not a usable kernel parameter: 'Ã' at byte 2 is not allowed`,
		"--":                          `kernel parameter "--" is not a usable kernel parameter: it starts with '-' (the kernel passes everything after "--" to init)`,
		"=x":                          `kernel parameter "=x" is not a usable kernel parameter: it has no key before '='`,
		"initrd=evil":                 `kernel parameter "initrd=evil" is not a usable kernel parameter: initrd is set by the boot proxy itself`,
		"BOOTIF=01-02-00-00-00-00-01": `kernel parameter "BOOTIF=01-02-00-00-00-00-01" is not a usable kernel parameter: BOOTIF is set by the boot proxy itself`,
		"ipa-api-url=http://evil":     `kernel parameter "ipa-api-url=http://evil" is not a usable kernel parameter: ipa-api-url is set by the boot proxy itself`,
		"ipa-inspection-callback-url=http://evil":          `kernel parameter "ipa-inspection-callback-url=http://evil" is not a usable kernel parameter: ipa-inspection-callback-url is set by the boot proxy itself`,
		"a=" + strings.Repeat("x", MaxKernelParamLength-1): `kernel parameter "a=xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"… (257 bytes) is not a usable kernel parameter: it has 257 bytes, more than 256`,
	}
	for s, want := range bad {
		err := CheckKernelParam(s)
		if !errors.Is(err, ErrBadKernelParam) {
			t.Errorf("CheckKernelParam(%q) = %v, want ErrBadKernelParam", s, err)
			continue
		}
		if diff := cmp.Diff(want+fix, err.Error()); diff != "" {
			t.Errorf("CheckKernelParam(%q) (-want +got):\n%s", s, diff)
		}
	}
}

func TestCheckKernelParamsBoundsTheList(t *testing.T) {
	params := make([]string, MaxKernelParams)
	for i := range params {
		params[i] = "ipa-debug=1"
	}
	if err := CheckKernelParams(params); err != nil {
		t.Fatalf("%d parameters refused: %v", MaxKernelParams, err)
	}
	err := CheckKernelParams(append(params, "quiet"))
	if !errors.Is(err, ErrBadKernelParam) || !strings.Contains(err.Error(), "33 kernel parameters, more than 32") {
		t.Errorf("%d parameters: %v", MaxKernelParams+1, err)
	}
}

func TestTableRefusesBadKernelParams(t *testing.T) {
	h := Host{MAC: net.HardwareAddr{2, 0, 0, 0, 0, 1}, Name: "server-01", Address: netip.MustParsePrefix("192.168.100.3/24"),
		Phase: PhaseInspect, KernelParams: KernelParams{Inspector: []string{"ipa-debug=1", "a b"}, Installer: []string{"x=${mac}"}}}
	_, err := NewTable("test", []Host{h})
	want := `test: 1 problem(s):
  host server-01: kernelParams.inspector[1]: kernel parameter "a b" is not a usable kernel parameter: ' ' at byte 1 is not allowed; ` + kernelParamFix +
		`; kernelParams.installer[0]: kernel parameter "x=${mac}" is not a usable kernel parameter: '$' at byte 2 is not allowed; ` + kernelParamFix
	if err == nil {
		t.Fatal("NewTable accepted the host")
	}
	if diff := cmp.Diff(want, err.Error()); diff != "" {
		t.Errorf("NewTable (-want +got):\n%s", diff)
	}
	h.KernelParams = KernelParams{Inspector: []string{"ipa-debug=1"}, Installer: []string{"console=ttyS0,115200n8"}}
	tab, err := NewTable("test", []Host{h})
	if err != nil {
		t.Fatal(err)
	}
	got, _ := tab.Lookup(h.MAC)
	if diff := cmp.Diff([]string{"console=ttyS0,115200n8"}, got.KernelParams.For(PhaseDeploy)); diff != "" {
		t.Error(diff)
	}
}

func TestParseHostsKernelParams(t *testing.T) {
	tab, err := ParseHosts("hosts.yaml", []byte(`hosts:
  - mac: "02:00:00:00:00:01"
    address: 192.168.100.3/24
    kernelParams:
      inspector: [ipa-debug=1, "console=ttyS0,115200n8"]
      installer: [quiet]
`))
	if err != nil {
		t.Fatal(err)
	}
	h, _ := tab.Lookup(net.HardwareAddr{2, 0, 0, 0, 0, 1})
	want := KernelParams{Inspector: []string{"ipa-debug=1", "console=ttyS0,115200n8"}, Installer: []string{"quiet"}}
	if diff := cmp.Diff(want, h.KernelParams); diff != "" {
		t.Errorf("kernel params (-want +got):\n%s", diff)
	}

	_, err = ParseHosts("hosts.yaml", []byte(`hosts:
  - mac: "02:00:00:00:00:01"
    address: 192.168.100.3/24
    kernelParams:
      inspector:
        - ipa-debug=1
        - "x y"
        - [nested]
      installer: quiet
      deployer: [x]
  - mac: "02:00:00:00:00:02"
    address: 192.168.100.4/24
    kernelParams: [ipa-debug=1]
  - mac: "02:00:00:00:00:03"
    address: 192.168.100.5/24
    kernelParams:
      installer: ["x=$(reboot)", "initrd=other", "ok=1"]
`))
	want2 := `hosts.yaml: 7 problem(s):
  hosts.yaml:7: hosts[0].kernelParams.inspector[1]: kernel parameter "x y" is not a usable kernel parameter: ' ' at byte 1 is not allowed; ` + kernelParamFix + `
  hosts.yaml:8: hosts[0].kernelParams.inspector[2]: must be a single value
  hosts.yaml:9: hosts[0].kernelParams.installer: must be a list of kernel parameters ([console=ttyS0,115200n8])
  hosts.yaml:10: hosts[0].kernelParams.deployer: unknown field; known fields: inspector, installer
  hosts.yaml:13: hosts[1].kernelParams: must be a mapping with inspector and installer lists ({inspector: [ipa-debug=1]})
  hosts.yaml:17: hosts[2].kernelParams.installer[0]: kernel parameter "x=$(reboot)" is not a usable kernel parameter: '$' at byte 2 is not allowed; ` + kernelParamFix + `
  hosts.yaml:17: hosts[2].kernelParams.installer[1]: kernel parameter "initrd=other" is not a usable kernel parameter: initrd is set by the boot proxy itself; ` + kernelParamFix
	if err == nil {
		t.Fatal("ParseHosts accepted bad kernel params")
	}
	if diff := cmp.Diff(want2, err.Error()); diff != "" {
		t.Errorf("ParseHosts (-want +got):\n%s", diff)
	}
}
