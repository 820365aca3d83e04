#!/usr/bin/env bash
# Builds the stand-in for valkey/valkey:8-alpine from Debian packages, because no registry is
# reachable here: debootstrap minbase bookworm, then valkey-server (bookworm-backports) and nodejs.
# Like the official image it has a `valkey` user and a /data owned by it; unlike it, no entrypoint
# script (the program never uses one). Re-uses the image when the tag exists.
# Usage: lib/stand-in-base-image.sh [TAG]   (needs root, debootstrap and a Docker Engine)
# The tests and `npm run up` (where no registry answers) call it through lib/baseImage.ts.
set -euo pipefail

tag="${1:-${MOLIS_BASE_IMAGE:-molis-valkey-base:bookworm-8.0}}"

if docker image inspect "$tag" >/dev/null 2>&1; then
  echo "base image $tag present, re-using it"
  exit 0
fi

sources=/etc/apt/sources.list.d/debian.sources
mirror=$(awk '/^URIs:/ {print $2; exit}' "$sources" 2>/dev/null || true)
if [ -z "$mirror" ]; then
  echo "stand-in-base-image: cannot read the Debian mirror URI from $sources; set it there first" >&2
  exit 1
fi
command -v debootstrap >/dev/null || { echo "stand-in-base-image: debootstrap missing: apt-get install -y debootstrap" >&2; exit 1; }

root=$(mktemp -d /tmp/molis-base.XXXXXX)
cleanup() {
  for m in proc sys dev/pts dev; do umount "$root/$m" 2>/dev/null || true; done
  rm -rf "$root"
}
trap cleanup EXIT

echo "debootstrap bookworm into $root (takes a few minutes)"
log=/tmp/molis-debootstrap.log
debootstrap --variant=minbase bookworm "$root" "$mirror" >"$log" 2>&1 \
  || { tail -20 "$log" >&2; exit 1; }
rm -f "$log" # kept only when debootstrap failed, for its whole story

cat >"$root/etc/apt/sources.list" <<SRC
deb $mirror bookworm main
deb $mirror bookworm-updates main
deb $mirror bookworm-backports main
SRC
# Never start services inside the chroot.
printf '#!/bin/sh\nexit 101\n' >"$root/usr/sbin/policy-rc.d"
chmod 755 "$root/usr/sbin/policy-rc.d"
mount -t proc proc "$root/proc"

chroot "$root" /bin/sh -euc '
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q
  apt-get install -y -q --no-install-recommends -t bookworm-backports valkey-server
  apt-get install -y -q --no-install-recommends nodejs ca-certificates
  getent passwd valkey >/dev/null
  mkdir -p /data && chown valkey:valkey /data && chmod 0750 /data
  apt-get clean
  rm -rf /var/lib/apt/lists/* /usr/share/doc/* /usr/share/man/* /var/log/*.log
  rm -f /usr/sbin/policy-rc.d
'
umount "$root/proc"

tar -C "$root" -c . | docker import \
  --change 'WORKDIR /data' \
  --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  --change 'CMD ["valkey-server"]' \
  - "$tag" >/dev/null
echo "built $tag"
