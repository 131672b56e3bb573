// Package clusterstatus reads what the cluster says of metalgit's hosts:
// one row per BareMetalHost metalgit applied (its labels), with what the
// Bare Metal Operator reports (provisioning state, operational status,
// power, error), and the warnings the cluster can give before the operator
// does — a BMC credentials Secret that is missing or lacks username or
// password, Metal3's most common mistake.
package clusterstatus

import (
	"context"
	"fmt"
	"sort"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
)

// Labels and annotations render and apply put on a BareMetalHost.
const (
	labelManagedBy      = "app.kubernetes.io/managed-by"
	labelSite           = "metalgit.dev/site"
	labelHost           = "metalgit.dev/host"
	labelMachine        = "metalgit.dev/machine"
	annotationIPAddress = "metalgit.dev/ip-address"
	annotationMachineIP = "metalgit.dev/machine-ip-address"
)

var bmhGVR = schema.GroupVersionResource{Group: "metal3.io", Version: "v1alpha1", Resource: "baremetalhosts"}

// Host is one row: a BareMetalHost metalgit applied.
type Host struct {
	Name      string `json:"name"`
	Namespace string `json:"namespace"`
	BootMAC   string `json:"bootMAC"`
	// ProvisioningIP is the host's provisioning lease (CIDR form).
	ProvisioningIP string `json:"provisioningIP,omitempty"`
	Machine        string `json:"machine,omitempty"`
	// MachineIP is the bound machine's address (CIDR form).
	MachineIP string `json:"machineIP,omitempty"`
	// State is the operator's provisioning state ("" before it saw the
	// host).
	State             string `json:"state"`
	OperationalStatus string `json:"operationalStatus,omitempty"`
	PoweredOn         bool   `json:"poweredOn"`
	ErrorType         string `json:"errorType,omitempty"`
	Error             string `json:"error,omitempty"`
	Deleting          bool   `json:"deleting,omitempty"`
	// Warnings are what the cluster tells before the operator does.
	Warnings []string `json:"warnings,omitempty"`
}

// Report is the fleet as the cluster holds it.
type Report struct {
	Hosts []Host `json:"hosts"`
	// States counts the hosts by provisioning state ("" as "unknown").
	States map[string]int `json:"states"`
}

// Options narrow a Collect.
type Options struct {
	// Site, when set, keeps the hosts of that Site only.
	Site string
}

// Collect lists metalgit's BareMetalHosts and checks the BMC Secret each
// names.
func Collect(ctx context.Context, dyn dynamic.Interface, kube kubernetes.Interface, opts Options) (*Report, error) {
	selector := labelManagedBy + "=metalgit"
	if opts.Site != "" {
		selector += "," + labelSite + "=" + opts.Site
	}
	list, err := dyn.Resource(bmhGVR).List(ctx, metav1.ListOptions{LabelSelector: selector})
	if err != nil {
		return nil, fmt.Errorf("listing BareMetalHosts: %w", err)
	}
	rep := &Report{Hosts: []Host{}, States: map[string]int{}}
	for i := range list.Items {
		h, err := row(ctx, kube, &list.Items[i])
		if err != nil {
			return nil, err
		}
		rep.Hosts = append(rep.Hosts, h)
		state := h.State
		if state == "" {
			state = "unknown"
		}
		rep.States[state]++
	}
	sort.Slice(rep.Hosts, func(i, j int) bool {
		a, b := rep.Hosts[i], rep.Hosts[j]
		if a.Namespace != b.Namespace {
			return a.Namespace < b.Namespace
		}
		return a.Name < b.Name
	})
	return rep, nil
}

func row(ctx context.Context, kube kubernetes.Interface, u *unstructured.Unstructured) (Host, error) {
	str := func(path ...string) string {
		s, _, _ := unstructured.NestedString(u.Object, path...)
		return s
	}
	on, _, _ := unstructured.NestedBool(u.Object, "status", "poweredOn")
	h := Host{
		Name: u.GetName(), Namespace: u.GetNamespace(),
		BootMAC:           str("spec", "bootMACAddress"),
		ProvisioningIP:    u.GetAnnotations()[annotationIPAddress],
		Machine:           u.GetLabels()[labelMachine],
		MachineIP:         u.GetAnnotations()[annotationMachineIP],
		State:             str("status", "provisioning", "state"),
		OperationalStatus: str("status", "operationalStatus"),
		PoweredOn:         on,
		ErrorType:         str("status", "errorType"),
		Error:             str("status", "errorMessage"),
		Deleting:          u.GetDeletionTimestamp() != nil,
	}
	if name := u.GetLabels()[labelHost]; name != "" {
		h.Name = name
	}
	warn, err := CheckBMCSecret(ctx, kube, u.GetNamespace(), str("spec", "bmc", "credentialsName"))
	if err != nil {
		return Host{}, err
	}
	if warn != "" {
		h.Warnings = append(h.Warnings, warn)
	}
	return h, nil
}

// CheckBMCSecret returns a warning when the BMC credentials Secret is
// missing or lacks username or password; "" when it is fine.
func CheckBMCSecret(ctx context.Context, kube kubernetes.Interface, namespace, name string) (string, error) {
	if name == "" {
		return "spec.bmc.credentialsName is empty: the operator cannot reach the BMC", nil
	}
	s, err := kube.CoreV1().Secrets(namespace).Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return fmt.Sprintf("BMC credentials Secret %s/%s does not exist (the operator will report \"BMC CredentialsName secret doesn't exist\"): create it with keys username and password", namespace, name), nil
	}
	if apierrors.IsForbidden(err) {
		return fmt.Sprintf("cannot read BMC credentials Secret %s/%s (forbidden): not checked", namespace, name), nil
	}
	if err != nil {
		return "", fmt.Errorf("reading Secret %s/%s: %w", namespace, name, err)
	}
	var missing []string
	for _, k := range []string{"username", "password"} {
		if len(s.Data[k]) == 0 && s.StringData[k] == "" {
			missing = append(missing, k)
		}
	}
	if len(missing) > 0 {
		return fmt.Sprintf("BMC credentials Secret %s/%s lacks %v: the operator needs username and password", namespace, name, missing), nil
	}
	return "", nil
}
