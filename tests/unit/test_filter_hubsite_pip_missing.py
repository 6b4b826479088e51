"""hubsite_pip_missing: which lock pins a venv does not satisfy."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
from ansible.errors import AnsibleFilterError

PLUGIN = Path(__file__).resolve().parents[2] / "filter_plugins" / "hubsite_pip_missing.py"


def _load_filter(name):
    spec = importlib.util.spec_from_file_location(f"_hubsite_test_{PLUGIN.stem}", PLUGIN)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.FilterModule().filters()[name]


pip_missing = _load_filter("hubsite_pip_missing")

LOCK = """# Ansible managed
# The whole hub venv, locked
jupyterhub==6.1.1
jupyter_server==2.17.0
PyYAML==6.0.3
"""


def test_everything_installed():
    freeze = "jupyterhub==6.1.1\njupyter-server==2.17.0\npyyaml==6.0.3\nextra==1.0\n"
    assert pip_missing(LOCK, freeze) == []


def test_missing_venv_returns_the_whole_lock():
    assert pip_missing(LOCK, "") == ["jupyterhub==6.1.1", "jupyter_server==2.17.0", "PyYAML==6.0.3"]
    assert pip_missing(LOCK, None) == ["jupyterhub==6.1.1", "jupyter_server==2.17.0", "PyYAML==6.0.3"]


def test_other_version_is_missing():
    freeze = ["jupyterhub==6.1.0", "jupyter.server==2.17.0", "pyyaml==6.0.3"]
    assert pip_missing(LOCK, freeze) == ["jupyterhub==6.1.1"]


@pytest.mark.parametrize("name", ["Jupyter_Server", "jupyter-server", "jupyter.server", "JUPYTER__SERVER"])
def test_names_compare_as_pip_does(name):
    assert pip_missing(f"{name}==2.17.0", "jupyter_server==2.17.0") == []


def test_extras_options_and_comments_ignored():
    lock = "--constraint c.txt\n-r base.txt\n\npsycopg[binary]==3.2.1  # the driver\n"
    assert pip_missing(lock, "psycopg==3.2.1") == []
    assert pip_missing(lock, "psycopg==3.2.0") == ["psycopg[binary]==3.2.1"]


def test_editable_and_url_installs_in_freeze_are_ignored():
    freeze = "-e git+https://example.org/x.git#egg=x\nfoo @ file:///tmp/foo.whl\njupyterhub==6.1.1\n"
    assert pip_missing("jupyterhub==6.1.1", freeze) == []


@pytest.mark.parametrize("line", ["jupyterhub>=6", "jupyterhub", "jupyterhub~=6.1"])
def test_a_lock_line_that_is_not_a_pin_is_refused(line):
    with pytest.raises(AnsibleFilterError, match=r"line 1 of the lock is not 'name==version'"):
        pip_missing(line, "")


@pytest.mark.parametrize("bad", [42, {"a": 1}, [1, 2]])
def test_bad_types_are_refused(bad):
    with pytest.raises(AnsibleFilterError, match="must be text or a list of strings"):
        pip_missing(bad, "")
    with pytest.raises(AnsibleFilterError, match="must be text or a list of strings"):
        pip_missing("a==1", bad)
