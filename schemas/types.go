package schemas

import metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

// APIVersion is the apiVersion of every inventory kind.
const APIVersion = "metalgit.dev/v1alpha1"

// Inventory kinds.
const (
	KindSite       = "Site"
	KindIPPool     = "IPPool"
	KindNodeType   = "NodeType"
	KindHost       = "Host"
	KindMachineSet = "MachineSet"
	KindMachine    = "Machine"
	KindOSImage    = "OSImage"
	KindSSHKey     = "SSHKey"
	// KindSecret is the core/v1 Secret an inventory may carry for
	// user-data and network-data templates.
	KindSecret = "Secret"
)

// Kinds lists the metalgit.dev/v1alpha1 kinds in the order they are documented.
var Kinds = []string{KindSite, KindIPPool, KindNodeType, KindHost, KindMachineSet, KindMachine, KindOSImage, KindSSHKey}

// LabelUserDataTemplateType marks a Secret that holds a user-data or
// network-data template (key "template").
const LabelUserDataTemplateType = "metalgit.dev/user-data-template-type"

// ObjectMeta is the part of Kubernetes' metadata that inventory documents use.
type ObjectMeta struct {
	// Name is a DNS-1123 subdomain, unique per kind.
	Name string `json:"name"`
	// Namespace is accepted (kustomize may set it) and otherwise ignored:
	// rendered objects go to the Site's namespace.
	Namespace   string            `json:"namespace,omitempty"`
	Labels      map[string]string `json:"labels,omitempty"`
	Annotations map[string]string `json:"annotations,omitempty"`
}

// Site is the one-per-inventory description of a provisioning site.
type Site struct {
	APIVersion string     `json:"apiVersion"`
	Kind       string     `json:"kind"`
	Metadata   ObjectMeta `json:"metadata"`
	Spec       SiteSpec   `json:"spec"`
	Source     Source     `json:"-"`
}

// SiteSpec is the desired configuration of a Site.
type SiteSpec struct {
	// Namespace is where BareMetalHosts and their Secrets go.
	Namespace string `json:"namespace"`
	// ProvisioningPool names the IPPool that gives every Host its PXE lease.
	ProvisioningPool string          `json:"provisioningPool"`
	BootProxy        *BootProxySpec  `json:"bootProxy,omitempty"`
	Deploy           *DeploySpec     `json:"deploy,omitempty"`
	MetalLB          *MetalLBSpec    `json:"metallb,omitempty"`
	Bootstrap        *BootstrapSpec  `json:"bootstrap,omitempty"`
	Properties       map[string]any  `json:"properties,omitempty"`
	Zones            map[string]Zone `json:"zones,omitempty"`
}

// Zone names the pool that serves one network zone (bmc, provisioning, tenant).
type Zone struct {
	Pool string `json:"pool"`
	// VLAN is the zone's 802.1Q tag, 1-4094; 0 means untagged.
	VLAN int `json:"vlan,omitempty"`
}

// BootProxySpec configures the PXE boot proxy of a Site.
type BootProxySpec struct {
	// VIP is the boot proxy's address in CIDR form (192.168.100.2/24). It
	// must lie in the provisioning pool's network and outside every pool's
	// allocatable addresses.
	VIP          string          `json:"vip"`
	Attachment   *AttachmentSpec `json:"attachment,omitempty"`
	Ironic       *IronicSpec     `json:"ironic,omitempty"`
	KernelParams *KernelParams   `json:"kernelParams,omitempty"`
	Ports        *BootPorts      `json:"ports,omitempty"`
}

// Attachment types of the boot proxy's network attachment.
const (
	AttachmentBridge      = "bridge"
	AttachmentMacvlan     = "macvlan"
	AttachmentHostNetwork = "hostNetwork"
)

// AttachmentSpec says how the boot proxy joins the provisioning network.
type AttachmentSpec struct {
	// Type is bridge, macvlan or hostNetwork.
	Type string `json:"type"`
	// Bridge is the Linux bridge name (type bridge).
	Bridge string `json:"bridge,omitempty"`
	// Master is the parent interface (type macvlan).
	Master string `json:"master,omitempty"`
	// Mode is the macvlan mode: bridge, private, vepa or passthru.
	Mode string `json:"mode,omitempty"`
}

// IronicSpec holds the URLs of Ironic as seen from the boot proxy.
type IronicSpec struct {
	APIURL  string `json:"apiURL"`
	HTTPURL string `json:"httpURL,omitempty"`
}

// KernelParams are extra kernel parameters for the inspector and installer ramdisks.
type KernelParams struct {
	Inspector []string `json:"inspector,omitempty"`
	Installer []string `json:"installer,omitempty"`
}

// BootPorts are the boot proxy's listen ports; zero means the default
// (DHCP 67, TFTP 69, HTTP 8080, callback 8081).
type BootPorts struct {
	DHCP     int `json:"dhcp,omitempty"`
	TFTP     int `json:"tftp,omitempty"`
	HTTP     int `json:"http,omitempty"`
	Callback int `json:"callback,omitempty"`
}

// DeploySpec selects the components rendered as Helm values or Flux HelmReleases.
type DeploySpec struct {
	Metal3    *Component `json:"metal3,omitempty"`
	BootProxy *Component `json:"bootProxy,omitempty"`
	Multus    *Component `json:"multus,omitempty"`
}

// Component is one deployable component and its Helm values.
type Component struct {
	Enabled    bool           `json:"enabled"`
	HelmValues map[string]any `json:"helmValues,omitempty"`
}

// MetalLBSpec lists the MetalLB address pools of a Site.
type MetalLBSpec struct {
	Pools []MetalLBPool `json:"pools,omitempty"`
}

// MetalLBPool is one MetalLB IPAddressPool.
type MetalLBPool struct {
	Name string `json:"name"`
	// Addresses are CIDRs or <start>-<end> ranges, as MetalLB takes them.
	Addresses  []string `json:"addresses"`
	AutoAssign *bool    `json:"autoAssign,omitempty"`
}

// BootstrapSpec holds commands appended to every machine's cloud-config runcmd.
type BootstrapSpec struct {
	Runcmd []string `json:"runcmd,omitempty"`
}

// IPPool is a set of addresses that metalgit allocates from.
type IPPool struct {
	APIVersion string     `json:"apiVersion"`
	Kind       string     `json:"kind"`
	Metadata   ObjectMeta `json:"metadata"`
	Spec       IPPoolSpec `json:"spec"`
	Source     Source     `json:"-"`
}

// IPPoolSpec is either the CIDR form (cidr) or the range form (ranges +
// prefix + gateway), never both.
type IPPoolSpec struct {
	// CIDR is <gateway>/<prefix>; network, gateway and broadcast are never allocated.
	CIDR string `json:"cidr,omitempty"`
	// Ranges are <start>-<end> entries whose every address is allocatable
	// (a range may hold the network or broadcast address only with
	// allowNetworkAndBroadcast); a single comma-separated string is
	// accepted too.
	Ranges StringList `json:"ranges,omitempty"`
	// Prefix is the prefix length of the range form's network.
	Prefix int `json:"prefix,omitempty"`
	// Gateway is the range form's default gateway.
	Gateway    string   `json:"gateway,omitempty"`
	DNSServers []string `json:"dnsServers,omitempty"`
	NTPServers []string `json:"ntpServers,omitempty"`
	// Reserved are addresses and <start>-<end> ranges that are never allocated.
	Reserved []string `json:"reserved,omitempty"`
	// AllowNetworkAndBroadcast lets the range form hand out the network
	// address of its prefix and (IPv4) its broadcast address when a range
	// holds them, for networks that route single addresses. Without it such
	// a pool is refused. The cidr form never hands them out.
	AllowNetworkAndBroadcast bool `json:"allowNetworkAndBroadcast,omitempty"`
}

// NodeType describes a class of machine: what hosts it may run on and how it is provisioned.
type NodeType struct {
	APIVersion string       `json:"apiVersion"`
	Kind       string       `json:"kind"`
	Metadata   ObjectMeta   `json:"metadata"`
	Spec       NodeTypeSpec `json:"spec"`
	Source     Source       `json:"-"`
}

// NodeTypeSpec is the desired configuration of a NodeType.
type NodeTypeSpec struct {
	DisplayName string `json:"displayName,omitempty"`
	// Resources are the least a host must have (cpu, memory, extended
	// resources such as nvidia.com/gpu), as Kubernetes quantities.
	Resources    map[string]Quantity `json:"resources,omitempty"`
	HostSelector *LabelSelector      `json:"hostSelector,omitempty"`
	// Pool names the IPPool a machine's address comes from.
	Pool string `json:"pool,omitempty"`
	// OSImage names an OSImage; Image gives one directly instead.
	OSImage string     `json:"osImage,omitempty"`
	Image   *ImageSpec `json:"image,omitempty"`
	SSHKeys []string   `json:"sshKeys,omitempty"`
	// User data: the first that is set wins.
	UserData               string `json:"userData,omitempty"`
	UserDataTemplate       string `json:"userDataTemplate,omitempty"`
	UserDataTemplateSecret string `json:"userDataTemplateSecret,omitempty"`
	// Network data: the first that is set wins; none set means generated from IPAM.
	NetworkData               string         `json:"networkData,omitempty"`
	NetworkDataTemplate       string         `json:"networkDataTemplate,omitempty"`
	NetworkDataTemplateSecret string         `json:"networkDataTemplateSecret,omitempty"`
	Properties                map[string]any `json:"properties,omitempty"`
}

// LabelSelector follows Kubernetes' metav1.LabelSelector.
type LabelSelector struct {
	MatchLabels      map[string]string          `json:"matchLabels,omitempty"`
	MatchExpressions []LabelSelectorRequirement `json:"matchExpressions,omitempty"`
}

// LabelSelectorRequirement follows Kubernetes' metav1.LabelSelectorRequirement.
type LabelSelectorRequirement struct {
	Key string `json:"key"`
	// Operator is In, NotIn, Exists or DoesNotExist.
	Operator string   `json:"operator"`
	Values   []string `json:"values,omitempty"`
}

// ImageSpec is an OS image given directly instead of through an OSImage.
type ImageSpec struct {
	URL          string `json:"url"`
	Checksum     string `json:"checksum"`
	ChecksumType string `json:"checksumType,omitempty"`
	Format       string `json:"format,omitempty"`
}

// Host is one physical server with a BMC.
type Host struct {
	APIVersion string     `json:"apiVersion"`
	Kind       string     `json:"kind"`
	Metadata   ObjectMeta `json:"metadata"`
	Spec       HostSpec   `json:"spec"`
	Source     Source     `json:"-"`
}

// Boot modes, as Metal3 spells them.
const (
	BootModeUEFI       = "UEFI"
	BootModeUEFISecure = "UEFISecureBoot"
	BootModeLegacy     = "legacy"
)

// HostSpec is the desired configuration of a Host.
type HostSpec struct {
	BMC BMCSpec `json:"bmc"`
	// BootMACAddress is the MAC of the NIC that PXE boots.
	BootMACAddress string `json:"bootMACAddress"`
	// BootMode is UEFI (default), UEFISecureBoot or legacy.
	BootMode string `json:"bootMode,omitempty"`
	// Online is the desired power state; default true.
	Online          *bool               `json:"online,omitempty"`
	Resources       map[string]Quantity `json:"resources,omitempty"`
	RootDeviceHints *RootDeviceHints    `json:"rootDeviceHints,omitempty"`
	Interfaces      []Interface         `json:"interfaces,omitempty"`
	SwitchPort      *SwitchPort         `json:"switchPort,omitempty"`
	// IPAddress pins the host's provisioning address instead of allocating
	// one. It must lie in the provisioning pool's network and outside every
	// pool's allocatable addresses (reserve it).
	IPAddress string `json:"ipAddress,omitempty"`
	// KernelParams are the host's own extra kernel parameters for the
	// inspector and installer ramdisks, after the Site's.
	KernelParams *KernelParams `json:"kernelParams,omitempty"`
}

// BMCSpec is how to reach a host's baseboard management controller.
type BMCSpec struct {
	// Address is a URL whose scheme names the driver (redfish://, ipmi://, ...).
	Address string `json:"address"`
	// CredentialsName is the Secret (in the Site's namespace) with username and password.
	CredentialsName                string `json:"credentialsName"`
	DisableCertificateVerification bool   `json:"disableCertificateVerification,omitempty"`
}

// RootDeviceHints follow Metal3's RootDeviceHints.
type RootDeviceHints struct {
	DeviceName         string `json:"deviceName,omitempty"`
	HCTL               string `json:"hctl,omitempty"`
	Model              string `json:"model,omitempty"`
	Vendor             string `json:"vendor,omitempty"`
	SerialNumber       string `json:"serialNumber,omitempty"`
	MinSizeGigabytes   int    `json:"minSizeGigabytes,omitempty"`
	WWN                string `json:"wwn,omitempty"`
	WWNWithExtension   string `json:"wwnWithExtension,omitempty"`
	WWNVendorExtension string `json:"wwnVendorExtension,omitempty"`
	Rotational         *bool  `json:"rotational,omitempty"`
}

// Interface is a NIC, bond or VLAN of a host, used to generate network-data.
type Interface struct {
	Name       string     `json:"name"`
	MACAddress string     `json:"macAddress,omitempty"`
	MTU        int        `json:"mtu,omitempty"`
	Bond       *BondSpec  `json:"bond,omitempty"`
	VLAN       *VLANSpec  `json:"vlan,omitempty"`
	Pool       string     `json:"pool,omitempty"`
	Routes     []RouteRef `json:"routes,omitempty"`
}

// RouteRef is an extra static route on an interface.
type RouteRef struct {
	Network string `json:"network"`
	Gateway string `json:"gateway"`
}

// BondSpec makes an interface a bond of other interfaces.
type BondSpec struct {
	// Mode is a Linux bonding mode (balance-rr, active-backup, balance-xor,
	// broadcast, 802.3ad, balance-tlb, balance-alb).
	Mode       string   `json:"mode"`
	Interfaces []string `json:"interfaces"`
}

// VLANSpec makes an interface an 802.1Q VLAN on another interface.
type VLANSpec struct {
	ID   int    `json:"id"`
	Link string `json:"link"`
}

// SwitchPort is the host's local link information.
type SwitchPort struct {
	SwitchID   string `json:"switchID,omitempty"`
	PortID     string `json:"portID,omitempty"`
	SwitchInfo string `json:"switchInfo,omitempty"`
}

// MachineSet asks for quantity machines of one node type, named <set>-<n>.
type MachineSet struct {
	APIVersion string         `json:"apiVersion"`
	Kind       string         `json:"kind"`
	Metadata   ObjectMeta     `json:"metadata"`
	Spec       MachineSetSpec `json:"spec"`
	Source     Source         `json:"-"`
}

// MachineSetSpec is the desired configuration of a MachineSet.
type MachineSetSpec struct {
	NodeType   string         `json:"nodeType"`
	Quantity   int            `json:"quantity"`
	Properties map[string]any `json:"properties,omitempty"`
}

// Machine asks for one machine, optionally pinned to a host.
type Machine struct {
	APIVersion string      `json:"apiVersion"`
	Kind       string      `json:"kind"`
	Metadata   ObjectMeta  `json:"metadata"`
	Spec       MachineSpec `json:"spec"`
	Source     Source      `json:"-"`
}

// MachineSpec is the desired configuration of a Machine.
type MachineSpec struct {
	NodeType string `json:"nodeType"`
	// ServerName pins the machine to the Host of that name.
	ServerName string         `json:"serverName,omitempty"`
	Properties map[string]any `json:"properties,omitempty"`
}

// OSImage is an operating system image that Ironic writes to disk.
type OSImage struct {
	APIVersion string     `json:"apiVersion"`
	Kind       string     `json:"kind"`
	Metadata   ObjectMeta `json:"metadata"`
	Spec       ImageSpec  `json:"spec"`
	Source     Source     `json:"-"`
}

// SSHKey is a public key installed on machines.
type SSHKey struct {
	APIVersion string     `json:"apiVersion"`
	Kind       string     `json:"kind"`
	Metadata   ObjectMeta `json:"metadata"`
	Spec       SSHKeySpec `json:"spec"`
	Source     Source     `json:"-"`
}

// SSHKeySpec holds one authorized_keys line.
type SSHKeySpec struct {
	PublicKey string `json:"publicKey"`
}

// Secret is a core/v1 Secret carried by the inventory (templates only;
// never BMC credentials).
type Secret struct {
	APIVersion string            `json:"apiVersion"`
	Kind       string            `json:"kind"`
	Metadata   ObjectMeta        `json:"metadata"`
	Type       string            `json:"type,omitempty"`
	Data       map[string]string `json:"data,omitempty"`
	StringData map[string]string `json:"stringData,omitempty"`
	Immutable  *bool             `json:"immutable,omitempty"`
	Source     Source            `json:"-"`
}

// Quantity is a Kubernetes resource quantity ("64", "256Gi"); YAML numbers are accepted.
type Quantity string

// StringList is a list of strings that may also be written as one
// comma-separated string ("a-b,c-d").
type StringList []string

// AsMeta converts the selector to Kubernetes' type.
func (s *LabelSelector) AsMeta() *metav1.LabelSelector {
	if s == nil {
		return nil
	}
	out := &metav1.LabelSelector{MatchLabels: s.MatchLabels}
	for _, e := range s.MatchExpressions {
		out.MatchExpressions = append(out.MatchExpressions, metav1.LabelSelectorRequirement{
			Key: e.Key, Operator: metav1.LabelSelectorOperator(e.Operator), Values: e.Values,
		})
	}
	return out
}
