package render_test

import (
	"encoding/base64"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"sigs.k8s.io/yaml"

	"github.com/metalgit/metalgit/render"
)

// TestRenderPrecedence renders one machine per precedence branch of
// user-data and network-data (testdata/precedence) and compares the
// decoded Secrets: literal > template > template Secret > generated, with
// the SSH keys and the Site's bootstrap commands added after the user's.
func TestRenderPrecedence(t *testing.T) {
	out, err := render.Render(load(t, "precedence"), render.Options{})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, d := range strings.Split(string(out), "\n---\n") {
		var obj struct {
			Kind     string
			Metadata struct{ Name string }
			Data     map[string]string
		}
		if err := yaml.Unmarshal([]byte(d), &obj); err != nil {
			t.Fatal(err)
		}
		if obj.Kind != "Secret" || strings.HasSuffix(obj.Metadata.Name, "-preprov-network-data") {
			continue
		}
		for key, v := range obj.Data {
			raw, err := base64.StdEncoding.DecodeString(v)
			if err != nil {
				t.Fatalf("%s: %v", obj.Metadata.Name, err)
			}
			got[obj.Metadata.Name+"/"+key] = string(raw)
		}
	}
	const key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHvMjL5uzHd3OK9tT2uwXro1f5/4z9Jo16Bv8zUuWiYR ops@example"
	want := map[string]string{
		"both-0-user-data/userData":       "#cloud-config\nhostname: literal-wins\nruncmd:\n  - touch /var/lib/joined\n",
		"both-0-network-data/networkData": "{\"links\": [], \"networks\": [], \"services\": []}\n",
		"tmpl-0-user-data/userData": "#cloud-config\nhostname: tmpl-0\nwrite_files:\n  - path: /etc/metalgit\n" +
			"    content: \"eu-west silver r7 tmpl-host\"\nruncmd:\n  - echo 10.1.0.5/24 via 10.1.0.1 dns 10.1.0.53\n" +
			"  - touch /var/lib/joined\nssh_authorized_keys:\n  - " + key + "\n",
		"tmpl-0-network-data/networkData": "{\"links\": [{\"id\": \"nic0\", \"type\": \"phy\", \"ethernet_mac_address\": \"52:54:00:00:09:02\"}],\n" +
			" \"networks\": [{\"id\": \"n0\", \"type\": \"ipv4\", \"link\": \"nic0\", \"ip_address\": \"10.1.0.5\", \"netmask\": \"255.255.255.0\"}],\n" +
			" \"services\": []}\n",
		"secrets-0-user-data/userData":       "#cloud-config\nhostname: secrets-0-from-secret\nruncmd:\n  - touch /var/lib/joined\n",
		"secrets-0-network-data/networkData": "{\"links\": [], \"networks\": [], \"services\": [{\"type\": \"dns\", \"address\": \"10.1.0.53\"}]}\n",
		"keysonly-0-user-data/userData":      "#cloud-config\nssh_authorized_keys:\n  - " + key + "\nruncmd:\n  - touch /var/lib/joined\n",
	}
	generated := got["keysonly-0-network-data/networkData"]
	delete(got, "keysonly-0-network-data/networkData")
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("decoded Secrets (-want +got):\n%s", diff)
	}
	for _, s := range []string{`"ethernet_mac_address": "52:54:00:00:09:04"`, `"ip_address": "10.1.0.3"`, `"gateway": "10.1.0.1"`, `"address": "10.1.0.53"`} {
		if !strings.Contains(generated, s) {
			t.Errorf("generated network data lacks %s:\n%s", s, generated)
		}
	}
}
