"""Shared fixtures of the instances scenario: the molecule inventory, the site's secrets, the probe, the front."""

from __future__ import annotations

import importlib.util
import json
import os
from pathlib import Path

import pytest
import testinfra

SITE = "hub.demo.hubsite.test"
# The demo's public port (the Host header and the URL); connections go to port 443 of the front.
SITE_URL = f"https://{SITE}:8443/"
FRONT, HUB_A, HUB_B, DB, SPARE = "inst-front", "inst-hub", "inst-hubb", "inst-db", "inst-hub2"
ADDRESSES = {FRONT: "10.88.49.11", HUB_A: "10.88.49.21", HUB_B: "10.88.49.22", SPARE: "10.88.49.23"}

_PROBE = Path(__file__).resolve().parents[3] / "module_utils" / "hubsite_probe.py"


@pytest.fixture(scope="session")
def hubsite_probe():
    spec = importlib.util.spec_from_file_location("hubsite_probe", _PROBE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def inventory_file() -> str:
    return os.environ["MOLECULE_INVENTORY_FILE"]


@pytest.fixture(scope="session")
def secrets_dir(inventory_file) -> Path:
    # site_secrets_dir is "{{ inventory_dir }}/.secrets" in the demo group_vars that this scenario links.
    return Path(inventory_file).parent / ".secrets"


@pytest.fixture(scope="session")
def get_host(inventory_file):
    def _get(name: str):
        return testinfra.get_host(f"ansible://{name}?ansible_inventory={inventory_file}")

    return _get


@pytest.fixture(scope="session")
def client_args(secrets_dir):
    """What the probe and HttpClient need to reach the site through the front."""
    return {"ca_path": str(secrets_dir / "pki" / "ca.crt"), "resolve": {SITE: f"{ADDRESSES[FRONT]}:443"}}


@pytest.fixture(scope="session")
def password(secrets_dir):
    return lambda user: (secrets_dir / "users" / user).read_text().strip()


def access_log_entry(get_host, marker):
    """The JSON access log line of the request whose URI holds marker."""
    out = get_host(FRONT).check_output(f"grep -h -F {marker} /var/log/nginx/hubsite-access.json")
    return json.loads(out.strip().splitlines()[-1])
