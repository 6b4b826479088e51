#!/usr/bin/env bash
# The hubsite test-host image, built from nothing but Debian's mirror (no container registry):
#   debootstrap bookworm minbase -> docker import (hubsite/debian-rootfs:<hash>)
#   -> docker build of ./Dockerfile (hubsite/debian-systemd:<hash> and hubsite/debian-systemd:bookworm)
# Idempotent: each stage is skipped while its content hash is unchanged (docs/testbed.md).
#
# Usage: scripts/image/build.sh [build|smoke|cache-test|tag]
#   build       make sure the image for the current recipe exists and is tagged :bookworm (default);
#               a fresh build ends with the smoke test
#   smoke       boot the image with the molecule platform flags; https to PyPI from inside
#   cache-test  two containers apt-install the same package at once through the apt proxy (bootstrap step aptproxy)
#   tag         print the image tag of the current recipe
# Env: HUBSITE_CACHE (/var/cache/hubsite), MIRROR, REBUILD=1 (redo both stages), NOCACHE=1 (docker build --no-cache)
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SUITE=bookworm
MIRROR=${MIRROR:-http://deb.debian.org/debian}
SECURITY_MIRROR=${SECURITY_MIRROR:-http://deb.debian.org/debian-security}
HUBSITE_CACHE=${HUBSITE_CACHE:-/var/cache/hubsite}
IMAGE_REPO=hubsite/debian-systemd
ROOTFS_REPO=hubsite/debian-rootfs
# Bump when the debootstrap stage below changes in a way the package list does not show.
ROOTFS_RECIPE_VERSION=1
WORK=$HUBSITE_CACHE/build

# The flags every molecule platform uses (docs/testbed.md), as plain `docker run` options.
PLATFORM_FLAGS=(
  --cap-add SYS_ADMIN
  --security-opt seccomp=unconfined --security-opt apparmor=unconfined
  --cgroupns host -v /sys/fs/cgroup:/sys/fs/cgroup:rw
  --tmpfs /run --tmpfs /run/lock
  --stop-signal SIGRTMIN+3
  -v "$HUBSITE_CACHE/apt-proxy.conf:/etc/apt/apt.conf.d/01hubsite-proxy:ro"
  -v "$HUBSITE_CACHE/pip:/root/.cache/pip"
  -v "$HUBSITE_CACHE/npm:/root/.npm"
)

log() { echo "image: $*"; }
die() { echo "image: ERROR: $*" >&2; exit 1; }
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f s", b - a }'; }

sha() { sha256sum | cut -c1-12; }

packages() { grep -v -e '^#' -e '^[[:space:]]*$' "$HERE/packages" | paste -sd, -; }

rootfs_tag() {
  printf '%s\n' "$ROOTFS_RECIPE_VERSION" "$SUITE" "$MIRROR" "$(packages)" | sha
}

# The host's extra CAs: what it added under /usr/local/share/ca-certificates. Without any there, the
# certificates in the host bundle that a stock Debian bundle lacks (so a proxy CA is found either way).
collect_extra_cas() {
  local dest=$1 stock_image=$2
  rm -rf "$dest"; mkdir -p "$dest"
  if find /usr/local/share/ca-certificates -name '*.crt' -type f 2>/dev/null | grep -q .; then
    find /usr/local/share/ca-certificates -name '*.crt' -type f -exec cp {} "$dest/" \;
  elif [ -r /etc/ssl/certs/ca-certificates.crt ]; then
    docker run --rm "$stock_image" cat /etc/ssl/certs/ca-certificates.crt > "$dest.stock"
    python3 - "$dest" "$dest.stock" <<'PY'
import pathlib
import re
import sys

dest, stock = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])
pem = re.compile(r"-----BEGIN CERTIFICATE-----.+?-----END CERTIFICATE-----", re.S)
known = set(pem.findall(stock.read_text()))
host = pem.findall(pathlib.Path("/etc/ssl/certs/ca-certificates.crt").read_text())
for i, cert in enumerate(c for c in host if c not in known):
    (dest / f"host-extra-{i}.crt").write_text(cert + "\n")
PY
    rm -f "$dest.stock"
  fi
}

context_dir() { echo "$WORK/ctx"; }

# The build context: this directory's recipe files, the generated sources.list and the host CAs.
prepare_context() {
  local ctx rootfs=$1
  ctx=$(context_dir)
  rm -rf "$ctx"; mkdir -p "$ctx"
  cp "$HERE/Dockerfile" "$ctx/"
  cat > "$ctx/sources.list" <<EOF
deb $MIRROR $SUITE main
deb $MIRROR $SUITE-updates main
deb $SECURITY_MIRROR $SUITE-security main
EOF
  collect_extra_cas "$ctx/extra-ca" "$rootfs"
}

# Content hash of the image recipe: every file of scripts/image plus the build context (sources, CAs).
image_tag() {
  local ctx
  ctx=$(context_dir)
  {
    (cd "$HERE" && find . -type f ! -name '*~' -print0 | LC_ALL=C sort -z | xargs -0 sha256sum)
    (cd "$ctx" && find . -type f -print0 | LC_ALL=C sort -z | xargs -0 sha256sum)
  } | sha
}

have_image() { docker image inspect "$1" >/dev/null 2>&1; }
image_id() { docker image inspect --format '{{.Id}}' "$1" 2>/dev/null; }

# Remove our own older tags of a repository (never other images; in-use ones simply stay).
prune_old_tags() {
  local repo=$1 keep=$2 tag
  for tag in $(docker image ls --format '{{.Tag}}' "$repo"); do
    case "$tag" in "$keep"|bookworm|"<none>") continue ;; esac
    docker image rm "$repo:$tag" >/dev/null 2>&1 && log "removed old $repo:$tag" || true
  done
}

build_rootfs() {
  local tag=$1 t rootfs=$WORK/rootfs
  mkdir -p "$WORK" "$HUBSITE_CACHE/debootstrap"
  rm -rf "$rootfs"
  t=$(now)
  log "debootstrap --variant=minbase $SUITE (+$(packages)) ..."
  if ! debootstrap --variant=minbase --include="$(packages)" --cache-dir="$HUBSITE_CACHE/debootstrap" \
      "$SUITE" "$rootfs" "$MIRROR" > "$WORK/debootstrap.log" 2>&1; then
    tail -n 30 "$WORK/debootstrap.log" >&2
    die "debootstrap failed (whole log: $WORK/debootstrap.log)"
  fi
  log "debootstrap: $(since "$t")"
  rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/*
  t=$(now)
  tar -C "$rootfs" --numeric-owner -c . | docker import \
    --change 'CMD ["/bin/bash"]' - "$ROOTFS_REPO:$tag" >/dev/null
  rm -rf "$rootfs"
  log "docker import -> $ROOTFS_REPO:$tag: $(since "$t")"
}

# The containers' apt goes through the machine's apt-cacher-ng (scripts/bootstrap.sh, step aptproxy).
need_apt_proxy() {
  [ -f "$HUBSITE_CACHE/apt-proxy.conf" ] || die "no $HUBSITE_CACHE/apt-proxy.conf: run scripts/bootstrap.sh (step aptproxy) first"
}

smoke() {
  local image=${1:-$IMAGE_REPO:$SUITE} name="hubsite-smoke-$$" t st="" i
  mkdir -p "$HUBSITE_CACHE/pip" "$HUBSITE_CACHE/npm"
  need_apt_proxy
  t=$(now)
  docker run -d --name "$name" "${PLATFORM_FLAGS[@]}" "$image" >/dev/null
  # shellcheck disable=SC2064
  trap "docker rm -f '$name' >/dev/null 2>&1 || true" EXIT
  for i in $(seq 1 120); do
    st=$(docker exec "$name" systemctl is-system-running 2>/dev/null || true)
    case "$st" in running | degraded) break ;; esac
    sleep 0.5
  done
  log "smoke: systemd '$st' after $(since "$t")"
  docker exec "$name" systemctl --failed --no-legend --plain || true
  [ "$st" = running ] || die "smoke: systemd is '$st', expected 'running' in $image"
  docker exec "$name" python3 -c '
import urllib.request
print("image: smoke: https://pypi.org/simple/pip/ from inside:", urllib.request.urlopen("https://pypi.org/simple/pip/", timeout=30).status)'
  docker rm -f "$name" >/dev/null
  trap - EXIT
}

# Two containers install the same package at the same time through the apt proxy: both succeed (neither waits on
# the other's lock) and the .deb is then in the proxy's cache.
cache_test() {
  local image=$IMAGE_REPO:$SUITE pkg=${CACHE_TEST_PACKAGE:-nginx-light} a="hubsite-cache-a-$$" b="hubsite-cache-b-$$"
  local t rc_a rc_b
  need_apt_proxy
  # shellcheck disable=SC2064
  trap "docker rm -f $a $b >/dev/null 2>&1 || true" EXIT
  for c in "$a" "$b"; do docker run -d --name "$c" "${PLATFORM_FLAGS[@]}" "$image" >/dev/null; done
  for c in "$a" "$b"; do docker exec "$c" apt-get update -qq; done
  t=$(now)
  docker exec "$a" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$pkg" > "$WORK/cache-test-a.log" 2>&1 &
  docker exec "$b" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$pkg" > "$WORK/cache-test-b.log" 2>&1 &
  wait %1 && rc_a=0 || rc_a=$?
  wait %2 && rc_b=0 || rc_b=$?
  log "cache-test: concurrent 'apt-get install $pkg' in 2 containers: rc $rc_a and $rc_b in $(since "$t")"
  for c in a b; do grep -E '^(Need to get|Fetched|E:|W:)' "$WORK/cache-test-$c.log" | sed "s/^/image: cache-test: [$c] /"; done
  find "$HUBSITE_CACHE/acng" -name "${pkg}_*.deb" | grep -q . || die "cache-test: no $pkg .deb in $HUBSITE_CACHE/acng"
  docker rm -f "$a" "$b" >/dev/null
  trap - EXIT
  [ "$rc_a" = 0 ] && [ "$rc_b" = 0 ] || die "cache-test: a concurrent install failed (logs: $WORK/cache-test-[ab].log)"
}

build() {
  local rtag itag t
  command -v debootstrap >/dev/null || die "debootstrap is not installed (scripts/bootstrap.sh installs it)"
  docker info >/dev/null 2>&1 || die "no Docker engine (scripts/bootstrap.sh starts one)"
  rtag=$(rootfs_tag)
  if [ "${REBUILD:-0}" = 1 ] || ! have_image "$ROOTFS_REPO:$rtag"; then
    build_rootfs "$rtag"
  fi
  prepare_context "$ROOTFS_REPO:$rtag"
  itag=$(image_tag)
  if [ "${REBUILD:-0}" != 1 ] && have_image "$IMAGE_REPO:$itag"; then
    if [ "$(image_id "$IMAGE_REPO:$itag")" != "$(image_id "$IMAGE_REPO:$SUITE")" ]; then
      docker tag "$IMAGE_REPO:$itag" "$IMAGE_REPO:$SUITE"
      log "retagged $IMAGE_REPO:$itag as :$SUITE"
    fi
    log "$IMAGE_REPO:$itag is current"
    return 0
  fi
  t=$(now)
  log "docker build -> $IMAGE_REPO:$itag ..."
  if ! docker build ${NOCACHE:+--no-cache} --build-arg "ROOTFS=$ROOTFS_REPO:$rtag" \
      --build-arg "RECIPE_HASH=$itag" -t "$IMAGE_REPO:$itag" "$(context_dir)" > "$WORK/docker-build.log" 2>&1; then
    tail -n 30 "$WORK/docker-build.log" >&2
    die "docker build failed (whole log: $WORK/docker-build.log)"
  fi
  log "docker build: $(since "$t")"
  smoke "$IMAGE_REPO:$itag"
  docker tag "$IMAGE_REPO:$itag" "$IMAGE_REPO:$SUITE"
  prune_old_tags "$IMAGE_REPO" "$itag"
  prune_old_tags "$ROOTFS_REPO" "$rtag"
  log "built $IMAGE_REPO:$itag, tagged :$SUITE"
}

case "${1:-build}" in
  build) build ;;
  smoke) smoke "${2:-}" ;;
  cache-test) cache_test ;;
  tag) prepare_context "$ROOTFS_REPO:$(rootfs_tag)" >/dev/null && echo "$IMAGE_REPO:$(image_tag)" ;;
  *) die "unknown command '$1' (build, smoke, cache-test, tag)" ;;
esac
