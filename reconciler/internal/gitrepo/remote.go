package gitrepo

import (
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/fluxcd/pkg/git"
)

// Credentials name where secrets are read from. Each secret comes from a
// file (…File) or, when that is empty, from an environment variable
// (…Env names the variable).
type Credentials struct {
	UsernameFile, UsernameEnv string
	PasswordFile, PasswordEnv string
	// Token is an HTTPS bearer token.
	TokenFile, TokenEnv string
	// CAFile is a PEM bundle trusted for HTTPS in addition to the system's.
	CAFile string
	// SSHKeyFile and KnownHostsFile are used for ssh:// and scp-like
	// URLs; both are required there (host keys are always verified).
	SSHKeyFile, KnownHostsFile string
	// SSHKeyPassphraseFile (else the variable SSHKeyPassphraseEnv) holds
	// the passphrase of an encrypted SSH key.
	SSHKeyPassphraseFile, SSHKeyPassphraseEnv string
}

// Remote is the repository URL as the Git client takes it, with the auth
// options for it and the secret values to strip from errors. Resolve it
// on every pass: the credentials are read from their files then.
type Remote struct {
	URL  string
	auth *git.AuthOptions
	// Secrets are the secret values read, which Redact strips from errors.
	Secrets []string
}

// noAuth is the gogit client's "no credentials": it requires non-nil auth
// options with a transport, and HTTP without credentials means none.
func noAuth() *git.AuthOptions { return &git.AuthOptions{Transport: git.HTTP} }

// ResolveRemote normalises the URL raw (a local path becomes absolute) and
// reads the credentials c for its transport.
func ResolveRemote(raw string, c Credentials) (*Remote, error) {
	if m := scpURL.FindStringSubmatch(raw); m != nil && !strings.Contains(raw, "://") {
		// scp-like user@host:path becomes ssh://user@host/path, which the
		// Git client parses; a relative path is taken from the server's
		// root, as Git forges serve it (GitHub, GitLab, Gitea).
		return sshRemote(c, scpToSSH(m[1], m[2], m[3]), m[1], m[2])
	}
	u, err := url.Parse(raw)
	if err != nil || u.Scheme == "" {
		abs, err := filepath.Abs(raw)
		if err != nil {
			return nil, fmt.Errorf("resolving repository path: %w", err)
		}
		return &Remote{URL: abs, auth: noAuth()}, nil
	}
	if u.Scheme == "ssh" {
		if _, hasPass := u.User.Password(); hasPass {
			return nil, errors.New("the repository URL must not hold a password; use --ssh-key-file")
		}
		return sshRemote(c, raw, u.User.Username(), u.Host)
	}
	if u.User != nil {
		return nil, errors.New("the repository URL must not hold credentials; use --username-file/--password-file or --token-file")
	}
	switch u.Scheme {
	case "file":
		return &Remote{URL: raw, auth: noAuth()}, nil
	case "http", "https":
		user, err := readSecret("username", c.UsernameFile, c.UsernameEnv)
		if err != nil {
			return nil, err
		}
		pass, err := readSecret("password", c.PasswordFile, c.PasswordEnv)
		if err != nil {
			return nil, err
		}
		token, err := readSecret("token", c.TokenFile, c.TokenEnv)
		if err != nil {
			return nil, err
		}
		if token != "" && (user != "" || pass != "") {
			return nil, errors.New("basic auth (username/password) and a bearer token cannot be used together")
		}
		auth := &git.AuthOptions{Transport: git.TransportType(u.Scheme), Host: u.Host,
			Username: user, Password: pass, BearerToken: token}
		if c.CAFile != "" {
			if auth.CAFile, err = os.ReadFile(c.CAFile); err != nil {
				return nil, fmt.Errorf("reading CA file: %w", err)
			}
		}
		return &Remote{URL: raw, auth: auth, Secrets: nonEmpty(pass, token)}, nil
	}
	return nil, fmt.Errorf("unsupported repository URL scheme %q; use a path, file://, http://, https://, ssh:// or user@host:path", u.Scheme)
}

// scpURL matches an scp-like SSH URL, [user@]host:path, as Git reads it: a
// colon before any slash. Group 1 is the user, group 2 the host.
var scpURL = regexp.MustCompile(`^(?:([^@/:]+)@)?([^@/:]+):(.+)$`)

// scpToSSH rewrites the parts of an scp-like URL as an ssh:// URL.
func scpToSSH(user, host, path string) string {
	u := url.URL{Scheme: "ssh", Host: host, Path: "/" + strings.TrimPrefix(path, "/")}
	if user != "" {
		u.User = url.User(user)
	}
	return u.String()
}

// sshRemote reads the key, its optional passphrase and the known_hosts
// file for an SSH URL. Host keys are always verified: without a
// known_hosts file holding at least one key the configuration is refused.
func sshRemote(c Credentials, raw, user, host string) (*Remote, error) {
	if c.SSHKeyFile == "" {
		return nil, errors.New("an SSH repository URL needs a private key file (--ssh-key-file)")
	}
	if c.KnownHostsFile == "" {
		return nil, errors.New("an SSH repository URL needs a known_hosts file (--known-hosts-file); host keys are always verified")
	}
	key, err := os.ReadFile(c.SSHKeyFile)
	if err != nil {
		return nil, fmt.Errorf("reading SSH key: %w", err)
	}
	known, err := os.ReadFile(c.KnownHostsFile)
	if err != nil {
		return nil, fmt.Errorf("reading known_hosts: %w", err)
	}
	if !hasHostKey(known) {
		return nil, fmt.Errorf("known_hosts file %s holds no host key; host keys are always verified", c.KnownHostsFile)
	}
	passphrase, err := readSecret("SSH key passphrase", c.SSHKeyPassphraseFile, c.SSHKeyPassphraseEnv)
	if err != nil {
		return nil, err
	}
	if user == "" {
		user = "git"
	}
	auth := &git.AuthOptions{Transport: git.SSH, Host: host, Username: user,
		Identity: key, KnownHosts: known, Password: passphrase}
	return &Remote{URL: raw, auth: auth, Secrets: nonEmpty(passphrase)}, nil
}

// hasHostKey reports whether a known_hosts file has a line that is neither
// blank nor a comment.
func hasHostKey(known []byte) bool {
	for line := range strings.SplitSeq(string(known), "\n") {
		if l := strings.TrimSpace(line); l != "" && !strings.HasPrefix(l, "#") {
			return true
		}
	}
	return false
}

// readSecret reads a secret from file, else from the environment variable
// env; "" when neither is set. Surrounding whitespace is trimmed.
func readSecret(what, file, env string) (string, error) {
	if file != "" {
		b, err := os.ReadFile(file)
		if err != nil {
			return "", fmt.Errorf("reading %s file: %w", what, err)
		}
		return strings.TrimSpace(string(b)), nil
	}
	if env != "" {
		return strings.TrimSpace(os.Getenv(env)), nil
	}
	return "", nil
}

func nonEmpty(s ...string) []string {
	var out []string
	for _, v := range s {
		if v != "" {
			out = append(out, v)
		}
	}
	return out
}

// userinfo matches the user[:password]@ part of a URL.
var userinfo = regexp.MustCompile(`([a-zA-Z][a-zA-Z0-9+.-]*://)[^/@\s]+@`)

// RedactedError is an error whose text has credentials removed. It
// unwraps to the original error, so that errors.Is and errors.As still
// find what the chain holds (context.DeadlineExceeded, a typed error);
// print the RedactedError, never what it unwraps to.
type RedactedError struct {
	msg string
	err error
}

func (e *RedactedError) Error() string { return e.msg }
func (e *RedactedError) Unwrap() error { return e.err }

// Redact strips URL credentials and the given secrets from err's text.
func Redact(err error, secrets []string) error {
	if err == nil {
		return nil
	}
	msg := userinfo.ReplaceAllString(err.Error(), "${1}***@")
	for _, s := range secrets {
		msg = strings.ReplaceAll(msg, s, "***")
	}
	return &RedactedError{msg: msg, err: err}
}
