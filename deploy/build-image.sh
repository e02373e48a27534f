#!/usr/bin/env bash
# Builds deploy/Containerfile with podman and checks the image's contents without starting a
# container (on these machines `podman run` is refused: crun cannot set RLIMIT_NOFILE).
#
#   bash deploy/build-image.sh [extra podman build arguments, e.g. --no-cache]
#
# 1. Makes the local base image with deploy/base-image.sh if it is missing (no registry here).
# 2. Builds with `--isolation chroot` (buildah runs the RUN steps itself, without crun).
#    When NODE_EXTRA_CA_CERTS names a file (a TLS-intercepting proxy's CA), it is passed to
#    `npm ci` as the build secret `build-ca`; it is in no layer of the image.
# 3. Creates (never starts) a container of the image, mounts its file system and, in a chroot
#    of it, runs the image's node and CLI: --version, --help, init and doctor as the image's
#    user, the tools the executor needs. `sandbox check` runs in the image's file system entered
#    with the host's bubblewrap (pivot_root, not chroot: the kernel refuses a chrooted process
#    a user namespace, so bubblewrap cannot work inside a plain chroot).
#    The container is removed at the end; the image is left unchanged.
#
# Needs root and podman (apt-get install -y podman mmdebstrap). Exit status 1 if a check fails.
# Environment: IMAGE (default localhost/countersign:latest), BASE_IMAGE (default
# localhost/countersign-base:node20-bookworm; any image laid out like node:20-bookworm-slim).
set -euo pipefail

IMAGE=${IMAGE:-localhost/countersign:latest}
BASE_IMAGE=${BASE_IMAGE:-localhost/countersign-base:node20-bookworm}
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
[ "$(id -u)" = 0 ] || { echo "build-image: run as root" >&2; exit 1; }

stamp() { date +%s; }
t0=$(stamp)
if ! podman image exists "$BASE_IMAGE"; then
  BASE_IMAGE=$BASE_IMAGE bash deploy/base-image.sh
fi
t1=$(stamp)

build_args=(--isolation chroot --layers -f deploy/Containerfile -t "$IMAGE"
  --build-arg "BASE_IMAGE=$BASE_IMAGE")
if [ -n "${NODE_EXTRA_CA_CERTS:-}" ] && [ -r "$NODE_EXTRA_CA_CERTS" ]; then
  build_args+=(--secret "id=build-ca,src=$NODE_EXTRA_CA_CERTS")
fi
echo "+ podman build ${build_args[*]} $* ."
podman build "${build_args[@]}" "$@" .
t2=$(stamp)

# ---- inspection, without a runtime ----
results=()
failed=0
check() { # check NAME COMMAND...: runs COMMAND, records PASS or FAIL
  local name=$1; shift
  local out
  if out=$("$@" 2>&1); then
    results+=("PASS  $name")
  else
    results+=("FAIL  $name"); failed=1
  fi
  printf '== %s\n%s\n' "$name" "$out"
}

ctr=countersign-inspect-$$
cleanup() { podman umount "$ctr" >/dev/null 2>&1 || true; podman rm -f "$ctr" >/dev/null 2>&1 || true; }
trap cleanup EXIT
podman create --name "$ctr" "$IMAGE" >/dev/null   # creates, never starts
mnt=$(podman mount "$ctr")
cli=/opt/countersign/bin/countersign.js
in_image() { chroot "$mnt" /usr/bin/env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/tmp "$@"; }
as_user() { chroot --userspec=65532:65532 "$mnt" /usr/bin/env -i PATH=/usr/local/bin:/usr/bin:/bin HOME=/tmp \
  COUNTERSIGN_DIR=/var/lib/countersign "$@"; }
export mnt; export -f in_image as_user   # for the `bash -c` checks

config=$(podman image inspect --format \
  'user={{.Config.User}} entrypoint={{.Config.Entrypoint}} cmd={{.Config.Cmd}} ports={{.Config.ExposedPorts}} volumes={{.Config.Volumes}} env={{.Config.Env}}' "$IMAGE")
check "image config: user 65532, entrypoint node countersign.js, cmd api, port 7400, volume" \
  bash -c 'echo "$1"; [[ $1 == *"user=65532:65532"* && $1 == *"/opt/countersign/bin/countersign.js"* && $1 == *"cmd=[api --host 0.0.0.0]"* && $1 == *7400* && $1 == *"/var/lib/countersign"* && $1 == *"COUNTERSIGN_DIR=/var/lib/countersign"* ]]' _ "$config"
check "node >= 20.19 at /usr/local/bin/node" \
  in_image /usr/local/bin/node -e 'const [a,b]=process.versions.node.split(".").map(Number); console.log(process.version); process.exit(a===20&&b>=19||a>20?0:1)'
want=$(node -p 'require("./package.json").version' 2>/dev/null || sed -n 's/^  "version": "\(.*\)",/\1/p' package.json)
check "countersign --version is $want" bash -c 'v=$(in_image node "$2" --version) && echo "$v" && [ "$v" = "$1" ]' _ "$want" "$cli"
check "countersign --help" bash -c '"$@" --help | head -3 | grep "Usage: countersign"' _ in_image node "$cli"
check "better-sqlite3's native addon loads" \
  in_image node -e 'const D=require("/opt/countersign/node_modules/better-sqlite3"); console.log("sqlite", new D(":memory:").prepare("select sqlite_version() v").get().v)'
check "no devDependencies (typescript, vite, esbuild, tsx absent)" \
  bash -c 'for p in typescript vite esbuild tsx; do [ ! -e "$1/opt/countersign/node_modules/$p" ] || { echo "$p present"; exit 1; }; done; du -sh "$1/opt/countersign/node_modules" | cut -f1' _ "$mnt"
check "executor tools: bwrap, socat, prlimit, python3 + seccomp, pg_dump, pg_restore" \
  in_image sh -c 'for b in bwrap socat prlimit python3 pg_dump pg_restore; do command -v $b || exit 1; done; python3 -c "import seccomp; print(\"python3-seccomp\", seccomp.__file__)"; pg_dump --version'
check "/var/lib/countersign owned by 65532, mode 700" \
  bash -c 's=$(stat -c "%u:%g %a" "$1/var/lib/countersign") && echo "$s" && [ "$s" = "65532:65532 700" ]' _ "$mnt"
check "init as uid 65532 in /var/lib/countersign (SQLite)" \
  bash -c '"$@" /opt/countersign/bin/countersign.js init --json | grep -E "\"(dir|store)\""' _ as_user node
check "doctor as uid 65532: only the sandbox row fails (no sandbox in a chroot, nor as non-root)" \
  bash -c 'out=$("$@" /opt/countersign/bin/countersign.js doctor); echo "$out" | grep -E "^Data directory|\*\*FAIL\*\*"; [ "$(echo "$out" | grep -c "| \*\*FAIL\*\* |")" = 1 ] && echo "$out" | grep -q "^| Sandbox available and enforced | \*\*FAIL\*\*"' _ as_user node
if command -v bwrap >/dev/null; then
  # The image's file system as / (pivot_root), with the host's /proc, /dev and /sys: the image's
  # bubblewrap, seccomp filter, prlimit and socat make a probe sandbox, as root (the executor's user).
  enter() { bwrap --bind "$mnt" / --dev-bind /proc /proc --dev-bind /dev /dev --bind /sys /sys --tmpfs /tmp \
    --cap-add ALL --clearenv --setenv PATH /usr/local/bin:/usr/bin:/bin --setenv HOME /tmp \
    --setenv COUNTERSIGN_DIR /var/lib/countersign --chdir /tmp -- "$@"; }
  export -f enter
  check "sandbox check as root (image entered with the host's bubblewrap)" enter node "$cli" sandbox check
  check "doctor as root: exit 0, no FAIL" bash -c 'out=$("$@"); rc=$?; echo "$out" | grep -E "^Data directory|FAIL"; exit $rc' _ enter node "$cli" doctor
else
  results+=("SKIP  sandbox check (no bwrap on the host to enter the image with)")
fi
t3=$(stamp)

size=$(podman image inspect --format '{{.Size}}' "$IMAGE")
echo
echo "== summary: $IMAGE ($((size / 1000000)) MB), never started as a container"
printf '%s\n' "${results[@]}"
echo "base image $((t1 - t0)) s, build $((t2 - t1)) s, inspection $((t3 - t2)) s"
exit "$failed"
