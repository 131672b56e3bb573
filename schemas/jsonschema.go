package schemas

import "embed"

//go:generate go run ./internal/jsonschemagen

// JSONSchemas holds the JSON Schemas (draft 2020-12) of the inventory
// kinds, generated from the types in this package: jsonschema/<kind>.json
// per kind (site.json, ippool.json, ..., sshkey.json) and
// jsonschema/inventory.json, which accepts a document of any kind.
// Editors use them through yaml-language-server; a metalgit command can
// print them from here (fs.Sub(JSONSchemas, "jsonschema")).
//
//go:embed jsonschema/*.json
var JSONSchemas embed.FS
