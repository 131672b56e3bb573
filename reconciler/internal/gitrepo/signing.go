package gitrepo

import (
	"bytes"
	"errors"
	"fmt"
	"os"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/fluxcd/pkg/git/signature"
)

// Signing names the key state commits are signed with. The key file holds
// either an armored OpenPGP private key ("-----BEGIN PGP PRIVATE KEY
// BLOCK-----") or an OpenSSH private key (git's gpg.format=ssh); the kind
// is detected from the file. The passphrase of an encrypted key comes from
// PassphraseFile, else from the variable PassphraseEnv. Both are read on
// every pass; the passphrase never appears in errors.
type Signing struct {
	KeyFile                       string
	PassphraseFile, PassphraseEnv string
}

// Signer reads the signing key; nil when no key is configured. The
// strings are the secrets read, for Redact.
func (s Signing) Signer() (signature.Signer, []string, error) {
	if s.KeyFile == "" {
		return nil, nil, nil
	}
	key, err := os.ReadFile(s.KeyFile)
	if err != nil {
		return nil, nil, fmt.Errorf("reading the signing key: %w", err)
	}
	pass, err := readSecret("signing key passphrase", s.PassphraseFile, s.PassphraseEnv)
	if err != nil {
		return nil, nil, err
	}
	secrets := nonEmpty(pass)
	switch {
	case bytes.Contains(key, []byte("-----BEGIN PGP PRIVATE KEY BLOCK-----")):
		e, err := openPGPEntity(key, []byte(pass))
		if err != nil {
			return nil, secrets, fmt.Errorf("signing key %s: %w", s.KeyFile, err)
		}
		sg, err := signature.NewOpenPGPSigner(e)
		return sg, secrets, err
	case bytes.Contains(key, []byte("PRIVATE KEY-----")):
		sg, err := signature.NewSSHSigner(key, []byte(pass))
		if err != nil {
			return nil, secrets, fmt.Errorf("signing key %s: %w", s.KeyFile, err)
		}
		return sg, secrets, nil
	default:
		return nil, secrets, fmt.Errorf("signing key %s is neither an armored OpenPGP private key nor an OpenSSH private key", s.KeyFile)
	}
}

// openPGPEntity returns the first entity of an armored key ring that holds
// a private key, decrypted with passphrase when it is encrypted.
func openPGPEntity(armored, passphrase []byte) (*openpgp.Entity, error) {
	ring, err := openpgp.ReadArmoredKeyRing(bytes.NewReader(armored))
	if err != nil {
		return nil, fmt.Errorf("reading OpenPGP key: %w", err)
	}
	for _, e := range ring {
		if e.PrivateKey == nil {
			continue
		}
		if e.PrivateKey.Encrypted {
			if len(passphrase) == 0 {
				return nil, errors.New("the OpenPGP key is encrypted and no passphrase is set (--signing-key-passphrase-file or $METALGIT_SIGNING_KEY_PASSPHRASE)")
			}
			if err := e.DecryptPrivateKeys(passphrase); err != nil {
				return nil, errors.New("decrypting the OpenPGP key: wrong passphrase or unsupported key")
			}
		}
		return e, nil
	}
	return nil, errors.New("no OpenPGP private key in the file")
}
