package reconciler

import (
	"strings"
	"testing"
)

// FuzzParsePush feeds arbitrary bodies to the push event parser: it must
// not panic, and After is "" or a 40-digit lower-case hex commit hash that
// is not all zeros (the one form Reconciler.PassAt is given).
func FuzzParsePush(f *testing.F) {
	const head = "0123456789abcdef0123456789abcdef01234567"
	for _, body := range []string{
		// GitHub push (abridged from the documented payload).
		`{"ref":"refs/heads/main","before":"` + strings.Repeat("1", 40) + `","after":"` + head + `","created":false,"deleted":false,` +
			`"forced":false,"base_ref":null,"compare":"https://github.com/org/fleet/compare/111111111111...0123456789ab",` +
			`"commits":[{"id":"` + head + `","message":"hosts: add server-03","author":{"name":"a","email":"a@example.com"}}],` +
			`"head_commit":{"id":"` + head + `"},"repository":{"full_name":"org/fleet","default_branch":"main"},"pusher":{"name":"a"}}`,
		// GitHub branch deletion, ping, tag push.
		`{"ref":"refs/heads/old","before":"` + head + `","after":"0000000000000000000000000000000000000000","deleted":true}`,
		`{"zen":"Keep it logically awesome.","hook_id":1,"hook":{"type":"Repository","events":["push"]}}`,
		`{"ref":"refs/tags/v1.0.0","after":"` + strings.ToUpper(head) + `"}`,
		// GitLab push and tag push.
		`{"object_kind":"push","event_name":"push","before":"` + strings.Repeat("2", 40) + `","after":"` + head + `",` +
			`"ref":"refs/heads/main","ref_protected":true,"checkout_sha":"` + head + `","user_username":"ops",` +
			`"project":{"path_with_namespace":"infra/fleet","default_branch":"main"},"commits":[],"total_commits_count":0}`,
		`{"object_kind":"tag_push","ref":"refs/tags/v1","after":"` + head + `","checkout_sha":null}`,
		// Hostile or broken.
		`{"ref":"refs/heads/main","after":"` + head + `0"}`,
		`{"ref":"refs/heads/main","after":"g123456789abcdef0123456789abcdef01234567"}`,
		`{"ref":"refs/heads/main","after":"0123456789abcdef0123456789abcdef0123456\u00e9"}`,
		`{"ref":1,"after":["x"]}`,
		`{"ref":"refs/heads/main","after":"` + head + `","after":"HEAD~1"}`,
		`{"ref":"refs/heads/main\n","after":null}`,
		`[` + strings.Repeat(`[`, 200) + strings.Repeat(`]`, 200) + `]`,
		`payload=%7B%7D`,
		``,
		`null`,
	} {
		f.Add([]byte(body))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		p := parsePush(body)
		if p.After == "" {
			return
		}
		if len(p.After) != 40 || strings.Trim(p.After, "0123456789abcdef") != "" || p.After == strings.Repeat("0", 40) {
			t.Fatalf("After = %q: not a 40-digit lower-case hex hash other than zero", p.After)
		}
	})
}
