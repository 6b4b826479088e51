#!/usr/bin/env bash
# The test stages behind `make test` (and `make lint`, `make unit`, `make syntax`, `make molecule`).
#
#   scripts/test.sh [STAGE ...]        default: bootstrap lint unit syntax molecule
#
# Stages:
#   bootstrap  scripts/bootstrap.sh (apt, Docker engine, caches, venv, collections, image)
#   lint       yamllint, ansible-lint (production profile, offline), ruff check, ruff format --check
#   unit       pytest tests/ (filters, the probe, the malformed inventories)
#   syntax     for every inventory under inventories/: site.yml --syntax-check, and the validate play
#   molecule   `molecule test -s <scenario>` for every scenario under molecule/ (or only $SCENARIO), two at a time
#              (HUBSITE_TEST_JOBS);
#              each scenario is reported as its own stage, molecule:<scenario>
#
# Every stage runs even when an earlier one failed. Each writes its whole output to .cache/test-logs/<stage>.log;
# a failed stage's log tail is printed. The last line is the summary, e.g.
#   make test: 5 stages, 5 passed, 0 failed (bootstrap 2 s, lint 61 s, unit 58 s, syntax 9 s, molecule:site 420 s)
# and the exit status is 1 when any stage failed (2 for a usage error).
#
# Env: STAGES     the stages to run, instead of the arguments (e.g. STAGES="lint unit")
#      SCENARIO   run only this molecule scenario (several: SCENARIO="site other")
#      TEST_LABEL the summary's first word(s) (the Makefile passes "make <target>")
#      TAIL       lines of a failed stage's log to print (60)
set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT" || exit 2
VENV=$ROOT/.venv
LOGS=$ROOT/.cache/test-logs
TAIL=${TAIL:-60}
LABEL=${TEST_LABEL:-scripts/test.sh}
ALL_STAGES="bootstrap lint unit syntax molecule"

# The same tools and settings for every stage, whatever the caller's environment.
export PATH="$VENV/bin:$PATH"
export ANSIBLE_CONFIG=$ROOT/ansible.cfg
export NO_COLOR=1 PY_COLORS=0 ANSIBLE_NOCOLOR=1 ANSIBLE_FORCE_COLOR=0 PYTHONDONTWRITEBYTECODE=1
# molecule keeps its state under ~/.ansible/tmp, named after the project directory's basename: a private HOME
# keeps it apart from other checkouts and sessions (docs/testbed.md)
MOLECULE_HOME=$ROOT/.cache/molecule-home

now() { date +%s.%N; }
seconds() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.0f", b - a }'; }
say() { echo "test: $*"; }

need_venv() {
  [ -x "$VENV/bin/ansible-playbook" ] && return 0
  echo "no controller venv at $VENV: run 'make bootstrap' (scripts/bootstrap.sh) first"
  return 1
}

# --- the stages: each prints to stdout/stderr (captured into its log) and returns non-zero on failure ---------

stage_bootstrap() {
  "$ROOT/scripts/bootstrap.sh"
}

stage_lint() {
  local rc=0 t tool
  need_venv || return 1
  # bench scripts are Python without the .py suffix: ruff reads them only when named
  for tool in "yamllint --strict ." "ansible-lint" "ruff check . bench/converge bench/front bench/failover bench/spawn" \
      "ruff format --check . bench/converge bench/front bench/failover bench/spawn"; do
    t=$(now)
    echo "=== $tool"
    # shellcheck disable=SC2086 # the tool and its arguments
    if $tool; then
      echo "=== $tool: ok ($(seconds "$t" "$(now)") s)"
    else
      echo "=== $tool: FAILED ($(seconds "$t" "$(now)") s)"
      rc=1
    fi
  done
  return $rc
}

stage_unit() {
  need_venv || return 1
  pytest tests/
}

inventories() {
  find "$ROOT/inventories" -mindepth 1 -maxdepth 1 -type d ! -name '.*' -printf '%f\n' | LC_ALL=C sort
}

stage_syntax() {
  local rc=0 inv
  need_venv || return 1
  for inv in $(inventories); do
    echo "=== inventories/$inv: site.yml --syntax-check"
    ansible-playbook -i "inventories/$inv" site.yml --syntax-check || { echo "=== FAILED"; rc=1; }
    # the validate play makes no connection, so the hosts need not exist (the demo's containers, for one)
    echo "=== inventories/$inv: playbooks/validate.yml"
    ansible-playbook -i "inventories/$inv" playbooks/validate.yml || { echo "=== FAILED"; rc=1; }
  done
  return $rc
}

scenarios() {
  if [ -n "${SCENARIO:-}" ]; then
    echo "$SCENARIO" | tr ' ,' '\n\n' | grep -v '^$'
  else
    # the biggest first (most platforms, so the longest): the two lanes then finish closer together
    local f
    for f in "$ROOT"/molecule/*/molecule.yml; do
      [ -f "$f" ] || continue
      printf '%s %s\n' "$(grep -c '^  - name:' "$f")" "$(basename "$(dirname "$f")")"
    done | LC_ALL=C sort -k1,1nr -k2,2 | cut -d' ' -f2
  fi
}

stage_molecule_scenario() {
  local name=$1
  need_venv || return 1
  if [ ! -f "$ROOT/molecule/$name/molecule.yml" ]; then
    echo "no scenario '$name': molecule/$name/molecule.yml does not exist (scenarios: $(scenarios_all))"
    return 1
  fi
  mkdir -p "$MOLECULE_HOME"
  HOME=$MOLECULE_HOME molecule test -s "$name"
}

scenarios_all() { SCENARIO="" scenarios | paste -sd' ' -; }

# --- the driver --------------------------------------------------------------------------------------------------

stages=${STAGES:-${*:-$ALL_STAGES}}
for s in $stages; do
  case " $ALL_STAGES " in *" $s "*) ;; *) echo "$LABEL: unknown stage '$s' (stages: $ALL_STAGES)" >&2; exit 2 ;; esac
done

mkdir -p "$LOGS"
results=()   # "name seconds ok|FAILED"

run_stage() {
  local name=$1 log t rc secs
  shift
  log=$LOGS/${name//:/-}.log
  say "[$name] running (log: ${log#"$ROOT"/})"
  t=$(now)
  "$@" >"$log" 2>&1
  rc=$?
  secs=$(seconds "$t" "$(now)")
  if [ "$rc" = 0 ]; then
    say "[$name] passed in $secs s"
    results+=("$name $secs ok")
  else
    say "[$name] FAILED (exit $rc) in $secs s; last $TAIL lines of ${log#"$ROOT"/}:"
    tail -n "$TAIL" "$log" | sed 's/^/    /'
    results+=("$name $secs FAILED")
  fi
}

for s in $stages; do
  if [ "$s" = molecule ]; then
    list=$(scenarios)
    if [ -z "$list" ]; then
      say "[molecule] no scenarios under molecule/"
      results+=("molecule 0 FAILED")
      continue
    fi
    # HUBSITE_TEST_JOBS scenarios at once (default 2): much of a converge waits on downloads, package installs and
    # boots, so two share this 2-core machine well. Each has its own containers, network and log; no test asserts
    # a time, so a loaded machine slows a scenario down without failing it.
    running=0
    for name in $list; do
      if [ "$running" -ge "${HUBSITE_TEST_JOBS:-2}" ]; then
        wait -n || true
        running=$((running - 1))
      fi
      rm -f "$LOGS/.result-$name"
      ( run_stage "molecule:$name" stage_molecule_scenario "$name"
        printf '%s\n' "${results[-1]}" >"$LOGS/.result-$name" ) &
      running=$((running + 1))
    done
    wait
    for name in $list; do
      results+=("$(cat "$LOGS/.result-$name" 2>/dev/null || echo "molecule:$name 0 FAILED")")
      rm -f "$LOGS/.result-$name"
    done
  else
    run_stage "$s" "stage_$s"
  fi
done

passed=0 failed=0 times=()
for r in "${results[@]}"; do
  read -r name secs verdict <<<"$r"
  if [ "$verdict" = ok ]; then
    passed=$((passed + 1))
    times+=("$name $secs s")
  else
    failed=$((failed + 1))
    times+=("$name FAILED $secs s")
  fi
done
n=${#results[@]}
summary=$(IFS=,; echo "${times[*]}" | sed 's/,/, /g')
echo "$LABEL: $n stage$([ "$n" = 1 ] || echo s), $passed passed, $failed failed ($summary)"
[ "$failed" = 0 ]
