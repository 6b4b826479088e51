#!/usr/bin/env bash
# Regenerate the hub venv's lock (roles/jupyterhub/templates/opt/jupyterhub/constraints.txt.j2) for the versions in
# roles/jupyterhub/defaults/main.yml, on the Python the hubs run (Debian 12's 3.11), in a throwaway container of the
# test-host image. Then run `make test` (docs/upgrading.md).
#
# Usage: scripts/lock-hub-venv.sh            rewrite the lock
#        scripts/lock-hub-venv.sh --check    only show what would change (exit 1 if anything would)
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
DEFAULTS=$ROOT/roles/jupyterhub/defaults/main.yml
LOCK=$ROOT/roles/jupyterhub/templates/opt/jupyterhub/constraints.txt.j2
IMAGE=${IMAGE:-hubsite/debian-systemd:bookworm}
HUBSITE_CACHE=${HUBSITE_CACHE:-/var/cache/hubsite}
NAME=hubsite-lock-$$

default() { sed -n "s/^$1: *\"\\{0,1\\}\\([^\"]*\\)\"\\{0,1\\} *\$/\\1/p" "$DEFAULTS"; }
requirements=(
  "jupyterhub==$(default jupyterhub_version)"
  "jupyterlab==$(default jupyterhub_jupyterlab_version)"
  "sudospawner==$(default jupyterhub_sudospawner_version)"
  "oauthenticator==$(default jupyterhub_oauthenticator_version)"
  "batchspawner==$(default jupyterhub_batchspawner_version)"
  "jupyterhub-idle-culler==$(default jupyterhub_idle_culler_version)"
  "psycopg2-binary==$(default jupyterhub_psycopg2_version)"
)
for r in "${requirements[@]}"; do
  [ "${r#*==}" != "" ] || { echo "lock: cannot read ${r%%==*}'s version from $DEFAULTS" >&2; exit 2; }
done

trap 'docker rm -f "$NAME" >/dev/null 2>&1 || true' EXIT
docker run -d --name "$NAME" -v "$HUBSITE_CACHE/pip:/root/.cache/pip" -v "$HUBSITE_CACHE/apt-proxy.conf:/etc/apt/apt.conf.d/01hubsite-proxy:ro" \
  "$IMAGE" sleep infinity >/dev/null
docker exec "$NAME" bash -c 'apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >/dev/null'
docker exec "$NAME" python3 -m venv /tmp/lock
docker exec "$NAME" /tmp/lock/bin/pip install -q --disable-pip-version-check "${requirements[@]}"
new=$(mktemp)
{
  echo "{{ ansible_managed | comment }}"
  echo "# The whole hub venv, locked: every version tested together (regenerate: docs/upgrading.md)."
  docker exec "$NAME" /tmp/lock/bin/pip freeze --disable-pip-version-check --exclude pip --exclude setuptools \
    --exclude wheel
} > "$new"
if [ "${1:-}" = --check ]; then
  diff -u "$LOCK" "$new" && echo "lock: up to date" && exit 0
  exit 1
fi
diff -u "$LOCK" "$new" || true
cp "$new" "$LOCK"
echo "lock: wrote $LOCK ($(grep -c '==' "$LOCK") packages for ${requirements[*]})"
