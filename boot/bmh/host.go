package bmh

import (
	"fmt"
	"net"
	"net/netip"
	"strings"

	metal3v1alpha1 "github.com/metal3-io/baremetal-operator/apis/metal3.io/v1alpha1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/metalgit/metalgit/boot"
)

// Annotations and labels metalgit sets on the BareMetalHosts it renders
// (they must equal render's; a test in cmd checks it).
const (
	// AnnotationIPAddress is the host's provisioning lease in CIDR form
	// (192.168.100.10/24).
	AnnotationIPAddress = "metalgit.dev/ip-address"
	// AnnotationGateway is the provisioning pool's gateway.
	AnnotationGateway = "metalgit.dev/gateway"
	// AnnotationDNSServers and AnnotationNTPServers are comma-separated.
	AnnotationDNSServers = "metalgit.dev/dns-servers"
	AnnotationNTPServers = "metalgit.dev/ntp-servers"
	// AnnotationKernelParamsInspector and AnnotationKernelParamsInstaller
	// hold the host's own extra kernel parameters, space-separated.
	AnnotationKernelParamsInspector = "metalgit.dev/kernel-params-inspector"
	AnnotationKernelParamsInstaller = "metalgit.dev/kernel-params-installer"
	// LabelHost and LabelMachine name the inventory Host and the Machine
	// bound to it.
	LabelHost    = "metalgit.dev/host"
	LabelMachine = "metalgit.dev/machine"
)

// Paths of the BareMetalHost fields HostFromObject reads, as they appear
// in FieldError.
const (
	FieldName         = "metadata.name"
	FieldBootMAC      = "spec.bootMACAddress"
	FieldBootMode     = "spec.bootMode"
	FieldState        = "status.provisioning.state"
	fieldAnnotationFn = "metadata.annotations[%s]"
	fieldLabelFn      = "metadata.labels[%s]"
)

// FieldError says which field of a BareMetalHost made it unusable.
type FieldError struct {
	// Namespace and Name identify the BareMetalHost.
	Namespace, Name string
	// Field is the field's path, e.g. spec.bootMACAddress or
	// metadata.annotations[metalgit.dev/ip-address].
	Field string
	// Err is what is wrong with it.
	Err error
}

func (e *FieldError) Error() string {
	return fmt.Sprintf("BareMetalHost %s: %s: %v", e.ID(), e.Field, e.Err)
}

func (e *FieldError) Unwrap() error { return e.Err }

// ID returns the BareMetalHost's namespace/name, as boot.Host.Name has it.
func (e *FieldError) ID() string {
	if e.Namespace == "" {
		return e.Name
	}
	return e.Namespace + "/" + e.Name
}

func newFieldError(obj *unstructured.Unstructured, field string, err error) *FieldError {
	return &FieldError{Namespace: obj.GetNamespace(), Name: obj.GetName(), Field: field, Err: err}
}

// AnnotationField returns the field path of an annotation, as FieldError
// reports it.
func AnnotationField(key string) string { return fmt.Sprintf(fieldAnnotationFn, key) }

// LabelField returns the field path of a label, as FieldError reports it.
func LabelField(key string) string { return fmt.Sprintf(fieldLabelFn, key) }

// Fields lists every field a FieldError can name, for metric labels.
func Fields() []string {
	return []string{
		FieldName, LabelField(LabelMachine), FieldBootMAC, FieldBootMode, FieldState,
		AnnotationField(AnnotationIPAddress), AnnotationField(AnnotationGateway),
		AnnotationField(AnnotationDNSServers), AnnotationField(AnnotationNTPServers),
		AnnotationField(AnnotationKernelParamsInspector), AnnotationField(AnnotationKernelParamsInstaller),
	}
}

// ObjectName returns the namespace/name of obj (just the name when it has
// no namespace).
func ObjectName(obj *unstructured.Unstructured) string {
	if ns := obj.GetNamespace(); ns != "" {
		return ns + "/" + obj.GetName()
	}
	return obj.GetName()
}

// HostFromObject maps a BareMetalHost to the boot.Host the proxy serves
// (see the package documentation). Every value is checked the way
// boot.NewTable checks it, so a host it returns never makes NewTable fail
// on its own. The error is a *FieldError.
func HostFromObject(obj *unstructured.Unstructured) (boot.Host, error) {
	fail := func(field string, err error) (boot.Host, error) {
		return boot.Host{}, newFieldError(obj, field, err)
	}
	h := boot.Host{Name: ObjectName(obj), Hostname: obj.GetName()}
	hostnameField := FieldName
	if m := obj.GetLabels()[LabelMachine]; m != "" {
		h.Hostname, hostnameField = m, LabelField(LabelMachine)
	}
	if err := boot.CheckName(h.Name); err != nil {
		return fail(FieldName, err)
	}
	// Option 12 carries the hostname to the host's DHCP client: label
	// values allow upper case, '_' and '.' runs that no DNS name has.
	if err := boot.CheckHostname(h.Hostname); err != nil {
		return fail(hostnameField, err)
	}

	var err error
	if h.MAC, err = bootMAC(obj); err != nil {
		return fail(FieldBootMAC, err)
	}
	if h.BootMode, err = bootMode(obj); err != nil {
		return fail(FieldBootMode, err)
	}
	state, _, err := unstructured.NestedString(obj.Object, "status", "provisioning", "state")
	if err != nil {
		return fail(FieldState, err)
	}
	h.Phase = PhaseOf(metal3v1alpha1.ProvisioningState(state))

	ann := obj.GetAnnotations()
	if h.Address, err = parseAddress(ann[AnnotationIPAddress]); err != nil {
		return fail(AnnotationField(AnnotationIPAddress), err)
	}
	if h.Gateway, err = parseGateway(ann[AnnotationGateway], h.Address); err != nil {
		return fail(AnnotationField(AnnotationGateway), err)
	}
	if h.DNS, err = parseServers(ann[AnnotationDNSServers]); err != nil {
		return fail(AnnotationField(AnnotationDNSServers), err)
	}
	if h.NTP, err = parseServers(ann[AnnotationNTPServers]); err != nil {
		return fail(AnnotationField(AnnotationNTPServers), err)
	}
	if h.KernelParams.Inspector, err = parseKernelParams(ann[AnnotationKernelParamsInspector]); err != nil {
		return fail(AnnotationField(AnnotationKernelParamsInspector), err)
	}
	if h.KernelParams.Installer, err = parseKernelParams(ann[AnnotationKernelParamsInstaller]); err != nil {
		return fail(AnnotationField(AnnotationKernelParamsInstaller), err)
	}
	return h, nil
}

// parseKernelParams splits a kernel-params annotation on spaces and
// checks the parameters as boot.NewTable does (nil for none).
func parseKernelParams(s string) ([]string, error) {
	params := strings.Fields(s)
	if len(params) == 0 {
		return nil, nil
	}
	// strings.Fields also splits on newlines and tabs: check what was
	// written, so that a newline is refused rather than split away.
	if strings.Join(params, " ") != s {
		return nil, fmt.Errorf("%q: the parameters must be separated by single spaces", s)
	}
	if err := boot.CheckKernelParams(params); err != nil {
		return nil, err
	}
	return params, nil
}

// PhaseOf maps a Metal3 provisioning state to the phase the proxy boots
// the host into (see the package documentation).
func PhaseOf(state metal3v1alpha1.ProvisioningState) boot.Phase {
	switch state {
	case metal3v1alpha1.StateNone, metal3v1alpha1.StateRegistering, metal3v1alpha1.StateInspecting,
		metal3v1alpha1.StateMatchProfile, metal3v1alpha1.StatePreparing, metal3v1alpha1.StateReady,
		metal3v1alpha1.StateAvailable:
		return boot.PhaseInspect
	case metal3v1alpha1.StateProvisioning, metal3v1alpha1.StateDeprovisioning:
		return boot.PhaseDeploy
	default:
		return boot.PhaseNone
	}
}

func bootMAC(obj *unstructured.Unstructured) (net.HardwareAddr, error) {
	s, _, err := unstructured.NestedString(obj.Object, "spec", "bootMACAddress")
	if err != nil {
		return nil, err
	}
	if s == "" {
		return nil, fmt.Errorf("not set")
	}
	mac, err := net.ParseMAC(s)
	if err != nil {
		return nil, fmt.Errorf("%q is not a MAC address", s)
	}
	if len(mac) != 6 {
		return nil, fmt.Errorf("%q is not a 6-byte Ethernet address", s)
	}
	if err := boot.CheckMAC(mac); err != nil {
		return nil, err
	}
	return mac, nil
}

func bootMode(obj *unstructured.Unstructured) (string, error) {
	s, _, err := unstructured.NestedString(obj.Object, "spec", "bootMode")
	if err != nil {
		return "", err
	}
	switch metal3v1alpha1.BootMode(s) {
	case "":
		return "", nil
	case metal3v1alpha1.Legacy:
		return boot.BootModeLegacy, nil
	case metal3v1alpha1.UEFI, metal3v1alpha1.UEFISecureBoot:
		return boot.BootModeUEFI, nil
	default:
		return "", fmt.Errorf("%q is not %s, %s or %s", s, metal3v1alpha1.UEFI, metal3v1alpha1.UEFISecureBoot, metal3v1alpha1.Legacy)
	}
}

func parseAddress(s string) (netip.Prefix, error) {
	if s == "" {
		return netip.Prefix{}, fmt.Errorf("not set")
	}
	p, err := netip.ParsePrefix(strings.TrimSpace(s))
	if err != nil || !p.Addr().Is4() {
		return netip.Prefix{}, fmt.Errorf("%q is not an IPv4 address with a prefix length (192.168.100.10/24)", s)
	}
	if p.Bits() < 1 || p.Bits() > 31 {
		return netip.Prefix{}, fmt.Errorf("%q: prefix length must be 1 to 31", s)
	}
	return p, nil
}

func parseGateway(s string, addr netip.Prefix) (netip.Addr, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return netip.Addr{}, nil
	}
	gw, err := netip.ParseAddr(s)
	if err != nil || !gw.Is4() {
		return netip.Addr{}, fmt.Errorf("%q is not an IPv4 address", s)
	}
	if !addr.Masked().Contains(gw) {
		return netip.Addr{}, fmt.Errorf("%s is outside the host's network %s", gw, addr.Masked())
	}
	return gw, nil
}

// parseServers reads a comma-separated list of IPv4 addresses; blanks
// around the items and empty items are ignored.
func parseServers(s string) ([]netip.Addr, error) {
	var out []netip.Addr
	for item := range strings.SplitSeq(s, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		a, err := netip.ParseAddr(item)
		if err != nil || !a.Is4() {
			return nil, fmt.Errorf("%q is not an IPv4 address", item)
		}
		out = append(out, a)
	}
	return out, nil
}
