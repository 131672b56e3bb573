#!/usr/bin/env bash
# Builds the Metal3 Bare Metal Operator that the apply tests run (in its
# -test-mode, with its fixture provisioner) into a cache directory, never
# into the repository:
#
#   $BMO_DIR/bin/bmo   github.com/metal3-io/baremetal-operator $BMO_VERSION
#
# The operator's module cannot be `go install`ed (its go.mod replaces its own
# apis and hardwareutils modules by paths), so it is built in a scratch
# module that requires it and replaces those with released versions the
# module proxy serves: apis at $BMO_VERSION, pkg/hardwareutils at
# $HWUTILS_VERSION and ironic-standalone-operator's api at $IRSO_VERSION
# (newer ones are refused by the proxy). No -trimpath, so that `go test`
# shares the build cache with this build.
#
# Idempotent and cheap when warm: nothing is built when the binary exists
# and `go version -m` says it was built from the wanted version by the Go
# release in use. A build goes into a temporary directory that is renamed
# into place at the end. Expect about 15 minutes cold (2 cores).
#
# env: GO (go), CACHE_DIR (~/.cache/metalgit), BMO_VERSION (v0.13.2),
#      HWUTILS_VERSION (v0.10.2), IRSO_VERSION (v0.7.0),
#      BMO_DIR ($CACHE_DIR/bmo-$BMO_VERSION).
# Prints the bin directory on stdout; progress goes to stderr.
set -euo pipefail

GO="${GO:-go}"
CACHE_DIR="${CACHE_DIR:-$HOME/.cache/metalgit}"
BMO_VERSION="${BMO_VERSION:-v0.13.2}"
HWUTILS_VERSION="${HWUTILS_VERSION:-v0.10.2}"
IRSO_VERSION="${IRSO_VERSION:-v0.7.0}"
BMO_DIR="${BMO_DIR:-$CACHE_DIR/bmo-$BMO_VERSION}"
BMO_MODULE=github.com/metal3-io/baremetal-operator
IRSO_MODULE=github.com/metal3-io/ironic-standalone-operator/api

log() { printf 'bmo: %s\n' "$*" >&2; }

mkdir -p -- "$(dirname "$BMO_DIR")"
BMO_DIR="$(cd "$(dirname "$BMO_DIR")" && pwd)/$(basename "$BMO_DIR")"
bin="$BMO_DIR/bin"
go_version="$("$GO" env GOVERSION)"

have=""
if [ -x "$bin/bmo" ]; then
	have="$("$GO" version -m "$bin/bmo" 2>/dev/null | awk -v mod="$BMO_MODULE" '
		NR == 1 { gover = $2 }
		($1 == "dep" || $1 == "mod") && $2 == mod { ver = $3 }
		END { if (gover != "" && ver != "") print ver, gover }' || true)"
fi
if [ "$have" = "$BMO_VERSION $go_version" ]; then
	log "$bin is up to date (baremetal-operator $BMO_VERSION, $go_version)"
	printf '%s\n' "$bin"
	exit 0
fi
log "building baremetal-operator $BMO_VERSION with $go_version into $bin (have: ${have:-none})"
start=$SECONDS

scratch="$(mktemp -d "$(dirname "$BMO_DIR")/.bmo.XXXXXX")"
trap 'rm -rf -- "$scratch"' EXIT
chmod 0755 "$scratch"
mkdir -p "$scratch/mod" "$scratch/out/bin"
export GOWORK=off GOFLAGS=''

cat >"$scratch/mod/go.mod" <<EOF
module metalgit.local/bmobuild

go $(sed -E 's/^go([0-9]+\.[0-9]+).*/\1/' <<<"$go_version").0

require $BMO_MODULE $BMO_VERSION

replace (
	$BMO_MODULE/apis => $BMO_MODULE/apis $BMO_VERSION
	$BMO_MODULE/pkg/hardwareutils => $BMO_MODULE/pkg/hardwareutils $HWUTILS_VERSION
	$IRSO_MODULE => $IRSO_MODULE $IRSO_VERSION
)
EOF

(
	cd "$scratch/mod"
	log "resolving dependencies (go get)"
	"$GO" get "$BMO_MODULE@$BMO_VERSION"
	log "compiling (about 15 minutes when the build cache is cold)"
	"$GO" build -o "$scratch/out/bin/bmo" "$BMO_MODULE"
)
[ -x "$scratch/out/bin/bmo" ] || { log "the build left no bmo"; exit 1; }

rm -rf -- "$BMO_DIR"
mv -- "$scratch/out" "$BMO_DIR"
log "built in $((SECONDS - start))s"
printf '%s\n' "$bin"
