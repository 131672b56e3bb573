package reconciler_test

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/armor"
	"github.com/fluxcd/pkg/git/signature"
	extgogit "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"
	"golang.org/x/crypto/ssh"

	"github.com/metalgit/metalgit/reconciler"
)

// headCommit reads the remote's main commit with go-git.
func headCommit(t *testing.T, remote string) *object.Commit {
	t.Helper()
	repo, err := extgogit.PlainOpen(remote)
	if err != nil {
		t.Fatal(err)
	}
	ref, err := repo.Reference(plumbing.NewBranchReferenceName("main"), true)
	if err != nil {
		t.Fatal(err)
	}
	c, err := repo.CommitObject(ref.Hash())
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestPassSignsWithOpenPGP(t *testing.T) {
	e, err := openpgp.NewEntity("metalgit", "test", "metalgit@localhost", nil)
	if err != nil {
		t.Fatal(err)
	}
	const passphrase = "pgp-pass-phrase"
	if err := e.EncryptPrivateKeys([]byte(passphrase), nil); err != nil {
		t.Fatal(err)
	}
	var priv, pub bytes.Buffer
	w, _ := armor.Encode(&priv, openpgp.PrivateKeyType, nil)
	if err := e.SerializePrivateWithoutSigning(w, nil); err != nil {
		t.Fatal(err)
	}
	_ = w.Close()
	w, _ = armor.Encode(&pub, openpgp.PublicKeyType, nil)
	if err := e.Serialize(w); err != nil {
		t.Fatal(err)
	}
	_ = w.Close()
	dir := t.TempDir()
	keyFile, passFile := filepath.Join(dir, "key.asc"), filepath.Join(dir, "pass")
	writeFile(t, keyFile, priv.String())
	writeFile(t, passFile, passphrase+"\n")

	// Without the passphrase the pass fails before touching the remote.
	remote := newRemote(t)
	before := git(t, remote, "rev-parse", "main")
	_, err = newReconciler(t, reconciler.Config{URL: "file://" + remote, Signing: reconciler.Signing{KeyFile: keyFile}}).Pass(t.Context())
	if err == nil || !strings.Contains(err.Error(), "passphrase") {
		t.Fatalf("pass with an encrypted key and no passphrase: %v", err)
	}
	if git(t, remote, "rev-parse", "main") != before {
		t.Fatal("remote moved")
	}

	r := newReconciler(t, reconciler.Config{URL: "file://" + remote, Signing: reconciler.Signing{KeyFile: keyFile, PassphraseFile: passFile}})
	res, err := r.Pass(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	c := headCommit(t, remote)
	if c.Hash.String() != res.StateCommit || !signature.IsPGPSignature(c.PGPSignature) {
		t.Fatalf("head %s (want %s) signature %q", c.Hash, res.StateCommit, c.PGPSignature)
	}
	if _, err := c.Verify(pub.String()); err != nil {
		t.Errorf("verifying the state commit: %v", err)
	}

	// And git itself agrees, when gpg is installed.
	if _, err := exec.LookPath("gpg"); err != nil {
		t.Log("no gpg: skipping git verify-commit")
		return
	}
	home := t.TempDir()
	imp := exec.Command("gpg", "--batch", "--homedir", home, "--import")
	imp.Stdin = strings.NewReader(pub.String())
	if out, err := imp.CombinedOutput(); err != nil {
		t.Fatalf("gpg --import: %v\n%s", err, out)
	}
	vc := exec.Command("git", "verify-commit", res.StateCommit)
	vc.Dir = remote
	vc.Env = append(gitEnv(), "GNUPGHOME="+home)
	if out, err := vc.CombinedOutput(); err != nil {
		t.Errorf("git verify-commit: %v\n%s", err, out)
	}
}

func TestPassSignsWithSSH(t *testing.T) {
	pubKey, privKey, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	block, err := ssh.MarshalPrivateKey(privKey, "")
	if err != nil {
		t.Fatal(err)
	}
	sshPub, err := ssh.NewPublicKey(pubKey)
	if err != nil {
		t.Fatal(err)
	}
	keyFile := filepath.Join(t.TempDir(), "id_ed25519")
	writeFile(t, keyFile, string(pem.EncodeToMemory(block)))

	remote := newRemote(t)
	res, err := newReconciler(t, reconciler.Config{URL: remote, Signing: reconciler.Signing{KeyFile: keyFile}}).Pass(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	c := headCommit(t, remote)
	if c.Hash.String() != res.StateCommit || !signature.IsSSHSignature(c.PGPSignature) {
		t.Fatalf("head %s (want %s) signature %q", c.Hash, res.StateCommit, c.PGPSignature)
	}
	enc := &plumbing.MemoryObject{}
	if err := c.EncodeWithoutSignature(enc); err != nil {
		t.Fatal(err)
	}
	rd, _ := enc.Reader()
	var payload bytes.Buffer
	if _, err := payload.ReadFrom(rd); err != nil {
		t.Fatal(err)
	}
	if _, err := signature.VerifySSHSignature(c.PGPSignature, payload.Bytes(), string(ssh.MarshalAuthorizedKey(sshPub))); err != nil {
		t.Errorf("verifying the SSH signature: %v", err)
	}
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}
