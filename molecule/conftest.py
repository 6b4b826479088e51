"""Fixtures every scenario's testinfra suite shares: the molecule inventory, the site's generated secrets, a host
by name, the probe (module_utils/hubsite_probe.py) as a Python module, and `probe`, a user's probe of the site
(needs the scenario's `site_url` and `front_address` fixtures). pytest loads this conftest for the
tests under molecule/<scenario>/tests/ (the repository's pyproject.toml makes its root the rootdir)."""

from __future__ import annotations

import importlib.util
import os
import urllib.parse
from pathlib import Path

import pytest
import testinfra

_PROBE = Path(__file__).resolve().parents[1] / "module_utils" / "hubsite_probe.py"
GENERATED = object()  # probe()'s default password: the one the site generated for the user


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


@pytest.fixture
def probe(hubsite_probe, secrets_dir, site_url, front_address):
    """probe(user, password=GENERATED, **options): a Probe of the site as user (the password the site generated
    unless one is given; None: no password, a session cookie file only), through the front at front_address:443
    with the site's name and CA; options as Probe's."""

    def _probe(user, password=GENERATED, **kw):
        if password is GENERATED:
            password = (secrets_dir / "users" / user).read_text().strip()
        kw.setdefault("timeout", 120)
        return hubsite_probe.Probe(
            site_url,
            user,
            password,
            ca_path=str(secrets_dir / "pki" / "ca.crt"),
            resolve={urllib.parse.urlsplit(site_url).hostname: f"{front_address}:443"},
            **kw,
        )

    return _probe
