#!/usr/bin/env bash
# Makes a local stand-in for docker.io/library/node:20-bookworm-slim, for building
# deploy/Containerfile on a machine that reaches Debian's mirrors but no container registry.
#
#   bash deploy/base-image.sh            # makes the image unless it already exists
#   bash deploy/base-image.sh --force    # makes it again
#
# What it makes: a Debian 12 (bookworm) minbase root file system from mmdebstrap (what
# debian:bookworm-slim is), with this host's Node 20 laid out as the official node image lays it
# out: /usr/local/bin/node, npm and corepack under /usr/local/lib/node_modules, npm/npx/corepack
# symlinked into /usr/local/bin, the headers in /usr/local/include/node (node-gyp compiles
# better-sqlite3 against them). It is imported with `podman import` as $BASE_IMAGE.
#
# It is not the official image: the Node binary is this host's (a NodeSource build), there is no
# yarn, and docs/man pages/locales are left out as in debian:bookworm-slim.
#
# Needs: root, podman, mmdebstrap, a Node 20 on this host (override with NODE_BIN, NODE_PREFIX).
# Environment:
#   BASE_IMAGE   image name to create (default localhost/countersign-base:node20-bookworm)
#   NODE_BIN     the node binary to copy (default: `command -v node`)
#   NODE_PREFIX  where that node's lib/node_modules/npm and include/node are (default: `npm prefix -g`)
#   MIRROR       Debian mirror (default http://deb.debian.org/debian)
#   WORKDIR      scratch directory for the root file system tarball (default /var/tmp)
set -euo pipefail

BASE_IMAGE=${BASE_IMAGE:-localhost/countersign-base:node20-bookworm}
MIRROR=${MIRROR:-http://deb.debian.org/debian}
WORKDIR=${WORKDIR:-/var/tmp}
force=0
case "${1:-}" in
  --force) force=1 ;;
  '') ;;
  -h|--help) sed -n '2,22p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
  *) echo "usage: $0 [--force]" >&2; exit 2 ;;
esac

die() { echo "base-image: $*" >&2; exit 1; }
[ "$(id -u)" = 0 ] || die "run as root (mmdebstrap's root mode, podman's root storage)"
command -v podman >/dev/null || die "podman is missing: apt-get install -y podman"
command -v mmdebstrap >/dev/null || die "mmdebstrap is missing: apt-get install -y mmdebstrap"

if [ "$force" = 0 ] && podman image exists "$BASE_IMAGE"; then
  echo "base-image: $BASE_IMAGE exists (--force to make it again)"
  exit 0
fi

NODE_BIN=${NODE_BIN:-$(command -v node || true)}
[ -n "$NODE_BIN" ] && [ -x "$NODE_BIN" ] || die "no node binary (set NODE_BIN)"
NODE_BIN=$(readlink -f "$NODE_BIN")
node_version=$("$NODE_BIN" --version)
case "$node_version" in v20.*) ;; *) die "$NODE_BIN is $node_version, not Node 20" ;; esac
NODE_PREFIX=${NODE_PREFIX:-$(npm prefix -g)}
for d in "$NODE_PREFIX/lib/node_modules/npm" "$NODE_PREFIX/include/node"; do
  [ -d "$d" ] || die "$d is missing (set NODE_PREFIX to the prefix holding lib/node_modules/npm and include/node)"
done
extra_modules=()
[ -d "$NODE_PREFIX/lib/node_modules/corepack" ] && extra_modules+=("$NODE_PREFIX/lib/node_modules/corepack")

tarball=$(mktemp "$WORKDIR/countersign-base.XXXXXX.tar")
trap 'rm -f "$tarball"' EXIT

echo "base-image: Debian bookworm minbase from $MIRROR, node $node_version from $NODE_BIN"
# The dpkg path excludes persist in the image (/etc/dpkg/dpkg.cfg.d/99mmdebstrap), as in
# debian:bookworm-slim, so packages the Containerfile installs leave out their docs too.
# The customize hooks copy Node in and make the official image's symlinks and `node` user.
mmdebstrap --variant=minbase --mode=root --format=tar \
  --dpkgopt='path-exclude=/usr/share/man/*' \
  --dpkgopt='path-exclude=/usr/share/info/*' \
  --dpkgopt='path-exclude=/usr/share/locale/*' \
  --dpkgopt='path-exclude=/usr/share/doc/*' \
  --dpkgopt='path-include=/usr/share/doc/*/copyright' \
  --customize-hook='mkdir -p "$1/usr/local/bin" "$1/usr/local/lib/node_modules" "$1/usr/local/include"' \
  --customize-hook="copy-in $NODE_BIN /usr/local/bin/" \
  --customize-hook="copy-in $NODE_PREFIX/lib/node_modules/npm ${extra_modules[*]} /usr/local/lib/node_modules/" \
  --customize-hook="copy-in $NODE_PREFIX/include/node /usr/local/include/" \
  --customize-hook='ln -sf ../lib/node_modules/npm/bin/npm-cli.js "$1/usr/local/bin/npm"' \
  --customize-hook='ln -sf ../lib/node_modules/npm/bin/npx-cli.js "$1/usr/local/bin/npx"' \
  --customize-hook='if [ -d "$1/usr/local/lib/node_modules/corepack" ]; then ln -sf ../lib/node_modules/corepack/dist/corepack.js "$1/usr/local/bin/corepack"; fi' \
  --customize-hook='chroot "$1" groupadd --gid 1000 node' \
  --customize-hook='chroot "$1" useradd --uid 1000 --gid node --shell /bin/bash --create-home node' \
  --customize-hook='chroot "$1" /usr/local/bin/node --version' \
  --customize-hook='chroot "$1" /usr/local/bin/npm --version' \
  --customize-hook='rm -rf "$1"/var/lib/apt/lists/* "$1"/var/cache/apt/*.bin' \
  bookworm "$tarball" \
  "deb $MIRROR bookworm main" \
  "deb $MIRROR bookworm-updates main" \
  "deb ${MIRROR%/debian}/debian-security bookworm-security main"

podman import \
  --change 'ENV=PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  --change "ENV=NODE_VERSION=${node_version#v}" \
  --change 'CMD=["node"]' \
  --message "countersign local base: debian bookworm minbase + node $node_version" \
  "$tarball" "$BASE_IMAGE" >/dev/null
echo "base-image: imported $BASE_IMAGE ($(podman image inspect --format '{{.Size}}' "$BASE_IMAGE") bytes)"
