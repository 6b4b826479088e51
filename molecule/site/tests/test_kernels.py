"""The site's kernels (inventories/demo/group_vars/all/kernels.yml): a user picks one, as from the launcher, and
code runs in it with what its set-up script exported, or in its own Python environment."""

from __future__ import annotations

import json

import pytest

testinfra_hosts = ["site-hub"]

SPECS = "/usr/local/share/jupyter/kernels"


def test_the_kernel_specs_are_installed_where_servers_run(host):
    for name, display in (("experiment", "Python 3 (demo beamline)"), ("analysis", "Python 3 (analysis environment)")):
        spec = host.file(f"{SPECS}/{name}/kernel.json")
        assert (spec.user, spec.mode) == ("root", 0o644)
        content = json.loads(spec.content_string)
        assert content["display_name"] == display
        assert content["argv"] == [f"{SPECS}/{name}/launch", "-f", "{connection_file}"]
        assert host.file(f"{SPECS}/{name}/launch").mode == 0o755
    # the servers' Jupyter finds them (and keeps its own python3)
    found = json.loads(host.check_output("/opt/jupyterhub/bin/jupyter kernelspec list --json"))["kernelspecs"]
    assert {"python3", "experiment", "analysis"} <= set(found), sorted(found)
    assert found["experiment"]["resource_dir"] == f"{SPECS}/experiment"


def test_a_kernel_set_up_by_a_script_has_what_the_script_exported(probe):
    result = probe(
        "bob",
        kernel_name="experiment",
        code="import os, sys\nprint(os.environ['BEAMLINE'], os.environ['HUBSITE_KERNEL'], sys.executable)",
        expect_output=r"^demo-beamline experiment /opt/jupyterhub/bin/python3$",
        kernel_shutdown=True,
        stop=True,
    ).run()
    assert result["kernel_name"] == "experiment"
    assert [s["name"] for s in result["steps"] if not s["ok"]] == []


def test_a_kernel_with_requirements_runs_in_its_own_environment(probe, host):
    freeze = host.check_output("/opt/hubsite/kernels/analysis/bin/python -m pip freeze --all")
    assert "packaging==26.3" in freeze.splitlines()
    assert any(line.startswith("ipykernel==") for line in freeze.splitlines())
    result = probe(
        "alice",
        kernel_name="analysis",
        code="import sys, packaging\nprint(sys.prefix, packaging.__version__)",
        expect_output=r"^/opt/hubsite/kernels/analysis 26\.3$",
        kernel_shutdown=True,
        stop=True,
    ).run()
    assert result["kernel_name"] == "analysis"


@pytest.mark.parametrize("name", ["experiment", "analysis"])
def test_the_site_kernels_files_are_not_writable_by_users(host, name):
    for path in (f"{SPECS}/{name}", f"{SPECS}/{name}/launch"):
        assert host.run(f"sudo -u bob test -w {path}").rc != 0, path
