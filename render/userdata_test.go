package render

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/metalgit/metalgit/schemas"
)

func TestUserData(t *testing.T) {
	tests := map[string]struct {
		mc   MachineContext
		want string
	}{
		"literal wins over template and Secret": {
			mc: machine(schemas.NodeTypeSpec{
				UserData:               "#cloud-config\nhostname: literal\n",
				UserDataTemplate:       sectionTenTemplate,
				UserDataTemplateSecret: "ud-string",
			}),
			want: "#cloud-config\nhostname: literal\nssh_authorized_keys:\n  - " + opsKey + "\nruncmd:\n  - " + bootstrapCmd + "\n",
		},
		"literal is not a template": {
			mc:   withKeys(machine(schemas.NodeTypeSpec{UserData: "#cloud-config\nbootcmd: ['echo {{ .Machine.Name }}']\n"}), nil, nil),
			want: "#cloud-config\nbootcmd: ['echo {{ .Machine.Name }}']\n",
		},
		"template of section 10 wins over Secret": {
			mc: machine(schemas.NodeTypeSpec{UserDataTemplate: sectionTenTemplate, UserDataTemplateSecret: "ud-string"}),
			want: `#cloud-config
hostname: gpu-workers-0
runcmd:
  - echo "Provisioning gpu-workers-0 at 10.0.0.20"
  - echo joined > /var/log/metalgit-bootstrap
ssh_authorized_keys:
  - ` + opsKey + "\n",
		},
		"template Secret via stringData": {
			mc:   machine(schemas.NodeTypeSpec{UserDataTemplateSecret: "ud-string"}),
			want: "#cloud-config\nhostname: gpu-workers-0-from-stringdata\nssh_authorized_keys:\n  - " + opsKey + "\nruncmd:\n  - " + bootstrapCmd + "\n",
		},
		"template Secret via base64 data": {
			mc:   machine(schemas.NodeTypeSpec{UserDataTemplateSecret: "ud-data"}),
			want: "#cloud-config\nhostname: gpu-workers-0-from-data\nssh_authorized_keys:\n  - " + opsKey + "\nruncmd:\n  - " + bootstrapCmd + "\n",
		},
		"none set but keys and bootstrap": {
			mc:   machine(schemas.NodeTypeSpec{}),
			want: "#cloud-config\nssh_authorized_keys:\n  - " + opsKey + "\nruncmd:\n  - " + bootstrapCmd + "\n",
		},
		"none set but keys": {
			mc:   withKeys(machine(schemas.NodeTypeSpec{}), []string{opsKey}, nil),
			want: "#cloud-config\nssh_authorized_keys:\n  - " + opsKey + "\n",
		},
		"none set and nothing to add": {
			mc:   withKeys(machine(schemas.NodeTypeSpec{}), nil, nil),
			want: "",
		},
		"no NodeType": {
			mc:   MachineContext{Machine: MachineInfo{Name: "m"}},
			want: "",
		},
		"keys appended after the user's, deduplicated": {
			mc: withKeys(machine(schemas.NodeTypeSpec{UserData: "#cloud-config\nssh_authorized_keys:\n  - " +
				strings.TrimSuffix(opsKey, "ops@example") + "other-comment\n  - ssh-ed25519 AAAAuser user@laptop\n"}),
				[]string{opsKey, adminKey, adminKey, " " + adminKey + " "}, nil),
			want: "#cloud-config\nssh_authorized_keys:\n  - " + strings.TrimSuffix(opsKey, "ops@example") + "other-comment\n" +
				"  - ssh-ed25519 AAAAuser user@laptop\n  - " + adminKey + "\n",
		},
		"bootstrap after the user's runcmd, key order and comments kept": {
			mc: withKeys(machine(schemas.NodeTypeSpec{UserData: `#cloud-config
# the user's comment
runcmd:
  - [sh, -c, "echo first"]
  - echo second
hostname: h
packages: [curl]
write_files:
  - path: /etc/x
    content: |
      line 1
      line 2
`}), nil, []string{bootstrapCmd, "yes"}),
			want: `#cloud-config
# the user's comment
runcmd:
  - [sh, -c, "echo first"]
  - echo second
  - echo joined > /var/log/metalgit-bootstrap
  - "yes"
hostname: h
packages: [curl]
write_files:
  - path: /etc/x
    content: |
      line 1
      line 2
`,
		},
		"bootstrap when the user has no runcmd": {
			mc:   withKeys(machine(schemas.NodeTypeSpec{UserData: "#cloud-config\nhostname: h\n"}), nil, []string{bootstrapCmd}),
			want: "#cloud-config\nhostname: h\nruncmd:\n  - " + bootstrapCmd + "\n",
		},
		"bootstrap when the user's runcmd is null or flow": {
			mc:   withKeys(machine(schemas.NodeTypeSpec{UserData: "#cloud-config\nruncmd:\nbootcmd: [a]\nssh_authorized_keys: []\n"}), []string{opsKey}, []string{bootstrapCmd}),
			want: "#cloud-config\nruncmd:\n  - " + bootstrapCmd + "\nbootcmd: [a]\nssh_authorized_keys:\n  - " + opsKey + "\n",
		},
		"header only": {
			mc:   withKeys(machine(schemas.NodeTypeSpec{UserData: "#cloud-config\n"}), nil, nil),
			want: "#cloud-config\n",
		},
		"template functions and data keys": {
			mc: withKeys(machine(schemas.NodeTypeSpec{UserDataTemplate: `#cloud-config
hostname: {{ .Machine.Name | upper }}
fqdn: {{ printf "%s.%s" .Machine.Name (index .Properties "domain" | default "example.com") }}
write_files:
  - path: /etc/metalgit.json
    content: {{ toJson .Properties | quote }}
  - path: /etc/metalgit.yaml
    content: |{{ toYaml .Properties | nindent 6 }}
bootcmd:
  - echo {{ join "," .DNSServers }} {{ .Gateway }}/{{ .Prefix }} {{ .Host.BootMACAddress | replace ":" "-" }} {{ .Machine.Set }} {{ .Machine.NodeType }} {{ index .Host.Labels "role" }} {{ len .SSHKeys }} {{ (index .Host.Interfaces 3).Name | lower | trim }}
`}), nil, nil),
			want: `#cloud-config
hostname: GPU-WORKERS-0
fqdn: gpu-workers-0.example.com
write_files:
  - path: /etc/metalgit.json
    content: "{\"region\":\"us-east\",\"tier\":\"gold\"}"
  - path: /etc/metalgit.yaml
    content: |
      region: us-east
      tier: gold
bootcmd:
  - echo 10.0.0.53 10.0.0.1/24 aa-bb-cc-dd-ee-01 gpu-workers gpu-server gpu 0 bond0.100
`,
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, err := UserData(tc.mc)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("UserData() mismatch (-want +got):\n%s", diff)
			}
			again, _ := UserData(tc.mc)
			if again != got {
				t.Errorf("UserData() is not deterministic")
			}
		})
	}
}

func withKeys(mc MachineContext, keys, bootstrap []string) MachineContext {
	mc.SSHKeys, mc.Bootstrap = keys, bootstrap
	return mc
}

func TestUserDataErrors(t *testing.T) {
	const prefix = "rendering user-data for Machine/gpu-workers-0: "
	tests := map[string]struct {
		spec schemas.NodeTypeSpec
		want string
	}{
		"missing key": {
			spec: schemas.NodeTypeSpec{UserDataTemplate: "#cloud-config\nhostname: x\nfoo: {{ .Properties.foo }}\n"},
			want: `NodeType/gpu-server spec.userDataTemplate: template line 3: <.Properties.foo>: map has no entry for key "foo"; set properties.foo (on the Site, NodeType, MachineSet or Machine), or guard it: {{ with index .Properties "foo" }}...{{ end }}`,
		},
		"missing key in a Secret template": {
			spec: schemas.NodeTypeSpec{UserDataTemplateSecret: "s"},
			want: `NodeType/gpu-server spec.userDataTemplateSecret: Secret/s stringData.template: template line 2: <.Properties.nope>: map has no entry for key "nope"; set properties.nope (on the Site, NodeType, MachineSet or Machine), or guard it: {{ with index .Properties "nope" }}...{{ end }}`,
		},
		"parse error": {
			spec: schemas.NodeTypeSpec{UserDataTemplate: "#cloud-config\n{{ nosuchfunc }}\n"},
			want: `NodeType/gpu-server spec.userDataTemplate: template line 2: function "nosuchfunc" not defined`,
		},
		"invalid YAML result": {
			spec: schemas.NodeTypeSpec{UserDataTemplate: "#cloud-config\nhostname: {{ .Machine.Name }}\n  bad: [\n"},
			want: `NodeType/gpu-server spec.userDataTemplate: result is not valid YAML: yaml: line 3: mapping values are not allowed in this context`,
		},
		"not a mapping": {
			spec: schemas.NodeTypeSpec{UserData: "#cloud-config\n- a\n- b\n"},
			want: `NodeType/gpu-server spec.userData: result is not a YAML mapping (line 2); cloud-config is a mapping such as hostname: x`,
		},
		"duplicate key": {
			spec: schemas.NodeTypeSpec{UserData: "#cloud-config\na: 1\na: 2\n"},
			want: `NodeType/gpu-server spec.userData: result is not valid YAML: yaml: unmarshal errors:` + "\n" + `  line 3: mapping key "a" already defined at line 2`,
		},
		"no header": {
			spec: schemas.NodeTypeSpec{UserData: "hostname: x\n"},
			want: `NodeType/gpu-server spec.userData: user-data must start with the line #cloud-config, not "hostname: x"`,
		},
		"runcmd not a list": {
			spec: schemas.NodeTypeSpec{UserData: "#cloud-config\nruncmd: echo\n"},
			want: `NodeType/gpu-server spec.userData: runcmd (line 2) must be a list`,
		},
		"missing Secret": {
			spec: schemas.NodeTypeSpec{UserDataTemplateSecret: "absent"},
			want: `NodeType/gpu-server spec.userDataTemplateSecret: Secret "absent" does not exist in the inventory`,
		},
		"Secret without template": {
			spec: schemas.NodeTypeSpec{UserDataTemplateSecret: "no-key"},
			want: `NodeType/gpu-server spec.userDataTemplateSecret: Secret/no-key: no key template in data or stringData`,
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			mc := machine(tc.spec)
			mc.Secrets["s"] = &schemas.Secret{StringData: map[string]string{"template": "#cloud-config\nx: {{ .Properties.nope }}\n"}}
			got, err := UserData(mc)
			if err == nil {
				t.Fatalf("UserData() = %q, want an error", got)
			}
			if diff := cmp.Diff(prefix+tc.want, err.Error()); diff != "" {
				t.Errorf("error mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

// server01NetworkData is the generated network_data.json of gpu-workers-0
