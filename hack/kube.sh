#!/usr/bin/env bash
# Builds the kube-apiserver and etcd binaries that the BareMetalHost watch
# tests (internal/kubetest) run, into a cache directory (never into the
# repository):
#
#   $KUBE_DIR/bin/kube-apiserver   k8s.io/kubernetes $KUBE_VERSION
#   $KUBE_DIR/bin/etcd             go.etcd.io/etcd/server/v3 $ETCD_VERSION
#
# `go install k8s.io/kubernetes/cmd/kube-apiserver@…` fails because of the
# replace directives in kubernetes' go.mod, so both are built in a scratch
# module that requires k8s.io/kubernetes and etcd and repeats, as
# `replace k8s.io/X => k8s.io/X v0.<minor>.<patch>`, every `k8s.io/* v0.0.0`
# requirement of kubernetes' go.mod. No -trimpath, so that `go test` shares
# the build cache with this build.
#
# Idempotent and cheap when warm: nothing is built when both binaries exist
# and `go version -m` says they were built from the wanted versions by the Go
# release in use. A build goes into a temporary directory that is renamed
# into place at the end. Expect about 6 minutes cold (2 cores).
#
# env: GO (go), CACHE_DIR (~/.cache/metalgit), KUBE_VERSION (v1.36.3),
#      ETCD_VERSION (v3.6.8), KUBE_DIR ($CACHE_DIR/kube-$KUBE_VERSION).
# Prints the bin directory on stdout; progress goes to stderr.
set -euo pipefail

GO="${GO:-go}"
CACHE_DIR="${CACHE_DIR:-$HOME/.cache/metalgit}"
KUBE_VERSION="${KUBE_VERSION:-v1.36.3}"
ETCD_VERSION="${ETCD_VERSION:-v3.6.8}"
KUBE_DIR="${KUBE_DIR:-$CACHE_DIR/kube-$KUBE_VERSION}"
KUBE_MODULE=k8s.io/kubernetes
APISERVER_PKG="$KUBE_MODULE/cmd/kube-apiserver"
ETCD_MODULE=go.etcd.io/etcd/server/v3

log() { printf 'kube: %s\n' "$*" >&2; }

# k8s.io/kubernetes v1.X.Y publishes its staging modules as k8s.io/* v0.X.Y.
if [[ ! "$KUBE_VERSION" =~ ^v1\.([0-9]+)\.([0-9]+)$ ]]; then
	log "KUBE_VERSION $KUBE_VERSION is not of the form v1.X.Y"
	exit 1
fi
STAGING_VERSION="v0.${BASH_REMATCH[1]}.${BASH_REMATCH[2]}"

mkdir -p -- "$(dirname "$KUBE_DIR")"
KUBE_DIR="$(cd "$(dirname "$KUBE_DIR")" && pwd)/$(basename "$KUBE_DIR")"
bin="$KUBE_DIR/bin"
go_version="$("$GO" env GOVERSION)"

# built FILE MODULE prints "<module version> <go version>" as recorded in the
# binary FILE (dependency or main module MODULE), or nothing.
built() {
	[ -x "$1" ] || return 0
	"$GO" version -m "$1" 2>/dev/null | awk -v mod="$2" '
		NR == 1 { gover = $2 }
		($1 == "dep" || $1 == "mod") && $2 == mod { ver = $3 }
		END { if (gover != "" && ver != "") print ver, gover }' || true
}

have_api="$(built "$bin/kube-apiserver" "$KUBE_MODULE")"
have_etcd="$(built "$bin/etcd" "$ETCD_MODULE")"
if [ "$have_api" = "$KUBE_VERSION $go_version" ] && [ "$have_etcd" = "$ETCD_VERSION $go_version" ]; then
	log "$bin is up to date (kube-apiserver $KUBE_VERSION, etcd $ETCD_VERSION, $go_version)"
	printf '%s\n' "$bin"
	exit 0
fi
log "building kube-apiserver $KUBE_VERSION and etcd $ETCD_VERSION with $go_version into $bin" \
	"(have: kube-apiserver ${have_api:-none}, etcd ${have_etcd:-none})"
start=$SECONDS

scratch="$(mktemp -d "$(dirname "$KUBE_DIR")/.kube.XXXXXX")"
trap 'rm -rf -- "$scratch"' EXIT
chmod 0755 "$scratch"
mkdir -p "$scratch/mod" "$scratch/out/bin"
export GOWORK=off GOFLAGS=''

# --- the scratch module ----------------------------------------------------
log "reading $KUBE_MODULE@$KUBE_VERSION's go.mod"
gomod="$(cd / && "$GO" mod download -json "$KUBE_MODULE@$KUBE_VERSION" |
	sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",$/\1/p')"
[ -s "$gomod" ] || { log "no go.mod for $KUBE_MODULE@$KUBE_VERSION (got: ${gomod:-none})"; exit 1; }
# Requirements look like "k8s.io/api v0.0.0" inside a require block, or
# "require k8s.io/api v0.0.0" on one line.
mapfile -t staging < <(awk '
	/^require[[:space:]]*\($/ { inblock = 1; next }
	inblock && /^\)/ { inblock = 0; next }
	inblock && $1 ~ /^k8s\.io\// && $2 == "v0.0.0" { print $1 }
	$1 == "require" && $2 ~ /^k8s\.io\// && $3 == "v0.0.0" { print $2 }' "$gomod" | sort -u)
[ "${#staging[@]}" -gt 0 ] || { log "found no k8s.io/* v0.0.0 requirement in $gomod"; exit 1; }
log "${#staging[@]} staging modules replaced by their $STAGING_VERSION releases"
{
	printf 'module metalgit.local/kubebuild\n\n'
	printf 'go %s\n\n' "$(sed -E 's/^go([0-9]+\.[0-9]+).*/\1/' <<<"$go_version").0"
	printf 'require (\n\t%s %s\n\t%s %s\n)\n\n' "$KUBE_MODULE" "$KUBE_VERSION" "$ETCD_MODULE" "$ETCD_VERSION"
	printf 'replace (\n'
	for m in "${staging[@]}"; do
		printf '\t%s => %s %s\n' "$m" "$m" "$STAGING_VERSION"
	done
	printf ')\n'
} >"$scratch/mod/go.mod"

# --- build -------------------------------------------------------------------
(
	cd "$scratch/mod"
	log "resolving dependencies (go get)"
	"$GO" get "$APISERVER_PKG@$KUBE_VERSION" "$ETCD_MODULE@$ETCD_VERSION"
	log "compiling (about 6 minutes when the build cache is cold)"
	"$GO" build -o "$scratch/out/bin/" "$APISERVER_PKG" "$ETCD_MODULE"
)
# The etcd main package is go.etcd.io/etcd/server/v3: go names its binary
# after the element before the major version suffix.
mv -- "$scratch/out/bin/server" "$scratch/out/bin/etcd"
for f in kube-apiserver etcd; do
	[ -x "$scratch/out/bin/$f" ] || { log "the build left no $f"; exit 1; }
done

rm -rf -- "$KUBE_DIR"
mv -- "$scratch/out" "$KUBE_DIR"
log "built in $((SECONDS - start))s"
printf '%s\n' "$bin"
