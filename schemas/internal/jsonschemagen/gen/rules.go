package gen

import (
	"reflect"

	"github.com/metalgit/metalgit/schemas"
)

// The constraints of the inventory format that the Go types alone do not
// say, in one table keyed by Go type and json field name. Each entry must
// match a check of the Go validation (schemas/validate*.go) that reports a
// rule in schemas.SchemaRules; TestJSONSchemaAgreesWithGo holds the two
// together. An entry naming a field that does not exist is an error, so the
// table cannot drift from types.go silently.

// field names one struct field: Go type name and json name.
type field struct {
	typ, name string
}

// rule is what the schema says about one field beyond its Go type.
type rule struct {
	// required: the field must be present and non-empty (strings get
	// minLength 1, lists minItems 1).
	required bool
	// pattern and maxLength constrain a string (or each string of a list).
	pattern   string
	maxLength int
	// enum lists the allowed values of a string (or each string of a list).
	enum []string
	// min and max bound an integer.
	min, max *int
	// unsetZero: the integer's zero value means "not set" and is allowed
	// besides [min, max].
	unsetZero bool
}

func limit(n int) *int { return &n }

// fieldRules are the per-field constraints.
var fieldRules = map[field]rule{
	{"ObjectMeta", "name"}: {required: true, pattern: schemas.NamePattern, maxLength: schemas.NameMaxLength},

	{"SiteSpec", "namespace"}:        {required: true},
	{"SiteSpec", "provisioningPool"}: {required: true},
	{"Zone", "pool"}:                 {required: true},
	{"BootProxySpec", "vip"}:         {required: true},
	{"AttachmentSpec", "type"}:       {required: true, enum: schemas.AttachmentTypes},
	{"AttachmentSpec", "mode"}:       {enum: schemas.MacvlanModes},
	{"IronicSpec", "apiURL"}:         {required: true},
	{"BootPorts", "dhcp"}:            {min: limit(1), max: limit(schemas.MaxPort), unsetZero: true},
	{"BootPorts", "tftp"}:            {min: limit(1), max: limit(schemas.MaxPort), unsetZero: true},
	{"BootPorts", "http"}:            {min: limit(1), max: limit(schemas.MaxPort), unsetZero: true},
	{"BootPorts", "callback"}:        {min: limit(1), max: limit(schemas.MaxPort), unsetZero: true},
	{"MetalLBPool", "name"}:          {required: true},
	{"MetalLBPool", "addresses"}:     {required: true},

	{"IPPoolSpec", "prefix"}: {min: limit(1), max: limit(schemas.MaxPrefix), unsetZero: true},

	{"LabelSelectorRequirement", "key"}:      {required: true},
	{"LabelSelectorRequirement", "operator"}: {required: true, enum: schemas.SelectorOperators},
	{"ImageSpec", "url"}:                     {required: true},
	{"ImageSpec", "checksum"}:                {required: true, pattern: schemas.HexPattern},
	{"ImageSpec", "checksumType"}:            {enum: schemas.ChecksumTypes},
	{"ImageSpec", "format"}:                  {enum: schemas.ImageFormats},

	{"HostSpec", "bmc"}:                     {required: true},
	{"HostSpec", "bootMACAddress"}:          {required: true, pattern: schemas.MACPattern},
	{"HostSpec", "bootMode"}:                {enum: schemas.BootModes},
	{"BMCSpec", "address"}:                  {required: true, pattern: schemas.BMCAddressPattern},
	{"BMCSpec", "credentialsName"}:          {required: true},
	{"RootDeviceHints", "minSizeGigabytes"}: {min: limit(0)},
	{"Interface", "name"}:                   {required: true},
	{"Interface", "macAddress"}:             {pattern: schemas.MACPattern},
	{"Interface", "mtu"}:                    {min: limit(schemas.MinMTU), max: limit(schemas.MaxMTU), unsetZero: true},
	{"RouteRef", "network"}:                 {required: true},
	{"RouteRef", "gateway"}:                 {required: true},
	{"BondSpec", "mode"}:                    {required: true, enum: schemas.BondModes},
	{"BondSpec", "interfaces"}:              {required: true},
	{"VLANSpec", "id"}:                      {required: true, min: limit(schemas.MinVLANID), max: limit(schemas.MaxVLANID)},
	{"VLANSpec", "link"}:                    {required: true},
	{"Zone", "vlan"}:                        {min: limit(schemas.MinVLANID), max: limit(schemas.MaxVLANID), unsetZero: true},
	{"MachineSetSpec", "nodeType"}:          {required: true},
	{"MachineSetSpec", "quantity"}:          {required: true, min: limit(0), max: limit(schemas.MaxMachineSetQuantity)},
	{"MachineSpec", "nodeType"}:             {required: true},
	{"SSHKeySpec", "publicKey"}:             {required: true},
}

// typeRules add constraints between the fields of one struct type.
var typeRules = map[string]func(s obj){
	// The checksum's length must fit its checksumType, or, without one
	// (absent or empty), be the length of one of the known types: the
	// type is then detected from the length.
	"ImageSpec": func(s obj) {
		var lengths []any
		var conds []any
		for _, t := range schemas.ChecksumTypes {
			n := schemas.ChecksumLengths[t]
			lengths = append(lengths, n)
			conds = append(conds, obj{
				"if":   obj{"properties": obj{"checksumType": obj{"const": t}}, "required": []any{"checksumType"}},
				"then": obj{"properties": obj{"checksum": obj{"minLength": n, "maxLength": n}}},
			})
		}
		// "properties" holds when checksumType is absent too.
		conds = append(conds, obj{
			"if":   obj{"properties": obj{"checksumType": obj{"const": ""}}},
			"then": obj{"properties": obj{"checksum": obj{"anyOf": lengthSchemas(lengths)}}},
		})
		s["allOf"] = conds
	},
}

func lengthSchemas(lengths []any) []any {
	out := make([]any, len(lengths))
	for i, n := range lengths {
		out[i] = obj{"minLength": n, "maxLength": n}
	}
	return out
}

// documents are the kinds the schemas cover, in the order of
// schemas.Kinds; a Secret appears only in inventory.json, which accepts
// every document the Go loader does. apiVersion, kind and metadata are
// required in each, and spec where the kind has one.
var documents = []document{
	{schemas.APIVersion, schemas.KindSite, reflect.TypeFor[schemas.Site](), true},
	{schemas.APIVersion, schemas.KindIPPool, reflect.TypeFor[schemas.IPPool](), true},
	{schemas.APIVersion, schemas.KindNodeType, reflect.TypeFor[schemas.NodeType](), true},
	{schemas.APIVersion, schemas.KindHost, reflect.TypeFor[schemas.Host](), true},
	{schemas.APIVersion, schemas.KindMachineSet, reflect.TypeFor[schemas.MachineSet](), true},
	{schemas.APIVersion, schemas.KindMachine, reflect.TypeFor[schemas.Machine](), true},
	{schemas.APIVersion, schemas.KindOSImage, reflect.TypeFor[schemas.OSImage](), true},
	{schemas.APIVersion, schemas.KindSSHKey, reflect.TypeFor[schemas.SSHKey](), true},
	{"v1", schemas.KindSecret, reflect.TypeFor[schemas.Secret](), false},
}
