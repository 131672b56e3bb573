package reconciler

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

// remote is the repository URL as the Git client takes it, with the auth
// options for it and the secret values to strip from errors.
type remote struct {
	url       string
	auth      *git.AuthOptions
	secrets   []string
	plainHTTP bool // http:// with credentials, which the client refuses by default
}

// noAuth is the gogit client's "no credentials": it requires non-nil auth
// options with a transport, and HTTP without credentials means none.
func noAuth() *git.AuthOptions { return &git.AuthOptions{Transport: git.HTTP} }

// resolveRemote normalises the URL (a local path becomes absolute) and
// reads the credentials for its transport.
func (r *Reconciler) resolveRemote() (*remote, error) {
	raw := r.cfg.URL
	c := r.cfg.Credentials
	u, err := url.Parse(raw)
	if err != nil || u.Scheme == "" {
		if strings.Contains(raw, "@") && strings.Contains(raw, ":") {
			return nil, errors.New("scp-like SSH URLs (git@host:repo) are not supported yet; use ssh://git@host/repo")
		}
		abs, err := filepath.Abs(raw)
		if err != nil {
			return nil, fmt.Errorf("resolving repository path: %w", err)
		}
		return &remote{url: abs, auth: noAuth()}, nil
	}
	if u.User != nil {
		return nil, errors.New("the repository URL must not hold credentials; use --username-file/--password-file or --token-file")
	}
	switch u.Scheme {
	case "file":
		return &remote{url: raw, auth: noAuth()}, nil
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
		return &remote{url: raw, auth: auth, secrets: nonEmpty(pass, token), plainHTTP: u.Scheme == "http"}, nil
	case "ssh":
		if c.SSHKeyFile == "" || c.KnownHostsFile == "" {
			return nil, errors.New("ssh:// needs an SSH key file and a known_hosts file")
		}
		key, err := os.ReadFile(c.SSHKeyFile)
		if err != nil {
			return nil, fmt.Errorf("reading SSH key: %w", err)
		}
		known, err := os.ReadFile(c.KnownHostsFile)
		if err != nil {
			return nil, fmt.Errorf("reading known_hosts: %w", err)
		}
		user := u.User.Username()
		if user == "" {
			user = "git"
		}
		auth := &git.AuthOptions{Transport: git.SSH, Host: u.Host, Username: user, Identity: key, KnownHosts: known}
		return &remote{url: raw, auth: auth}, nil
	}
	return nil, fmt.Errorf("unsupported repository URL scheme %q; use a path, file://, http://, https:// or ssh://", u.Scheme)
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

// redactedError carries an error's text with credentials removed. It
// unwraps only to the package's sentinel errors, never to the original.
type redactedError struct {
	msg  string
	kind error
}

func (e *redactedError) Error() string { return e.msg }
func (e *redactedError) Unwrap() error { return e.kind }

// redact strips URL credentials and the given secrets from err's text.
func redact(err error, secrets []string) error {
	if err == nil {
		return nil
	}
	msg := userinfo.ReplaceAllString(err.Error(), "${1}***@")
	for _, s := range secrets {
		msg = strings.ReplaceAll(msg, s, "***")
	}
	var kind error
	for _, k := range []error{ErrInvalidInventory, ErrPushAttempts} {
		if errors.Is(err, k) {
			kind = k
		}
	}
	return &redactedError{msg: msg, kind: kind}
}
