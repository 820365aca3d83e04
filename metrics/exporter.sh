#!/usr/bin/env bash
# Builds oliver006/redis_exporter (the metrics exporter) from its Go module at the version
# metrics/exporter/go.mod pins, for the real-server suite (npm test) and the exporter's image. No
# registry serves its published image here, and its release binaries are downloads: the Go module
# proxy is the one source.
#
# Usage: metrics/exporter.sh   build unless cached, then print the binary's path
#
# Cached under $MOLIS_ENGINE_CACHE (default ~/.cache/molis-valkey/engine), keyed by the Go version,
# this script and metrics/exporter: a second run takes a moment.
set -euo pipefail
cd "$(dirname "$0")/.."

fail() {
  echo "metrics/exporter.sh: $*" >&2
  exit 1
}

command -v go >/dev/null || export PATH="$PATH:/usr/local/go/bin"
command -v go >/dev/null ||
  fail "no Go toolchain on the PATH. The exporter is built from its Go module: install Go 1.25.11 or newer (this machine's image has it at /usr/local/go)."
VERSION=$(awk '$1 == "github.com/oliver006/redis_exporter" {print $2; exit}' metrics/exporter/go.mod)
[ -n "$VERSION" ] || fail "cannot read the redis_exporter version from metrics/exporter/go.mod"

key=$( (go version; cat "$0" metrics/exporter/go.mod metrics/exporter/go.sum) | sha256sum | cut -c1-16)
cache_root=${MOLIS_ENGINE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/molis-valkey/engine}
out="$cache_root/exporter-$key"
if [ -x "$out/redis_exporter" ]; then
  echo "$out/redis_exporter"
  exit 0
fi

mkdir -p "$cache_root"
work=$(mktemp -d "$cache_root/exporter-tmp.XXXXXX")
trap 'rm -rf "$work"' EXIT
echo "metrics/exporter.sh: building redis_exporter $VERSION (github.com/oliver006/redis_exporter@$VERSION)" >&2
# Static (no cgo): the binary runs on any base image, glibc or musl.
if ! (cd metrics/exporter && CGO_ENABLED=0 GOFLAGS="-mod=readonly -trimpath" go build -ldflags "-s -w -X main.BuildVersion=$VERSION" \
  -o "$work/redis_exporter" github.com/oliver006/redis_exporter) >"$work/build.log" 2>&1; then
  echo "metrics/exporter.sh: could not build redis_exporter $VERSION; the go command said:" >&2
  tail -40 "$work/build.log" >&2
  exit 1
fi
rm -f "$work/build.log"
rm -rf "$out"
mv "$work" "$out"
trap - EXIT
echo "$out/redis_exporter"
