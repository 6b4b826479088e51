"""Every inventory under tests/bad_inventories/ fails the validate play with its message, before any host is touched.

A case is a directory holding overlay files and expected.txt. Its inventory is _base/ with the overlays applied
(see build_inventory): a YAML file is deep-merged into the base file of the same path (dicts merged, anything
else replaced, the string __delete__ removes a key), any other file is copied. expected.txt holds the exact
`hubsite inventory error: ...` lines the run must print, and no others; an empty expected.txt marks a good
inventory, which must pass.

Bad cases run site.yml, which imports playbooks/validate.yml first (playbooks/validate.yml while there is no
site.yml yet); good cases run playbooks/validate.yml alone (site.yml would go on to deploy). Every host of every
case is a Docker container that does not exist, so a connection attempt would show as unreachable. The runs go
in parallel, once per session.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
CASES_DIR = Path(__file__).resolve().parent / "bad_inventories"
BASE = CASES_DIR / "_base"
DELETE = "__delete__"
PREFIX = "hubsite inventory error: "
VALIDATE_PLAY = "Validate the inventory"
VALIDATE_PLAYBOOK = ROOT / "playbooks" / "validate.yml"
SITE_PLAYBOOK = ROOT / "site.yml"
# Actions that run on the controller only: the validate play may use these and nothing else.
CONTROLLER_ACTIONS = {
    f"{namespace}{action}"
    for namespace in ("", "ansible.builtin.")
    for action in ("validate_argument_spec", "set_fact", "fail", "assert", "debug", "meta")
}
TIMEOUT = 300

CASES = sorted(path.name for path in CASES_DIR.iterdir() if path.is_dir() and not path.name.startswith("_"))


def _merge(base, overlay):
    if not isinstance(base, dict) or not isinstance(overlay, dict):
        return overlay
    result = dict(base)
    for key, value in overlay.items():
        if value == DELETE:
            result.pop(key, None)
        else:
            result[key] = _merge(result.get(key), value)
    return result


def build_inventory(case: str, dest: Path) -> Path:
    """Write the inventory of case (the base with the case's overlays) into dest; return dest."""
    shutil.copytree(BASE, dest)
    case_dir = CASES_DIR / case
    for source in sorted(case_dir.rglob("*")):
        if source.is_dir() or source.name == "expected.txt":
            continue
        target = dest / source.relative_to(case_dir)
        target.parent.mkdir(parents=True, exist_ok=True)
        if source.suffix in (".yml", ".yaml") and target.exists():
            merged = _merge(yaml.safe_load(target.read_text()), yaml.safe_load(source.read_text()))
            target.write_text("---\n" + yaml.safe_dump(merged, sort_keys=False))
        else:
            shutil.copyfile(source, target)
    return dest


def expected_lines(case: str) -> list[str]:
    text = (CASES_DIR / case / "expected.txt").read_text()
    return [line for line in text.splitlines() if line.strip()]


def _ansible_playbook() -> str:
    beside = Path(sys.executable).parent / "ansible-playbook"
    return str(beside) if beside.exists() else (shutil.which("ansible-playbook") or "ansible-playbook")


def _run(case: str, workdir: Path) -> dict:
    inventory = build_inventory(case, workdir / case)
    good = not expected_lines(case)
    playbook = VALIDATE_PLAYBOOK if good or not SITE_PLAYBOOK.exists() else SITE_PLAYBOOK
    env = dict(os.environ)
    env.update(
        ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"),
        ANSIBLE_STDOUT_CALLBACK="ansible.posix.json",
        ANSIBLE_NOCOLOR="1",
        ANSIBLE_RETRY_FILES_ENABLED="0",
        ANSIBLE_LOCAL_TEMP=str(workdir / f"{case}.tmp"),
    )
    started = time.monotonic()
    proc = subprocess.run(
        [_ansible_playbook(), "-i", str(inventory), str(playbook)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
    )
    return {
        "case": case,
        "playbook": playbook.name,
        "returncode": proc.returncode,
        "stdout": proc.stdout,
        "stderr": proc.stderr,
        "seconds": time.monotonic() - started,
    }


@pytest.fixture(scope="session")
def runs(tmp_path_factory):
    """Run every case once, in parallel; case name -> result."""
    workdir = tmp_path_factory.mktemp("bad_inventories")
    workers = max(2, (os.cpu_count() or 2) + 1)
    with ThreadPoolExecutor(max_workers=workers) as pool:
        results = list(pool.map(lambda case: _run(case, workdir), CASES))
    return {result["case"]: result for result in results}


def _report(result) -> dict:
    try:
        return json.loads(result["stdout"])
    except json.JSONDecodeError:
        pytest.fail(
            f"{result['case']}: no JSON report (rc {result['returncode']})\n"
            f"stdout:\n{result['stdout'][-3000:]}\nstderr:\n{result['stderr'][-3000:]}"
        )


def _error_lines(report) -> list[str]:
    lines = []
    for play in report.get("plays", []):
        for task in play.get("tasks", []):
            for result in task.get("hosts", {}).values():
                lines += [line for line in str(result.get("msg", "")).splitlines() if line.startswith(PREFIX)]
    return lines


def test_there_are_enough_cases():
    bad = [case for case in CASES if expected_lines(case)]
    assert len(bad) >= 24
    assert any(not expected_lines(case) for case in CASES), "a good inventory case is missing"


@pytest.mark.parametrize("case", CASES)
def test_case(case, runs):
    result = runs[case]
    report = _report(result)
    expected = expected_lines(case)
    context = f"{case} ({result['playbook']}, rc {result['returncode']}); stderr:\n{result['stderr'][-2000:]}"

    # The messages: exactly the expected lines (a good inventory: none, and success).
    assert sorted(_error_lines(report)) == sorted(expected), context
    if expected:
        assert result["returncode"] != 0, context
    else:
        assert result["returncode"] == 0, context

    # No host was touched: only the validate play ran anything, with controller-side actions only; nothing
    # changed, and no host was unreachable (which would mean a connection was attempted).
    for play in report["plays"]:
        ran = [task for task in play["tasks"] if task.get("hosts")]
        if play["play"]["name"] != VALIDATE_PLAY:
            assert not ran, f"{context}\nplay {play['play']['name']!r} ran tasks"
            continue
        for task in ran:
            for host, host_result in task["hosts"].items():
                assert host_result.get("action") in CONTROLLER_ACTIONS, (
                    f"{context}\ntask {task['task']['name']!r} on {host} used {host_result.get('action')!r}"
                )
                assert not host_result.get("changed"), f"{context}\ntask {task['task']['name']!r} changed {host}"
    for host, stats in report["stats"].items():
        assert stats["unreachable"] == 0, f"{context}\n{host} was unreachable: a connection was attempted"
        assert stats["changed"] == 0, f"{context}\n{host} changed"
