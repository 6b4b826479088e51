"""Fixtures every scenario's testinfra suite shares: the molecule inventory, the site's generated secrets, a host
by name, and the probe (module_utils/hubsite_probe.py) as a Python module. pytest loads this conftest for the
tests under molecule/<scenario>/tests/ (the repository's pyproject.toml makes its root the rootdir)."""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import pytest
import testinfra

_PROBE = Path(__file__).resolve().parents[1] / "module_utils" / "hubsite_probe.py"


def load_probe():
    """module_utils/hubsite_probe.py as a module (it is not a package on sys.path)."""
    spec = importlib.util.spec_from_file_location("hubsite_probe", _PROBE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def hubsite_probe():
    return load_probe()


@pytest.fixture(scope="session")
def inventory_file() -> str:
    return os.environ["MOLECULE_INVENTORY_FILE"]


@pytest.fixture(scope="session")
def secrets_dir(inventory_file) -> Path:
    # every scenario's site_secrets_dir is "{{ inventory_dir }}/.secrets" (the demo site's group_vars, linked)
    return Path(inventory_file).parent / ".secrets"


@pytest.fixture(scope="session")
def get_host(inventory_file):
    def _get(name: str):
        return testinfra.get_host(f"ansible://{name}?ansible_inventory={inventory_file}")

    return _get
