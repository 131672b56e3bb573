package schemas

import (
	"strings"

	"golang.org/x/crypto/ssh"
)

// sshKeys checks that every SSHKey holds exactly one OpenSSH public key,
// and says what to do with a private key or a key in another format.
func (v *validator) sshKeys() {
	for _, k := range v.inv.SSHKeys {
		obj := ObjectRef(KindSSHKey, k.Metadata.Name)
		if !v.required(k.Source, obj, "spec.publicKey", k.Spec.PublicKey, "paste one authorized_keys line, such as ssh-ed25519 AAAA... user@host") {
			continue
		}
		key := strings.TrimSpace(k.Spec.PublicKey)
		_, _, _, rest, err := ssh.ParseAuthorizedKey([]byte(key))
		switch {
		case strings.Contains(key, "PRIVATE KEY"):
			v.at(k.Source, obj, "spec.publicKey", RuleSSHKey, "this is a private key: remove it from Git at once, rotate it, and paste the public key (the .pub file) instead")
		case strings.HasPrefix(key, "---- BEGIN SSH2 PUBLIC KEY"):
			v.at(k.Source, obj, "spec.publicKey", RuleSSHKey, "an RFC 4716 (SSH2/PuTTY) key; convert it to one OpenSSH line with ssh-keygen -i -f KEYFILE")
		case err != nil:
			v.at(k.Source, obj, "spec.publicKey", RuleSSHKey, "not an SSH public key: want one OpenSSH line, TYPE BASE64 [COMMENT] (such as ssh-ed25519 AAAA... user@host), and the key data must be complete base64 (truncated when pasted?)")
		case len(strings.TrimSpace(string(rest))) > 0:
			v.at(k.Source, obj, "spec.publicKey", RuleSSHKey, "holds more than one key; use one SSHKey per key")
		}
	}
}
