package main

import (
	"fmt"
	"log/slog"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/metalgit/metalgit/reconciler"
)

func newReconcileCmd() *cobra.Command {
	var cfg reconciler.Config
	var verbose bool
	var af applyFlags
	cmd := &cobra.Command{
		Use:   "reconcile --repo URL [--branch BRANCH] [--path DIR] [--output OUTDIR]",
		Short: "Run one GitOps pass: fetch, validate, allocate, commit and push the state, render",
		Long: `Reconcile runs one pass against a Git repository: it clones the newest
commit of --branch from --repo, validates the inventory at --path, binds
machines and allocates addresses from the state stored there, and, if the
state changed, commits the state directory alone (author metalgit
<metalgit@localhost>, one message line per change and a
Metalgit-Source-Commit trailer) and pushes it. When the push is rejected
because someone pushed first, it fetches the new head, recomputes from it and
pushes again, up to --max-push-attempts times with jittered backoff; it never
force-pushes. It then renders the manifests to --output and, with
--kubeconfig or --in-cluster, applies them to the cluster: server-side apply
as field manager metalgit, each object labelled app.kubernetes.io/managed-by:
metalgit and metalgit.dev/site: <Site>; a rendered field someone changed is
set back and reported; an object in the way without those labels is
reported, not overwritten (unless --adopt); what metalgit applied earlier
and no longer renders is deleted (the record of what it applied is the
ConfigMap metalgit-inventory-<Site> in --inventory-namespace).

--repo may be a local path, file://, http://, https://,
ssh://[user@]host[:port]/path or scp-like [user@]host:path. Credentials are
read from files (--username-file, --password-file, --token-file) or from the
environment variables METALGIT_GIT_USERNAME, METALGIT_GIT_PASSWORD and
METALGIT_GIT_TOKEN, never from flag values; they are stripped from errors.
SSH needs --ssh-key-file and --known-hosts-file (host keys are always
verified; there is no way to skip it); an encrypted key's passphrase comes
from --ssh-key-passphrase-file or METALGIT_SSH_KEY_PASSPHRASE.

--signing-key-file signs every state commit with an armored OpenPGP private
key or an OpenSSH private key (git's gpg.format=ssh); an encrypted key's
passphrase comes from --signing-key-passphrase-file or
METALGIT_SIGNING_KEY_PASSPHRASE.`,
		Example: `  metalgit reconcile --repo /srv/git/fleet.git --branch main --path . --output out/
  metalgit reconcile --repo https://git.example/fleet.git --username-file /run/secrets/user \
    --password-file /run/secrets/pass --ca-file /etc/ssl/git-ca.pem --output out/
  metalgit reconcile --repo git@git.example:fleet.git --ssh-key-file /run/secrets/id_ed25519 \
    --known-hosts-file /etc/metalgit/known_hosts --output out/`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			level := slog.LevelWarn
			if verbose {
				level = slog.LevelInfo
			}
			cfg.Logger = slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), &slog.HandlerOptions{Level: level}))
			cluster, _, err := af.applier(nil, nil, &cfg)
			if err != nil {
				return err
			}
			if cluster != nil {
				defer cluster.Close()
			}
			r, err := reconciler.New(cfg)
			if err != nil {
				return usageError{err}
			}
			defer func() { _ = r.Close() }()
			res, err := r.Pass(cmd.Context())
			if res != nil && err != nil {
				// Git and the output are done; some objects were not applied.
				printApplied(cmd.OutOrStdout(), res.Applied)
			}
			if err != nil {
				return err
			}
			w := cmd.OutOrStdout()
			fmt.Fprintf(w, "source commit: %s\n", res.SourceCommit)
			if res.StateCommit == "" {
				fmt.Fprintln(w, "state commit: no changes")
			} else {
				fmt.Fprintf(w, "state commit: %s (pushed after %d attempt(s))\n", res.StateCommit, res.Attempts)
				for _, c := range res.Changes {
					fmt.Fprintf(w, "  %s\n", c)
				}
			}
			fmt.Fprintf(w, "summary: %s\n", res.Summary)
			if cfg.Output != "" {
				fmt.Fprintf(w, "wrote %d files to %s\n", len(res.OutputFiles), cfg.Output)
			}
			printApplied(w, res.Applied)
			return nil
		},
	}
	f := cmd.Flags()
	addGitFlags(f, &cfg)
	addApplyFlags(f, &af)
	f.BoolVarP(&verbose, "verbose", "v", false, "log each step to stderr")
	return cmd
}

// addGitFlags registers the repository, output, credential and commit flags
// shared by reconcile and serve, and the credential environment variables.
func addGitFlags(f *pflag.FlagSet, cfg *reconciler.Config) {
	f.StringVar(&cfg.URL, "repo", "", "repository URL: a local path, file://, http://, https://, ssh:// or user@host:path")
	f.StringVar(&cfg.Branch, "branch", reconciler.DefaultBranch, "branch to reconcile")
	f.StringVar(&cfg.Path, "path", ".", "inventory root inside the repository")
	f.StringVar(&cfg.StateDir, "state-dir", "state", "state directory, relative to --path")
	f.StringVar(&cfg.Output, "output", "", "write the rendered manifests to this directory, replacing it")
	f.StringVar(&cfg.Credentials.UsernameFile, "username-file", "", "file holding the HTTPS username (default: $METALGIT_GIT_USERNAME)")
	f.StringVar(&cfg.Credentials.PasswordFile, "password-file", "", "file holding the HTTPS password (default: $METALGIT_GIT_PASSWORD)")
	f.StringVar(&cfg.Credentials.TokenFile, "token-file", "", "file holding an HTTPS bearer token (default: $METALGIT_GIT_TOKEN)")
	f.StringVar(&cfg.Credentials.CAFile, "ca-file", "", "PEM file of CA certificates trusted for HTTPS")
	f.StringVar(&cfg.Credentials.SSHKeyFile, "ssh-key-file", "", "private key file for SSH repository URLs")
	f.StringVar(&cfg.Credentials.SSHKeyPassphraseFile, "ssh-key-passphrase-file", "", "file holding the SSH key's passphrase (default: $METALGIT_SSH_KEY_PASSPHRASE)")
	f.StringVar(&cfg.Credentials.KnownHostsFile, "known-hosts-file", "", "known_hosts file the SSH server's host key is verified against (required for SSH)")
	f.StringVar(&cfg.AuthorName, "author-name", reconciler.DefaultAuthorName, "author and committer name of state commits")
	f.StringVar(&cfg.AuthorEmail, "author-email", reconciler.DefaultAuthorEmail, "author and committer email of state commits")
	f.StringVar(&cfg.Signing.KeyFile, "signing-key-file", "", "sign state commits with this armored OpenPGP or OpenSSH private key")
	f.StringVar(&cfg.Signing.PassphraseFile, "signing-key-passphrase-file", "", "file holding the signing key's passphrase (default: $METALGIT_SIGNING_KEY_PASSPHRASE)")
	f.IntVar(&cfg.MaxPushAttempts, "max-push-attempts", reconciler.DefaultMaxPushAttempts, "attempts (fetch, recompute, push) before giving up on a moving remote")
	cfg.Credentials.UsernameEnv = "METALGIT_GIT_USERNAME"
	cfg.Credentials.PasswordEnv = "METALGIT_GIT_PASSWORD"
	cfg.Credentials.TokenEnv = "METALGIT_GIT_TOKEN"
	cfg.Credentials.SSHKeyPassphraseEnv = "METALGIT_SSH_KEY_PASSPHRASE"
	cfg.Signing.PassphraseEnv = "METALGIT_SIGNING_KEY_PASSPHRASE"
}
