#!/usr/bin/env bash
# Make this machine ready for `make demo` and `make test` (and CI, which runs `make test`).
# Run as root on Debian 12. Idempotent: every step checks first and is skipped when already done, so a second
# run takes a second or two. Steps (docs/testbed.md):
#   apt          docker.io, debootstrap, git, make, wrk (bench/front), python3-venv (only if `python3 -m venv` cannot
#                work) ...
#   docker       a running Docker engine: systemctl when systemd is PID 1, otherwise dockerd in the background
#   caches       /var/cache/hubsite/{pip,npm,dl}: download caches shared by every test container
#   aptproxy     apt-cacher-ng on port 3149 (cache /var/cache/hubsite/acng), and apt-proxy.conf that every test
#                container mounts: a .deb is fetched once per machine and no container waits on another's apt lock
#   venv         .venv from requirements.txt (rebuilt only when requirements.txt or the Python changes)
#   collections  requirements.yml into the venv: ansible-galaxy, or else the PyPI `ansible` wheel; versions verified
#   image        hubsite/debian-systemd:<recipe hash> and :bookworm (scripts/image/build.sh)
#
# Env: HUBSITE_BOOTSTRAP_STEPS   the steps to run (default: all, in the order above)
#      ANSIBLE_WHEEL_VERSION     the PyPI `ansible` release whose collections requirements.yml pins (12.3.0)
#      HUBSITE_COLLECTIONS_FROM  auto (Galaxy, then the wheel) | galaxy | wheel
#      GALAXY_TIMEOUT            seconds to give Galaxy before falling back to the wheel (20)
#      PYTHON                    interpreter for the venv (python3; Debian 12's is 3.11)
#      HUBSITE_CACHE             /var/cache/hubsite
#      HUBSITE_APT_PROXY_PORT    the test bed's apt-cacher-ng port (3149: not 3142, a site's own apt-cacher-ng)
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
ANSIBLE_WHEEL_VERSION=${ANSIBLE_WHEEL_VERSION:-12.3.0}
HUBSITE_CACHE=${HUBSITE_CACHE:-/var/cache/hubsite}
HUBSITE_COLLECTIONS_FROM=${HUBSITE_COLLECTIONS_FROM:-auto}
GALAXY_TIMEOUT=${GALAXY_TIMEOUT:-20}
PYTHON=${PYTHON:-python3}
VENV=$ROOT/.venv
DOCKERD_LOG=/var/log/hubsite-dockerd.log
STEPS=${HUBSITE_BOOTSTRAP_STEPS:-apt docker caches aptproxy venv collections image wheels}
APT_PROXY_PORT=${HUBSITE_APT_PROXY_PORT:-3149}
export HUBSITE_CACHE

now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f s", b - a }'; }
log() { echo "bootstrap: $*"; }
die() { echo "bootstrap: ERROR: $*" >&2; exit 1; }
need_root() { [ "$(id -u)" = 0 ] || die "$1 needs root: run 'sudo $0' (or make ... as root)"; }
# pip through a filter for the noise of machines that list unreachable local indexes in their pip.conf
# (with pipefail the pipeline's status is pip's)
quiet_pip() {
  "$VENV/bin/pip" --disable-pip-version-check "$@" 2>&1 | { grep -v -e 'is ignored' -e '^$' || true; }
}

# ---------------------------------------------------------------------------------------------------------------
step_apt() {
  local missing=() cmd pkg
  # command -> the Debian package that provides it
  for cmd in dockerd:docker.io containerd:containerd debootstrap:debootstrap git:git make:make \
      flock:util-linux nsenter:util-linux ip:iproute2 sha256sum:coreutils wget:wget gpgv:gpgv wrk:wrk \
      apt-cacher-ng:apt-cacher-ng kinit:krb5-user; do
    command -v "${cmd%%:*}" >/dev/null 2>&1 || missing+=("${cmd#*:}")
  done
  [ -e /etc/ssl/certs/ca-certificates.crt ] || missing+=(ca-certificates)
  # the auth scenario's Kerberos single sign-on client (/usr/bin/python3 with Debian's python-gssapi)
  [ -e /usr/lib/python3/dist-packages/gssapi/__init__.py ] || missing+=(python3-gssapi)
  [ -e /usr/share/keyrings/debian-archive-keyring.gpg ] || missing+=(debian-archive-keyring)
  command -v "$PYTHON" >/dev/null 2>&1 || missing+=(python3)
  # `python3 -m venv` needs ensurepip, which Debian ships in python3-venv (pyenv builds have it)
  if command -v "$PYTHON" >/dev/null 2>&1 && ! "$PYTHON" -c 'import ensurepip, venv' 2>/dev/null; then
    pkg=python3-venv
    case "$(command -v "$PYTHON")" in /usr/bin/*) pkg=$(basename "$(readlink -f "$(command -v "$PYTHON")")")-venv ;; esac
    missing+=("$pkg")
  fi
  if [ ${#missing[@]} = 0 ]; then
    SKIPPED="all present"
    return 0
  fi
  need_root "installing ${missing[*]}"
  log "apt-get install ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
}

step_docker() {
  local i pid1
  if docker info >/dev/null 2>&1; then
    SKIPPED="engine running"
    return 0
  fi
  need_root "starting the Docker engine"
  pid1=$(ps -p 1 -o comm= 2>/dev/null || cat /proc/1/comm)
  if [ "$pid1" = systemd ]; then
    log "systemctl enable --now docker"
    systemctl enable --now docker.service
  elif pgrep -x dockerd >/dev/null; then
    log "dockerd is running but not answering yet; waiting"
  else
    log "no systemd as PID 1: starting dockerd in the background (log: $DOCKERD_LOG)"
    # setsid: its own session, so neither Ctrl-C in make nor the end of this script stops it
    # 9>&-: the engine must not inherit (and so hold forever) the bootstrap lock
    setsid dockerd >>"$DOCKERD_LOG" 2>&1 </dev/null 9>&- &
  fi
  for i in $(seq 1 120); do
    docker info >/dev/null 2>&1 && return 0
    sleep 0.5
  done
  tail -n 20 "$DOCKERD_LOG" >&2 2>/dev/null || true
  die "the Docker engine did not answer within 60 s (log: $DOCKERD_LOG)"
}

step_caches() {
  local d missing=0
  for d in pip npm dl; do [ -d "$HUBSITE_CACHE/$d" ] || missing=1; done
  if [ "$missing" = 0 ]; then
    SKIPPED="present"
    return 0
  fi
  need_root "creating $HUBSITE_CACHE"
  mkdir -p "$HUBSITE_CACHE"/{pip,npm,dl}
}

# The test containers' apt goes through one apt-cacher-ng on this machine. Sharing /var/cache/apt/archives instead
# (bind-mounted into every container) fetched each package once too, but apt holds that directory's lock for the
# whole of an install, so every container's apt run waited for every other's, machine-wide. The daemon runs with
# its own configuration (no Remap rules: it caches the URLs the containers ask for, deb.debian.org as configured in
# the image, instead of choosing a mirror of its own) and is started here because there is no systemd as PID 1.
port_answers() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

step_aptproxy() {
  local conf=$HUBSITE_CACHE/acng-conf/acng.conf out=$HUBSITE_CACHE/apt-proxy.conf gw want_conf want_out
  gw=$(ip -4 -o addr show docker0 2>/dev/null | awk '{ split($4, a, "/"); print a[1]; exit }')
  [ -n "$gw" ] || die "no IPv4 address on docker0: the test containers could not reach the apt proxy"
  # Release files are fetched anew for every client, never stored: two clients asking for one in the same second
  # made apt-cacher-ng fail to store it ("File exists") and one client's apt hang. Package lists (by-hash) and .debs
  # are cached.
  want_conf=$(printf '%s\n' "# written by scripts/bootstrap.sh: the test bed's apt cache (docs/testbed.md)" \
    "CacheDir: $HUBSITE_CACHE/acng" "LogDir: /var/log/hubsite-acng" "SupportDir: /usr/lib/apt-cacher-ng" \
    "Port: $APT_PROXY_PORT" "BindAddress: 0.0.0.0" "PidFile: /run/hubsite-acng.pid" "ForeGround: 0" \
    "ExThreshold: 4" "DontCache: /(In)?Release(\\.gpg)?$")
  # a request that hangs is given up after 30 s and retried (3 times), rather than waited for forever
  want_out="Acquire::http::Proxy \"http://$gw:$APT_PROXY_PORT\"; Acquire::http::Timeout \"30\"; Acquire::Retries \"3\";"
  if port_answers "$APT_PROXY_PORT" && [ "$(cat "$conf" 2>/dev/null)" = "$want_conf" ] \
      && [ "$(cat "$out" 2>/dev/null)" = "$want_out" ]; then
    SKIPPED="apt-cacher-ng answers on $APT_PROXY_PORT"
    return 0
  fi
  need_root "starting apt-cacher-ng"
  mkdir -p "$(dirname "$conf")" "$HUBSITE_CACHE/acng" /var/log/hubsite-acng
  echo "$want_conf" > "$conf"
  # ours may be running with an older configuration: restart it
  if port_answers "$APT_PROXY_PORT" && [ -f /run/hubsite-acng.pid ]; then
    kill "$(cat /run/hubsite-acng.pid)" 2>/dev/null || true
    for _ in $(seq 1 40); do port_answers "$APT_PROXY_PORT" || break; sleep 0.25; done
  fi
  if ! port_answers "$APT_PROXY_PORT"; then
    log "starting apt-cacher-ng on port $APT_PROXY_PORT (log: /var/log/hubsite-acng)"
    setsid /usr/sbin/apt-cacher-ng -c "$(dirname "$conf")" </dev/null >>/var/log/hubsite-acng/daemon.log 2>&1 9>&- &
    for _ in $(seq 1 40); do
      port_answers "$APT_PROXY_PORT" && break
      sleep 0.25
    done
    port_answers "$APT_PROXY_PORT" || die "apt-cacher-ng did not answer on port $APT_PROXY_PORT (log: /var/log/hubsite-acng)"
  fi
  echo "$want_out" > "$out"
}

venv_stamp() {
  # what the venv was made from: requirements.txt and the exact interpreter
  { sha256sum < "$ROOT/requirements.txt"; "$PYTHON" -c 'import sys; print(sys.version)'; } | sha256sum | cut -c1-16
}

step_venv() {
  local stamp
  "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
    || die "$PYTHON is $("$PYTHON" -V 2>&1); requirements.txt needs Python 3.11 or newer (set PYTHON=...)"
  stamp=$(venv_stamp)
  if [ -x "$VENV/bin/python" ] && "$VENV/bin/python" -c '' 2>/dev/null \
      && [ "$(cat "$VENV/.hubsite-stamp" 2>/dev/null)" = "$stamp" ]; then
    SKIPPED="requirements.txt unchanged"
    return 0
  fi
  log "creating $VENV from requirements.txt ($("$PYTHON" -V 2>&1))"
  rm -rf "$VENV"
  "$PYTHON" -m venv "$VENV"
  quiet_pip install -q -r "$ROOT/requirements.txt" || die "pip install -r requirements.txt failed"
  echo "$stamp" > "$VENV/.hubsite-stamp"
}

site_packages() { "$VENV/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])'; }

collections_check() {
  "$VENV/bin/python" "$ROOT/scripts/pinned_collections.py" check --requirements "$ROOT/requirements.yml" --dest "$1"
}

step_collections() {
  local sp wheel
  sp=$(site_packages)
  if collections_check "$sp" >/dev/null 2>&1; then
    SKIPPED="$(collections_check "$sp")"
    return 0
  fi
  if [ "$HUBSITE_COLLECTIONS_FROM" != wheel ]; then
    log "ansible-galaxy collection install -r requirements.yml (timeout ${GALAXY_TIMEOUT}s)"
    if timeout "$GALAXY_TIMEOUT" "$VENV/bin/ansible-galaxy" collection install --no-deps --force \
        -r "$ROOT/requirements.yml" -p "$sp" >"$ROOT/.cache/galaxy.log" 2>&1; then
      log "installed from Galaxy"
    else
      [ "$HUBSITE_COLLECTIONS_FROM" = galaxy ] && { cat "$ROOT/.cache/galaxy.log" >&2; die "Galaxy install failed"; }
      log "Galaxy unreachable ($(tail -n 1 "$ROOT/.cache/galaxy.log" | cut -c1-100)); using the PyPI ansible wheel"
    fi
  fi
  if ! collections_check "$sp" >/dev/null 2>&1; then
    wheel=$HUBSITE_CACHE/dl/ansible-$ANSIBLE_WHEEL_VERSION-py3-none-any.whl
    if [ ! -s "$wheel" ]; then
      log "pip download ansible==$ANSIBLE_WHEEL_VERSION (about 55 MB) -> $HUBSITE_CACHE/dl"
      mkdir -p "$HUBSITE_CACHE/dl"
      quiet_pip download -q --no-deps --only-binary=:all: "ansible==$ANSIBLE_WHEEL_VERSION" -d "$HUBSITE_CACHE/dl" \
        || die "could not download ansible==$ANSIBLE_WHEEL_VERSION from PyPI"
    fi
    log "extracting the pinned collections from $(basename "$wheel")"
    "$VENV/bin/python" "$ROOT/scripts/pinned_collections.py" extract --requirements "$ROOT/requirements.yml" \
      --dest "$sp" --wheel "$wheel" >/dev/null 2>&1 || true
  fi
  # the verdict, loud either way
  collections_check "$sp" || die "the installed collections differ from requirements.yml (see above): \
fix the pins, or ANSIBLE_WHEEL_VERSION=<the ansible release that bundles exactly these versions>"
}

step_image() {
  "$ROOT/scripts/image/build.sh" build
}

# The hub venv's wheels, fetched once per machine and lock: every test container mounts $HUBSITE_CACHE/wheels
# read-only and installs the hub venv from it offline (jupyterhub_pip_find_links, jupyterhub_pip_no_index), as a
# site without PyPI would from its artifacts directory. pip's HTTP cache cannot do this here: the intercepting
# proxy answers without caching headers, so pip caches nothing and every container would download ~115 wheels.
# `pip wheel` fetches each pinned wheel (and builds the few sdists into wheels) for this machine's Python, which
# is the hosts' (Debian 12's 3.11, x86_64).
step_wheels() {
  local lock=$ROOT/roles/jupyterhub/templates/opt/jupyterhub/constraints.txt.j2 dir=$HUBSITE_CACHE/wheels hash req
  hash=$(grep -v '^{{' "$lock" | sha256sum | cut -c1-12)
  if [ -f "$dir/.lock-$hash" ]; then
    SKIPPED="wheels of lock $hash present"
    return 0
  fi
  mkdir -p "$dir"
  req=$(mktemp)
  grep -v -e '^{{' -e '^#' -e '^$' "$lock" > "$req"
  log "pip wheel: the $(wc -l < "$req") packages of the hub venv's lock -> $dir"
  quiet_pip wheel -q --no-deps -r "$req" -w "$dir" || { rm -f "$req"; die "pip wheel of the hub lock failed"; }
  rm -f "$req"
  touch "$dir/.lock-$hash"
}

# ---------------------------------------------------------------------------------------------------------------
mkdir -p "$ROOT/.cache"
# one bootstrap at a time on a machine (a demo and a test run started together share the engine and the image)
exec 9>>/run/lock/hubsite-bootstrap.lock 2>/dev/null || exec 9>>"$ROOT/.cache/bootstrap.lock"
flock 9
T0=$(now)
for step in $STEPS; do
  declare -F "step_$step" >/dev/null || die "unknown step '$step' in HUBSITE_BOOTSTRAP_STEPS"
  SKIPPED=""
  t=$(now)
  "step_$step"
  if [ -n "$SKIPPED" ]; then
    log "[$step] ok, $(since "$t") (skipped: $SKIPPED)"
  else
    log "[$step] ok, $(since "$t")"
  fi
done
log "ready in $(since "$T0")"
