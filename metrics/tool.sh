#!/usr/bin/env bash
# Builds one of the metrics tools from its Go module, at the version metrics/<tool>/go.mod pins
# (its `tool` directive): no registry serves their published images here, and their release binaries
# are downloads, so the Go module proxy is the one source.
#
#   exporter  the exporter the stack deploys and the real-server suites run: metrics/exporter/main.go
#             over oliver006/redis_exporter's exporter package, adding the directory-login module's INFO
#   promtool  Prometheus's promtool: the suite checks and tests the alerting rules with it
#
# Usage: metrics/tool.sh exporter|promtool   build unless cached, then print the binary's path
#
# Cached under $MOLIS_ENGINE_CACHE (default ~/.cache/molis-valkey/engine), keyed by the Go version,
# this script and the tool's module: a second run takes a moment. Both are static binaries (no cgo),
# so they run on any base image, glibc or musl.
set -euo pipefail
cd "$(dirname "$0")/.."

fail() {
  echo "metrics/tool.sh: $*" >&2
  exit 1
}

tool=${1:-}
case "$tool" in
  exporter)
    package=.
    pinned=github.com/oliver006/redis_exporter
    binary=redis_exporter
    tags=""
    version_flag="-X main.BuildVersion"
    ;;
  promtool)
    package=github.com/prometheus/prometheus/cmd/promtool
    pinned=github.com/prometheus/prometheus
    binary=promtool
    # Without the service-discovery plugins (cloud SDKs) that rule checks and tests never use.
    tags=remove_all_sd
    version_flag="-X github.com/prometheus/common/version.Version"
    ;;
  *) fail "name a tool: exporter or promtool (got '${tool}')" ;;
esac
module=metrics/$tool

command -v go >/dev/null || export PATH="$PATH:/usr/local/go/bin"
go_needed=$(awk '$1 == "go" {print $2; exit}' "$module/go.mod")
command -v go >/dev/null ||
  fail "no Go toolchain on the PATH. The $tool is built from its Go module: install Go $go_needed or newer (this machine's image has it at /usr/local/go)."
VERSION=$(awk -v m="$pinned" '$1 == m {print $2; exit} $1 == "require" && $2 == m {print $3; exit}' "$module/go.mod")
[ -n "$VERSION" ] || fail "cannot read the version of $pinned from $module/go.mod"

sources=$(find "$module" -maxdepth 1 -name '*.go' | sort)
# shellcheck disable=SC2086 # the module's own Go files, none for a tool built from its module alone
key=$( (go version; cat "$0" "$module/go.mod" "$module/go.sum" $sources) | sha256sum | cut -c1-16)
cache_root=${MOLIS_ENGINE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/molis-valkey/engine}
out="$cache_root/$tool-$key"
if [ -x "$out/$binary" ]; then
  echo "$out/$binary"
  exit 0
fi

mkdir -p "$cache_root"
work=$(mktemp -d "$cache_root/$tool-tmp.XXXXXX")
trap 'rm -rf "$work"' EXIT
echo "metrics/tool.sh: building $binary ($pinned@$VERSION)" >&2
if ! (cd "$module" && CGO_ENABLED=0 GOFLAGS="-mod=readonly -trimpath" go build -tags "$tags" -ldflags "-s -w $version_flag=$VERSION" \
  -o "$work/$binary" "$package") >"$work/build.log" 2>&1; then
  echo "metrics/tool.sh: could not build $binary $VERSION; the go command said:" >&2
  tail -40 "$work/build.log" >&2
  exit 1
fi
rm -f "$work/build.log"
rm -rf "$out"
mv "$work" "$out"
trap - EXIT
echo "$out/$binary"
